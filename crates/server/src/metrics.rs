//! Prometheus metrics: runs by workflow and status, Lumos calls by operation and status,
//! their latencies, scheduled firings (fired, skipped, missed), and the run queue (depth, age of the oldest queued run, runs executing
//! in this process).

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    workflow: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkflowLabel {
    workflow: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FiringLabels {
    workflow: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: String,
}

fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// When Lumos last answered this process, and when a call last got no answer (or a 5xx):
/// `/healthz` reports their age so a stale connection check does not read as a live Lumos.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LumosSeen {
    pub last_answer_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_failure_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `503`, or `no answer`.
    pub last_failure: Option<String>,
}

/// Seconds since `t` (0 for a time ahead of this clock).
pub fn age_secs(t: chrono::DateTime<chrono::Utc>) -> f64 {
    (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
}

pub struct Metrics {
    registry: Mutex<Registry>,
    seen: Mutex<LumosSeen>,
    answer_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    runs: Family<RunLabels, Counter>,
    run_seconds: Family<WorkflowLabel, Histogram, fn() -> Histogram>,
    calls: Family<CallLabels, Counter>,
    call_seconds: Family<OperationLabel, Histogram, fn() -> Histogram>,
    queue_depth: Gauge,
    queue_oldest: Gauge<f64, std::sync::atomic::AtomicU64>,
    executing: Gauge,
    mcp_listeners: Gauge,
    firings: Family<FiringLabels, Counter>,
    requests: Family<CallLabels, Counter>,
    approvals_pending: Gauge,
    approvals_oldest: Gauge<f64, std::sync::atomic::AtomicU64>,
    deliveries: Family<StatusLabel, Gauge>,
    delivery_attempts: Family<StatusLabel, Gauge>,
    database_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lumosflow");
        let runs = Family::<RunLabels, Counter>::default();
        let run_seconds =
            Family::<WorkflowLabel, Histogram, fn() -> Histogram>::new_with_constructor(
                seconds_histogram,
            );
        let calls = Family::<CallLabels, Counter>::default();
        let call_seconds =
            Family::<OperationLabel, Histogram, fn() -> Histogram>::new_with_constructor(
                seconds_histogram,
            );
        registry.register(
            "runs",
            "Workflow runs by workflow and final status",
            runs.clone(),
        );
        registry.register(
            "run_duration_seconds",
            "Workflow run duration",
            run_seconds.clone(),
        );
        registry.register(
            "lumos_calls",
            "Lumos API calls by operation and HTTP status",
            calls.clone(),
        );
        registry.register(
            "lumos_call_duration_seconds",
            "Lumos API call duration",
            call_seconds.clone(),
        );
        let queue_depth = Gauge::default();
        let queue_oldest = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let executing = Gauge::default();
        let mcp_listeners = Gauge::default();
        let requests = Family::<CallLabels, Counter>::default();
        registry.register(
            "lumos_requests",
            "Requests sent to Lumos by operation and HTTP status (error: no answer), each retry and page counted",
            requests.clone(),
        );
        let approvals_pending = Gauge::default();
        registry.register(
            "approvals_pending",
            "Runs waiting for approval (all replicas)",
            approvals_pending.clone(),
        );
        let approvals_oldest = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "approvals_oldest_pending_seconds",
            "Age of the oldest run waiting for approval, 0 when none waits",
            approvals_oldest.clone(),
        );
        let deliveries = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "notification_deliveries",
            "Notice deliveries kept, by status: pending, sent, failed (all replicas)",
            deliveries.clone(),
        );
        let delivery_attempts = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "notification_delivery_attempts",
            "Attempts made for the notice deliveries kept, by their status",
            delivery_attempts.clone(),
        );
        let database_bytes = Gauge::default();
        registry.register(
            "database_bytes",
            "Size of the database (SQLite file pages, or PostgreSQL's pg_database_size)",
            database_bytes.clone(),
        );
        let firings = Family::<FiringLabels, Counter>::default();
        registry.register(
            "schedule_firings",
            "Scheduled firings by workflow and outcome: fired, skipped (the previous run had not ended) or missed (the run could not start; not retried)",
            firings.clone(),
        );
        registry.register(
            "mcp_sessions_watching",
            "MCP sessions listening for tool-list changes",
            mcp_listeners.clone(),
        );
        registry.register(
            "run_queue_depth",
            "Runs waiting in the queue (all replicas)",
            queue_depth.clone(),
        );
        registry.register(
            "run_queue_oldest_seconds",
            "Age of the oldest queued run, 0 when the queue is empty",
            queue_oldest.clone(),
        );
        registry.register(
            "runs_executing",
            "Runs executing in this process",
            executing.clone(),
        );
        let answer_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "lumos_last_answer_age_seconds",
            "Seconds since Lumos last answered a call from this process (-1 before the first)",
            answer_age.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            seen: Mutex::new(LumosSeen::default()),
            answer_age,
            runs,
            run_seconds,
            calls,
            call_seconds,
            queue_depth,
            queue_oldest,
            executing,
            mcp_listeners,
            firings,
            requests,
            approvals_pending,
            approvals_oldest,
            deliveries,
            delivery_attempts,
            database_bytes,
        }
    }

    pub fn run_finished(&self, workflow: &str, status: &str, seconds: f64) {
        self.runs
            .get_or_create(&RunLabels {
                workflow: workflow.to_owned(),
                status: status.to_owned(),
            })
            .inc();
        self.run_seconds
            .get_or_create(&WorkflowLabel {
                workflow: workflow.to_owned(),
            })
            .observe(seconds);
    }

    pub fn lumos_call(&self, operation: &str, status: Option<u16>, seconds: f64) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.calls
            .get_or_create(&CallLabels {
                operation: operation.to_owned(),
                status,
            })
            .inc();
        self.call_seconds
            .get_or_create(&OperationLabel {
                operation: operation.to_owned(),
            })
            .observe(seconds);
    }

    /// One look at the schedules, counted on the replica that made it.
    pub fn firings(&self, f: &engine::schedule::Firings) {
        let fired = f.fired.iter().map(|w| (w, "fired"));
        let skipped = f.skipped.iter().map(|w| (w, "skipped"));
        let missed = f.missed.iter().map(|w| (w, "missed"));
        for (workflow, outcome) in fired.chain(skipped).chain(missed) {
            self.firings
                .get_or_create(&FiringLabels {
                    workflow: workflow.clone(),
                    outcome: outcome.to_owned(),
                })
                .inc();
        }
    }

    /// How long ago Lumos last answered, as read at scrape time (-1: never yet).
    pub fn lumos_age(&self) {
        let age = self.lumos_seen().last_answer_at.map_or(-1.0, age_secs);
        self.answer_age.set(age);
    }

    /// What this process last heard from Lumos.
    pub fn lumos_seen(&self) -> LumosSeen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn mcp_listeners(&self, n: usize) {
        self.mcp_listeners.set(n as i64);
    }

    /// The queue as read at scrape time.
    pub fn queue(&self, stats: engine::QueueStats, executing: usize) {
        self.queue_depth.set(stats.depth);
        let age = stats.oldest.map_or(0.0, age_secs);
        self.queue_oldest.set(age);
        self.executing.set(executing as i64);
    }

    /// Approvals, deliveries and the database's size as read at scrape time.
    pub fn operator(&self, s: &engine::OperatorStats) {
        self.approvals_pending.set(s.pending_approvals);
        self.approvals_oldest
            .set(s.oldest_pending_approval.map_or(0.0, age_secs));
        for d in &s.deliveries {
            let label = StatusLabel {
                status: d.status.clone(),
            };
            self.deliveries.get_or_create(&label).set(d.deliveries);
            self.delivery_attempts.get_or_create(&label).set(d.attempts);
        }
        self.database_bytes.set(s.database_bytes);
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(r) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        }
        out
    }
}

/// Every request a Lumos client sends: counted, and what `/healthz` says Lumos last did.
impl lumos_api::Watch for Metrics {
    fn answered(&self, operation: &str, status: Option<u16>, _elapsed: std::time::Duration) {
        self.requests
            .get_or_create(&CallLabels {
                operation: operation.to_owned(),
                status: status.map_or_else(|| "error".to_owned(), |s| s.to_string()),
            })
            .inc();
        if let Ok(mut seen) = self.seen.lock() {
            let now = chrono::Utc::now();
            match status {
                Some(s) if s < 500 => seen.last_answer_at = Some(now),
                other => {
                    seen.last_failure_at = Some(now);
                    seen.last_failure =
                        Some(other.map_or_else(|| "no answer".to_owned(), |s| s.to_string()));
                }
            }
        }
    }
}
