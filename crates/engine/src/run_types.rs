//! What callers hand the engine to run, and what they get back.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};
use store::{Run, RunStatus, StepRow};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::actor::Actor;
use crate::executor::Progress;
pub use crate::outcome::RunOutcome;
use workflow_lang::workflow::Workflow;

/// How much of an output with items stored apart a run's detail shows.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ItemsShown {
    /// Items in the whole output.
    pub count: u64,
    /// Items in the detail's `output` (the first ones).
    pub shown: u64,
}

/// The door a run came in by: recorded with its requester and in the audit trail. It never
/// changes what the run may do; the run core decides that from the requester alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The HTTP API and the console.
    #[default]
    Api,
    Cli,
    Mcp,
    /// A trigger's hook (webhooks, a Slack slash command).
    Hook,
    /// The Slack app: a button, a modal.
    Slack,
    Schedule,
    LumosEvent,
    /// A `workflow:` step of another run.
    Workflow,
    /// `workflows try`.
    Try,
}

/// Who asked for a run, as the run keeps it: the whole actor (role, key, the person behind
/// it) at request time, and the door. The queue, approvals, sub-runs and the audit read it
/// from the run, so nothing that resumes a run can change who it runs as.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Requester {
    #[serde(flatten)]
    pub actor: Actor,
    #[serde(default)]
    pub origin: Origin,
}

/// What a caller that runs an approved run here attaches to it: how to stop it. Nothing in
/// it changes what the run does: that is the run's own.
#[derive(Clone, Default)]
pub struct Attach {
    pub cancel: CancellationToken,
}

/// How to run.
#[derive(Clone, Default)]
pub struct RunRequest {
    pub connection: Option<String>,
    /// Who asks: recorded as the run's `requested_by`; their role decides which connections
    /// they may use.
    pub actor: Actor,
    /// The door it came in by.
    pub origin: Origin,
    /// The end user the run acts for (an email), when someone asks on their behalf.
    pub requested_for: Option<String>,
    /// The Lumos event that started the run (workflows with `on: lumos_event`); templates
    /// see it as `event`.
    pub event: Option<Value>,
    pub dry_run: bool,
    pub cancel: CancellationToken,
    /// When the output is a walk over every page, its pages are also sent here as they
    /// arrive (runs executed here only): the CLI prints them while they are stored.
    pub tap: Option<mpsc::Sender<Arc<lumos_api::RawPage>>>,
    pub progress: Option<Progress>,
    /// Run this version instead of the current one.
    pub version: Option<i32>,
    /// For a run started by a `workflow:` step: the run it belongs to.
    pub parent: Option<ParentRun>,
}

/// The run whose `workflow:` step starts another, and how deep the nesting already is.
#[derive(Debug, Clone)]
pub struct ParentRun {
    pub run_id: String,
    pub depth: u8,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RunDetail {
    /// The run; for an output with items stored apart, `output` holds the first items.
    #[serde(flatten)]
    pub run: Run,
    pub steps: Vec<StepRow>,
    /// For an output with items stored apart: how many there are, how many are shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<ItemsShown>,
    /// For a gated run: its policy, the step it waits at, who may decide, every decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::approval::ApprovalView>,
    /// For a run a trigger started with a reply: whether it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<crate::trigger_reply::ReplyState>,
    /// For a run that failed or was canceled: whether it changed anything, and whether
    /// trying again is safe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writes: Option<crate::write_outcome::Writes>,
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
    /// Whether its end is announced to other replicas: a run claimed from the queue may be
    /// waited for by the replica it was submitted to.
    pub(crate) announce_end: bool,
}

impl Started {
    /// The CSV columns of the output's items, when known before the run (see
    /// [`crate::output::planned_columns`]).
    pub fn columns(&self) -> Option<Vec<String>> {
        crate::output::planned_columns(&self.workflow)
    }

    /// Also send the pages of a streamed listing here as they arrive.
    pub fn set_tap(&mut self, tap: mpsc::Sender<Arc<lumos_api::RawPage>>) {
        self.req.tap = Some(tap);
    }
}

/// A run handed to the queue: `queued`, `running` when this replica started it at once, or
/// `pending_approval` when it must be approved first.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Submitted {
    pub run_id: String,
    pub status: RunStatus,
}

impl Submitted {
    /// Whether it goes on to its end without anyone deciding anything first.
    pub fn will_run(&self) -> bool {
        matches!(self.status, RunStatus::Queued | RunStatus::Running)
    }
}

/// What approving did.
#[derive(Debug, Clone)]
pub enum Approved {
    /// Queued for a replica to run.
    Queued(String),
    /// Run here to its end.
    Ran(RunOutcome),
    /// Counted, but the run still waits: for more approvals at this step, or at the next.
    Waiting(crate::approval::Outcome),
}

/// Where an approved run runs.
// Built once per approval and moved, never stored in bulk: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum ApproveThen {
    Queue,
    /// Run it here; it runs as it was requested (dry run or not, as its requester).
    RunHere(Attach),
}
