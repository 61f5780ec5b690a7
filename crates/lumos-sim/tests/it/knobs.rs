//! Rate limits, faults and latency.

use std::time::{Duration, Instant};

use lumos_sim::{DEFAULT_TOKEN, SimConfig};

use crate::{admin, p, raw, start};

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_the_client_recovers() {
    let sim = start(SimConfig {
        rate_limit: Some(3),
        ..SimConfig::default()
    })
    .await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    // Ten quick requests: whatever second boundary falls among them, one window holds 5+.
    for _ in 0..10 {
        let (s, h, _) = raw(&sim, "/users?size=1", Some(DEFAULT_TOKEN)).await;
        statuses.push(s);
        if s == 429 {
            retry_after = h
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            assert_eq!(h["x-ratelimit-remaining"], "0");
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(retry_after.is_some());
    // The real client waits for the window and succeeds.
    let c = lumos_api::Client::builder()
        .base_url(&sim.base_url)
        .token(lumos_api::ApiToken::parse(DEFAULT_TOKEN).expect("token"))
        .build()
        .expect("client");
    for _ in 0..8 {
        c.call("listUsers", &p(serde_json::json!({"size": 1})), None)
            .await
            .expect("paced call succeeds");
    }
    sim.stop().await;
}

#[tokio::test]
async fn fault_rate_is_deterministic_and_5xx() {
    let run = || async {
        let sim = start(SimConfig {
            fault_rate: 0.5,
            ..SimConfig::default()
        })
        .await;
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(raw(&sim, "/users?size=1", Some(DEFAULT_TOKEN)).await.0);
        }
        sim.stop().await;
        out
    };
    let a = run().await;
    let b = run().await;
    assert_eq!(a, b, "same seed, same faults");
    assert!(a.iter().any(|s| *s >= 500) && a.contains(&200), "{a:?}");
    assert!(
        a.iter()
            .all(|s| *s == 200 || [500, 502, 503, 504].contains(s))
    );
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let sim = start(SimConfig {
        latency: Duration::from_millis(150),
        ..SimConfig::default()
    })
    .await;
    let started = Instant::now();
    admin(&sim)
        .call("getLumosInfo", &p(serde_json::json!({})), None)
        .await
        .expect("info");
    assert!(started.elapsed() >= Duration::from_millis(150));
    sim.stop().await;
}
