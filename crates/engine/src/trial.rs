//! Trying a workflow file without installing it: every step runs as it would in a run
//! (against a connection, dry run if asked), nothing is recorded, and each step's record and
//! output come back for the author to read. `until` stops after a given step.

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::executor::{Executor, RunOptions, StepRecord};
use crate::output::Produced;
use workflow_lang::Role;

/// What a try gave: each step's record (with its output), then the output or the error.
#[derive(Debug)]
pub struct Trial {
    pub steps: Vec<StepRecord>,
    pub result: std::result::Result<Value, String>,
}

impl Engine {
    pub async fn try_workflow(
        &self,
        yaml: &str,
        given: &Map<String, Value>,
        connection: &str,
        dry_run: bool,
        until: Option<&str>,
        by: &Actor,
    ) -> Result<Trial> {
        let mut wf = self.validate(yaml)?;
        if let Some(step) = until {
            let Some(i) = wf.plan.iter().position(|p| p.id == step) else {
                let ids: Vec<&str> = wf.plan.iter().map(|p| p.id.as_str()).collect();
                return Err(EngineError::Inputs(vec![format!(
                    "no step '{step}' (steps: {})",
                    ids.join(", ")
                )]));
            };
            wf.plan.truncate(i + 1);
            // Stopping early, the workflow's output (which may read later steps) is not
            // made: the try answers with that step's output.
            wf.def.output = None;
        }
        let inputs =
            workflow_lang::inputs::resolve(&wf.def.inputs, given).map_err(EngineError::Inputs)?;
        self.check_connection_use(connection, by).await?;
        // A try is a run without a record: it may send a change only where a run of the
        // same file could without anyone's approval, and only for whoever may save it.
        let changes = self.changes_or_all(&wf).await;
        if !by.scope.is_open() && (by.scope.workflows.is_some() || (!dry_run && changes.any())) {
            return Err(EngineError::Forbidden(format!(
                "{} acts through a key that may do less than its role; trying workflow files needs a key without a scope",
                by.label
            )));
        }
        if !dry_run && let Some(first) = changes.describe_first() {
            if wf.def.approval.is_some() {
                return Err(EngineError::Forbidden(format!(
                    "'{}' changes Lumos or the world ({first}) behind an approval gate: a try would send it unapproved. Try it as a dry run, or install it and run it to have it held for approval",
                    wf.id()
                )));
            }
            if !by.may(Role::Admin) {
                return Err(EngineError::Forbidden(format!(
                    "trying '{}' sends its changes ({first}); that needs the admin role (try it as a dry run)",
                    wf.id()
                )));
            }
        }
        let client = self.client(connection).await?;
        let (records, mut recorded) = mpsc::unbounded_channel();
        let http = self.http_env(&wf).await;
        let executor = Executor {
            workflow: &wf,
            client: &client,
            templates: &self.templates,
            records,
            options: RunOptions {
                dry_run,
                cancel: tokio_util::sync::CancellationToken::new(),
                sink: None,
                progress: None,
                fuel: self.config.run_fuel,
                max_bytes: self.config.run_max_bytes,
                hold_before_changes: None,
                resume: None,
                fence: None,
            },
            subs: None,
            http: http.as_ref(),
        };
        let run_info = json!({"id": "trial", "requested_by": by.label, "requested_for": null,
            "person": by.email(), "role": by.role, "dry_run": dry_run,
            "started_at": crate::execute::started_at()});
        let result = executor.run(inputs, run_info, Value::Null).await;
        drop(executor);
        let mut steps = Vec::new();
        let mut sample = crate::executor::LoopSample::default();
        let who = crate::step_records::Who {
            actor: by.label.clone(),
            origin: crate::run_types::Origin::Try,
            requested_for: None,
        };
        let mut changes = 0;
        while let Some(r) = recorded.recv().await {
            crate::step_records::audit_change(&self.store, &who, "try", &r).await;
            changes += usize::from(r.changed);
            if sample.keep(&r) {
                steps.push(r);
            }
        }
        // Every try that reached Lumos or the world is on the record, what it changed above.
        let mut reached: Vec<&str> = steps
            .iter()
            .filter(|r| r.kind != crate::executor::StepKind::Local)
            .map(|r| r.step_id.as_str())
            .collect();
        reached.dedup();
        if !reached.is_empty() {
            self.audit(
                by,
                "workflow.try",
                wf.id(),
                Some(
                    json!({"connection": connection, "dry_run": dry_run, "steps": reached,
                    "changes": changes}),
                ),
            )
            .await;
        }
        let result = match result {
            Ok(Produced::Value(v)) | Ok(Produced::Streamed { envelope: v }) => Ok(v),
            Err(e) => Err(e.to_string()),
        };
        Ok(Trial { steps, result })
    }
}
