//! Lumos events as triggers: a change made through the simulator's API shows up in its
//! identity events, and the server following them starts exactly one run for it, with the
//! event in templates; a restart resumes where it stopped (no run twice).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lumos_sim::SimConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;
use server::Role::Admin;

use crate::Env;

const ON_ROLE_CHANGE: &str = r#"
id: on-role-change
name: On a role change
inputs:
  user_id: { type: text, required: true }
on:
  lumos_event:
    source: identity_events
    where: "{{ event.changed_field == 'roles' }}"
    inputs: { user_id: "{{ event.user_id }}" }
steps:
  - id: who
    call: getUser
    params: { user_id: "{{ inputs.user_id }}" }
  - id: summary
    transform: "{{ steps.who.output.email ~ ' now has ' ~ event.new_field_value }}"
"#;

fn config() -> engine::EngineConfig {
    engine::EngineConfig {
        event_poll: Duration::from_millis(200),
        ..engine::EngineConfig::default()
    }
}

async fn runs_of(engine: &engine::Engine) -> Vec<engine::Run> {
    engine
        .runs(&engine::RunFilter {
            workflow: Some("on-role-change"),
            limit: 50,
            ..Default::default()
        })
        .await
        .expect("runs")
}

/// Readiness polling: `n` completed runs.
async fn completed(engine: &engine::Engine, n: usize) -> Vec<engine::Run> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let runs = runs_of(engine).await;
        if runs
            .iter()
            .filter(|r| r.status == engine::RunStatus::Completed)
            .count()
            >= n
        {
            return runs;
        }
        assert!(Instant::now() < deadline, "runs: {runs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_change_in_lumos_starts_one_run_also_across_a_restart() {
    let env = Env::custom(testkit::sqlite(), SimConfig::default(), config()).await;
    env.connect().await;
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": ON_ROLE_CHANGE})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let engine = env.server.engine.clone();
    // The follow starts from now: history does not start runs.
    assert_eq!(engine.follow_events().await.expect("follow"), 0);
    assert!(runs_of(&engine).await.is_empty());

    let (_, users) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "listUsers", "params": {"size": 1}})),
        )
        .await;
    let user = users["body"]["items"][0].clone();
    let uid = user["id"].as_str().expect("user").to_owned();
    let role = |method: Method| {
        env.http
            .request(
                method,
                format!("{}/users/{uid}/roles/AUDITOR", env.sim.base_url),
            )
            .bearer_auth(&env.sim.token)
            .send()
    };
    assert!(
        role(Method::POST)
            .await
            .expect("add role")
            .status()
            .is_success()
    );

    let runs = completed(&engine, 1).await;
    assert_eq!(runs.len(), 1, "one run for one event: {runs:?}");
    let run = &runs[0];
    assert_eq!(run.requested_by.as_deref(), Some("lumos-event"));
    assert_eq!(run.inputs.0["user_id"], uid.as_str());
    assert_eq!(
        run.event.as_ref().map(|e| e.0["changed_field"].clone()),
        Some(json!("roles"))
    );
    let out = run.output.as_ref().expect("output").0.clone();
    let text = out.as_str().expect("text");
    let email = user["email"].as_str().expect("email");
    assert!(
        text.starts_with(&format!("{email} now has ")) && text.contains("AUDITOR"),
        "{text}"
    );
    // Looking again starts nothing new.
    assert_eq!(engine.follow_events().await.expect("follow"), 0);

    // A restart resumes where the follow stopped: the old event is not run again, a new one
    // is.
    let stopped = env.server;
    stopped.stop().await;
    let restarted = server::Server::start_with(
        Arc::new(env._db.open().await),
        "127.0.0.1:0",
        config(),
        server::ServerOptions::default(),
    )
    .await
    .expect("restart");
    assert_eq!(restarted.engine.follow_events().await.expect("follow"), 0);
    assert!(
        role(Method::DELETE)
            .await
            .expect("remove role")
            .status()
            .is_success()
    );
    let runs = completed(&restarted.engine, 2).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    restarted.stop().await;
    env.sim.stop().await;
}
