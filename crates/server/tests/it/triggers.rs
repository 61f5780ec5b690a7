//! Triggers over real HTTP: a Jira-shaped payload signed with our scheme, mapped to inputs;
//! wrong, old and replayed signatures refused; one run per dedupe key; a shared-secret
//! header; a Slack slash command signed Slack's way, answered at once, with the result
//! posted to its response_url.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use engine::triggers::{TriggerAuth, slack_signature};
use lumos_sim::SimConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::Role::Admin;

use crate::Env;

const JIRA_MAP: &str = r#"
inputs:
  search: "{{ payload.issue.fields.reporter.emailAddress }}"
requested_for: "{{ payload.issue.fields.reporter.emailAddress }}"
dedupe_key: "{{ payload.issue.key }}"
"#;

fn jira(key: &str, email: &str) -> String {
    json!({"issue": {"key": key, "fields": {"reporter": {"emailAddress": email}, "summary": "Access please"}}})
        .to_string()
}

async fn hook(
    env: &Env,
    url: &str,
    headers: &[(&str, String)],
    content_type: &str,
    body: &str,
) -> (StatusCode, Value) {
    let path = url
        .split_once("/hooks/")
        .map(|(_, id)| id)
        .expect("hook url");
    let mut rb = env
        .http
        .request(
            Method::POST,
            format!("{}/hooks/{path}", env.server.base_url),
        )
        .header("content-type", content_type)
        .body(body.to_owned());
    for (k, v) in headers {
        rb = rb.header(*k, v);
    }
    let resp = rb.send().await.expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn signed(secret: &str, t: i64, body: &str) -> Vec<(&'static str, String)> {
    vec![(
        "lumosflow-signature",
        engine::notify::signature(secret, t, body),
    )]
}

#[tokio::test]
async fn webhooks_start_runs_once_and_only_when_proven() {
    let config = engine::EngineConfig {
        public_url: Some("https://flow.example-corp.com".into()),
        ..engine::EngineConfig::default()
    };
    let env = Env::custom(testkit::sqlite(), SimConfig::default(), config).await;
    env.connect().await;
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows/install",
            Some(json!({"all": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let engine = &env.server.engine;
    let op = engine::Actor::operator();
    // Through the API: the URL and the secret, once.
    let (s, jira_t) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/triggers",
            Some(json!({"name": "jira-access", "workflow": "list-lumos-users", "map": JIRA_MAP})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{jira_t}");
    let url = jira_t["url"].as_str().expect("url").to_owned();
    assert!(
        url.starts_with("https://flow.example-corp.com/hooks/"),
        "{url}"
    );
    let secret = jira_t["secret"].as_str().expect("secret").to_owned();
    let (_, listed) = env
        .call(Some(Admin), Method::GET, "/api/v1/triggers", None)
        .await;
    assert!(
        !listed.to_string().contains(&secret),
        "never listed: {listed}"
    );
    // A mapping that reads anything but the payload and headers is refused.
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/triggers",
            Some(json!({"name": "bad", "workflow": "list-lumos-users", "map": "inputs:\n  search: \"{{ secrets.x }}\"\n"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // A signed Jira-shaped payload starts a run, mapped.
    let now = chrono::Utc::now().timestamp();
    let body = jira("IT-7", "ann@example-corp.com");
    let (s, fired) = hook(
        &env,
        &url,
        &signed(&secret, now, &body),
        "application/json",
        &body,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{fired}");
    let run_id = fired["run_id"].as_str().expect("run").to_owned();
    let run = engine.run_detail(&run_id).await.expect("run").run;
    assert_eq!(run.requested_by.as_deref(), Some("trigger:jira-access"));
    assert_eq!(run.requested_for.as_deref(), Some("ann@example-corp.com"));
    assert_eq!(run.inputs.0["search"], "ann@example-corp.com");

    // The same request again (the tool retried): the signature is refused as replayed.
    let (s, v) = hook(
        &env,
        &url,
        &signed(&secret, now, &body),
        "application/json",
        &body,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v.to_string().contains("already used"), "{v}");
    // Signed anew, the same ticket: the first run, not a second.
    let (s, again) = hook(
        &env,
        &url,
        &signed(&secret, now + 1, &body),
        "application/json",
        &body,
    )
    .await;
    assert_eq!(
        (s, again["duplicate"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{again}"
    );
    assert_eq!(again["run_id"], run_id.as_str());
    // The first run was cut off by a crash (its process stopped): the sender's retry starts
    // the work again, and the key then names the new run.
    let _ = engine.wait(&run_id, None, "test").await;
    env._db
        .exec(&format!(
            "UPDATE runs SET status = 'failed', error = 'the process running it stopped (host web-1, pid 7) — not resumed: its Lumos calls may have had effects' WHERE id = '{run_id}'"
        ))
        .await;
    let (s, retried) = hook(
        &env,
        &url,
        &signed(&secret, now + 2, &body),
        "application/json",
        &body,
    )
    .await;
    assert_eq!(
        (s, retried["duplicate"].as_bool()),
        (StatusCode::ACCEPTED, Some(false)),
        "{retried}"
    );
    let new_run = retried["run_id"].as_str().expect("run").to_owned();
    assert_ne!(new_run, run_id);
    let (_, later) = hook(
        &env,
        &url,
        &signed(&secret, now + 3, &body),
        "application/json",
        &body,
    )
    .await;
    assert_eq!(later["run_id"], new_run.as_str(), "{later}");
    assert_eq!(later["duplicate"], true);
    // Wrong secret, old timestamp, no signature, unknown trigger.
    let other = jira("IT-8", "bob@example-corp.com");
    for (headers, says) in [
        (signed("lft_wrong", now, &other), "does not match"),
        (signed(&secret, now - 600, &other), "5 minutes"),
        (Vec::new(), "missing Lumosflow-Signature"),
    ] {
        let (s, v) = hook(&env, &url, &headers, "application/json", &other).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        assert!(v.to_string().contains(says), "{says}: {v}");
    }
    let (s, _) = hook(
        &env,
        "x/hooks/01a00000-0000-7000-8000-000000000000",
        &signed(&secret, now, &other),
        "application/json",
        &other,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A payload the mapping cannot read: 422, recorded on the trigger.
    let odd = json!({"not": "jira"}).to_string();
    let (s, v) = hook(
        &env,
        &url,
        &signed(&secret, now + 2, &odd),
        "application/json",
        &odd,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let t = engine.trigger("jira-access").await.expect("trigger");
    assert!(t.last_error.is_some(), "{t:?}");
    // Rotated: the old secret stops working.
    let rotated = engine
        .rotate_trigger_secret("jira-access", &op)
        .await
        .expect("rotate");
    let (s, _) = hook(
        &env,
        &url,
        &signed(&secret, now + 3, &other),
        "application/json",
        &other,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = hook(
        &env,
        &url,
        &signed(&rotated.secret, now + 3, &other),
        "application/json",
        &other,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    // Disabled: as if it did not exist.
    engine
        .set_trigger_enabled("jira-access", false, &op)
        .await
        .expect("disable");
    let (s, _) = hook(
        &env,
        &url,
        &signed(&rotated.secret, now + 4, &other),
        "application/json",
        &other,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Slack needs the Slack app's signing secret.
    assert!(
        engine
            .add_trigger(
                "no-secret",
                "list-lumos-users",
                TriggerAuth::Slack,
                None,
                None,
                &op
            )
            .await
            .is_err()
    );
    // A shared secret in a header, for tools that cannot sign.
    let plain = engine
        .add_trigger(
            "desk-tool",
            "list-lumos-users",
            TriggerAuth::Header,
            None,
            None,
            &op,
        )
        .await
        .expect("header trigger");
    let body = json!({"search": "bob"}).to_string();
    let (s, _) = hook(
        &env,
        &plain.url,
        &[("lumosflow-secret", "nope".into())],
        "application/json",
        &body,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = hook(
        &env,
        &plain.url,
        &[("lumosflow-secret", plain.secret.clone())],
        "application/json",
        &body,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    env.stop().await;
}

#[tokio::test]
async fn a_slack_slash_command_is_answered_at_once_and_told_the_result() {
    // Where Slack would receive the delayed answer.
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let response_url = format!("http://{}/response", listener.local_addr().expect("addr"));
    let app = axum::Router::new()
        .route(
            "/response",
            axum::routing::post(|State(g): State<Arc<Mutex<Vec<Value>>>>, axum::Json(v): axum::Json<Value>| async move {
                g.lock().expect("lock").push(v);
                "ok"
            }),
        )
        .with_state(got.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let env = Env::new(testkit::sqlite()).await;
    env.connect().await;
    env.install_all().await;
    let slack = env
        .server
        .engine
        .add_trigger(
            "slack-users",
            "list-lumos-users",
            TriggerAuth::Slack,
            Some("inputs:\n  search: \"{{ payload.text }}\"\n"),
            Some("8f742231b10e8888abcd99yyyzzz85a5"),
            &engine::Actor::operator(),
        )
        .await
        .expect("slack trigger");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("command", "/lumos-users")
        .append_pair("text", "ann")
        .append_pair("user_name", "dan")
        .append_pair("response_url", &response_url)
        .finish();
    let ts = chrono::Utc::now().timestamp();
    let headers = vec![
        ("x-slack-request-timestamp", ts.to_string()),
        (
            "x-slack-signature",
            slack_signature(&slack.secret, ts, body.as_bytes()),
        ),
    ];
    let started = Instant::now();
    let (s, v) = hook(
        &env,
        &slack.url,
        &headers,
        "application/x-www-form-urlencoded",
        &body,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "Slack waits 3 s at most"
    );
    assert_eq!(v["response_type"], "ephemeral");
    assert!(
        v["text"]
            .as_str()
            .expect("text")
            .starts_with("Started `list-lumos-users`"),
        "{v}"
    );
    // A wrong Slack signature is refused.
    let bad = vec![
        ("x-slack-request-timestamp", ts.to_string()),
        ("x-slack-signature", "v0=00".to_owned()),
    ];
    let (s, _) = hook(
        &env,
        &slack.url,
        &bad,
        "application/x-www-form-urlencoded",
        &body,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Readiness polling: the result reaches the response_url.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(m) = got.lock().expect("lock").first().cloned() {
            let text = m["text"].as_str().expect("text");
            assert!(text.contains("completed"), "{text}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no answer posted to response_url"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.stop().await;
}

/// Without LUMOSFLOW_PUBLIC_URL, a trigger's URL (shown once) is where the server really
/// listens, not a default port it may not use.
#[tokio::test]
async fn a_trigger_url_points_where_the_server_listens() {
    let env = Env::new(testkit::sqlite()).await;
    env.connect().await;
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows/install",
            Some(json!({"workflows": ["list-lumos-users"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, t) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/triggers",
            Some(json!({"name": "desk", "workflow": "list-lumos-users"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let url = t["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{}/hooks/", env.server.base_url)),
        "{url} vs {}",
        env.server.base_url
    );
    env.stop().await;
}

/// What a ticketing tool was sent: (path, Authorization, body).
type Sent = Arc<Mutex<Vec<(String, String, Value)>>>;

/// A ticketing tool that records what it is sent.
async fn ticketing() -> (String, Sent) {
    let got: Sent = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let host = listener.local_addr().expect("addr").to_string();
    let app = axum::Router::new()
        .route(
            "/{*path}",
            axum::routing::post(
                |State(g): State<Sent>,
                 axum::extract::Path(path): axum::extract::Path<String>,
                 headers: axum::http::HeaderMap,
                 axum::Json(v): axum::Json<Value>| async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    g.lock().expect("lock").push((path, auth, v));
                    (StatusCode::CREATED, "{}")
                },
            ),
        )
        .with_state(got.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (host, got)
}

/// A trigger answers on the same request when the run ends within the wait it allows, and
/// its reply (a comment on the ticket, with a secret) reaches the ticketing tool once the
/// run ends, from the database, with the secret in no record.
#[tokio::test]
async fn triggers_answer_back_on_the_request_and_on_the_ticket() {
    let (jira_host, got) = ticketing().await;
    let config = engine::EngineConfig {
        http_allowed_hosts: vec![jira_host.clone()],
        notice_poll: Duration::from_millis(50),
        ..engine::EngineConfig::default()
    };
    let env = Env::custom(testkit::sqlite(), SimConfig::default(), config).await;
    env.connect().await;
    env.install_all().await;
    let engine = &env.server.engine;
    let op = engine::Actor::operator();
    let token = "jira-token-5b1d9c0e7a";
    engine
        .set_secret(
            "JIRA_TOKEN",
            token,
            &engine::secrets::SecretRule {
                hosts: vec![jira_host.clone()],
                allow_http: true,
                workflows: None,
            },
            &op,
        )
        .await
        .expect("secret");
    let map = format!(
        r#"
inputs:
  search: "{{{{ payload.issue.fields.reporter.emailAddress }}}}"
dedupe_key: "{{{{ payload.issue.key }}}}"
wait: 20s
reply:
  http:
    method: POST
    url: "http://{jira_host}/rest/api/2/issue/{{{{ payload.issue.key }}}}/comment"
    headers: {{ Authorization: "Bearer {{{{ secrets.JIRA_TOKEN }}}}" }}
    body: {{ body: "lumosflow: {{{{ run.summary }}}} ({{{{ run.status }}}})" }}
"#
    );
    // A reply that reads what it cannot is refused when the trigger is made.
    let e = engine
        .add_trigger(
            "bad-reply",
            "list-lumos-users",
            TriggerAuth::Hmac,
            Some("reply:\n  response_url: \"{{ inputs.x }}\"\n"),
            None,
            &op,
        )
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("replies read payload"), "{e}");
    let t = engine
        .add_trigger(
            "jira-reply",
            "list-lumos-users",
            TriggerAuth::Hmac,
            Some(&map),
            None,
            &op,
        )
        .await
        .expect("trigger");
    let path = |q: &str| {
        let id = t.url.split_once("/hooks/").map(|(_, id)| id).expect("id");
        format!("{}/hooks/{id}{q}", env.server.base_url)
    };
    let send = |q: &'static str, key: &'static str, ts: i64| {
        let body = jira(key, "ann@example-corp.com");
        let sig = engine::notify::signature(&t.secret, ts, &body);
        let url = path(q);
        let http = env.http.clone();
        async move {
            let resp = http
                .post(url)
                .header("content-type", "application/json")
                .header("lumosflow-signature", sig)
                .body(body)
                .send()
                .await
                .expect("send");
            let s = resp.status();
            (s, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let now = chrono::Utc::now().timestamp();
    // Asking to wait longer than the trigger allows: refused, nothing started.
    let before = engine
        .runs(&engine::RunFilter::default())
        .await
        .expect("runs")
        .len();
    let (s, v) = send("?wait=10m", "IT-9", now).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("at most 20s"), "{v}");
    let (s, v) = send("?wait=soon", "IT-9", now + 1).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        engine
            .runs(&engine::RunFilter::default())
            .await
            .expect("runs")
            .len(),
        before,
        "nothing started"
    );
    // Within the wait: the result on the same request.
    let (s, v) = send("?wait=20s", "IT-9", now + 2).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "completed", "{v}");
    assert!(v["output"].is_object() || v["output"].is_array(), "{v}");
    let run_id = v["run_id"].as_str().expect("run").to_owned();
    // The comment reaches the ticket, with the secret, once.
    let deadline = Instant::now() + Duration::from_secs(15);
    let (p, auth, body) = loop {
        if let Some(x) = got.lock().expect("lock").first().cloned() {
            break x;
        }
        assert!(Instant::now() < deadline, "the ticket never heard back");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(p, "rest/api/2/issue/IT-9/comment");
    assert_eq!(auth, format!("Bearer {token}"));
    let text = body["body"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("lumosflow: Run ") && text.ends_with("(completed)"),
        "{text}"
    );
    let detail = loop {
        let d = engine.run_detail(&run_id).await.expect("detail");
        if d.reply.as_ref().is_some_and(|r| r.status == "sent") {
            break d;
        }
        assert!(Instant::now() < deadline, "the reply never counted as sent");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let shown = serde_json::to_string(&detail).expect("json");
    assert!(!shown.contains(token), "no secret in the run's record");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(got.lock().expect("lock").len(), 1, "sent once");
    env.stop().await;
}
