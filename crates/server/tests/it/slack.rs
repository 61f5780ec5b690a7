//! The Slack app over real HTTP, against a local stand-in for Slack's Web API and payloads
//! signed exactly as Slack signs them: a held run's notice with Approve and Deny buttons;
//! a presser who may not decide (not an approver; the requester) told why, alone; an
//! approver's press recorded through the run core and the notice updated in place; a
//! denial's comment asked in a modal; replayed, stale and forged payloads refused; a slash
//! command that opens a request modal made from the workflow's inputs, with apps picked by
//! name, recorded as the person's run and answered where they asked; a Lumos approval task
//! decided from its notice.

use std::time::Duration;

use engine::notify::NoticeFormat;
use engine::triggers::{TriggerAuth, slack_signature};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::Role::Admin;
use testkit::{Message, SlackStandIn};

use crate::Env;

const SIGNING: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const LEAD: (&str, &str, &str) = ("U0LEAD", "lead@example-corp.com", "Lee Lead");
const ANN: (&str, &str, &str) = ("U0ANN", "ann@example-corp.com", "Ann Asker");
const EVE: (&str, &str, &str) = ("U0EVE", "eve@example-corp.com", "Eve Else");

const HELD: &str = r#"
id: slack-held
name: Look up colleagues, approved first
inputs:
  search: { type: text, required: true }
approval:
  reason: Looks up colleagues in Lumos
  steps:
    - name: Team lead
      approvers: { people: [lead@example-corp.com] }
steps:
  - id: users
    call: listUsers
    params: { search_term: "{{ inputs.search }}", size: 5 }
output:
  found: "{{ steps.users.output['items'] | length }}"
"#;

/// A body Slack would send to an interactivity or options URL, and its headers.
fn signed(payload: &Value, ts: i64, secret: &str) -> (String, Vec<(&'static str, String)>) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let headers = vec![
        ("x-slack-request-timestamp", ts.to_string()),
        (
            "x-slack-signature",
            slack_signature(secret, ts, body.as_bytes()),
        ),
        ("content-type", "application/x-www-form-urlencoded".into()),
    ];
    (body, headers)
}

async fn post_raw(
    env: &Env,
    path: &str,
    body: &str,
    headers: &[(&str, String)],
) -> (StatusCode, Value) {
    let mut rb = env
        .http
        .post(format!("{}{path}", env.server.base_url))
        .body(body.to_owned());
    for (k, v) in headers {
        rb = rb.header(*k, v);
    }
    let resp = rb.send().await.expect("send");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn send(env: &Env, path: &str, payload: &Value) -> (StatusCode, Value) {
    let (body, headers) = signed(payload, chrono::Utc::now().timestamp(), SIGNING);
    post_raw(env, path, &body, &headers).await
}

async fn start(standin: &SlackStandIn) -> Env {
    let config = engine::EngineConfig {
        public_url: Some("https://flow.example-corp.com".into()),
        slack_api_url: standin.api_url.clone(),
        notice_poll: Duration::from_millis(50),
        ..engine::EngineConfig::default()
    };
    let env = Env::custom(testkit::sqlite(), lumos_sim::SimConfig::default(), config).await;
    env.connect().await;
    env.install_all().await;
    env
}

async fn status_of(env: &Env, id: &str) -> String {
    env.server
        .engine
        .run_detail(id)
        .await
        .expect("run")
        .run
        .status
        .to_string()
}

async fn settled(env: &Env, id: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let s = status_of(env, id).await;
        if !["queued", "running"].contains(&s.as_str()) {
            return s;
        }
        assert!(std::time::Instant::now() < deadline, "run {id} never ended");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Ann asks for a held run; the notice that reaches the channel.
async fn held_run(env: &Env, standin: &SlackStandIn, search: &str) -> (String, Message) {
    let engine = &env.server.engine;
    let ann = engine::Actor::person(ANN.1, Some(ANN.2), engine::Role::Agent, None);
    let submitted = engine
        .submit(
            "slack-held",
            &json!({"search": search})
                .as_object()
                .cloned()
                .expect("inputs"),
            engine::RunRequest {
                actor: ann,
                ..engine::RunRequest::default()
            },
        )
        .await
        .expect("submitted");
    let id = submitted.run_id;
    let notice = standin
        .wait_for("the held run's notice", |s| {
            s.messages()
                .into_iter()
                .find(|m| m.text().contains(id.as_str()))
        })
        .await;
    (id, notice)
}

#[tokio::test]
async fn approvers_decide_held_runs_from_slack_buttons_and_nobody_else() {
    let standin = SlackStandIn::start(&[LEAD, ANN, EVE]).await;
    let env = start(&standin).await;
    let engine = &env.server.engine;
    let op = engine::Actor::operator();

    // Before setup, Slack's requests are answered as not set up, not acted on.
    let (s, v) = send(
        &env,
        "/slack/interactivity",
        &json!({"type": "block_actions"}),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(v.to_string().contains("lumosflow slack setup"), "{v}");
    // A token Slack refuses is not kept, and the error says so.
    let e = engine
        .set_slack_app(SIGNING, "xoxb-not-this-one", &op)
        .await
        .expect_err("refused");
    assert!(
        e.to_string()
            .contains("Slack refused auth.test: invalid_auth"),
        "{e}"
    );
    assert!(!engine.slack_status().await.expect("status").configured);
    let e = engine
        .set_slack_app("short", "not-a-bot-token", &op)
        .await
        .expect_err("bad input");
    assert!(
        e.to_string().contains("signing secret") && e.to_string().contains("xoxb-"),
        "{e}"
    );
    let v = engine
        .set_slack_app(SIGNING, &standin.bot_token, &op)
        .await
        .expect("set up");
    assert_eq!(
        (v.team.as_str(), v.bot.as_str()),
        ("Example Corp", "lumosflow")
    );
    let status = engine.slack_status().await.expect("status");
    assert!(status.configured);
    let shown = serde_json::to_string(&status).expect("json");
    assert!(
        !shown.contains(SIGNING) && !shown.contains(&standin.bot_token),
        "{shown}"
    );
    // Never among the secrets http steps can use.
    let secrets = engine.secrets(&op).await.expect("secrets");
    assert!(
        secrets.iter().all(|s| !s.name.starts_with("slack")),
        "{secrets:?}"
    );

    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": HELD})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // A channel that is no channel is refused; then the desk's channel.
    let e = engine
        .add_notification_target(
            "desk",
            "#it-desk",
            NoticeFormat::SlackApp,
            &["approval.requested".into()],
            None,
            &op,
        )
        .await
        .expect_err("not a channel id");
    assert!(
        e.to_string().contains("not a Slack channel or member id"),
        "{e}"
    );
    engine
        .add_notification_target(
            "desk",
            "C0DESK",
            NoticeFormat::SlackApp,
            &["approval.requested".into()],
            None,
            &op,
        )
        .await
        .expect("target");

    // The notice, in words, with the two buttons holding the run id.
    let (id, notice) = held_run(&env, &standin, "ann").await;
    assert_eq!(notice.channel, "C0DESK");
    let text = notice.text();
    for want in [
        "Approval needed",
        "slack-held",
        "ann@example-corp.com",
        "Looks up colleagues in Lumos",
        "search",
        "Team lead",
        "lead@example-corp.com",
        "https://flow.example-corp.com/#/runs/",
    ] {
        assert!(text.contains(want), "{want} missing from {text}");
    }
    assert_eq!(
        notice.buttons(),
        vec![
            ("approve".to_owned(), id.clone()),
            ("deny".to_owned(), id.clone())
        ]
    );

    // Eve is no approver: told why, alone; nothing changes.
    let (s, _) = send(
        &env,
        "/slack/interactivity",
        &standin.press(&notice, "approve", EVE.0, 1),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let said = standin
        .wait_for("Eve's refusal", |s| s.responses().into_iter().next())
        .await;
    assert_eq!(said["response_type"], "ephemeral", "{said}");
    assert_eq!(said["replace_original"], false, "{said}");
    let why = said["text"].as_str().unwrap_or_default();
    assert!(
        why.contains("eve@example-corp.com may not decide at step 'Team lead'"),
        "{why}"
    );
    // Ann asked for it: she cannot approve it, whatever Slack says she pressed.
    let (s, _) = send(
        &env,
        "/slack/interactivity",
        &standin.press(&notice, "approve", ANN.0, 2),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let said = standin
        .wait_for("Ann's refusal", |s| s.responses().get(1).cloned())
        .await;
    let why = said["text"].as_str().unwrap_or_default();
    assert!(
        why.contains("requested run") && why.contains("cannot decide on it"),
        "{why}"
    );
    // Someone Slack does not know: told lumosflow cannot tell who they are.
    let (s, _) = send(
        &env,
        "/slack/interactivity",
        &standin.press(&notice, "approve", "U0NOBODY", 3),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let said = standin
        .wait_for("a stranger's refusal", |s| s.responses().get(2).cloned())
        .await;
    assert!(
        said["text"]
            .as_str()
            .unwrap_or_default()
            .contains("could not ask Slack who you are"),
        "{said}"
    );
    assert_eq!(status_of(&env, &id).await, "pending_approval");
    assert_eq!(standin.messages()[0].updates, 0, "the notice is as it was");

    // Forged, stale and replayed payloads are refused before anything is read.
    let press = standin.press(&notice, "approve", LEAD.0, 4);
    let (body, headers) = signed(
        &press,
        chrono::Utc::now().timestamp(),
        "not-the-secret-at-all",
    );
    let (s, v) = post_raw(&env, "/slack/interactivity", &body, &headers).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v.to_string().contains("signature does not match"), "{v}");
    let (body, headers) = signed(&press, chrono::Utc::now().timestamp() - 400, SIGNING);
    let (s, v) = post_raw(&env, "/slack/interactivity", &body, &headers).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v.to_string().contains("more than 5 minutes"), "{v}");

    // The lead approves: recorded as them, the notice says so for everyone, no buttons.
    let (body, headers) = signed(&press, chrono::Utc::now().timestamp(), SIGNING);
    let (s, _) = post_raw(&env, "/slack/interactivity", &body, &headers).await;
    assert_eq!(s, StatusCode::OK);
    let updated = standin
        .wait_for("the approved notice", |s| {
            s.messages()
                .into_iter()
                .find(|m| m.ts == notice.ts && m.updates > 0)
        })
        .await;
    let text = updated.text();
    assert!(
        text.contains("Approved by lead@example-corp.com; the run goes on"),
        "{text}"
    );
    assert!(
        text.contains("Looks up colleagues in Lumos"),
        "what it was about stays: {text}"
    );
    assert!(updated.buttons().is_empty(), "{:?}", updated.buttons());
    assert_eq!(settled(&env, &id).await, "completed");
    let detail = engine.run_detail(&id).await.expect("run");
    let decision = &detail.approval.expect("approval").decisions[0];
    assert_eq!(decision.decided_by, "lead@example-corp.com");
    assert_eq!(
        detail.run.requested_by.as_deref(),
        Some("ann@example-corp.com")
    );
    // The same payload again: a replay, refused.
    let (s, v) = post_raw(&env, "/slack/interactivity", &body, &headers).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v.to_string().contains("already acted on"), "{v}");
    // In the audit trail, as the lead.
    let events = engine
        .audit_events(Some("run.approve"), 100)
        .await
        .expect("audit");
    assert!(
        events
            .iter()
            .any(|e| e.action == "run.approve" && e.actor == "lead@example-corp.com"),
        "{events:?}"
    );

    // Deny: a modal asks why; no comment is refused in the modal, then the run is denied.
    let (id2, notice2) = held_run(&env, &standin, "bob").await;
    let (s, _) = send(
        &env,
        "/slack/interactivity",
        &standin.press(&notice2, "deny", LEAD.0, 5),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (trigger, modal) = standin
        .wait_for("the deny modal", |s| s.views().into_iter().next())
        .await;
    assert_eq!(trigger, "trigger-5");
    assert_eq!(modal["callback_id"], "lumosflow-deny");
    let (s, v) = send(
        &env,
        "/slack/interactivity",
        &standin.submit(&modal, &[("comment", json!(" "))], LEAD.0),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["response_action"], "errors", "{v}");
    assert!(
        v["errors"]["comment"]
            .as_str()
            .unwrap_or_default()
            .contains("needs a comment"),
        "{v}"
    );
    assert_eq!(status_of(&env, &id2).await, "pending_approval");
    // Eve cannot deny either: the modal says why.
    let (_, v) = send(
        &env,
        "/slack/interactivity",
        &standin.submit(&modal, &[("comment", json!("no"))], EVE.0),
    )
    .await;
    assert!(
        v["errors"]["comment"]
            .as_str()
            .unwrap_or_default()
            .contains("may not decide"),
        "{v}"
    );
    let (s, v) = send(
        &env,
        "/slack/interactivity",
        &standin.submit(
            &modal,
            &[("comment", json!("Not for a contractor"))],
            LEAD.0,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!({}), "the modal closes");
    assert_eq!(status_of(&env, &id2).await, "denied");
    let updated = standin
        .wait_for("the denied notice", |s| {
            s.messages()
                .into_iter()
                .find(|m| m.ts == notice2.ts && m.updates > 0)
        })
        .await;
    let text = updated.text();
    assert!(
        text.contains("Denied by lead@example-corp.com: Not for a contractor"),
        "{text}"
    );
    assert!(updated.buttons().is_empty());

    // Decided at another door (the console, the CLI, the API): the notice says so too.
    let (id3, notice3) = held_run(&env, &standin, "cho").await;
    let lead = engine::Actor::person(LEAD.1, Some(LEAD.2), engine::Role::Viewer, None);
    engine
        .approve(&id3, &lead, None, engine::ApproveThen::Queue)
        .await
        .expect("approved in the console");
    let updated = standin
        .wait_for("the notice of a run approved elsewhere", |s| {
            s.messages()
                .into_iter()
                .find(|m| m.ts == notice3.ts && m.updates > 0)
        })
        .await;
    let text = updated.text();
    assert!(
        text.contains("Approved by lead@example-corp.com; the run goes on"),
        "{text}"
    );
    assert!(updated.buttons().is_empty());

    env.stop().await;
}

#[tokio::test]
async fn a_slash_command_opens_a_request_form_and_answers_where_asked() {
    let standin = SlackStandIn::start(&[ANN, EVE]).await;
    let env = start(&standin).await;
    let engine = &env.server.engine;
    let op = engine::Actor::operator();
    engine
        .set_slack_app(SIGNING, &standin.bot_token, &op)
        .await
        .expect("set up");
    let t = engine
        .add_trigger(
            "request-app",
            "list-lumos-app-requestable-permissions",
            TriggerAuth::Slack,
            Some("modal: true\n"),
            Some(SIGNING),
            &op,
        )
        .await
        .expect("trigger");
    // `/access` typed by Ann: the modal opens, made from the workflow's inputs.
    let command = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("command", "/access")
        .append_pair("text", "")
        .append_pair("user_id", ANN.0)
        .append_pair("trigger_id", "trigger-cmd")
        .append_pair("response_url", &standin.response_url(10))
        .finish();
    let ts = chrono::Utc::now().timestamp();
    let path = t
        .url
        .split_once("/hooks/")
        .map(|(_, id)| format!("/hooks/{id}"))
        .expect("path");
    let (s, v) = post_raw(
        &env,
        &path,
        &command,
        &[
            ("x-slack-request-timestamp", ts.to_string()),
            (
                "x-slack-signature",
                slack_signature(SIGNING, ts, command.as_bytes()),
            ),
            ("content-type", "application/x-www-form-urlencoded".into()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (trigger, modal) = standin
        .wait_for("the request modal", |s| s.views().into_iter().next())
        .await;
    assert_eq!(trigger, "trigger-cmd");
    assert_eq!(modal["callback_id"], "lumosflow-request");
    let app_block = modal["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .find(|b| b["block_id"] == "app_id")
        .unwrap_or_else(|| panic!("an app input: {modal}"))
        .clone();
    assert_eq!(
        app_block["element"]["type"], "external_select",
        "apps are picked by name"
    );

    // Typing part of an app's name offers the apps, by name, their ids as values.
    let (_, apps) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "listApps", "params": {"size": 1}})),
        )
        .await;
    let app = apps["body"]["items"][0].clone();
    let name = app["user_friendly_label"]
        .as_str()
        .expect("name")
        .to_owned();
    let typed: String = name.chars().take(4).collect();
    let (s, options) = send(
        &env,
        "/slack/options",
        &json!({"type": "block_suggestion", "user": {"id": ANN.0}, "action_id": "app_id",
                "block_id": "app_id", "value": typed,
                "view": {"private_metadata": modal["private_metadata"]}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{options}");
    let offered = options["options"].as_array().cloned().unwrap_or_default();
    let chosen = offered
        .iter()
        .find(|o| o["value"] == app["id"])
        .unwrap_or_else(|| panic!("{name} not offered for '{typed}': {options}"));
    assert!(
        chosen["text"]["text"]
            .as_str()
            .unwrap_or_default()
            .contains(&name),
        "{chosen}"
    );

    // Submitted without the app: the form says what is missing, beside it.
    let (_, v) = send(
        &env,
        "/slack/interactivity",
        &standin.submit(&modal, &[], ANN.0),
    )
    .await;
    assert_eq!(v["response_action"], "errors", "{v}");
    assert!(v["errors"].to_string().contains("app_id"), "{v}");
    // Submitted with it: Ann's run, from Slack, and the answer where she asked.
    let (s, v) = send(
        &env,
        "/slack/interactivity",
        &standin.submit(&modal, &[("app_id", app["id"].clone())], ANN.0),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!({}), "{v}");
    let answer = standin
        .wait_for("the answer in the channel", |s| {
            s.responses().into_iter().next()
        })
        .await;
    let text = answer["text"].as_str().unwrap_or_default().to_owned();
    assert!(text.contains("completed"), "{text}");
    let run_id = text.split_whitespace().nth(1).expect("run id").to_owned();
    let run = engine.run_detail(&run_id).await.expect("run").run;
    assert_eq!(run.requested_by.as_deref(), Some("ann@example-corp.com"));
    assert_eq!(run.inputs.0["app_id"], app["id"]);
    let requester = run.requester.expect("requester").0;
    assert_eq!(requester["origin"], "slack", "{requester}");
    env.stop().await;
}

#[tokio::test]
async fn lumos_approval_tasks_are_decided_from_their_notices() {
    // Find a Lumos task assigned to a person, and give that person a Slack account.
    let probe = SlackStandIn::start(&[]).await;
    let env = start(&probe).await;
    let (_, tasks) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "listTasks", "params": {"show_all_tasks": true, "status": "PENDING", "expand": ["assignees"], "size": 100}})),
        )
        .await;
    let approver = tasks["body"]["items"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["task_category"] != "PROVISIONING" && t["access_request_id"].is_string())
        .flat_map(|t| t["assignees"].as_array().cloned().unwrap_or_default())
        .find(|a| a["type"] == "USER")
        .and_then(|a| a["email"].as_str().map(str::to_owned))
        .expect("a task assigned to a person");
    env.stop().await;
    let standin = SlackStandIn::start(&[("U0APPR", &approver, "The Approver"), EVE]).await;
    let env = start(&standin).await;
    let engine = &env.server.engine;
    let op = engine::Actor::operator();
    engine
        .set_slack_app(SIGNING, &standin.bot_token, &op)
        .await
        .expect("set up");
    engine
        .add_notification_target(
            "my-lumos-tasks",
            "U0APPR",
            NoticeFormat::SlackApp,
            &["run.completed".into()],
            Some("list-my-lumos-approval-tasks"),
            &op,
        )
        .await
        .expect("target");
    // Their morning list (a schedule in production): each task a message with buttons.
    let me = engine::Actor::person(&approver, None, engine::Role::Agent, None);
    let listed = engine
        .run(
            "list-my-lumos-approval-tasks",
            &serde_json::Map::new(),
            engine::RunRequest {
                actor: me,
                ..engine::RunRequest::default()
            },
        )
        .await
        .expect("listed");
    let items = listed.output.expect("output")["items"]
        .as_array()
        .cloned()
        .expect("items");
    let first = items[0].clone();
    let task_id = first["task_id"].as_str().expect("task").to_owned();
    let notice = standin
        .wait_for("the task notices", |s| {
            let m = s.messages();
            (m.len() == items.len()).then_some(m)
        })
        .await
        .into_iter()
        .find(|m| m.buttons().iter().any(|(_, v)| *v == task_id))
        .unwrap_or_else(|| panic!("the first task's notice: {:#?}", standin.messages()));
    assert_eq!(notice.channel, "U0APPR", "straight to the approver");
    let text = notice.text();
    assert!(text.contains("Lumos approval"), "{text}");
    assert!(text.contains(first["app"].as_str().expect("app")), "{text}");
    assert!(
        text.contains(first["requester"].as_str().expect("requester")),
        "{text}"
    );

    // Eve presses Approve: the workflow refuses her (not an assignee), she alone is told;
    // the task and the notice stay as they were.
    let (s, _) = send(
        &env,
        "/slack/interactivity",
        &standin.press(&notice, "approve", EVE.0, 20),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let said = standin
        .wait_for("Eve's refusal", |s| s.responses().into_iter().next())
        .await;
    let why = said["text"].as_str().unwrap_or_default();
    assert!(why.contains("may not decide this task"), "{why}");
    assert_eq!(said["response_type"], "ephemeral");
    let again = standin
        .messages()
        .into_iter()
        .find(|m| m.ts == notice.ts)
        .expect("notice");
    assert_eq!(again.updates, 0, "the notice is as it was");
    // The approver approves: done in Lumos as them, and the notice says so, without buttons.
    let (s, _) = send(
        &env,
        "/slack/interactivity",
        &standin.press(&notice, "approve", "U0APPR", 21),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let done = standin
        .wait_for("the approved task", |s| {
            s.messages()
                .into_iter()
                .find(|m| m.ts == notice.ts && m.text().contains("Approved in Lumos"))
        })
        .await;
    assert!(done.text().contains(&approver), "{}", done.text());
    assert!(done.buttons().is_empty(), "a decided notice has no buttons");
    let (_, task) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "getTask", "params": {"task_id": task_id}})),
        )
        .await;
    assert_ne!(task["body"]["status"], "PENDING", "{task}");
    env.stop().await;
}

/// The trigger mappings docs/slack.md shows are ones lumosflow accepts.
#[tokio::test]
async fn the_mappings_in_the_slack_docs_are_accepted() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/slack.md"))
        .expect("docs/slack.md");
    let maps: Vec<&str> = text
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.starts_with("# mapping"))
        .collect();
    assert_eq!(maps.len(), 2, "the form and the Jira reply");
    let env = Env::new(testkit::sqlite()).await;
    env.connect().await;
    env.install_all().await;
    for (i, m) in maps.iter().enumerate() {
        let auth = if m.contains("modal: true") {
            TriggerAuth::Slack
        } else {
            TriggerAuth::Hmac
        };
        env.server
            .engine
            .add_trigger(
                &format!("doc-{i}"),
                "request-lumos-app-access",
                auth,
                Some(m),
                Some(SIGNING),
                &engine::Actor::operator(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}\n{m}"));
    }
    env.stop().await;
}

/// The run core's rules at the Slack door, as at every other: a held dry run approved from a
/// button stays a dry run (nothing reaches Lumos), and a request form cannot make a run act
/// as someone else than the person who submits it.
#[tokio::test]
async fn the_run_cores_rules_hold_at_the_slack_door() {
    const GATED: &str = "id: gated-request\nname: Gated request\ninputs:\n  app_id: { type: text, required: true }\napproval: Files an access request\nsteps:\n  - id: request\n    call: createAccessRequest\n    body: { app_id: \"{{ inputs.app_id }}\", business_justification: Slack }\n";
    let standin = SlackStandIn::start(&[LEAD, ANN, EVE]).await;
    let env = start(&standin).await;
    let engine = &env.server.engine;
    let op = engine::Actor::operator();
    engine
        .set_slack_app(SIGNING, &standin.bot_token, &op)
        .await
        .expect("set up");
    // The lead is an admin (the gate's approvers), known to lumosflow by their email.
    engine
        .sign_in_person(LEAD.1, Some(LEAD.2), engine::Role::Admin, "Test IdP")
        .await
        .expect("lead");
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": GATED})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    engine
        .add_notification_target(
            "desk",
            "C0DESK",
            NoticeFormat::SlackApp,
            &["approval.requested".into()],
            None,
            &op,
        )
        .await
        .expect("target");
    let (_, apps) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "getAppStoreApps", "params": {"size": 1}})),
        )
        .await;
    let app = apps["body"]["items"][0]["id"].clone();
    let requests = |env: &Env| {
        let http = env.http.clone();
        let url = format!("{}/api/v1/lumos/call", env.server.base_url);
        let key = env.keys[&Admin].clone();
        async move {
            let v: Value = http
                .post(url)
                .bearer_auth(key)
                .json(&json!({"operation": "getAccessRequests", "params": {"size": 1}}))
                .send()
                .await
                .expect("call")
                .json()
                .await
                .expect("json");
            v["body"]["total"].as_u64().expect("total")
        }
    };
    let before = requests(&env).await;
    let ann = engine::Actor::person(ANN.1, Some(ANN.2), engine::Role::Agent, None);
    let held = engine
        .submit(
            "gated-request",
            &json!({"app_id": app}).as_object().cloned().expect("inputs"),
            engine::RunRequest {
                actor: ann,
                dry_run: true,
                ..engine::RunRequest::default()
            },
        )
        .await
        .expect("held");
    let notice = standin
        .wait_for("the dry run's notice", |s| {
            s.messages()
                .into_iter()
                .find(|m| m.text().contains(held.run_id.as_str()))
        })
        .await;
    assert!(
        notice
            .text()
            .contains("a dry run: approving changes nothing"),
        "{}",
        notice.text()
    );
    let (s, _) = send(
        &env,
        "/slack/interactivity",
        &standin.press(&notice, "approve", LEAD.0, 30),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while status_of(&env, &held.run_id).await == "pending_approval" {
        assert!(
            std::time::Instant::now() < deadline,
            "never approved: {:?}",
            standin.responses()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(settled(&env, &held.run_id).await, "completed");
    let run = engine.run_detail(&held.run_id).await.expect("run");
    assert!(run.run.dry_run, "still a dry run");
    assert_eq!(run.steps[0].status, engine::StepStatus::DryRun);
    assert_eq!(requests(&env).await, before, "nothing reached Lumos");

    // A form for "my Lumos tasks": whose tasks is the person who submits it, never another.
    let t = engine
        .add_trigger(
            "my-tasks",
            "list-my-lumos-approval-tasks",
            TriggerAuth::Slack,
            Some("modal: true\n"),
            Some(SIGNING),
            &op,
        )
        .await
        .expect("trigger");
    let command = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("command", "/my-tasks")
        .append_pair("user_id", EVE.0)
        .append_pair("trigger_id", "trigger-tasks")
        .append_pair("response_url", &standin.response_url(31))
        .finish();
    let ts = chrono::Utc::now().timestamp();
    let path = t
        .url
        .split_once("/hooks/")
        .map(|(_, id)| format!("/hooks/{id}"))
        .expect("path");
    let (s, v) = post_raw(
        &env,
        &path,
        &command,
        &[
            ("x-slack-request-timestamp", ts.to_string()),
            (
                "x-slack-signature",
                slack_signature(SIGNING, ts, command.as_bytes()),
            ),
            ("content-type", "application/x-www-form-urlencoded".into()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, modal) = standin
        .wait_for("the form", |s| {
            s.views().into_iter().find(|(t, _)| t == "trigger-tasks")
        })
        .await;
    assert!(
        !modal["blocks"]
            .to_string()
            .contains("\"block_id\":\"email\""),
        "the person is not asked who they are: {modal}"
    );
    // A submission naming someone else (as a tampered form would): refused, nothing runs.
    let mut forged = standin.submit(&modal, &[], EVE.0);
    forged["view"]["state"]["values"]["email"] =
        json!({"email": {"type": "plain_text_input", "value": LEAD.1}});
    let runs_before = engine
        .runs(&engine::RunFilter::default())
        .await
        .expect("runs")
        .len();
    let (s, v) = send(&env, "/slack/interactivity", &forged).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["response_action"], "errors", "{v}");
    assert!(v.to_string().contains("it acts only as them"), "{v}");
    assert_eq!(
        engine
            .runs(&engine::RunFilter::default())
            .await
            .expect("runs")
            .len(),
        runs_before
    );
    env.stop().await;
}
