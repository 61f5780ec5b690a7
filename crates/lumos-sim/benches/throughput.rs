//! Simulator benchmark: start-up time and memory for a large organization, then responses per
//! second for `GET /users?size=100` and `GET /accounts?size=100`, each as a ratio to
//! `GET /info` (the same HTTP stack with a trivial body) measured in the same run.
//!
//! `cargo bench -p lumos-sim` (load from wrk when installed, else from an in-process client).
//! Sizes: LUMOS_BENCH_USERS (100000), LUMOS_BENCH_SECONDS (5).

use std::process::Command;
use std::time::{Duration, Instant};

use lumos_sim::{DEFAULT_TOKEN, OrgSize, SimConfig, Simulator};

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn env_or(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn wrk(url: &str, seconds: u64) -> Option<f64> {
    let out = Command::new("wrk")
        .args([
            "-t1",
            "-c32",
            &format!("-d{seconds}s"),
            "-H",
            &format!("Authorization: Bearer {DEFAULT_TOKEN}"),
            url,
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        eprintln!("wrk saw non-2xx answers for {url}:\n{text}");
        return None;
    }
    text.lines()
        .find(|l| l.starts_with("Requests/sec:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn in_process(url: &str, seconds: u64) -> f64 {
    let client = lumos_api::http::client();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let client = client.clone();
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                if let Ok(r) = client.get(&url).bearer_auth(DEFAULT_TOKEN).send().await
                    && r.bytes().await.is_ok()
                {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    total as f64 / seconds as f64
}

fn main() {
    let users = env_or("LUMOS_BENCH_USERS", 100_000) as usize;
    let seconds = env_or("LUMOS_BENCH_SECONDS", 5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let before = rss_mib();
        let started = Instant::now();
        let sim = Simulator::start(SimConfig {
            size: OrgSize {
                users,
                apps: 200,
                groups: users / 5,
                accounts_per_user: 10,
            },
            ..SimConfig::default()
        })
        .await
        .expect("simulator");
        let startup = started.elapsed();
        let rss = rss_mib() - before;
        println!(
            "organization: {users} users, {} groups, {} accounts",
            users / 5,
            users * 10
        );
        println!(
            "start-up: {:.2} s, resident memory added: {rss:.0} MiB",
            startup.as_secs_f64()
        );

        let use_wrk = Command::new("wrk").arg("--version").output().is_ok();
        println!(
            "load: {} with 32 connections, {seconds} s per endpoint",
            if use_wrk {
                "wrk"
            } else {
                "in-process reqwest (install wrk for better numbers)"
            }
        );
        let mut results = Vec::new();
        for path in [
            "/info",
            "/users?size=100",
            "/users?size=100&page=500",
            "/accounts?size=100&page=5000",
        ] {
            let url = format!("{}{path}", sim.base_url);
            let rps = if use_wrk {
                let u = url.clone();
                tokio::task::spawn_blocking(move || wrk(&u, seconds))
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(0.0)
            } else {
                in_process(&url, seconds).await
            };
            results.push((path, rps));
        }
        let baseline = results[0].1.max(1.0);
        println!(
            "{:<32} {:>12} {:>10}",
            "endpoint", "responses/s", "vs /info"
        );
        for (path, rps) in &results {
            println!("{path:<32} {rps:>12.0} {:>9.2}x", rps / baseline);
        }
        sim.stop().await;
    });
}
