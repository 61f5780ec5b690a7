//! What a run costs the database: every SQL statement lumosflow sends while `POST
//! /api/v1/workflows/{id}/runs?wait=true` runs a one-call workflow through the queue and
//! answers with its detail, counted from sqlx's statement log (its own test binary, so no
//! other test's statements are counted). A change that adds statements to every run fails
//! here; the breakdown printed says which.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Statements per request the budget allows (what is made by time apart): the API key, the
/// run recorded as running (it starts here at once: no claim), and its end written with its
/// step records, which returns the run as stored, so the detail is answered without reading
/// it back. See BENCHMARKS.md.
const BUDGET: f64 = 3.0;
const PG_BUDGET: f64 = 3.0;
/// Write transactions per run: the run's record, then its end with its steps.
const WRITE_BUDGET: f64 = 2.0;
const RUNS: usize = 40;

/// Statements by their first words, and the write transactions they made: a write outside
/// any transaction is one; the writes in one store `transaction` span are one together.
#[derive(Clone, Default)]
struct Counter(Arc<Mutex<Seen>>);

#[derive(Default)]
struct Seen {
    /// On a run's path.
    statements: BTreeMap<String, usize>,
    /// Made by time, not by runs (see [`by_time`]).
    timed: BTreeMap<String, usize>,
    lone_writes: usize,
    write_transactions: std::collections::HashSet<u64>,
}

/// Statements made at most so often however many runs there are: the caches' refreshes
/// (the queue's depth every quarter second, connection and workflow rows every half, the
/// notification targets every second), the
/// lease keeper's polls, and a queue worker's poll that finds the queue empty. A slow
/// machine makes more of them per run; they are counted and shown apart.
fn by_time(key: &str, rows: u64) -> bool {
    [
        "SELECT COUNT(*), MIN(created_at) FROM runs",
        "SELECT id, name, base_url, token_hint,",
        "SELECT id, name, bundle, origin, current_version,",
        "SELECT id, name, format, url_hint, events,",
        "SELECT id FROM runs WHERE locked_by",
        "UPDATE runs SET locked_until",
    ]
    .iter()
    .any(|p| key.starts_with(p))
        || (key.starts_with("UPDATE runs SET status = 'running',") && rows == 0)
}

/// The statement's text; sqlx leaves `db.statement` empty when the whole statement fits in
/// its `summary`.
#[derive(Default)]
struct Statement {
    text: Option<String>,
    summary: Option<String>,
    rows: u64,
}

impl Visit for Statement {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if matches!(field.name(), "rows_returned" | "rows_affected") {
            self.rows += value;
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "db.statement" if !value.trim().is_empty() => self.text = Some(value.to_owned()),
            "summary" => self.summary = Some(value.to_owned()),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let v = format!("{value:?}");
        match field.name() {
            "db.statement" if self.text.is_none() && !v.trim_matches('"').trim().is_empty() => {
                self.text = Some(v)
            }
            "summary" if self.summary.is_none() => self.summary = Some(v),
            _ => {}
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for Counter
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut v = Statement::default();
        event.record(&mut v);
        let Some(sql) = v.text.or(v.summary) else {
            return;
        };
        // The statement's first words name it well enough.
        let key: String = sql
            .split_whitespace()
            .take(6)
            .collect::<Vec<_>>()
            .join(" ")
            .trim_matches('"')
            .to_owned();
        let key = if key.is_empty() {
            format!("(no statement text: {sql:?})")
        } else {
            key
        };
        let write = ["INSERT", "UPDATE", "DELETE"]
            .iter()
            .any(|w| key.trim_start_matches(['\\', 'n', ' ']).starts_with(w));
        let transaction = ctx.event_scope(event).and_then(|mut scope| {
            scope
                .find(|s| s.name() == "transaction")
                .map(|s| s.id().into_u64())
        });
        let rows = v.rows;
        if let Ok(mut m) = self.0.lock() {
            if by_time(&key, rows) {
                *m.timed.entry(key).or_default() += 1;
                return;
            }
            *m.statements.entry(key).or_default() += 1;
            match (write, transaction) {
                (false, _) => {}
                (true, None) => m.lone_writes += 1,
                (true, Some(t)) => {
                    m.write_transactions.insert(t);
                }
            }
        }
    }
}

impl Counter {
    fn take(&self) -> Seen {
        self.0
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

/// One test, both databases in turn (one global subscriber per process): SQLite, then
/// PostgreSQL when `LUMOSFLOW_TEST_PG_URL` names a server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_call_run_costs_few_statements() {
    let counter = Counter::default();
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("sqlx::query", tracing::Level::DEBUG)
        .with_target("store", tracing::Level::DEBUG);
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(counter.clone().with_filter(filter)),
    )
    .expect("the only subscriber in this binary");
    measure(&counter, testkit::sqlite(), "SQLite").await;
    match testkit::postgres().await {
        Some(db) => measure(&counter, db, "PostgreSQL").await,
        None => eprintln!("PostgreSQL: LUMOSFLOW_TEST_PG_URL not set, not measured"),
    }
}

async fn measure(counter: &Counter, db: testkit::Db, kind: &str) {
    let sim = lumos_sim::Simulator::start(lumos_sim::SimConfig::default())
        .await
        .expect("sim");
    let store = Arc::new(db.open().await);
    let key = engine::Engine::new(store.clone())
        .create_key("bench", engine::Role::Admin, &engine::Actor::operator())
        .await
        .expect("key");
    // Quiet background work: no notices, events or replies are looked for during the runs.
    let config = engine::EngineConfig {
        notice_poll: Duration::from_secs(3600),
        event_poll: Duration::from_secs(3600),
        lease: Duration::from_secs(120),
        ..engine::EngineConfig::default()
    };
    let server = server::Server::start_with(
        store,
        "127.0.0.1:0",
        config,
        server::ServerOptions::default(),
    )
    .await
    .expect("server");
    let http = lumos_api::http::client();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{}{path}", server.base_url))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let r = call(
        reqwest::Method::POST,
        "/api/v1/connections",
        json!({"name": "default", "base_url": sim.base_url, "token": sim.token}),
    )
    .await
    .expect("connect");
    assert!(r.status().is_success());
    let r = call(
        reqwest::Method::POST,
        "/api/v1/workflows/install",
        json!({"workflows": ["get-lumos-app", "list-lumos-apps"]}),
    )
    .await
    .expect("install");
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let apps: Value = call(
        reqwest::Method::POST,
        "/api/v1/lumos/call",
        json!({"operation": "listApps", "params": {"size": 1}}),
    )
    .await
    .expect("apps")
    .json()
    .await
    .expect("json");
    let app = apps["body"]["items"][0]["id"].clone();
    let run = || {
        call(
            reqwest::Method::POST,
            "/api/v1/workflows/get-lumos-app/runs?wait=true",
            json!({"inputs": {"app_id": app}}),
        )
    };
    // Warm: the first run reads what later ones find cached (the workflow's definition).
    let first: Value = run().await.expect("run").json().await.expect("json");
    assert_eq!(first["status"], "completed", "{first}");
    let listing: Value = call(
        reqwest::Method::POST,
        "/api/v1/workflows/list-lumos-apps/runs?wait=true",
        json!({"inputs": {"all": true}}),
    )
    .await
    .expect("listing")
    .json()
    .await
    .expect("json");
    assert_eq!(listing["status"], "completed", "{listing}");
    assert!(listing["output_links"]["json"].is_string(), "{listing}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    counter.take();

    let began = std::time::Instant::now();
    let mut last = Value::Null;
    for _ in 0..RUNS {
        let r: Value = run().await.expect("run").json().await.expect("json");
        assert_eq!(r["status"], "completed", "{r}");
        last = r;
    }
    let seen = counter.take();
    // The answer given without reading the run back is what reading it back gives: a
    // one-call run, and a listing (run before the count) with its first items and the links
    // to the rest.
    for answered in [&last, &listing] {
        let id = answered["id"].as_str().expect("id");
        let read: Value = call(
            reqwest::Method::GET,
            &format!("/api/v1/runs/{id}"),
            json!({}),
        )
        .await
        .expect("detail")
        .json()
        .await
        .expect("json");
        assert_eq!(&read, answered, "{kind}: answered and read back differ");
        assert!(
            !read["steps"].as_array().is_none_or(Vec::is_empty),
            "{read}"
        );
    }
    let took = began.elapsed();
    // Transaction control counts too (PostgreSQL logs COMMIT; SQLite logs neither).
    let total: usize = seen.statements.values().sum();
    let write_transactions = seen.lone_writes + seen.write_transactions.len();
    let budget = if kind == "PostgreSQL" {
        PG_BUDGET
    } else {
        BUDGET
    };
    let per_run = total as f64 / RUNS as f64;
    let writes_per_run = write_transactions as f64 / RUNS as f64;
    let breakdown: Vec<String> = seen
        .statements
        .iter()
        .map(|(k, n)| format!("{:6.2}  {k}", *n as f64 / RUNS as f64))
        .collect();
    let timed: Vec<String> = seen
        .timed
        .iter()
        .map(|(k, n)| format!("{:6.2}/s  {k}", *n as f64 / took.as_secs_f64()))
        .collect();
    eprintln!(
        "{kind}: statements per run: {per_run:.2} in {writes_per_run:.2} write transactions\n{}\nand by time, over {took:.1?}:\n{}",
        breakdown.join("\n"),
        timed.join("\n")
    );
    assert!(
        per_run <= budget && writes_per_run <= WRITE_BUDGET,
        "{kind}: a one-call run costs {per_run:.2} statements in {writes_per_run:.2} write transactions; the budget is {budget} in {WRITE_BUDGET}:\n{}",
        breakdown.join("\n")
    );
    server.stop().await;
    sim.stop().await;
}
