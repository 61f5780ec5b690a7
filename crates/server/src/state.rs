//! What every handler shares.

use std::sync::Arc;

use engine::Engine;
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;
use crate::routes::RouteDoc;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub metrics: Arc<Metrics>,
    pub docs: Arc<Vec<RouteDoc>>,
    /// Runs executing in the background, awaited at shutdown.
    pub tasks: TaskTracker,
    /// MCP's tool-list watch, shared by every session.
    pub mcp_watch: Arc<mcp::ToolsWatch>,
    /// Single sign-on for the console, when set up.
    pub sso: Option<Arc<crate::sso::provider::Sso>>,
    /// Whether the console takes API keys to sign in.
    pub key_signin: bool,
    /// The SHA-256 of the token `/metrics` asks for, when one is set.
    pub metrics_token: Option<[u8; 32]>,
}
