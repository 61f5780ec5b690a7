//! Approvals through the API and the run queue: a run gated before its changes makes its
//! reads on a replica, waits in the approvers' inbox with the calls it will make, and
//! resumes from there once approved.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::Role::{Admin, Agent, Viewer};
use testkit::{Db, both};

use crate::Env;

const WORKFLOW: &str = r#"
id: request-after-looking
name: Request after looking
inputs:
  app_id: { type: text, required: true }
  duration: { type: text }
  reason: { type: text }
approval:
  reason: Files an access request
  gate: before_changes
steps:
  - id: app
    call: getAppStoreApp
    params: { app_id: "{{ inputs.app_id }}" }
  - id: request
    call: createAccessRequest
    body: { app_id: "{{ steps.app.output.id }}", access_length: "{{ inputs.duration }}", business_justification: "{{ inputs.reason }}" }
"#;

async fn status_of(env: &Env, id: &str) -> Value {
    env.call(
        Some(Viewer),
        Method::GET,
        &format!("/api/v1/runs/{id}"),
        None,
    )
    .await
    .1
}

async fn held_runs_wait_in_the_inbox_with_their_changes(db: Db) {
    let env = Env::new(db).await;
    env.connect().await;
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": WORKFLOW})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, apps) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "getAppStoreApps", "params": {"all_visibilities": true, "size": 1}})),
        )
        .await;
    let app_id = apps["body"]["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an app: {apps}"))
        .to_owned();
    // A length the app offers (Lumos refuses a request without one where access is only
    // for a while).
    let (_, settings) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "getAppStoreAppSettings", "params": {"app_id": app_id}})),
        )
        .await;
    let duration = settings["body"]["provisioning"]["time_based_access"][0].clone();

    let (s, run) = env
        .run(
            Agent,
            "request-after-looking",
            Some(json!({"inputs": {"app_id": app_id, "duration": duration, "reason": "on-call webinar host"}})),
            false,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{run}");
    assert_eq!(run["status"], "running", "reads first: {run}");
    let id = run["id"].as_str().expect("id").to_owned();
    // Readiness polling: a replica takes it, reads, and holds it before the change.
    let deadline = Instant::now() + Duration::from_secs(15);
    let held = loop {
        let r = status_of(&env, &id).await;
        if r["status"] == "pending_approval" {
            break r;
        }
        assert!(Instant::now() < deadline, "never held: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        held["approval"]["changes"]["calls"][0]["method"], "POST",
        "{held}"
    );
    // In words for the approver: the app by the name the run read, not its id; the
    // requester's own reason beside the policy's.
    let label = apps["body"]["items"][0]["user_friendly_label"]
        .as_str()
        .expect("a label");
    assert_eq!(
        held["approval"]["changes"]["summary"],
        json!([format!(
            "Request {label} · {}",
            duration.as_str().expect("a length")
        )]),
        "{held}"
    );
    assert_eq!(held["approval"]["changes"]["names"][&app_id], label);
    assert_eq!(held["approval"]["requester_reason"], "on-call webinar host");
    assert_eq!(held["approval"]["reason"], "Files an access request");

    // In an admin's inbox, with the calls it will make; not in the requester's.
    let (_, inbox) = env
        .call(
            Some(Admin),
            Method::GET,
            "/api/v1/approvals?mine=true",
            None,
        )
        .await;
    let list = inbox.as_array().expect("list");
    assert_eq!(list.len(), 1, "{inbox}");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(
        list[0]["approval"]["changes"]["calls"][0]["body"]["app_id"],
        app_id.as_str()
    );
    let (_, theirs) = env
        .call(
            Some(Agent),
            Method::GET,
            "/api/v1/approvals?mine=true",
            None,
        )
        .await;
    assert_eq!(theirs, json!([]), "the requester cannot decide");

    // Approved: it goes on from where it stopped, on a replica, and completes.
    let (s, done) = env
        .call(
            Some(Admin),
            Method::POST,
            &format!("/api/v1/runs/{id}/approve?wait=true"),
            Some(json!({"comment": "fine"})),
        )
        .await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("completed")),
        "{done}"
    );
    let steps: Vec<&str> = done["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|x| x["step_id"].as_str())
        .collect();
    assert_eq!(
        steps,
        ["app", "request"],
        "the read is not made again: {done}"
    );
    assert_eq!(done["approval"]["decisions"][0]["comment"], "fine");
    env.stop().await;
}
both!(
    held_runs_wait_in_the_inbox_with_their_changes,
    held_runs_wait_in_the_inbox_with_their_changes
);
