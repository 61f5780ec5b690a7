//! Server benchmark: runs per second and p50/p99 latency of `get-lumos-app` through
//! `POST /api/v1/workflows/get-lumos-app/runs?wait=true` at 32 concurrent clients on SQLite
//! (and on PostgreSQL with one and two replicas when `LUMOSFLOW_TEST_PG_URL` names a
//! server), beside the same app fetched directly from the simulator (the floor), in the
//! same run.
//!
//! Then a 1,000,000-account export: `list-lumos-accounts` with `all=true` started through the
//! API (queued, as the console and schedules do), its output downloaded as CSV, beside the
//! raw floor (the same pages fetched straight from the simulator), with the process's peak RSS
//! for each phase (server and simulator share the process; the simulator's own share is
//! measured first).
//!
//! `cargo bench -p server` (LUMOS_BENCH_SECONDS, default 5; LUMOS_BENCH_SLOTS, run slots, by
//! default `serve`'s; LUMOS_BENCH_ONLY=runs,burst,export: only those phases)

use std::sync::Arc;
use std::time::{Duration, Instant};

use lumos_sim::{DEFAULT_TOKEN, SimConfig, Simulator};
use serde_json::json;
use server::{Role, Server};

const CLIENTS: usize = 32;

struct Stats {
    rps: f64,
    p50: Duration,
    p99: Duration,
    /// CPU time of the whole process (server, simulator and clients) per request.
    cpu_per_request: Duration,
}

/// CPU time this process has used (user and system), from /proc.
fn cpu_used() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|t| t.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

async fn load(
    seconds: u64,
    make: impl Fn() -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> Stats {
    let make = Arc::new(make);
    let cpu = cpu_used();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let resp = make().send().await.expect("request");
                assert!(resp.status().is_success(), "{}", resp.status());
                let _ = resp.bytes().await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    let (p50, p99) = percentiles(&mut all);
    Stats {
        rps: all.len() as f64 / seconds as f64,
        p50,
        p99,
        cpu_per_request: (cpu_used() - cpu) / all.len().max(1) as u32,
    }
}

/// The median and the 99th percentile of some latencies.
fn percentiles(lat: &mut [Duration]) -> (Duration, Duration) {
    lat.sort();
    let pick = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    (pick(0.50), pick(0.99))
}

/// A database of `db`'s kind with the default connection to the simulator and every bundled
/// workflow installed; an engine on it, for the set-up.
async fn prepared(db: &testkit::Db, sim: &str) -> (Arc<engine::Store>, engine::Engine) {
    let store = Arc::new(db.open().await);
    engine::connections::connect(&store, "default", sim, DEFAULT_TOKEN)
        .await
        .expect("connect");
    let engine = engine::Engine::new(store.clone());
    engine
        .install(&[], true, false, &engine::Actor::operator())
        .await
        .expect("install");
    (store, engine)
}

/// A server on `store` with `config`, on a free port.
async fn serve(store: Arc<engine::Store>, config: &engine::EngineConfig) -> Server {
    Server::start_with(
        store,
        "127.0.0.1:0",
        config.clone(),
        server::ServerOptions::default(),
    )
    .await
    .expect("server")
}

fn main() {
    let seconds: u64 = std::env::var("LUMOS_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let sim = Simulator::start(SimConfig::default()).await.expect("sim");
        let http = lumos_api::http::client_builder()
            .pool_max_idle_per_host(CLIENTS)
            .build()
            .expect("client");
        let app: serde_json::Value = http
            .get(format!("{}/apps?size=1", sim.base_url))
            .bearer_auth(DEFAULT_TOKEN)
            .send()
            .await
            .expect("apps")
            .json()
            .await
            .expect("json");
        let app_id = app["items"][0]["id"].as_str().expect("id").to_owned();

        let (h, u) = (
            http.clone(),
            format!("{}/apps/{app_id}?expand=custom_attributes", sim.base_url),
        );
        let direct = load(seconds, move || h.get(&u).bearer_auth(DEFAULT_TOKEN)).await;
        // Run slots as `serve` has them by default, or LUMOS_BENCH_SLOTS.
        let mut config = engine::EngineConfig::default();
        if let Some(n) = std::env::var("LUMOS_BENCH_SLOTS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            config.max_concurrent_runs = n;
        }
        let slots = config.max_concurrent_runs;
        let sqlite = testkit::sqlite();
        let mut measured = vec![(
            "SQLite, one replica".to_owned(),
            runs_load(seconds, &sqlite, 1, &config, &sim.base_url, &app_id, &http).await,
        )];
        // PostgreSQL too when a server is named (a database is made for the run, and
        // dropped after).
        if std::env::var("LUMOSFLOW_TEST_PG_URL").is_ok() {
            for replicas in [1, 2] {
                let pg = testkit::postgres().await.expect("PostgreSQL");
                let stats =
                    runs_load(seconds, &pg, replicas, &config, &sim.base_url, &app_id, &http)
                        .await;
                let name = if replicas == 1 { "one replica" } else { "two replicas" };
                measured.push((format!("PostgreSQL, {name}"), stats));
            }
        }

        println!(
            "get-lumos-app, {CLIENTS} concurrent clients, {seconds} s each, {slots} run slots a replica"
        );
        println!(
            "{:<58} {:>10} {:>9} {:>9} {:>12}",
            "", "per second", "p50 ms", "p99 ms", "CPU ms each"
        );
        let row = |name: &str, s: &Stats| {
            println!(
                "{name:<58} {:>10.0} {:>9.2} {:>9.2} {:>12.3}",
                s.rps,
                s.p50.as_secs_f64() * 1e3,
                s.p99.as_secs_f64() * 1e3,
                s.cpu_per_request.as_secs_f64() * 1e3
            );
        };
        row("GET /apps/{id} straight from the simulator (floor)", &direct);
        for (name, s) in &measured {
            row(&format!("POST …/get-lumos-app/runs?wait=true, {name}"), s);
        }
        for (name, s) in &measured {
            println!(
                "{name}: runs reach {:.1}% of the floor's rate; a run costs {:.2} ms of CPU more than a direct call",
                s.rps / direct.rps * 100.0,
                (s.cpu_per_request.saturating_sub(direct.cpu_per_request)).as_secs_f64() * 1e3
            );
        }
        if phase("burst") {
            hook_burst(&config, &sim.base_url, &app_id, &http).await;
            mcp_burst(&config, &sim.base_url, &app_id, &http).await;
        }
        sim.stop().await;
        if phase("export") {
            export_million(&http).await;
        }
    });
}

/// Runs through `replicas` servers sharing one database, the clients spread over them.
async fn runs_load(
    seconds: u64,
    db: &testkit::Db,
    replicas: usize,
    config: &engine::EngineConfig,
    sim: &str,
    app_id: &str,
    http: &reqwest::Client,
) -> Stats {
    let (_, engine) = prepared(db, sim).await;
    let key = engine
        .create_key("bench", Role::Agent, &engine::Actor::operator())
        .await
        .expect("key");
    let mut servers = Vec::new();
    for _ in 0..replicas {
        // Each replica its own pool, as separate processes would have.
        servers.push(serve(Arc::new(db.open().await), config).await);
    }
    let urls: Vec<String> = servers
        .iter()
        .map(|s| {
            format!(
                "{}/api/v1/workflows/get-lumos-app/runs?wait=true",
                s.base_url
            )
        })
        .collect();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (h, k) = (http.clone(), key.clone());
    let body = json!({"inputs": {"app_id": app_id}});
    let stats = load(seconds, move || {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % urls.len();
        h.post(&urls[i]).bearer_auth(&k).json(&body)
    })
    .await;
    for s in servers {
        s.stop().await;
    }
    stats
}

/// Whether to measure this phase: all of them, or those LUMOS_BENCH_ONLY lists (`runs`,
/// `burst` (hooks and MCP), `export`, comma-separated). The runs and their floor are always measured.
fn phase(name: &str) -> bool {
    std::env::var("LUMOS_BENCH_ONLY").map_or(true, |v| v.split(',').any(|p| p.trim() == name))
}

/// Hook deliveries in the burst.
const BURST: usize = 10_000;

/// A burst of 10,000 signed hook deliveries (a ticketing tool's bulk update), 32 at a time,
/// each starting `get-lumos-app`: how fast they are answered (p50/p99), how many were told
/// to come back later (`429` with `Retry-After`, honoured as a caller would), and that every
/// one was recorded and ran: none lost.
async fn hook_burst(
    config: &engine::EngineConfig,
    sim: &str,
    app_id: &str,
    http: &reqwest::Client,
) {
    let db = testkit::sqlite();
    let (store, engine) = prepared(&db, sim).await;
    let op = engine::Actor::operator();
    let trigger = engine
        .add_trigger(
            "burst",
            "get-lumos-app",
            engine::triggers::TriggerAuth::Hmac,
            Some("inputs:\n  app_id: \"{{ payload.app_id }}\"\n"),
            None,
            &op,
        )
        .await
        .expect("trigger");
    let path = trigger
        .url
        .split_once("/hooks/")
        .map(|(_, p)| p.to_owned())
        .expect("hook path");
    let server = serve(store.clone(), config).await;
    let url = format!("{}/hooks/{path}", server.base_url);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (http, url, next, secret, app_id) = (
            http.clone(),
            url.clone(),
            next.clone(),
            trigger.secret.clone(),
            app_id.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut later) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= BURST {
                    return (lat, later);
                }
                let body = json!({"app_id": app_id, "delivery": i}).to_string();
                loop {
                    // Each try signed afresh: a signature is accepted once.
                    let t = chrono::Utc::now().timestamp();
                    let started = Instant::now();
                    let resp = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header(
                            "lumosflow-signature",
                            engine::notify::signature(&secret, t, &body),
                        )
                        .body(body.clone())
                        .send()
                        .await
                        .expect("hook");
                    let status = resp.status();
                    let wait = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    let _ = resp.bytes().await;
                    lat.push(started.elapsed());
                    if status.as_u16() == 429 {
                        later += 1;
                        tokio::time::sleep(Duration::from_secs(wait.unwrap_or(1))).await;
                        continue;
                    }
                    assert!(status.is_success(), "hook answered {status}");
                    break;
                }
            }
        }));
    }
    let (mut lat, mut later) = (Vec::new(), 0);
    for t in tasks {
        let (l, n) = t.await.expect("client");
        lat.extend(l);
        later += n;
    }
    let answered = began.elapsed();
    // Every delivery recorded, and run to its end: nothing queued, nothing running.
    while store.queue_stats().await.expect("queue").depth > 0 || server.engine.active_runs() > 0 {
        assert!(
            began.elapsed() < Duration::from_secs(600),
            "runs still going after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_done = began.elapsed();
    let done = store
        .runs(&engine::RunFilter {
            workflow: Some("get-lumos-app"),
            limit: (BURST * 2) as i64,
            ..engine::RunFilter::default()
        })
        .await
        .expect("runs");
    let completed = done
        .iter()
        .filter(|r| r.status == engine::RunStatus::Completed)
        .count();
    let (p50, p99) = percentiles(&mut lat);
    println!(
        "{BURST} signed hook deliveries, {CLIENTS} at a time, SQLite store: answered in {:.1} s \
         (p50 {:.1} ms, p99 {:.1} ms; {later} told to come back later), all {} runs ended in \
         {:.1} s ({:.0} runs/s), {completed} completed, {} lost",
        answered.as_secs_f64(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        done.len(),
        all_done.as_secs_f64(),
        done.len() as f64 / all_done.as_secs_f64(),
        BURST.saturating_sub(completed),
    );
    server.stop().await;
}

/// A burst of 10,000 `get-lumos-app` tool calls from 32 AI agents at once, each with its
/// own MCP session over HTTP (an agent fan-out): each call answers when its run is over.
/// How fast they are answered (p50/p99), and that every call got its app and every run was
/// recorded: none lost.
async fn mcp_burst(config: &engine::EngineConfig, sim: &str, app_id: &str, http: &reqwest::Client) {
    let db = testkit::sqlite();
    let (store, engine) = prepared(&db, sim).await;
    let op = engine::Actor::operator();
    let key = engine
        .create_key("agents", Role::Agent, &op)
        .await
        .expect("key");
    let server = serve(store.clone(), config).await;
    let url = format!("{}/mcp", server.base_url);
    let post = |session: Option<&str>, body: serde_json::Value| {
        let mut rb = http
            .post(&url)
            .bearer_auth(&key)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(s) = session {
            rb = rb
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-06-18");
        }
        rb.send()
    };
    // Each agent's session first.
    let mut sessions = Vec::new();
    for _ in 0..CLIENTS {
        let resp = post(
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"}}}),
        )
        .await
        .expect("initialize");
        let id = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .expect("session id")
            .to_owned();
        let _ = resp.bytes().await;
        let _ = post(
            Some(&id),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .await
        .expect("initialized");
        sessions.push(id);
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for session in sessions {
        let (http, url, key, next, app_id) = (
            http.clone(),
            url.clone(),
            key.clone(),
            next.clone(),
            app_id.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut failed) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= BURST {
                    return (lat, failed);
                }
                let started = Instant::now();
                let text = http
                    .post(&url)
                    .bearer_auth(&key)
                    .header("accept", "application/json, text/event-stream")
                    .header("mcp-session-id", &session)
                    .header("mcp-protocol-version", "2025-06-18")
                    .json(
                        &json!({"jsonrpc": "2.0", "id": i + 10, "method": "tools/call",
                        "params": {"name": "get-lumos-app", "arguments": {"app_id": app_id}}}),
                    )
                    .send()
                    .await
                    .expect("tools/call")
                    .text()
                    .await
                    .expect("answer");
                lat.push(started.elapsed());
                // The answer, as JSON or as server-sent events: the app, not an error.
                let answer = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .chain(std::iter::once(text.as_str()))
                    .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
                    .find(|v| v.get("id").is_some());
                let ok = answer.is_some_and(|a| {
                    a["result"]["isError"] == false && a.to_string().contains(&app_id)
                });
                if !ok {
                    failed += 1;
                }
            }
        }));
    }
    let (mut lat, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (l, n) = t.await.expect("agent");
        lat.extend(l);
        failed += n;
    }
    let took = began.elapsed();
    let recorded = store
        .runs(&engine::RunFilter {
            workflow: Some("get-lumos-app"),
            status: Some(engine::RunStatus::Completed),
            limit: (BURST * 2) as i64,
            ..engine::RunFilter::default()
        })
        .await
        .expect("runs")
        .len();
    let (p50, p99) = percentiles(&mut lat);
    println!(
        "{BURST} MCP tool calls from {CLIENTS} agent sessions at once, SQLite store: all answered \
         in {:.1} s ({:.0} calls/s; p50 {:.1} ms, p99 {:.1} ms), {failed} without their app, \
         {recorded} runs recorded completed, {} lost",
        took.as_secs_f64(),
        BURST as f64 / took.as_secs_f64(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        BURST.saturating_sub(recorded),
    );
    server.stop().await;
}

/// Resident memory of this process in MiB: (now, peak since the last reset).
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|k| k.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Start measuring a new peak (Linux: writing 5 to clear_refs resets VmHWM).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn export_million(http: &reqwest::Client) {
    use futures_util::StreamExt;
    let sim = Simulator::start(SimConfig {
        size: lumos_sim::OrgSize {
            users: 100_000,
            apps: 200,
            groups: 1000,
            accounts_per_user: 10,
        },
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let dir = std::env::temp_dir().join(format!("lumosflow-bench-big-{}", std::process::id()));
    let url = dir.join("lumosflow.db").display().to_string();
    let store = Arc::new(
        engine::Store::open(&url, engine::KeySource::File(dir.join("master.key")))
            .await
            .expect("store"),
    );
    engine::connections::connect(&store, "default", &sim.base_url, DEFAULT_TOKEN)
        .await
        .expect("connect");
    engine::Engine::new(store.clone())
        .install(&[], true, false, &engine::Actor::operator())
        .await
        .expect("install");
    let key = engine::Engine::new(store.clone())
        .create_key("bench", Role::Agent, &engine::Actor::operator())
        .await
        .expect("key");
    let server = Server::start(store, "127.0.0.1:0").await.expect("server");
    let (base_rss, _) = rss_mib();

    // The organization's accounts: a million seeded, and the orphans of a real one's mess.
    let first: serde_json::Value = http
        .get(format!("{}/accounts?page=1&size=100", sim.base_url))
        .bearer_auth(DEFAULT_TOKEN)
        .send()
        .await
        .expect("first page")
        .json()
        .await
        .expect("json");
    let total = first["total"].as_u64().expect("total");
    let pages = total.div_ceil(100);

    reset_peak();
    let t = Instant::now();
    let bytes: usize = futures_util::stream::iter(1..=pages)
        .map(|p| {
            let url = format!("{}/accounts?page={p}&size=100", sim.base_url);
            async move {
                http.get(url)
                    .bearer_auth(DEFAULT_TOKEN)
                    .send()
                    .await
                    .expect("get")
                    .bytes()
                    .await
                    .expect("body")
                    .len()
            }
        })
        .buffered(4)
        .fold(0, |n, b| async move { n + b })
        .await;
    let floor = t.elapsed();
    let (_, floor_peak) = rss_mib();

    reset_peak();
    let t = Instant::now();
    let started: serde_json::Value = http
        .post(format!(
            "{}/api/v1/workflows/list-lumos-accounts/runs",
            server.base_url
        ))
        .bearer_auth(&key)
        .json(&json!({"inputs": {"all": true}}))
        .send()
        .await
        .expect("start")
        .json()
        .await
        .expect("json");
    let id = started["id"].as_str().expect("run id").to_owned();
    let detail = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let d: serde_json::Value = http
            .get(format!("{}/api/v1/runs/{id}", server.base_url))
            .bearer_auth(&key)
            .send()
            .await
            .expect("poll")
            .json()
            .await
            .expect("json");
        if d["status"] != "running" && d["status"] != "queued" {
            break d;
        }
    };
    let run = t.elapsed();
    let (_, run_peak) = rss_mib();
    assert_eq!(detail["status"], "completed", "{}", detail["error"]);
    assert_eq!(detail["items"]["count"], total);

    reset_peak();
    let t = Instant::now();
    let mut resp = http
        .get(format!(
            "{}/api/v1/runs/{id}/output?format=csv",
            server.base_url
        ))
        .bearer_auth(&key)
        .send()
        .await
        .expect("download");
    let mut lines = 0u64;
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let download = t.elapsed();
    let (_, download_peak) = rss_mib();
    assert_eq!(lines, total + 1, "a header and every account");

    println!(
        "{total}-account export through the API (server and simulator in this process, {base_rss:.0} MiB resident before)"
    );
    println!(
        "  raw fetch of the {pages} pages, 4 at a time: {:>6.2} s  ({:.0} MB)  peak RSS {floor_peak:.0} MiB",
        floor.as_secs_f64(),
        bytes as f64 / 1e6
    );
    println!(
        "  run started by POST …/runs, until completed: {:>6.2} s  ({:.2}x the floor)  peak RSS {run_peak:.0} MiB",
        run.as_secs_f64(),
        run.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "  GET /api/v1/runs/{{id}}/output?format=csv  : {:>6.2} s  {lines} lines  peak RSS {download_peak:.0} MiB",
        download.as_secs_f64()
    );
    views(http, &server.base_url, &key, &id, total).await;
    server.stop().await;
    sim.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The million accounts filtered and sorted on the server (#30): the first page of a view
/// (one pass over the stored output), and a page deep in it once the view is kept.
async fn views(http: &reqwest::Client, base: &str, key: &str, id: &str, total: u64) {
    println!("  filtered and sorted on the server, 500 rows a page:");
    for (what, query) in [
        ("filter “ann” (any field)", "filter=ann"),
        ("filter “ann” in email", "filter=ann&columns=email"),
        ("sort by email", "sort=email"),
        ("sort by last activity, newest first", "sort=-last_activity"),
        ("filter “ann”, sort by email", "filter=ann&sort=email"),
    ] {
        reset_peak();
        let (_, before) = rss_mib();
        let page = |offset: u64| {
            let url = format!("{base}/api/v1/runs/{id}/items?{query}&offset={offset}&limit=500");
            async move {
                let t = Instant::now();
                let v: serde_json::Value = http
                    .get(url)
                    .bearer_auth(key)
                    .send()
                    .await
                    .expect("view")
                    .json()
                    .await
                    .expect("json");
                (t.elapsed(), v)
            }
        };
        let (first, v) = page(0).await;
        let matched = v["matched"].as_u64().expect("matched");
        assert_eq!(v["count"], total);
        let (_, peak) = rss_mib();
        let (deep, _) = page(matched / 2).await;
        println!(
            "    {what:<40} first page {:>6.2} s  ({matched} rows)  a page in the middle {:>5.0} ms  peak RSS +{:.0} MiB",
            first.as_secs_f64(),
            deep.as_secs_f64() * 1e3,
            peak - before
        );
    }
}
