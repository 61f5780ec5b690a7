//! `for_each:` steps: one action per item, a few at a time, stopping at the first failure
//! unless told to go on.

use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use workflow_lang::plan::{Action, ForEach, Planned};
use workflow_lang::template::EvalCtx;

use super::record::{LOOP_SUMMARY, LoopCounts, approx_size, step_output};
use super::{Executor, Held, RunError, short};

impl Executor<'_> {
    /// A loop, then its summary record: how many items ran, failed, were left out or never
    /// ran (the items' own records are only a sample, see `LoopSample`).
    pub(super) async fn for_each(
        &self,
        step: &Planned,
        each: &ForEach,
        ctx: &EvalCtx<'_>,
        items: &[Value],
        held: &Held,
    ) -> Result<Value, RunError> {
        let started = std::time::Instant::now();
        let mut rec = self.blank(&step.id, LOOP_SUMMARY);
        rec.operation = label(step);
        let mut counts = LoopCounts {
            items: items.len(),
            ..LoopCounts::default()
        };
        let result = self
            .each_item(step, each, ctx, items, held, &mut counts)
            .await;
        counts.not_run = counts
            .items
            .saturating_sub(counts.skipped + counts.completed + counts.failed);
        rec.duration_ms = started.elapsed().as_millis() as u64;
        rec.output = Some(step_output(&serde_json::json!({ "loop": counts })));
        if let Err(e) = &result {
            e.mark(&mut rec);
        }
        self.record(rec);
        result
    }

    /// Run a step once per item, `concurrency` at a time. By default the first failure
    /// stops the loop: no new item starts and those in flight are dropped (with their
    /// requests), so a mutating loop sends nothing more after one change failed. With
    /// `fail_fast: false` every item runs and every failure is reported.
    async fn each_item(
        &self,
        step: &Planned,
        each: &ForEach,
        ctx: &EvalCtx<'_>,
        items: &[Value],
        held: &Held,
        counts: &mut LoopCounts,
    ) -> Result<Value, RunError> {
        let (n, fail_fast) = (each.concurrency, each.fail_fast);
        let id = step.id.as_str();
        // A per-element `if:` picks the elements that run; the others are left out of the
        // output (the loop's output lists what was done).
        let chosen: Vec<usize> = match &each.only_if {
            None => (0..items.len()).collect(),
            Some(cond) => {
                let mut chosen = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let ictx = ctx.with_item(&each.item, item, i);
                    let go = self
                        .templates
                        .truthy(cond, &ictx)
                        .map_err(|m| RunError::Step {
                            step: id.to_owned(),
                            message: format!("item {i} ({}): if: {m}", short(item)),
                        })?;
                    if go {
                        chosen.push(i);
                    }
                }
                chosen
            }
        };
        counts.skipped = items.len() - chosen.len();
        // Indices, not references, go through the stream, so the run future stays Send for
        // any lifetime (it is spawned by the server).
        let mut results = std::pin::pin!(
            stream::iter(chosen.iter().copied())
                .map(|i| {
                    let ictx = ctx.with_item(&each.item, &items[i], i);
                    async move {
                        let r = self.attempt(step, &ictx, i as i32, false, held).await;
                        (i, r.map(|(c, _)| c.value))
                    }
                })
                .buffer_unordered(n)
        );
        let mut outputs: Vec<Option<Value>> = vec![None; items.len()];
        let mut failures: Vec<String> = Vec::new();
        while let Some((i, r)) = results.next().await {
            match r {
                Ok(v) => {
                    counts.completed += 1;
                    if let Err(m) = held.add(approx_size(&v)) {
                        return Err(RunError::Step {
                            step: id.to_owned(),
                            message: format!("item {i}: {m}"),
                        });
                    }
                    outputs[i] = Some(v);
                }
                Err(RunError::Canceled) => return Err(RunError::Canceled),
                Err(e) => {
                    counts.failed += 1;
                    let what = format!("item {i} ({}): {}", short(&items[i]), e.detail());
                    if fail_fast {
                        return Err(RunError::Step {
                            step: id.to_owned(),
                            message: what,
                        });
                    }
                    failures.push(what);
                }
            }
        }
        if !failures.is_empty() {
            return Err(RunError::Step {
                step: id.to_owned(),
                message: format!(
                    "{} of {} items failed: {}",
                    failures.len(),
                    chosen.len(),
                    failures.join("; ")
                ),
            });
        }
        Ok(Value::Array(outputs.into_iter().flatten().collect()))
    }
}

/// What a loop's summary names as its operation: what each item does.
fn label(step: &Planned) -> Option<String> {
    match &step.action {
        Action::Call(c) => Some(c.op.name().to_owned()),
        Action::Workflow { id, .. } => Some(format!("workflow {id}")),
        Action::Http(h) => Some(format!("http {}", h.method())),
        _ => None,
    }
}
