//! How a run ended, as whoever waited for it is told.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use store::{Run, RunStatus, StepRow};

/// A run as its end stored it, with all its step records: what reading it back would give,
/// handed to those waiting on this replica so they need not read it.
#[derive(Debug)]
pub struct StoredEnd {
    pub run: Run,
    pub steps: Vec<StepRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub status: RunStatus,
    /// The output as the run produced it; for a listing whose items went to the store as
    /// they arrived (`output_info.kind` is `listing`, no `items` here), its other fields.
    pub output: Option<Value>,
    /// What was stored, for a completed run.
    pub output_info: Option<store::OutputInfo>,
    /// Whether `output` lacks its items: they are in the store (read them with
    /// `Engine::stored_output`), and were sent to the tap as they arrived.
    pub items_apart: bool,
    pub error: Option<String>,
    /// The run as stored by its end here, when someone here waited for it and every step
    /// record went with the end; `None` means read it.
    #[serde(skip)]
    pub stored: Option<Arc<StoredEnd>>,
}

impl RunOutcome {
    /// An outcome with nothing to give but its status.
    pub fn without_output(run_id: String, status: RunStatus, error: Option<String>) -> Self {
        RunOutcome {
            run_id,
            status,
            output: None,
            output_info: None,
            items_apart: false,
            error,
            stored: None,
        }
    }

    /// The outcome a run's record tells.
    pub fn of_run(run: Run) -> Self {
        let info = run.output_info.map(|i| i.0);
        RunOutcome {
            run_id: run.id,
            status: run.status,
            output: run.output.map(|o| o.0),
            items_apart: info
                .as_ref()
                .is_some_and(|i| i.kind != store::OutputKind::Value),
            output_info: info,
            error: run.error,
            stored: None,
        }
    }
}
