//! The run core's rules through the HTTP doors: the API and hooks. The engine's tests hold
//! each rule for every path a run takes; the CLI's, MCP's and Slack's tests (`slack.rs`) hold them at theirs.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::Role::{Admin, Agent, Builder};
use testkit::{Db, both};

use crate::Env;

const GATED: &str = "id: gated-request\nname: Gated request\ninputs:\n  app_id: { type: text, required: true }\napproval: Files an access request\nsteps:\n  - id: request\n    call: createAccessRequest\n    body: { app_id: \"{{ inputs.app_id }}\", business_justification: API }\n";
const WRAPPER: &str = "id: wrapper\nname: Looks harmless\ninputs:\n  request_id: { type: text, required: true }\nsteps:\n  - id: sub\n    workflow: cancel-lumos-access-request\n    inputs: { request_id: \"{{ inputs.request_id }}\" }\n";
const MAP: &str = "inputs:\n  user_email: \"{{ payload.email }}\"\n  app: \"{{ payload.app }}\"\n  reason: \"{{ payload.reason }}\"\nrequested_for: \"{{ payload.for }}\"\n";

async fn total_requests(env: &Env) -> u64 {
    let (_, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "getAccessRequests", "params": {"size": 1}})),
        )
        .await;
    v["body"]["total"].as_u64().expect("total")
}

async fn http_doors_keep_the_run_cores_rules(db: Db) {
    let env = Env::new(db).await;
    env.connect().await;
    env.install_all().await;
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": GATED})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, apps) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "getAppStoreApps", "params": {"size": 1}})),
        )
        .await;
    let app = apps["body"]["items"][0]["id"]
        .as_str()
        .expect("app")
        .to_owned();
    let before = total_requests(&env).await;

    // A dry run held at the gate, approved through the API: it stays a dry run.
    let (s, held) = env
        .run(
            Agent,
            "gated-request",
            Some(json!({"inputs": {"app_id": app}, "dry_run": true})),
            false,
        )
        .await;
    assert_eq!(held["status"], "pending_approval", "{s}: {held}");
    let id = held["id"].as_str().expect("id");
    let (s, run) = env
        .call(
            Some(Admin),
            Method::POST,
            &format!("/api/v1/runs/{id}/approve?wait=true"),
            None,
        )
        .await;
    assert_eq!(
        (s, run["status"].as_str()),
        (StatusCode::OK, Some("completed")),
        "{run}"
    );
    assert_eq!(run["dry_run"], true, "{run}");
    assert_eq!(run["steps"][0]["status"], "dry_run", "{run}");
    assert_eq!(total_requests(&env).await, before, "nothing was sent");

    // For someone else than the person the run is for: 422 before anything is recorded.
    let (s, v) = env
        .run(
            Agent,
            "request-lumos-app-access",
            Some(json!({"inputs": {"user_email": "victor@example-corp.com", "app": "x", "reason": "y"},
                        "requested_for": "noah@example-corp.com"})),
            false,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("but this run is for noah@example-corp.com"),
        "{v}"
    );

    // The same through a hook (a ticket filed by Noah asking for Victor): 422, no run.
    let (s, t) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/triggers",
            Some(json!({"name": "desk", "workflow": "request-lumos-app-access", "map": MAP})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let url = t["url"].as_str().expect("url");
    let path = url
        .split_once("/hooks/")
        .map(|(_, p)| p)
        .expect("hook path");
    let secret = t["secret"].as_str().expect("secret");
    let body = json!({"email": "victor@example-corp.com", "app": "x", "reason": "y", "for": "noah@example-corp.com"}).to_string();
    let resp = env
        .http
        .post(format!("{}/hooks/{path}", env.server.base_url))
        .header("content-type", "application/json")
        .header(
            "lumosflow-signature",
            engine::notify::signature(secret, chrono::Utc::now().timestamp(), &body),
        )
        .body(body)
        .send()
        .await
        .expect("send");
    let s = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v.to_string()
            .contains("but this run is for noah@example-corp.com"),
        "{v}"
    );
    let (_, runs) = env
        .call(
            Some(Admin),
            Method::GET,
            "/api/v1/runs?workflow=request-lumos-app-access",
            None,
        )
        .await;
    assert_eq!(runs, json!([]), "nothing recorded");

    // A change hidden in a workflow: step: a builder may not save it; saved by an admin,
    // the API says it changes Lumos (so the console never runs it from a link by itself).
    let (s, v) = env
        .call(
            Some(Builder),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": WRAPPER})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v.to_string()
            .contains("cancelAccessRequest through workflow 'cancel-lumos-access-request'"),
        "{v}"
    );
    env.call(
        Some(Admin),
        Method::POST,
        "/api/v1/workflows",
        Some(json!({"yaml": WRAPPER})),
    )
    .await;
    let (_, wf) = env
        .call(Some(Agent), Method::GET, "/api/v1/workflows/wrapper", None)
        .await;
    assert_eq!(wf["changes_lumos"], true, "{wf}");
    assert_eq!(wf["changes"][0]["step"], "sub", "{wf}");
    env.stop().await;
}
both!(
    http_doors_keep_the_run_cores_rules,
    http_doors_keep_the_run_cores_rules
);
