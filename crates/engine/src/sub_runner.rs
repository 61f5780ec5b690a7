//! `workflow:` steps as the engine runs them: recorded sub-runs of the run going on, as its
//! requester, on its connection, for its person, in its dry-run mode.

use store::RunStatus;

use crate::engine::Engine;
use crate::run_types::{ParentRun, RunRequest};

/// How deep `workflow:` steps may nest (a run, its sub-run, theirs…): a loop of workflows
/// running each other ends here with an error, not an endless chain of runs.
use crate::changes::MAX_NESTING;

/// Runs a `workflow:` step's workflow as a sub-run: the same requester, connection, person
/// it is for and dry-run mode, recorded as its own run linked to the parent, canceled with it.
pub(crate) struct SubRunner<'e> {
    pub(crate) engine: &'e Engine,
    pub(crate) actor: crate::actor::Actor,
    pub(crate) connection: Option<String>,
    pub(crate) requested_for: Option<String>,
    pub(crate) cancel: tokio_util::sync::CancellationToken,
    /// This run, as the parent of the sub-runs it starts.
    pub(crate) parent: ParentRun,
}

impl crate::executor::SubRuns for SubRunner<'_> {
    fn run<'s>(
        &'s self,
        workflow: &'s str,
        inputs: serde_json::Map<String, serde_json::Value>,
        dry_run: bool,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = std::result::Result<crate::executor::SubRun, String>>
                + Send
                + 's,
        >,
    > {
        Box::pin(async move {
            if self.parent.depth >= MAX_NESTING {
                return Err(format!(
                    "workflow '{workflow}' would nest {} deep; workflows run each other at most {MAX_NESTING} deep",
                    self.parent.depth + 1
                ));
            }
            // A gated workflow would wait for people in the middle of another run: refused
            // before anything is recorded.
            let (wf, _) = self
                .engine
                .load(workflow, None)
                .await
                .map_err(|e| format!("workflow '{workflow}': {e}"))?;
            if wf.def.approval.is_some() {
                return Err(format!(
                    "workflow '{workflow}' has an approval gate; a gated workflow cannot run inside another run"
                ));
            }
            let req = RunRequest {
                actor: self.actor.clone(),
                origin: crate::run_types::Origin::Workflow,
                connection: self.connection.clone(),
                requested_for: self.requested_for.clone(),
                dry_run,
                cancel: self.cancel.child_token(),
                parent: Some(self.parent.clone()),
                ..RunRequest::default()
            };
            let out = self
                .engine
                .run(workflow, &inputs, req)
                .await
                .map_err(|e| format!("workflow '{workflow}': {e}"))?;
            match out.status {
                RunStatus::Completed => {}
                RunStatus::PendingApproval => {
                    return Err(format!(
                        "workflow '{workflow}' needs approval (run {}); a workflow with an approval gate cannot run inside another run",
                        out.run_id
                    ));
                }
                other => {
                    return Err(format!(
                        "workflow '{workflow}' (run {}) {}: {}",
                        out.run_id,
                        other.as_str(),
                        out.error.unwrap_or_default()
                    ));
                }
            }
            let output = if out.items_apart {
                self.engine
                    .output_value(&out.run_id, self.engine.config.run_max_bytes)
                    .await
                    .map_err(|e| format!("workflow '{workflow}' (run {}): {e}", out.run_id))?
            } else {
                out.output.unwrap_or(serde_json::Value::Null)
            };
            Ok(crate::executor::SubRun {
                run_id: out.run_id,
                output,
            })
        })
    }
}
