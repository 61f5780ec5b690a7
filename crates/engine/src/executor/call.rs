//! Call steps: one Lumos operation (a page, or every page walked), its answer checked by
//! the client and cut to `fields:` when asked.

use futures_util::stream::StreamExt;
use lumos_api::{CallOptions, Operation, Pagination};
use serde_json::{Map, Value, json};
use store::{RunProgress, StepStatus};
use workflow_lang::plan::Call;
use workflow_lang::template::EvalCtx;

use super::record::{StepKind, StepRecord, approx_size, redact};
use super::{Called, Executor, Held, RunError};
use crate::output::Sink;

impl Executor<'_> {
    pub(super) async fn call(
        &self,
        id: &str,
        call: &Call,
        ctx: &EvalCtx<'_>,
        rec: &mut StepRecord,
        stream: bool,
        held: &Held,
    ) -> Result<Called, RunError> {
        let err = RunError::at(id);
        let op: &Operation = call.op;
        let name = op.name();
        rec.operation = Some(name.to_owned());
        rec.kind = StepKind::Lumos;
        let params = self.params(&call.params, ctx).map_err(err)?;
        rec.params = Some(redact(&params));
        let body = match &call.body {
            Some(b) => Some(
                self.templates
                    .eval(b, ctx)
                    .map_err(|m| err(format!("body: {m}")))?,
            ),
            None => None,
        };
        let paginate = match &call.paginate {
            Some(p) => match self.templates.eval(p, ctx).map_err(err)? {
                Value::Bool(b) => b,
                Value::Null => false,
                Value::String(s) => s == "true",
                other => return Err(err(format!("paginate must be true or false, got {other}"))),
            },
            None => false,
        };
        let (_, prepared) = self
            .client
            .prepare(name, &params)
            .map_err(|e| err(e.to_string()))?;
        if self.options.dry_run && op.is_mutating() {
            rec.status = StepStatus::DryRun;
            return Ok(Called {
                value: workflow_lang::dry_run::placeholder(
                    op,
                    &prepared.path_and_query(),
                    body.as_ref(),
                ),
                streamed: false,
            });
        }
        // Nothing goes out after a cancel, not even the first request of a step.
        if self.options.cancel.is_cancelled() {
            return Err(RunError::Canceled);
        }
        rec.method = Some(op.method.clone());
        rec.path = Some(prepared.path.clone());
        rec.changed = op.is_mutating();
        if rec.changed {
            rec.sent = body.clone();
        }
        if paginate {
            let sink = match (&self.options.sink, stream) {
                (Some(sink), true) => Some(sink.as_ref()),
                _ => None,
            };
            return self.walk(id, call, &params, sink, rec, held).await;
        }
        let resp = tokio::select! {
            biased;
            () = self.options.cancel.cancelled() => return Err(RunError::Canceled),
            r = self.client.execute(op, &prepared, body.as_ref(), CallOptions::default()) => r,
        };
        let resp = resp.map_err(|e| {
            rec.http_status = e.status();
            err(e.to_string())
        })?;
        rec.http_status = Some(resp.status);
        let mut out = resp.body;
        if op.pagination == Pagination::Page
            && let Value::Object(m) = &mut out
        {
            let page = m.get("page").and_then(Value::as_u64);
            let pages = m.get("pages").and_then(Value::as_u64);
            let next = match (page, pages) {
                (Some(p), Some(n)) if p < n => json!(p + 1),
                _ => Value::Null,
            };
            m.insert("next_page".into(), next);
        }
        if let Some(fields) = &call.fields {
            keep_fields_of_answer(&mut out, op.response.items_key.as_deref(), fields);
        }
        Ok(Called {
            value: out,
            streamed: false,
        })
    }

    /// A call's parameters, their templates evaluated; a null one is left out (an absent
    /// optional input drops its parameter).
    pub(super) fn params(
        &self,
        templates: &Map<String, Value>,
        ctx: &EvalCtx<'_>,
    ) -> Result<Map<String, Value>, String> {
        let mut params = Map::new();
        for (k, v) in templates {
            let v = self
                .templates
                .eval(v, ctx)
                .map_err(|m| format!("param '{k}': {m}"))?;
            if !v.is_null() {
                params.insert(k.clone(), v);
            }
        }
        Ok(params)
    }

    /// Walk every page of a listing: its items go to `sink` as they arrive, or are held
    /// (counted against the run's budget) to become the step's output.
    async fn walk(
        &self,
        id: &str,
        call: &Call,
        params: &Map<String, Value>,
        sink: Option<&Sink>,
        rec: &mut StepRecord,
        held: &Held,
    ) -> Result<Called, RunError> {
        let (name, fields) = (call.op.name(), call.fields.as_deref());
        let err = RunError::at(id);
        // One cancellation future for the whole walk, not one per page.
        let mut pages = std::pin::pin!(
            self.client
                .pages(name, params)
                .take_until(self.options.cancel.clone().cancelled_owned())
        );
        let mut items = Vec::new();
        let mut progress = RunProgress::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                rec.http_status = e.status();
                err(e.to_string())
            })?;
            if progress.pages == 0 {
                progress.total = page.total;
            }
            progress.pages += 1;
            progress.items += page.len() as u64;
            held.work.charge(page.len() as u64).map_err(err)?;
            match sink {
                Some(sink) => sink.page(page).await.map_err(|e| err(e.to_string()))?,
                None => {
                    let mut values = page
                        .values()
                        .map_err(|e| err(format!("an item of a page is not JSON: {e}")))?;
                    let bytes = match fields {
                        Some(fields) => values
                            .iter_mut()
                            .map(|v| {
                                keep_fields(v, fields);
                                approx_size(v)
                            })
                            .sum(),
                        None => page.item_bytes() as u64,
                    };
                    held.add(bytes).map_err(err)?;
                    items.extend(values);
                }
            }
            if let Some(p) = &self.options.progress {
                p(id, &progress);
            }
        }
        if self.options.cancel.is_cancelled() {
            return Err(RunError::Canceled);
        }
        rec.http_status = Some(200);
        let mut out = Map::new();
        if sink.is_none() {
            out.insert("items".into(), Value::Array(items));
        }
        out.insert("total".into(), Value::from(progress.items));
        Ok(Called {
            value: Value::Object(out),
            streamed: sink.is_some(),
        })
    }
}

/// `fields:` on one item: an object keeps only those fields, in that order (other values
/// stay whole). A new map, not `retain`: that would keep the room of every field dropped.
pub(super) fn keep_fields(v: &mut Value, fields: &[String]) {
    if let Value::Object(m) = v {
        *m = fields
            .iter()
            .filter_map(|f| m.remove(f).map(|x| (f.clone(), x)))
            .collect();
    }
}

/// `fields:` on a whole answer: a listing's items, a list's elements, or the object.
pub(super) fn keep_fields_of_answer(v: &mut Value, items_key: Option<&str>, fields: &[String]) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(|i| keep_fields(i, fields)),
        Value::Object(m) => match items_key.and_then(|k| m.get_mut(k)) {
            Some(Value::Array(items)) => items.iter_mut().for_each(|i| keep_fields(i, fields)),
            _ => keep_fields(v, fields),
        },
        _ => {}
    }
}
