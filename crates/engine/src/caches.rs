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
    /// Installed workflows' rows as last read, for half a second: what a request is checked
    /// against. Saving or uninstalling here forgets them; a run is checked again, uncached,
    /// before it executes (`pinned`).
    pub(crate) rows: Mutex<HashMap<String, (std::time::Instant, store::WorkflowRow)>>,
}

impl Library {
    const ROW_TTL: Duration = Duration::from_millis(500);

    pub(crate) fn fresh_row(&self, id: &str) -> Option<store::WorkflowRow> {
        let rows = self.rows.lock().ok()?;
        rows.get(id)
            .filter(|(at, _)| at.elapsed() < Self::ROW_TTL)
            .map(|(_, r)| r.clone())
    }

    pub(crate) fn keep_row(&self, row: &store::WorkflowRow) {
        if let Ok(mut rows) = self.rows.lock() {
            rows.insert(row.id.clone(), (std::time::Instant::now(), row.clone()));
        }
    }

    pub(crate) fn forget_rows(&self) {
        if let Ok(mut rows) = self.rows.lock() {
            rows.clear();
        }
    }
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

/// The queue's depth as last read: a submit reads it again only when the reading is older
/// than a quarter second or the queue may be near its limit, so a burst of submits costs
/// one `COUNT(*)` every quarter second instead of one per run. Submits made here since the
/// reading are added to it, so a burst from this process cannot overrun the limit unseen.
#[derive(Default)]
pub(crate) struct QueueDepth {
    held: std::sync::Mutex<Option<(std::time::Instant, i64)>>,
}

impl QueueDepth {
    const TTL: Duration = Duration::from_millis(250);

    /// The depth to judge a submit by, if the reading can be trusted for `limit`.
    pub(crate) fn estimate(&self, limit: i64) -> Option<i64> {
        let held = self.held.lock().ok()?;
        held.filter(|(at, depth)| at.elapsed() < Self::TTL && *depth < limit / 2)
            .map(|(_, depth)| depth)
    }

    pub(crate) fn keep(&self, depth: i64) {
        if let Ok(mut held) = self.held.lock() {
            *held = Some((std::time::Instant::now(), depth));
        }
    }

    /// A run queued here since the reading.
    pub(crate) fn queued_one(&self) {
        if let Ok(mut held) = self.held.lock()
            && let Some((_, depth)) = held.as_mut()
        {
            *depth += 1;
        }
    }
}

/// Connection rows as last read, for half a second: a run reads its connection to check
/// who may use it, to build its client and to show its detail, and a burst of runs would
/// read the same row thousands of times a second. Changes made here forget them at once;
/// another replica's change is seen within half a second.
#[derive(Default)]
pub(crate) struct ConnectionRows {
    held: std::sync::Mutex<HashMap<String, (std::time::Instant, Option<store::Connection>)>>,
}

impl ConnectionRows {
    const TTL: Duration = Duration::from_millis(500);

    /// The row of `name` (or that there is none), if read recently.
    pub(crate) fn fresh(&self, name: &str) -> Option<Option<store::Connection>> {
        let held = self.held.lock().ok()?;
        held.get(name)
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, row)| row.clone())
    }

    pub(crate) fn keep(&self, name: &str, row: Option<store::Connection>) {
        if let Ok(mut held) = self.held.lock() {
            held.insert(name.to_owned(), (std::time::Instant::now(), row));
        }
    }

    pub(crate) fn forget(&self) {
        if let Ok(mut held) = self.held.lock() {
            held.clear();
        }
    }
}
