//! Trying a step: its timeout, its retries, and a `wait_until:` that calls again until a
//! condition on the answer holds.

use std::sync::atomic::{AtomicU32, Ordering};

use backon::{ExponentialBuilder, Retryable};
use workflow_lang::plan::Planned;
use workflow_lang::template::EvalCtx;

use super::{Called, Executor, Held, RunError, short};

impl Executor<'_> {
    /// [`Self::attempt`], again and again while a `wait_until:` condition does not hold.
    pub(super) async fn attempt_until(
        &self,
        step: &Planned,
        ctx: &EvalCtx<'_>,
        iteration: i32,
        stream: bool,
        held: &Held,
    ) -> Result<(Called, bool), RunError> {
        let Some(wait) = &step.wait else {
            return self.attempt(step, ctx, iteration, stream, held).await;
        };
        let began = std::time::Instant::now();
        loop {
            let (called, returned) = self.attempt(step, ctx, iteration, stream, held).await?;
            let octx = ctx.with_item("output", &called.value, 0);
            let done =
                self.templates
                    .truthy(&wait.condition, &octx)
                    .map_err(|m| RunError::Step {
                        step: step.id.clone(),
                        message: format!("wait_until: {m}"),
                    })?;
            if done || self.options.dry_run {
                return Ok((called, returned));
            }
            if began.elapsed() + wait.every > wait.up_to {
                return Err(RunError::Step {
                    step: step.id.clone(),
                    message: format!(
                        "waited {} and the condition never held (last answer: {})",
                        humantime::format_duration(wait.up_to),
                        short(&called.value)
                    ),
                });
            }
            tokio::select! {
                () = self.options.cancel.cancelled() => return Err(RunError::Canceled),
                () = tokio::time::sleep(wait.every) => {}
            }
        }
    }

    /// `action` with the step's timeout and retries (`retry:`, backing off exponentially
    /// from `backoff`). Only a step's own failure is tried again, never a cancel. A walk
    /// whose pages went to the store as they came is never tried again (its pages would be
    /// stored twice).
    pub(super) async fn attempt(
        &self,
        step: &Planned,
        ctx: &EvalCtx<'_>,
        iteration: i32,
        stream: bool,
        held: &Held,
    ) -> Result<(Called, bool), RunError> {
        let attempts = if stream { 1 } else { step.attempts.max(1) };
        let tries = AtomicU32::new(1);
        let once = || async {
            let fut = self.action(step, ctx, iteration, stream, held);
            match step.timeout {
                Some(t) => tokio::time::timeout(t, fut).await.unwrap_or_else(|_| {
                    Err(RunError::Step {
                        step: step.id.clone(),
                        message: format!("took longer than {}", humantime::format_duration(t)),
                    })
                }),
                None => fut.await,
            }
        };
        let backoff = ExponentialBuilder::new()
            .with_min_delay(step.backoff)
            .with_max_delay(step.backoff.saturating_mul(1 << 10))
            .with_factor(2.0)
            .with_max_times(attempts as usize - 1);
        let cancel = self.options.cancel.clone();
        let sleeping = cancel.clone();
        let result = once
            .retry(backoff)
            // A cancel while waiting ends the wait; the next try then sees it and stops.
            .sleep(move |wait| {
                let cancel = sleeping.clone();
                async move {
                    tokio::select! {
                        () = cancel.cancelled() => {}
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            })
            .when(|e| matches!(e, RunError::Step { .. }) && !cancel.is_cancelled())
            .notify(|_, _| {
                tries.fetch_add(1, Ordering::Relaxed);
            })
            .await;
        if cancel.is_cancelled() && result.is_err() {
            return Err(RunError::Canceled);
        }
        match result {
            Err(RunError::Step { step, message }) if tries.load(Ordering::Relaxed) > 1 => {
                Err(RunError::Step {
                    step,
                    message: format!("{message} (tried {} times)", tries.load(Ordering::Relaxed)),
                })
            }
            other => other,
        }
    }
}
