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

impl Engine {
    /// A completed run's output, to read; a run that has not completed has none.
    pub async fn stored_output(&self, run_id: &str) -> Result<StoredOutput> {
        let run = self.existing(run_id).await?;
        StoredOutput::new(run, self.store.clone()).map_err(EngineError::Conflict)
    }

    /// A run with its steps; a completed run's output with its first items.
    pub async fn run_detail(&self, id: &str) -> Result<RunDetail> {
        let mut run = self.existing(id).await?;
        let steps = self.store.run_steps(id).await?;
        let mut items = None;
        if run.status == store::RunStatus::Completed {
            let stored = StoredOutput::new(run.clone(), self.store.clone())
                .map_err(EngineError::Conflict)?;
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
        Ok(RunDetail {
            run,
            steps,
            items,
            approval,
        })
    }

    /// A completed run's whole output as one value, refused when it is larger than
    /// `max_bytes` (read those in pieces: `stored_output`).
    pub async fn output_value(&self, run_id: &str, max_bytes: u64) -> Result<Value> {
        let stored = self.stored_output(run_id).await?;
        if stored.info.bytes > max_bytes {
            return Err(EngineError::Conflict(format!(
                "the output of run {run_id} is {} bytes, more than the {max_bytes} asked for; read it in pages or as a download",
                stored.info.bytes
            )));
        }
        let items = stored.info.items;
        stored.preview(items).await.map_err(Into::into)
    }
}
