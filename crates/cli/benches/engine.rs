//! Engine benchmark, every number beside a baseline measured in the same run:
//! 1. `list-lumos-users` with `all=true` over a 20k-user org vs a raw keep-alive fetch of
//!    the same pages (100 per page, 4 at a time) that also parses the JSON;
//! 2. engine overhead per step (transform steps, no HTTP) and per run (a one-call workflow
//!    vs the same call made directly);
//! 3. `lumosflow run list-lumos-accounts -i all=true` over 1M accounts in each format
//!    (`--ndjson`, `--json`, `--csv`): time against the raw floor (a keep-alive fetch of the
//!    same 10,000 pages, 4 at a time, bodies read and dropped) measured in the same run, and
//!    the peak RSS of the CLI process;
//! 4. a set difference at directory scale: every user without any account, 100,000 users
//!    against 1,000,000 accounts (`fields:` keeping what the difference needs), against a
//!    hand-written floor (the same pages fetched 4 at a time, parsed, and differenced with a
//!    `HashSet` in plain Rust), with the CLI's peak RSS.
//!
//! `cargo bench -p lumosflow --bench engine`

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{Engine, RunRequest};
use futures_util::StreamExt;
use lumos_sim::{DEFAULT_TOKEN, OrgSize, SimConfig, Simulator};
use serde_json::{Map, Value, json};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

async fn engine_for(home: &std::path::Path, base_url: &str) -> Engine {
    let url = home.join("lumosflow.db").display().to_string();
    let store = store::Store::open(&url, store::KeySource::File(home.join("master.key")))
        .await
        .expect("store");
    engine::connections::connect(&store, "default", base_url, DEFAULT_TOKEN)
        .await
        .expect("connect");
    let engine = Engine::new(Arc::new(store));
    engine
        .install(&[], true, false, &engine::Actor::operator())
        .await
        .expect("install");
    engine
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One `lumosflow run list-lumos-accounts -i all=true FORMAT`: (lines on stdout, time, peak
/// RSS in KiB of the CLI process).
async fn export(home: &std::path::Path, format: &str) -> (u64, Duration, u64) {
    let (lines, took, peak, _) = cli_run(
        home,
        &["run", "list-lumos-accounts", "-i", "all=true", format],
    )
    .await;
    (lines, took, peak)
}

/// One `lumosflow ARGS`: (lines on stdout, time, peak RSS in KiB, the last line).
async fn cli_run(home: &std::path::Path, args: &[&str]) -> (u64, Duration, u64, String) {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lumosflow"))
        .args(args)
        .env("LUMOSFLOW_HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout");
    let counter = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut lines = 0u64;
        let mut tail = Vec::new();
        loop {
            match std::io::Read::read(&mut stdout, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
                    tail.extend_from_slice(&buf[..n]);
                    let keep = tail.len().saturating_sub(1 << 16);
                    tail.drain(..keep);
                }
            }
        }
        let text = String::from_utf8_lossy(&tail).trim_end().to_owned();
        (
            lines,
            text.rsplit('\n').next().unwrap_or_default().to_owned(),
        )
    });
    let mut peak = 0;
    loop {
        if let Some(k) = peak_rss_kib(pid) {
            peak = peak.max(k);
        }
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (lines, last) = counter.join().unwrap_or_default();
    (lines, t.elapsed(), peak, last)
}

const WITHOUT_ANY_ACCOUNT: &str = r#"
id: users-without-any-account
name: Users without any account
steps:
  - id: users
    call: listUsers
    params: { size: 100 }
    paginate: true
    fields: [id, email, status]
  - id: accounts
    call: getAccounts
    params: { size: 100 }
    paginate: true
    fields: [user_id]
  - id: without
    transform: "{{ steps.users.output['items'] | difference_by(steps.accounts.output['items'], 'id', 'user_id') | list }}"
output:
  count: "{{ steps.without.output | length }}"
"#;

/// The floor of phase 4: fetch every page of `path` (4 at a time, keep-alive), parse it,
/// and hand each item to `each`.
async fn fetch_all(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    pages: usize,
    mut each: impl FnMut(&Value),
) {
    let mut bodies = futures_util::stream::iter(1..=pages)
        .map(|p| {
            let http = http.clone();
            let url = format!("{base}/{path}?page={p}&size=100");
            async move {
                let body = http
                    .get(url)
                    .bearer_auth(DEFAULT_TOKEN)
                    .send()
                    .await
                    .expect("get");
                body.bytes().await.expect("body")
            }
        })
        .buffered(4);
    while let Some(body) = bodies.next().await {
        let page: Value = serde_json::from_slice(&body).expect("json");
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .for_each(&mut each);
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sim = Simulator::start(SimConfig {
            size: OrgSize { users: 20_000, apps: 60, groups: 1000, accounts_per_user: 2 },
            ..SimConfig::default()
        })
        .await
        .expect("sim");
        let home = tempfile::tempdir().expect("tempdir");
        let engine = engine_for(home.path(), &sim.base_url).await;

        // 1. Paging every user.
        let http = lumos_api::http::client();
        let mut raw = Vec::new();
        let mut eng = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let pages: Vec<usize> = futures_util::stream::iter(1..=200)
                .map(|p| {
                    let http = http.clone();
                    let url = format!("{}/users?page={p}&size=100", sim.base_url);
                    async move {
                        let v: Value = http.get(url).bearer_auth(DEFAULT_TOKEN).send().await.expect("get").json().await.expect("json");
                        v["items"].as_array().map_or(0, Vec::len)
                    }
                })
                .buffered(4)
                .collect()
                .await;
            assert_eq!(pages.iter().sum::<usize>(), 20_000);
            raw.push(t.elapsed());
            let t = Instant::now();
            let out = engine.run("list-lumos-users", &obj(json!({"all": true})), RunRequest::default()).await.expect("run");
            assert_eq!(out.output_info.as_ref().map(|i| i.items), Some(20_000));
            eng.push(t.elapsed());
        }
        // The client alone, without the engine, to tell where time goes.
        let client = engine.client("default").await.expect("client");
        let mut walk = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let n = client.paginate("listUsers", &obj(json!({"size": 100}))).count().await;
            assert_eq!(n, 20_000);
            walk.push(t.elapsed());
        }
        println!("  (lumos-api paginate alone    : {:>8.1} ms)", median(walk).as_secs_f64() * 1e3);
        let (raw, eng) = (median(raw), median(eng));
        println!("list-lumos-users all=true, 20,000 users in 200 pages (median of 5)");
        println!("  raw keep-alive fetch + parse : {:>8.1} ms", raw.as_secs_f64() * 1e3);
        println!("  lumosflow run                : {:>8.1} ms  ({:.2}x raw)", eng.as_secs_f64() * 1e3, eng.as_secs_f64() / raw.as_secs_f64());

        // 2. Overhead per step and per run.
        let steps: String = (0..200).map(|i| format!("  - id: s{i}\n    transform: \"{{{{ inputs.n + {i} }}}}\"\n")).collect();
        let yaml = format!("id: bench-steps\nname: Bench steps\ninputs:\n  n: {{ type: integer, default: 1 }}\nsteps:\n{steps}");
        engine.create(&yaml, &engine::Actor::operator()).await.expect("create");
        let mut per = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            engine.run("bench-steps", &Map::new(), RunRequest::default()).await.expect("run");
            per.push(t.elapsed() / 200);
        }
        let app = engine.client("default").await.expect("client");
        let app_id = app.call("listApps", &obj(json!({"size": 1})), None).await.expect("apps")["items"][0]["id"].clone();
        let (mut direct, mut via) = (Vec::new(), Vec::new());
        for _ in 0..21 {
            let t = Instant::now();
            app.call("getApp", &obj(json!({"app_id": app_id, "expand": ["custom_attributes"]})), None).await.expect("call");
            direct.push(t.elapsed());
            let t = Instant::now();
            engine.run("get-lumos-app", &obj(json!({"app_id": app_id})), RunRequest::default()).await.expect("run");
            via.push(t.elapsed());
        }
        let (direct, via) = (median(direct), median(via));
        println!("engine overhead (median)");
        println!("  per transform step (no HTTP, run of 200 steps, incl. step records): {:>7.1} µs", median(per).as_secs_f64() * 1e6);
        println!(
            "  per run: get-lumos-app {:.2} ms vs direct getApp {:.2} ms -> {:.2} ms for validation, inputs, run + step records in SQLite",
            via.as_secs_f64() * 1e3,
            direct.as_secs_f64() * 1e3,
            (via.as_secs_f64() - direct.as_secs_f64()) * 1e3
        );
        sim.stop().await;

        // 3. Exporting 1M accounts through the CLI, in each format, beside the raw floor.
        let big = Simulator::start(SimConfig {
            size: OrgSize { users: 100_000, apps: 200, groups: 1000, accounts_per_user: 10 },
            ..SimConfig::default()
        })
        .await
        .expect("sim");
        let home = tempfile::tempdir().expect("tempdir");
        let big_engine = engine_for(home.path(), &big.base_url).await;
        let reps: usize = std::env::var("LUMOS_BENCH_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
        let formats = ["--ndjson", "--json", "--csv"];
        let mut floor = Vec::new();
        let mut took: Vec<Vec<Duration>> = vec![Vec::new(); formats.len()];
        let mut peaks = vec![0u64; formats.len()];
        let mut lines = vec![0u64; formats.len()];
        for _ in 0..reps {
            let t = Instant::now();
            let bytes: usize = futures_util::stream::iter(1..=10_000)
                .map(|p| {
                    let http = http.clone();
                    let url = format!("{}/accounts?page={p}&size=100", big.base_url);
                    async move { http.get(url).bearer_auth(DEFAULT_TOKEN).send().await.expect("get").bytes().await.expect("body").len() }
                })
                .buffered(4)
                .fold(0, |n, b| async move { n + b })
                .await;
            assert!(bytes > 100_000_000);
            floor.push(t.elapsed());
            for (i, format) in formats.iter().enumerate() {
                let (n, dt, peak) = export(home.path(), format).await;
                lines[i] = n;
                took[i].push(dt);
                peaks[i] = peaks[i].max(peak);
            }
        }
        let floor = median(floor);
        println!("export of every account, 1,000,000 in 10,000 pages (median of {reps})");
        println!("  raw keep-alive fetch, 4 at a time : {:>6.2} s", floor.as_secs_f64());
        for (i, format) in formats.iter().enumerate() {
            let dt = median(took[i].clone());
            println!(
                "  lumosflow run {format:<9}          : {:>6.2} s  ({:.2}x the floor)  {} lines  peak RSS {:.1} MiB",
                dt.as_secs_f64(),
                dt.as_secs_f64() / floor.as_secs_f64(),
                lines[i],
                peaks[i] as f64 / 1024.0
            );
        }

        // 4. A set difference at directory scale, beside a hand-written floor.
        big_engine
            .create(WITHOUT_ANY_ACCOUNT, &engine::Actor::operator())
            .await
            .expect("create");
        let mut floor = Vec::new();
        let mut took = Vec::new();
        let mut peak = 0u64;
        let (mut want, mut got) = (0usize, String::new());
        for _ in 0..reps {
            let t = Instant::now();
            let mut users = Vec::new();
            fetch_all(&http, &big.base_url, "users", 1_000, |u| {
                users.push(u["id"].as_str().expect("id").to_owned());
            })
            .await;
            let mut with_account = std::collections::HashSet::new();
            fetch_all(&http, &big.base_url, "accounts", 10_000, |a| {
                if let Some(id) = a["user_id"].as_str() {
                    with_account.insert(id.to_owned());
                }
            })
            .await;
            want = users.iter().filter(|u| !with_account.contains(*u)).count();
            floor.push(t.elapsed());
            let (_, dt, p, last) =
                cli_run(home.path(), &["run", "users-without-any-account", "--json"]).await;
            took.push(dt);
            peak = peak.max(p);
            got = last;
        }
        let result: Value = serde_json::from_str(&got).unwrap_or_else(|e| panic!("{got}: {e}"));
        assert_eq!(result["count"], json!(want), "the workflow and the floor disagree");
        let (floor, dt) = (median(floor), median(took));
        println!("every user without any account: 100,000 users against 1,000,000 accounts (median of {reps})");
        println!("  hand-written floor (fetch 11,000 pages 4 at a time, parse, HashSet) : {:>6.2} s", floor.as_secs_f64());
        println!(
            "  lumosflow run users-without-any-account --json                     : {:>6.2} s  ({:.2}x the floor)  peak RSS {:.1} MiB  answer {got}",
            dt.as_secs_f64(),
            dt.as_secs_f64() / floor.as_secs_f64(),
            peak as f64 / 1024.0
        );
        big.stop().await;
    });
}
