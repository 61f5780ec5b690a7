//! What the executor tells the world about each step: its record (kind, status, what went
//! out, a bounded copy of its output) with secret-looking parameters taken out.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use store::StepStatus;

pub use workflow_lang::size::approx_size;

/// What a step's action reached: nothing outside the run, Lumos, another web service, or
/// another workflow (a sub-run, whose own calls are its own records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Local,
    Lumos,
    Http,
    Workflow,
}

/// What happened in one step (or one item of a for-each step).
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step_id: String,
    /// Which item of a `for_each:` step this is (from 0); 0 for a step without a loop, and
    /// [`LOOP_SUMMARY`] for the record that sums a loop up.
    pub iteration: i32,
    /// One item of a `for_each:` step: kept only as a sample (see [`LoopSample`]).
    #[serde(skip)]
    pub loop_item: bool,
    pub status: StepStatus,
    pub kind: StepKind,
    /// Whether a request that changes something went out (a Lumos write, an http write):
    /// what the audit trail records.
    pub changed: bool,
    /// The body of such a request (secrets taken out), for the audit trail.
    pub sent: Option<Value>,
    pub operation: Option<String>,
    pub params: Option<Value>,
    /// The request that went to Lumos (method and path, no query), once one did.
    pub method: Option<String>,
    pub path: Option<String>,
    pub http_status: Option<u16>,
    pub duration_ms: u64,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    /// What the step gave, bounded (see [`step_output`]), for debugging from the record.
    pub output: Option<Value>,
}

/// The iteration of the record that sums a `for_each:` step up: it sorts before the items.
pub const LOOP_SUMMARY: i32 = -1;

/// What a `for_each:` step did, kept as its summary record's output, so a loop over 20,000
/// users is one record with counts and a few samples, not 20,000 rows.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LoopCounts {
    /// Items in the list.
    pub items: usize,
    /// Items an `if:` left out.
    pub skipped: usize,
    pub completed: usize,
    pub failed: usize,
    /// Items that never ran: the loop stopped at a failure or was canceled.
    pub not_run: usize,
}

/// Item records kept per loop: the first completed ones and the first failures; the rest are
/// only counted (their changes still go to the audit trail one by one).
pub const LOOP_SAMPLE_COMPLETED: usize = 10;
pub const LOOP_SAMPLE_FAILED: usize = 20;

/// Which item records of each loop are kept: one per run (or try), fed every record in order.
#[derive(Default)]
pub struct LoopSample {
    steps: std::collections::HashMap<String, Kept>,
}

/// One loop's sample: how many completed and failed items it holds, and which items (a
/// retried item's later attempts replace its kept record, so its final state is what shows).
#[derive(Default)]
struct Kept {
    completed: usize,
    failed: usize,
    items: std::collections::HashSet<i32>,
}

impl LoopSample {
    /// Whether to keep this record: every record that is not a loop item; loop items up to
    /// the sample sizes, and every later attempt of an item already kept.
    pub fn keep(&mut self, r: &StepRecord) -> bool {
        if !r.loop_item {
            return true;
        }
        let kept = self.steps.entry(r.step_id.clone()).or_default();
        if kept.items.contains(&r.iteration) {
            return true;
        }
        let (n, max) = match r.status {
            StepStatus::Completed | StepStatus::DryRun | StepStatus::Skipped => {
                (&mut kept.completed, LOOP_SAMPLE_COMPLETED)
            }
            StepStatus::Failed | StepStatus::Canceled => (&mut kept.failed, LOOP_SAMPLE_FAILED),
        };
        if *n >= max {
            return false;
        }
        *n += 1;
        kept.items.insert(r.iteration);
        true
    }
}

/// Largest step output recorded whole; bigger ones are summarised.
const STEP_OUTPUT_MAX: u64 = 16 << 10;
/// Items kept in the summary of a big list.
const STEP_OUTPUT_ITEMS: usize = 5;

/// A step's output as its record keeps it: whole when small; for a big listing its other
/// fields, how many items and the first few; for any other big value, its size.
pub fn step_output(v: &Value) -> Value {
    if approx_size(v) <= STEP_OUTPUT_MAX {
        return v.clone();
    }
    let first = |items: &[Value]| -> Vec<Value> {
        items
            .iter()
            .take(STEP_OUTPUT_ITEMS)
            .filter(|i| approx_size(i) <= STEP_OUTPUT_MAX / STEP_OUTPUT_ITEMS as u64)
            .cloned()
            .collect()
    };
    match v {
        Value::Array(items) => json!({
            "truncated": true, "count": items.len(), "first": first(items),
        }),
        Value::Object(m) if m.get("items").is_some_and(Value::is_array) => {
            let items = m["items"].as_array().map(Vec::as_slice).unwrap_or_default();
            let mut out = Map::new();
            for (k, x) in m {
                if k != "items" && approx_size(x) <= 1024 {
                    out.insert(k.clone(), x.clone());
                }
            }
            out.insert("truncated".into(), json!(true));
            out.insert("items_count".into(), json!(items.len()));
            out.insert("first_items".into(), Value::Array(first(items)));
            Value::Object(out)
        }
        other => json!({"truncated": true, "bytes": approx_size(other)}),
    }
}

/// Parameter names whose values never reach records or logs.
pub(crate) fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "api_key",
        "apikey",
        "authorization",
        "credential",
    ]
    .iter()
    .any(|s| n.contains(s))
}

pub(crate) fn redact(params: &Map<String, Value>) -> Value {
    Value::Object(
        params
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if is_secret(k) {
                        json!("[redacted]")
                    } else {
                        v.clone()
                    },
                )
            })
            .collect(),
    )
}
