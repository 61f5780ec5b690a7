//! `workflow:` steps: another installed workflow run as a recorded sub-run.

use serde_json::{Map, Value, json};
use workflow_lang::template::EvalCtx;

use super::record::{StepRecord, redact};
use super::{Executor, RunError};

impl Executor<'_> {
    /// A `workflow:` step: its inputs rendered, the workflow run as a recorded sub-run
    /// (stopped with this run), its output as the step's.
    pub(super) async fn sub_run(
        &self,
        id: &str,
        target: &str,
        inputs: &Map<String, Value>,
        ctx: &EvalCtx<'_>,
        rec: &mut StepRecord,
    ) -> Result<Value, RunError> {
        let fail = RunError::at(id);
        let Some(subs) = self.subs else {
            return Err(fail(format!(
                "workflow '{target}' runs only inside a recorded run (install this workflow and run it)"
            )));
        };
        let given = match self
            .templates
            .eval(&Value::Object(inputs.clone()), ctx)
            .map_err(|m| fail(format!("inputs: {m}")))?
        {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        rec.params = Some(json!({"workflow": target, "inputs": redact(&given)}));
        let sub = tokio::select! {
            biased;
            () = self.options.cancel.cancelled() => return Err(RunError::Canceled),
            r = subs.run(target, given, self.options.dry_run) => r.map_err(fail)?,
        };
        rec.params = Some(json!({"workflow": target, "run_id": sub.run_id}));
        Ok(sub.output)
    }
}
