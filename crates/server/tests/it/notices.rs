//! Notices from a running server to a receiving HTTP server in the test: every JSON notice
//! carries a valid signature, a notice answered with 500 is sent again, Slack messages say
//! who asked and link to the run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use engine::notify::{NoticeFormat, signature};
use lumos_sim::SimConfig;
use reqwest::Method;
use serde_json::{Value, json};
use server::Role::{Admin, Agent};

use crate::Env;

/// (path, signature header, body) of one request.
type Seen = (String, Option<String>, String);

#[derive(Clone, Default)]
struct Received {
    /// In arrival order, failures included.
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn receive(
    State(r): State<Received>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let sig = headers
        .get("lumosflow-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut seen = r.seen.lock().expect("lock");
    seen.push((uri.path().to_owned(), sig, body));
    // The very first JSON notice fails, to see it sent again.
    if uri.path() == "/json" && seen.iter().filter(|(p, ..)| p == "/json").count() == 1 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

const GATED: &str = "id: gated-notice\nname: Gated with notices\napproval: Check the reason\nsteps:\n  - id: t\n    transform: \"{{ 41 + 1 }}\"\n";

#[tokio::test]
async fn notices_are_signed_retried_and_say_who_asked() {
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new()
        .route("/json", post(receive))
        .route("/slack", post(receive))
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let config = engine::EngineConfig {
        notice_poll: Duration::from_millis(50),
        notice_retry_base: Duration::from_millis(100),
        public_url: Some("https://flow.example-corp.com".into()),
        ..engine::EngineConfig::default()
    };
    let env = Env::custom(testkit::sqlite(), SimConfig::default(), config).await;
    env.connect().await;
    let engine = &env.server.engine;
    let op = engine::Actor::operator();
    let events: Vec<String> = ["approval.requested", "approval.decided", "run.completed"]
        .map(str::to_owned)
        .to_vec();
    let json_target = engine
        .add_notification_target(
            "desk",
            &format!("{hook}/json"),
            NoticeFormat::Json,
            &events,
            None,
            &op,
        )
        .await
        .expect("json target");
    engine
        .add_notification_target(
            "it-slack",
            &format!("{hook}/slack"),
            NoticeFormat::Slack,
            &events[..1],
            Some("gated-notice"),
            &op,
        )
        .await
        .expect("slack target");
    // Bad targets change nothing.
    for (name, url, ev) in [
        ("x", "http://example.com/hook", "run.failed"),
        ("y", "https://example.com/hook", "run.exploded"),
        ("desk", "https://example.com/hook", "run.failed"),
    ] {
        assert!(
            engine
                .add_notification_target(name, url, NoticeFormat::Json, &[ev.to_owned()], None, &op)
                .await
                .is_err(),
            "{name} {url} {ev}"
        );
    }
    assert_eq!(
        engine.notification_targets().await.expect("targets").len(),
        2
    );
    let listed =
        serde_json::to_string(&engine.notification_targets().await.expect("t")).expect("json");
    assert!(
        !listed.contains("/json") && !listed.contains(&json_target.secret),
        "{listed}"
    );

    engine.create(GATED, &op).await.expect("create");
    let (_, held) = env.run(Agent, "gated-notice", None, false).await;
    let id = held["id"].as_str().expect("id").to_owned();
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            &format!("/api/v1/runs/{id}/approve?wait=true"),
            Some(json!({"comment": "fine"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v["status"].as_str()),
        (200, Some("completed")),
        "{v}"
    );

    // Readiness polling: every notice arrives (one of them twice).
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let seen = received.seen.lock().expect("lock").clone();
        let ok_json = seen.iter().filter(|(p, ..)| p == "/json").count();
        let slack = seen.iter().filter(|(p, ..)| p == "/slack").count();
        if ok_json + slack >= 5 {
            break seen;
        }
        assert!(Instant::now() < deadline, "notices missing: {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut events_seen = Vec::new();
    for (path, sig, body) in &seen {
        let v: Value = serde_json::from_str(body).expect("JSON body");
        if path == "/slack" {
            let text = v["text"].as_str().expect("text");
            assert!(
                text.contains("Approval needed") && text.contains("key:a"),
                "{text}"
            );
            assert!(
                text.contains(&format!("https://flow.example-corp.com/#/runs/{id}")),
                "{text}"
            );
            assert!(sig.is_none(), "Slack messages are not signed");
            continue;
        }
        let sig = sig.as_deref().expect("signed");
        let t: i64 = sig
            .strip_prefix("t=")
            .and_then(|r| r.split(',').next())
            .and_then(|t| t.parse().ok())
            .expect("t=");
        assert_eq!(
            sig,
            signature(&json_target.secret, t, body),
            "signature of {body}"
        );
        assert_eq!(v["run"]["id"], id.as_str());
        assert_eq!(v["run"]["requested_by"], "key:a");
        events_seen.push(v["event"].as_str().expect("event").to_owned());
    }
    // The first attempt failed and was sent again (perhaps after the others).
    events_seen.sort();
    assert_eq!(
        events_seen,
        [
            "approval.decided",
            "approval.requested",
            "approval.requested",
            "run.completed"
        ],
        "{seen:?}"
    );
    // The receiver saw the retry before the sender recorded it as sent: poll for the record.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (deliveries, first) = loop {
        let deliveries = engine.deliveries(10).await.expect("deliveries");
        let first = deliveries
            .iter()
            .find(|d| d.event == "approval.requested" && d.target_id == json_target.id)
            .expect("delivery")
            .clone();
        if first.status == "sent" || Instant::now() > deadline {
            break (deliveries, first);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (first.status.as_str(), first.attempts),
        ("sent", 2),
        "{deliveries:?}"
    );
    // The metrics count the deliveries and every attempt (the retried one counts twice).
    let sent = deliveries.iter().filter(|d| d.status == "sent").count();
    let attempts: i64 = deliveries
        .iter()
        .filter(|d| d.status == "sent")
        .map(|d| i64::from(d.attempts))
        .sum();
    let text = env.metrics_of(&env.server.base_url).await;
    for series in [
        format!("lumosflow_notification_deliveries{{status=\"sent\"}} {sent}\n"),
        format!("lumosflow_notification_delivery_attempts{{status=\"sent\"}} {attempts}\n"),
    ] {
        assert!(text.contains(&series), "{series}: {text}");
    }
    env.stop().await;
}
