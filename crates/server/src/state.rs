//! What every handler shares.

use std::sync::Arc;

use engine::Engine;
use tokio_util::task::TaskTracker;

use crate::keys::Role;
use crate::metrics::Metrics;
use crate::routes::RouteDoc;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub metrics: Arc<Metrics>,
    pub docs: Arc<Vec<RouteDoc>>,
    /// Runs executing in the background, awaited at shutdown.
    pub tasks: TaskTracker,
    /// Console sign-ins.
    pub sessions: Arc<crate::console::Sessions>,
}

/// Who is calling, set by the auth layer.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_name: String,
    pub role: Role,
}

impl Caller {
    pub fn label(&self) -> String {
        format!("key:{}", self.key_name)
    }
}
