use std::time::Duration;

use engine::connections::{self, ConnectError};
use lumos_api::RetryPolicy;
use lumos_sim::{DEFAULT_TOKEN, SimConfig, Simulator};
use serde_json::json;
use testkit::{Db, both};

async fn connect_then_call(db: Db) {
    let sim = Simulator::start(SimConfig::default()).await.expect("sim");
    let store = db.open().await;
    let conn = connections::connect(&store, "default", &sim.base_url, DEFAULT_TOKEN)
        .await
        .expect("connect");
    assert_eq!(conn.token_hint, "lsk_…0000");
    assert!(
        conn.lumos_user_email
            .as_deref()
            .is_some_and(|e| e.ends_with("@example-corp.com"))
    );
    let client = connections::client_for(
        &store,
        "default",
        RetryPolicy::default(),
        Duration::from_secs(5),
    )
    .await
    .expect("client");
    let users = client
        .call(
            "listUsers",
            &json!({"size": 1}).as_object().cloned().unwrap_or_default(),
            None,
        )
        .await
        .expect("call");
    assert_eq!(users["total"], 500);

    let e = connections::connect(&store, "bad", &sim.base_url, "lsk_unknown_token_123")
        .await
        .expect_err("rejected");
    assert!(
        matches!(e, ConnectError::Rejected { status: 401, .. }),
        "{e}"
    );
    let e = connections::connect(&store, "bad", &sim.base_url, "oops")
        .await
        .expect_err("format");
    assert!(matches!(e, ConnectError::Format(_)), "{e}");
    assert_eq!(store.connections().await.expect("list").len(), 1);
    let e = connections::client_for(
        &store,
        "missing",
        RetryPolicy::default(),
        Duration::from_secs(5),
    )
    .await
    .expect_err("missing");
    assert_eq!(e.to_string(), "no connection named 'missing'");

    // The simulator goes away: check records it and says why.
    sim.stop().await;
    let e = connections::check(&store, "default")
        .await
        .expect_err("unreachable");
    assert!(matches!(e, ConnectError::Unreachable { .. }), "{e}");
    let c = store
        .connection("default")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(c.last_check_status.as_deref(), Some("unreachable"));
}
both!(connect_then_call, connect_then_call);
