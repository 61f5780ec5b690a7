//! Reading what runs produced: a run's detail with the first items of its output, pages of
//! items, the whole output in any format, or (bounded) as one value.

use serde_json::Value;

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::output::StoredOutput;
use crate::run_types::ItemsShown;
use crate::run_types::RunDetail;

/// Items of an output shown with a run's detail.
pub const PREVIEW_ITEMS: u64 = 100;

/// How a page of a listing is asked for: as stored, or filtered (`filter`, looking in
/// `columns`, comma-separated) and sorted (`sort`: a field, or `-field` for descending).
#[derive(Debug, Default, Clone, Copy)]
pub struct ViewQuery<'a> {
    pub filter: Option<&'a str>,
    pub columns: Option<&'a str>,
    pub sort: Option<&'a str>,
}

impl Engine {
    /// A completed run's output, to read; a run that has not completed has none.
    pub async fn stored_output(&self, run_id: &str) -> Result<StoredOutput> {
        let run = self.existing(run_id).await?;
        self.output_of(run)
    }

    pub(crate) fn output_of(&self, run: store::Run) -> Result<StoredOutput> {
        StoredOutput::new(run, self.store.clone()).map_err(EngineError::Conflict)
    }

    /// A run with its steps; a completed run's output with its first items.
    pub async fn run_detail(&self, id: &str) -> Result<RunDetail> {
        let (run, steps) = self.existing_with_steps(id).await?;
        self.detail_of(run, steps).await
    }

    /// A run and its step records, read together.
    pub(crate) async fn existing_with_steps(
        &self,
        id: &str,
    ) -> Result<(store::Run, Vec<store::StepRow>)> {
        if !crate::ids::is_run_id(id) {
            return Err(EngineError::RunNotFound(id.to_owned()));
        }
        self.store
            .run_with_steps(id)
            .await?
            .ok_or_else(|| EngineError::RunNotFound(id.to_owned()))
    }

    /// The detail of a run already read, with its steps.
    pub(crate) async fn detail_of(
        &self,
        mut run: store::Run,
        steps: Vec<store::StepRow>,
    ) -> Result<RunDetail> {
        let mut items = None;
        if run.status == store::RunStatus::Completed {
            let stored = self.output_of(run.clone())?;
            if stored.has_items() {
                let preview = stored.preview(PREVIEW_ITEMS).await?;
                let count = stored.info.items;
                items = Some(ItemsShown {
                    count,
                    shown: count.min(PREVIEW_ITEMS),
                });
                run.output = Some(store::Json(preview));
            }
        }
        let approval = self.approval_view(&run).await?;
        // Only a run a hook or Slack started can have a reply: others cost no query.
        let origin = Self::requester_of(&run).origin;
        let reply = if matches!(
            origin,
            crate::run_types::Origin::Hook | crate::run_types::Origin::Slack
        ) {
            self.reply_state(&run.id).await
        } else {
            None
        };
        let writes = crate::write_outcome::writes_of(run.status, run.dry_run, &steps);
        Ok(RunDetail {
            run,
            steps,
            items,
            approval,
            reply,
            writes,
        })
    }

    /// A page of a completed run's listing as `by` may see it: as stored, or filtered and
    /// sorted on the server (`spec`).
    pub async fn items_page_for(
        &self,
        id: &str,
        by: &crate::actor::Actor,
        view: &ViewQuery<'_>,
        offset: u64,
        limit: u64,
    ) -> Result<crate::output::ItemsPage> {
        let stored = self.stored_output_for(id, by).await?;
        if !stored.has_items() {
            return Err(EngineError::Conflict(format!(
                "the output of run {id} is one value, not a list of items: GET /api/v1/runs/{id} shows it"
            )));
        }
        let spec = crate::output::ViewSpec::parse(
            view.filter,
            view.columns,
            view.sort,
            stored.info.columns.as_deref(),
        )
        .map_err(EngineError::BadRequest)?;
        let page = if spec.is_plain() {
            stored.page(offset, limit).await?
        } else {
            stored.view_page(&spec, offset, limit, &self.views).await?
        };
        Ok(page)
    }

    /// A completed run's whole output as one value, refused when it is larger than
    /// `max_bytes` (read those in pieces: `stored_output`).
    pub async fn output_value(&self, run_id: &str, max_bytes: u64) -> Result<Value> {
        self.stored_output(run_id).await?.whole(max_bytes).await
    }
}

impl StoredOutput {
    /// The output as one value, refused when it is larger than `max_bytes`.
    pub async fn whole(&self, max_bytes: u64) -> Result<Value> {
        if self.info.bytes > max_bytes {
            return Err(EngineError::Conflict(format!(
                "the output of run {} is {} bytes, more than the {max_bytes} asked for; read it in pages or as a download",
                self.run.id, self.info.bytes
            )));
        }
        self.preview(self.info.items).await.map_err(Into::into)
    }
}
