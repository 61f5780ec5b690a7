//! The HTTP doors of trustworthy runs: statuses that say what a run is, bad input that is
//! a clear 4xx on both stores, a readiness check that proves the database takes writes, and
//! a queue that pushes back.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::Role::{Admin, Agent, Builder, Viewer};
use testkit::{Db, both};

use crate::Env;

async fn ready(env: &Env) {
    env.connect().await;
    env.install_all().await;
}

async fn raw_get(env: &Env, path: &str) -> (StatusCode, Value) {
    let resp = env
        .http
        .get(format!("{}{path}", env.server.base_url))
        .bearer_auth(&env.keys[&Admin])
        .send()
        .await
        .expect("send");
    let s = resp.status();
    (s, resp.json().await.unwrap_or(Value::Null))
}

async fn nul_and_oversized_input_are_clear_4xx(db: Db) {
    let env = Env::new(db).await;
    ready(&env).await;
    let (s, v) = env
        .run(
            Agent,
            "list-lumos-users",
            Some(json!({"inputs": {"search": "a\u{0}b"}})),
            false,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_inputs")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("NUL character")
    );
    for path in [
        "/api/v1/runs/%00",
        "/api/v1/workflows/a%00b",
        "/api/v1/runs/x%00/cancel",
    ] {
        let (s, v) = raw_get(&env, path).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert_eq!(v["error"]["code"], "bad_request", "{path}");
    }
    for path in ["/api/v1/runs/not-a-run", "/api/v1/workflows/Not_A_Slug"] {
        let (s, v) = raw_get(&env, path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    let (s, v) = env
        .call(
            Some(Builder),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": "id: x\u{0}\nname: X\nsteps: []\n"})),
        )
        .await;
    assert!(s.is_client_error(), "{s}: {v}");
    // A body past the size limit: the documented error shape, not plain text.
    let big = format!(
        "{{\"inputs\": {{\"search\": \"{}\"}}}}",
        "x".repeat(3 << 20)
    );
    let resp = env
        .http
        .post(format!(
            "{}/api/v1/workflows/list-lumos-users/runs",
            env.server.base_url
        ))
        .bearer_auth(&env.keys[&Agent])
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = resp.json().await.expect("a JSON error");
    assert_eq!(v["error"]["code"], "too_large", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    // Nothing of the above was recorded.
    let (_, runs) = env
        .call(Some(Viewer), Method::GET, "/api/v1/runs", None)
        .await;
    assert_eq!(runs, json!([]));
    env.stop().await;
}
both!(
    nul_and_oversized_input_are_clear_4xx,
    nul_and_oversized_input_are_clear_4xx
);

async fn readyz_proves_the_database_takes_writes(db: Db) {
    let env = Env::new(db).await;
    let (s, v) = env.call(None, Method::GET, "/readyz", None).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("ready")),
        "{v}"
    );
    // The database goes read-only for lumosflow's tables (as on a full disk or a read-only
    // mount): reads still work, writes do not.
    if env._db.is_sqlite() {
        env._db
            .exec("CREATE TRIGGER read_only BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END;")
            .await;
    } else {
        env._db
            .exec("CREATE FUNCTION read_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'cannot execute UPDATE in a read-only transaction'; END $$ LANGUAGE plpgsql; \
                   CREATE TRIGGER read_only BEFORE UPDATE ON meta FOR EACH ROW EXECUTE FUNCTION read_only();")
            .await;
    }
    let (s, v) = env.call(None, Method::GET, "/readyz", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["status"], "unavailable");
    assert!(
        v["reason"].as_str().unwrap_or_default().contains("read"),
        "the reason says why: {v}"
    );
    let (s, v) = env.call(None, Method::GET, "/healthz", None).await;
    assert_eq!(s, StatusCode::OK, "liveness stays cheap and up: {v}");
    env.stop().await;
}
both!(
    readyz_proves_the_database_takes_writes,
    readyz_proves_the_database_takes_writes
);

const GATED: &str = "id: gated-users\nname: Gated users\napproval: Check first\nsteps:\n  - id: u\n    call: listUsers\n    params: { size: 1 }\n";

#[tokio::test]
async fn a_held_run_says_so_at_once() {
    let env = Env::new(testkit::sqlite()).await;
    ready(&env).await;
    let (s, v) = env
        .call(
            Some(Builder),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": GATED})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = env.run(Agent, "gated-users", None, false).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::ACCEPTED, Some("pending_approval")),
        "{v}"
    );
    let id = v["id"].as_str().expect("id");
    let (_, run) = env
        .call(
            Some(Viewer),
            Method::GET,
            &format!("/api/v1/runs/{id}"),
            None,
        )
        .await;
    assert_eq!(run["status"], "pending_approval");
    env.stop().await;
}

#[tokio::test]
async fn a_full_queue_pushes_back_and_metrics_show_it() {
    let config = engine::EngineConfig {
        max_concurrent_runs: 1,
        queue_limit: 2,
        ..engine::EngineConfig::default()
    };
    let sim = lumos_sim::SimConfig {
        latency: Duration::from_millis(150),
        ..lumos_sim::SimConfig::default()
    };
    let env = Env::custom(testkit::sqlite(), sim, config).await;
    ready(&env).await;
    let start = || async {
        env.run(
            Agent,
            "list-lumos-accounts",
            Some(json!({"inputs": {"all": true}})),
            false,
        )
        .await
    };
    let (s, first) = start().await;
    assert_eq!(s, StatusCode::ACCEPTED, "{first}");
    // The only slot is taken: later runs wait in the queue, up to its limit.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while env.server.engine.active_runs() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..2 {
        let (s, v) = start().await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::ACCEPTED, Some("queued")),
            "{v}"
        );
    }
    let resp = env
        .http
        .post(format!(
            "{}/api/v1/workflows/list-lumos-accounts/runs",
            env.server.base_url
        ))
        .bearer_auth(&env.keys[&Agent])
        .json(&json!({"inputs": {"all": true}}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        resp.headers().get("retry-after").is_some(),
        "Retry-After says when"
    );
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["error"]["code"], "queue_full");
    let (_, metrics) = env.call(None, Method::GET, "/metrics", None).await;
    let text = metrics.as_str().unwrap_or_default();
    assert!(text.contains("lumosflow_run_queue_depth 2"), "{text}");
    assert!(text.contains("lumosflow_runs_executing 1"), "{text}");
    assert!(
        text.contains("lumosflow_run_queue_oldest_seconds"),
        "{text}"
    );
    // Cancel what waits, so shutdown does not wait for it.
    let (_, runs) = env
        .call(Some(Viewer), Method::GET, "/api/v1/runs", None)
        .await;
    for r in runs.as_array().into_iter().flatten() {
        let id = r["id"].as_str().unwrap_or_default();
        env.call(
            Some(Agent),
            Method::POST,
            &format!("/api/v1/runs/{id}/cancel"),
            None,
        )
        .await;
    }
    env.stop().await;
}
