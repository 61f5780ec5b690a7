//! What the engine keeps in memory between calls, each with the rule that keeps it true:
//! parsed workflows by content hash (the same text is the same workflow) and by version (a
//! saved version is never rewritten), one Lumos client
//! per connection (rebuilt when the connection is saved again), notification targets for
//! a second.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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
    pub(crate) rows: Fresh<String, store::WorkflowRow, 500>,
}

/// One client per connection.
#[derive(Default)]
pub(crate) struct Clients {
    /// Each connection's client and the connection's `updated_at` it was built from.
    pub(crate) by_name: Mutex<HashMap<String, (DateTime<Utc>, lumos_api::Client)>>,
}

/// Values as last read, each kept for `MILLIS` milliseconds: what a burst of requests would
/// otherwise read from the database again and again. Changes made here forget them at once;
/// another replica's are seen once a value is that old.
pub(crate) struct Fresh<K, V, const MILLIS: u64> {
    held: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K, V, const MILLIS: u64> Default for Fresh<K, V, MILLIS> {
    fn default() -> Self {
        Fresh {
            held: Mutex::default(),
        }
    }
}

impl<K: Hash + Eq, V: Clone, const MILLIS: u64> Fresh<K, V, MILLIS> {
    const TTL: Duration = Duration::from_millis(MILLIS);

    /// The value of `key`, if read within the time kept.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let held = self.held.lock().ok()?;
        held.get(key)
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, v)| v.clone())
    }

    pub(crate) fn keep(&self, key: K, value: V) {
        if let Ok(mut held) = self.held.lock() {
            held.insert(key, (Instant::now(), value));
        }
    }

    pub(crate) fn forget(&self) {
        if let Ok(mut held) = self.held.lock() {
            held.clear();
        }
    }
}

/// The notification targets, for a second: every run's end asks.
pub(crate) type TargetCache = Fresh<(), Arc<Vec<NotificationTarget>>, 1000>;

/// Connection rows (or that there is none), for half a second: a run reads its connection
/// to check who may use it, to build its client and to show its detail, and a burst of runs
/// would read the same row thousands of times a second.
pub(crate) type ConnectionRows = Fresh<String, Option<store::Connection>, 500>;

/// What people call the apps and people a held run's inputs give by id, for ten minutes:
/// the approvals inbox is read on every page of the console, and a name rarely changes.
pub(crate) type InputNames = Fresh<String, String, 600_000>;

/// The queue's depth as last read: a submit reads it again only when the reading is older
/// than a quarter second or the queue may be near its limit, so a burst of submits costs
/// one `COUNT(*)` every quarter second instead of one per run. Submits made here since the
/// reading are added to it, so a burst from this process cannot overrun the limit unseen.
#[derive(Default)]
pub(crate) struct QueueDepth {
    held: Mutex<Option<(Instant, i64)>>,
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
            *held = Some((Instant::now(), depth));
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
