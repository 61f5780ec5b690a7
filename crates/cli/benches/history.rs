//! History size: what 10,000 small runs and one 20,000-item loop leave in the database.
//!
//! Each small run is `list-lumos-apps` (one page of 10 apps: a step output of a few KB, the
//! shape an operator's history is made of). The baseline, measured in the same run, is the
//! JSON text of every step output read back (what the history held before outputs were
//! compressed); the result is the database file (with its write-ahead log) and its step
//! records.
//!
//! `cargo bench -p lumosflow --bench history` (`LUMOS_BENCH_RUNS` sets the number of runs)

use std::sync::Arc;
use std::time::Instant;

use engine::{Engine, RunRequest};
use lumos_sim::{DEFAULT_TOKEN, OrgSize, SimConfig, Simulator};
use serde_json::{Map, Value, json};

const LOOP: &str = r#"
id: touch-every-user
name: Touch every user
steps:
  - id: users
    call: listUsers
    params: { size: 100 }
    paginate: true
    fields: [id, email]
  - id: each
    for_each: "{{ steps.users.output['items'] }}"
    as: user
    concurrency: 8
    transform: "{{ user.email | lower }}"
output: "{{ steps.each.output | length }}"
"#;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn file_bytes(home: &std::path::Path) -> u64 {
    ["lumosflow.db", "lumosflow.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(home.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

fn main() {
    let runs: usize = std::env::var("LUMOS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sim = Simulator::start(SimConfig {
            size: OrgSize { users: 20_000, apps: 60, groups: 100, accounts_per_user: 1 },
            ..SimConfig::default()
        })
        .await
        .expect("sim");
        let home = tempfile::tempdir().expect("tempdir");
        let url = home.path().join("lumosflow.db").display().to_string();
        let store = store::Store::open(&url, store::KeySource::File(home.path().join("master.key")))
            .await
            .expect("store");
        engine::connections::connect(&store, "default", &sim.base_url, DEFAULT_TOKEN).await.expect("connect");
        let engine = Engine::new(Arc::new(store));
        engine.install(&[], true, false, &engine::Actor::operator()).await.expect("install");
        engine.create(LOOP, &engine::Actor::operator()).await.expect("create");
        let empty = file_bytes(home.path());

        let t = Instant::now();
        let mut ids = Vec::with_capacity(runs);
        for _ in 0..runs {
            let out = engine
                .run("list-lumos-apps", &obj(json!({"size": 10})), RunRequest::default())
                .await
                .expect("run");
            ids.push(out.run_id);
        }
        let took = t.elapsed();
        let small = file_bytes(home.path()) - empty;
        let (mut records, mut raw) = (0usize, 0usize);
        for id in &ids {
            let d = engine.run_detail(id).await.expect("detail");
            records += d.steps.len();
            raw += d.steps.iter().filter_map(|s| s.output.as_ref()).map(|o| serde_json::to_vec(&o.0).map_or(0, |v| v.len())).sum::<usize>();
        }

        let before = file_bytes(home.path());
        let out = engine.run("touch-every-user", &Map::new(), RunRequest::default()).await.expect("loop");
        assert_eq!(out.output, Some(json!(20_000)));
        let looped = file_bytes(home.path()) - before;
        let loop_records = engine.run_detail(&out.run_id).await.expect("detail").steps.len();

        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        println!("{runs} runs of list-lumos-apps (size 10) in {:.1} s", took.as_secs_f64());
        println!("  step records                         : {records}");
        println!("  step outputs as JSON text (baseline) : {:>7.1} MiB", mib(raw as u64));
        println!("  database growth (file + WAL)         : {:>7.1} MiB  ({:.2}x the step outputs' text, {:.0} bytes a run)",
            mib(small), small as f64 / raw as f64, small as f64 / runs as f64);
        println!("one for_each over 20,000 users");
        println!("  step records                         : {loop_records}");
        println!("  database growth                      : {:>7.1} MiB", mib(looped));
        sim.stop().await;
    });
}
