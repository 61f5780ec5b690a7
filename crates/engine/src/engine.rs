//! The engine: the store, settings and in-memory state every part of lumosflow's runtime
//! shares. Its abilities are written beside what they are about (runs, the library,
//! access, approvals, triggers, notices…), each an `impl Engine` in its own file.

use std::sync::Arc;

use store::{RunStatus, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use workflow_lang::template::Templates;

use crate::active::{Active, Keeper};
use crate::caches::{Clients, ConnectionRows, Library, QueueDepth, TargetCache};
use crate::config::EngineConfig;
use crate::executor::StepRecord;
use crate::owner::Owner;

/// Called with (workflow id, step record).
pub type StepHook = Arc<dyn Fn(&str, &StepRecord) + Send + Sync>;
/// Called with (workflow id, final status, seconds).
pub type RunHook = Arc<dyn Fn(&str, RunStatus, f64) + Send + Sync>;

/// Hooks for metrics: each step record, each finished run, and each request sent to Lumos
/// (retries and pages included).
#[derive(Clone, Default)]
pub struct Observers {
    pub on_step: Option<StepHook>,
    pub on_run: Option<RunHook>,
    pub on_request: Option<Arc<dyn lumos_api::Watch>>,
}

pub struct Engine {
    pub(crate) store: Arc<Store>,
    pub templates: Templates,
    pub(crate) config: EngineConfig,
    /// This process, as the holder of the runs it executes.
    pub(crate) owner: Owner,
    pub(crate) library: Library,
    pub(crate) clients: Clients,
    pub(crate) active: Arc<Active>,
    pub(crate) observers: Observers,
    /// Wakes the queue workers when a run is queued here or announced by another replica.
    pub(crate) wake_queue: Arc<Notify>,
    /// Stops the keeper when the engine goes away.
    pub(crate) stop: CancellationToken,
    /// Notification targets, read at most once a second (a run's end must not cost a query
    /// when nobody listens).
    pub(crate) targets: TargetCache,
    /// The queue's depth, read at most every quarter second while far from its limit.
    pub(crate) queue_depth: QueueDepth,
    /// Connection rows, read at most every half second.
    pub(crate) connection_rows: ConnectionRows,
    /// Filtered and sorted views of stored listings, kept while people scroll them.
    pub(crate) views: crate::output::ViewCache,
    /// Names of the apps and people held runs' inputs give by id.
    pub(crate) input_names: crate::caches::InputNames,
    /// This replica's run slots, once it runs queue workers.
    pub(crate) local_slots: std::sync::OnceLock<crate::slots::Slots<Engine>>,
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
            targets: TargetCache::default(),
            queue_depth: QueueDepth::default(),
            connection_rows: ConnectionRows::default(),
            views: Default::default(),
            input_names: Default::default(),
            local_slots: Default::default(),
        }
    }

    pub fn with_observers(mut self, observers: Observers) -> Self {
        self.observers = observers;
        self
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub(crate) fn keeper(&self) -> Keeper {
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
