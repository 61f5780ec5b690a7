//! lumosflow's runtime: connections, the workflow library, and runs — started here or
//! queued for `serve`, held for approval, canceled anywhere, never left hanging.

pub mod access;
mod active;
pub mod approval;
mod audit;
pub mod bundles;
pub mod changes;
mod clients;
pub mod config;
mod connection_admin;
pub mod connections;
pub mod direct_call;
mod error;
mod events;
mod execute;
pub mod executor;
mod health;
pub mod ids;
mod library;
pub mod lookup;
pub mod notify;
pub mod output;
mod owner;
mod run_output;
mod run_types;
mod runs;
pub mod schedule;
pub mod secrets;
mod services;
mod trial;
pub mod triggers;
pub mod webhook;

use std::sync::Arc;

// The workflow language, as the doors and tests have always named it through the engine.
pub use workflow_lang::{dates, definition, inputs, plan, template, validate, workflow};

pub use store::{
    ApiKey, AuditEvent, Connection, KeySource, OutputInfo, OutputKind, Person, PersonStatus,
    QueueStats, Run, RunFilter, RunProgress, RunStatus, SessionRow, StepRow, StepStatus, Store,
    Trigger, WorkflowRow, WorkflowVersion,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use access::{Actor, Role};
pub use config::EngineConfig;
pub use error::{EngineError, Result};
pub use health::Health;
pub use library::{BundleRef, InstallOutcome, InstallResult, Listing};
pub use run_output::PREVIEW_ITEMS;
pub use run_types::{
    ApproveThen, Approved, Attach, ItemsShown, Origin, Requester, RunDetail, RunOutcome,
    RunRequest, Started, Submitted,
};
pub use trial::Trial;

use crate::active::{Active, Keeper};
use crate::clients::Clients;
use crate::executor::StepRecord;
use crate::library::Library;
use crate::owner::Owner;
use workflow_lang::template::Templates;

/// Called with (workflow id, step record).
pub type StepHook = Arc<dyn Fn(&str, &StepRecord) + Send + Sync>;
/// Called with (workflow id, final status, seconds).
pub type RunHook = Arc<dyn Fn(&str, RunStatus, f64) + Send + Sync>;

/// Hooks for metrics: each step record, and each finished run.
#[derive(Clone, Default)]
pub struct Observers {
    pub on_step: Option<StepHook>,
    pub on_run: Option<RunHook>,
}

pub struct Engine {
    store: Arc<Store>,
    pub templates: Templates,
    config: EngineConfig,
    /// This process, as the holder of the runs it executes.
    owner: Owner,
    library: Library,
    clients: Clients,
    active: Arc<Active>,
    observers: Observers,
    /// Wakes the queue workers when a run is queued here or announced by another replica.
    wake_queue: Arc<Notify>,
    /// Stops the keeper when the engine goes away.
    stop: CancellationToken,
    /// Notification targets, read at most once a second (a run's end must not cost a query
    /// when nobody listens).
    targets: notify::TargetCache,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Engine {
    pub fn new(store: Arc<Store>) -> Self {
        Self::with_config(store, EngineConfig::default())
    }

    pub fn with_config(store: Arc<Store>, config: EngineConfig) -> Self {
        Self {
            store,
            templates: Templates::new(),
            config,
            owner: Owner::this_process(),
            library: Library::default(),
            clients: Clients::default(),
            active: Arc::default(),
            observers: Observers::default(),
            wake_queue: Arc::default(),
            stop: CancellationToken::new(),
            targets: notify::TargetCache::default(),
        }
    }

    pub fn with_observers(mut self, observers: Observers) -> Self {
        self.observers = observers;
        self
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn keeper(&self) -> Keeper {
        Keeper {
            store: self.store.clone(),
            owner: self.owner.clone(),
            active: self.active.clone(),
            config: self.config.clone(),
            stop: self.stop.clone(),
            wake_queue: self.wake_queue.clone(),
        }
    }

    /// Ids of the runs executing in this process.
    pub fn active_run_ids(&self) -> Vec<String> {
        self.active.ids()
    }

    pub fn active_runs(&self) -> usize {
        self.active.len()
    }
}
