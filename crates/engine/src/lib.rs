//! lumosflow's runtime: connections, the workflow library, and runs — started here or
//! queued for `serve`, held for approval, canceled anywhere, never left hanging.

pub mod access;
mod active;
mod actor;
pub mod approval;
pub mod audit;
mod backup;
pub mod bundles;
mod caches;
pub mod changes;
mod clients;
pub mod config;
mod connection_admin;
pub mod connections;
pub mod direct_call;
mod engine;
mod error;
mod events;
mod execute;
pub mod executor;
mod health;
pub mod ids;
mod library;
mod local_slots;
pub mod lookup;
mod naming;
pub mod notify;
mod outcome;
pub mod output;
mod owner;
mod run_access;
mod run_output;
mod run_types;
mod runs;
pub mod schedule;
pub mod secrets;
mod services;
pub mod slack;
mod slots;
mod step_records;
mod sub_runner;
mod trial;
mod trigger_reply;
pub mod triggers;
pub use trigger_reply::{MAX_WAIT, Reply, ReplyState};
pub mod webhook;
pub mod write_outcome;

// The workflow language, as the doors and tests have always named it through the engine.
pub use workflow_lang::{dates, definition, inputs, plan, template, validate, workflow};

pub use store::{
    ApiKey, AuditCheck, AuditEvent, AuditFilter, Connection, KeySource, OperatorStats, OutputInfo,
    OutputKind, Person, PersonStatus, QueueStats, Run, RunFilter, RunProgress, RunStatus,
    SessionRow, StepRow, StepStatus, Store, Trigger, WorkflowRow, WorkflowVersion,
};

pub use access::{Actor, KeyScope, Role};
pub use config::EngineConfig;
pub use error::{EngineError, Result};
pub use health::Health;
pub use library::{BundleRef, InstallOutcome, InstallResult, Listing};
pub use run_output::{PREVIEW_ITEMS, ViewQuery};
pub use run_types::{
    ApproveThen, Approved, Attach, ItemsShown, Origin, Requester, RunDetail, RunOutcome,
    RunRequest, Started, Submitted,
};
pub use trial::Trial;

pub use engine::{Engine, Observers, RunHook, StepHook};
