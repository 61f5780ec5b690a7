//! What the engine keeps in memory between calls, each with the rule that keeps it true:
//! parsed workflows by content hash (the same text is the same workflow) and by version (a
//! saved version is never rewritten), one Lumos client
//! per connection (rebuilt when the connection is saved again), notification targets for
//! a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use store::NotificationTarget;
use workflow_lang::workflow::Workflow;

/// Parsed workflows by content hash, and the bundled ones.
#[derive(Default)]
pub(crate) struct Library {
    pub(crate) parsed: Mutex<HashMap<String, Arc<Workflow>>>,
    pub(crate) bundled: OnceLock<HashMap<&'static str, Arc<Workflow>>>,
    /// Parsed workflows by (id, version): a saved version never changes.
    pub(crate) by_version: Mutex<HashMap<(String, i32), Arc<Workflow>>>,
}

/// One client per connection.
#[derive(Default)]
pub(crate) struct Clients {
    /// Each connection's client and the connection's `updated_at` it was built from.
    pub(crate) by_name: Mutex<HashMap<String, (DateTime<Utc>, lumos_api::Client)>>,
}

/// The targets as read from the database, for a second: every run's end asks.
#[derive(Default)]
pub(crate) struct TargetCache {
    held: std::sync::Mutex<Option<(std::time::Instant, Arc<Vec<NotificationTarget>>)>>,
}

impl TargetCache {
    const TTL: Duration = Duration::from_secs(1);

    pub(crate) fn fresh(&self) -> Option<Arc<Vec<NotificationTarget>>> {
        let held = self.held.lock().ok()?;
        held.as_ref()
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, t)| t.clone())
    }

    pub(crate) fn keep(&self, targets: Arc<Vec<NotificationTarget>>) {
        if let Ok(mut held) = self.held.lock() {
            *held = Some((std::time::Instant::now(), targets));
        }
    }

    pub(crate) fn forget(&self) {
        if let Ok(mut held) = self.held.lock() {
            *held = None;
        }
    }
}
