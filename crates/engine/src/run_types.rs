//! What callers hand the engine to run, and what they get back.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};
use store::{Run, RunStatus, StepRow};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::access::Actor;
use crate::executor::Progress;
use crate::workflow::Workflow;

/// How to run.
#[derive(Clone, Default)]
pub struct RunRequest {
    pub connection: Option<String>,
    /// Who asks: recorded as the run's `started_by`; their role decides which connections
    /// they may use.
    pub actor: Actor,
    pub dry_run: bool,
    pub cancel: CancellationToken,
    /// When the output is one paginated call's items, send them here as they arrive
    /// instead of collecting them (runs executed here only).
    pub stream: Option<mpsc::Sender<Value>>,
    pub progress: Option<Progress>,
    /// Run this version instead of the current one.
    pub version: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub status: RunStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: Run,
    pub steps: Vec<StepRow>,
}

/// A recorded run that has not executed yet: `running` (held by this process) or
/// `pending_approval` (which `execute` leaves as it is).
pub struct Started {
    pub run_id: String,
    pub status: RunStatus,
    pub(crate) workflow: Arc<Workflow>,
    pub(crate) client: lumos_api::Client,
    pub(crate) inputs: Map<String, Value>,
    pub(crate) req: RunRequest,
    pub(crate) began: Instant,
}

/// A run handed to the queue: `queued`, or `pending_approval` when it must be approved
/// first.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Submitted {
    pub run_id: String,
    pub status: RunStatus,
}

/// What approving did.
#[derive(Debug, Clone)]
pub enum Approved {
    /// Queued for a replica to run.
    Queued(String),
    /// Run here to its end.
    Ran(RunOutcome),
}

/// Where an approved run runs.
pub enum ApproveThen {
    Queue,
    RunHere(RunRequest),
}
