//! A change whose answer was lost: Lumos may have made it. A server error, a timeout or a
//! lost connection after a write leaves it unknown, and trying again may make it twice; a
//! refusal (4xx) means it was not made. With `verify:` the step asks Lumos with a call that
//! only reads, and says which it was. The step's record keeps the answer (`change`), from
//! which a failed run says whether trying again is safe.

use serde_json::{Value, json};
use store::StepStatus;
use workflow_lang::plan::Verify;
use workflow_lang::template::EvalCtx;

use super::record::StepRecord;
use super::{Called, Executor, RunError};

/// What became of a change that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeFate {
    /// Refused, or checked and not found: nothing was changed.
    NotMade,
    /// No clear answer and no check (or the check failed): it may have been made. (Found
    /// made by the check, the step completes instead.)
    Unknown,
}

/// Whether a failed request's answer says it was not carried out: a refusal (4xx), but
/// not a timeout (408). Anything else (5xx, no answer, an answer cut short) leaves it open.
pub fn refused(status: Option<u16>) -> bool {
    status.is_some_and(|s| (400..500).contains(&s) && s != 408)
}

impl Executor<'_> {
    /// After change step `id` failed with `message`: its fate, and (found made) the value
    /// that becomes its output.
    pub(super) async fn fate(
        &self,
        id: &str,
        verify: Option<&Verify>,
        ctx: &EvalCtx<'_>,
        rec: &mut StepRecord,
        message: &str,
    ) -> Result<Called, RunError> {
        let fail = |fate: ChangeFate, said: String, rec: &mut StepRecord| {
            rec.output = Some(json!({"change": fate}));
            Err(RunError::Step {
                step: id.to_owned(),
                message: said,
            })
        };
        if refused(rec.http_status) {
            return fail(ChangeFate::NotMade, message.to_owned(), rec);
        }
        let Some(v) = verify else {
            return fail(
                ChangeFate::Unknown,
                format!(
                    "{message} — Lumos may have made this change anyway: look before trying again"
                ),
                rec,
            );
        };
        match self.check(v, ctx).await {
            Ok(Some(found)) => {
                rec.status = StepStatus::Completed;
                rec.error = Some(format!(
                    "{message} — then found made (checked with {})",
                    v.op.name()
                ));
                Ok(Called {
                    value: found,
                    streamed: false,
                })
            }
            Ok(None) => fail(
                ChangeFate::NotMade,
                format!(
                    "{message} — it was not made (checked with {}): it is safe to try again",
                    v.op.name()
                ),
                rec,
            ),
            Err(e) => fail(
                ChangeFate::Unknown,
                format!(
                    "{message} — whether it was made is unknown (the check with {} failed: {e}): look before trying again",
                    v.op.name()
                ),
                rec,
            ),
        }
    }

    /// The check: its call, then `found` over its answer (nothing: not made).
    async fn check(&self, v: &Verify, ctx: &EvalCtx<'_>) -> Result<Option<Value>, String> {
        let params = self.params(&v.params, ctx)?;
        let answer = tokio::select! {
            biased;
            () = self.options.cancel.cancelled() => return Err("the run was canceled".into()),
            r = self.client.call(v.op.name(), &params, None) => r.map_err(|e| e.to_string())?,
        };
        let octx = ctx.with_item("output", &answer, 0);
        let found = self
            .templates
            .eval_str(&v.found, &octx)
            .map_err(|m| format!("found: {m}"))?;
        Ok(match found {
            Value::Null | Value::Bool(false) => None,
            Value::String(s) if s.is_empty() => None,
            Value::Array(a) if a.is_empty() => None,
            Value::Object(m) if m.is_empty() => None,
            other => Some(other),
        })
    }
}
