//! Server benchmark: runs per second and p50/p99 latency of `get-lumos-app` through
//! `POST /api/v1/workflows/get-lumos-app/runs?wait=true` at 32 concurrent clients on SQLite,
//! beside the same app fetched directly from the simulator (the floor), in the same run.
//!
//! `cargo bench -p server` (LUMOS_BENCH_SECONDS, default 5)

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
}

async fn load(
    seconds: u64,
    make: impl Fn() -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> Stats {
    let make = Arc::new(make);
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
    all.sort();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Stats {
        rps: all.len() as f64 / seconds as f64,
        p50: pick(0.50),
        p99: pick(0.99),
    }
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
        let dir = std::env::temp_dir().join(format!("lumosflow-bench-{}", std::process::id()));
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
        let http = reqwest::Client::builder()
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
        let (h, u, k) = (
            http.clone(),
            format!(
                "{}/api/v1/workflows/get-lumos-app/runs?wait=true",
                server.base_url
            ),
            key.clone(),
        );
        let body = json!({"inputs": {"app_id": app_id}});
        let runs = load(seconds, move || h.post(&u).bearer_auth(&k).json(&body)).await;

        println!("get-lumos-app, {CLIENTS} concurrent clients, {seconds} s each, SQLite store");
        println!(
            "{:<58} {:>10} {:>9} {:>9}",
            "", "per second", "p50 ms", "p99 ms"
        );
        for (name, s) in [
            (
                "GET /apps/{id} straight from the simulator (floor)",
                &direct,
            ),
            ("POST /api/v1/workflows/get-lumos-app/runs?wait=true", &runs),
        ] {
            println!(
                "{name:<58} {:>10.0} {:>9.2} {:>9.2}",
                s.rps,
                s.p50.as_secs_f64() * 1e3,
                s.p99.as_secs_f64() * 1e3
            );
        }
        println!(
            "runs reach {:.1}% of the floor's rate",
            runs.rps / direct.rps * 100.0
        );
        server.stop().await;
        sim.stop().await;
        let _ = std::fs::remove_dir_all(dir);
    });
}
