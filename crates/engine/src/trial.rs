//! Trying a workflow file without installing it: every step runs as it would in a run
//! (against a connection, dry run if asked), nothing is recorded, and each step's record and
//! output come back for the author to read. `until` stops after a given step.

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::Engine;
use crate::access::Actor;
use crate::error::{EngineError, Result};
use crate::executor::{Executor, RunOptions, StepRecord};
use crate::output::Produced;

/// What a try gave: each step's record (with its output), then the output or the error.
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
        }
        let inputs = crate::inputs::resolve(&wf.def.inputs, given).map_err(EngineError::Inputs)?;
        self.check_connection_use(connection, by).await?;
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
                hold_before_changes: false,
                resume: None,
            },
            subs: None,
            http: http.as_ref(),
        };
        let run_info = json!({"id": "trial", "requested_by": by.label, "requested_for": null, "dry_run": dry_run});
        let result = executor.run(inputs, run_info, Value::Null).await;
        drop(executor);
        let mut steps = Vec::new();
        while let Some(r) = recorded.recv().await {
            steps.push(r);
        }
        let result = match result {
            Ok(Produced::Value(v)) | Ok(Produced::Streamed { envelope: v }) => Ok(v),
            Err(e) => Err(e.to_string()),
        };
        Ok(Trial { steps, result })
    }
}
