use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{TOKEN, client, params};

#[tokio::test]
async fn sends_bearer_token_user_agent_and_repeated_array_keys() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header(
            "user-agent",
            concat!("lumosflow/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [], "total": 0, "page": 1, "size": 50, "pages": 0})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let body = client(&server)
        .call(
            "getAccounts",
            &params(json!({"status": ["ACTIVE", "SUSPENDED"], "app_id": "a 1"})),
            None,
        )
        .await
        .expect("call succeeds");
    assert_eq!(body["total"], 0);
    let received = server.received_requests().await.unwrap_or_default();
    assert_eq!(
        received[0].url.query(),
        Some("app_id=a%201&status=ACTIVE&status=SUSPENDED")
    );
}

#[tokio::test]
async fn invalid_input_is_never_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server);
    let err = c
        .call(
            "getAccounts",
            &params(json!({"status": "DEACTIVATED"})),
            None,
        )
        .await
        .expect_err("invalid");
    let msg = err.to_string();
    assert!(err.is_invalid_input());
    assert!(
        msg.contains("'DEACTIVATED' is not a valid AccountLifecycleStatus"),
        "{msg}"
    );
    assert!(msg.contains("ACTIVE, ARCHIVED, SUSPENDED"), "{msg}");

    let err = c
        .call("listUser", &params(json!({})), None)
        .await
        .expect_err("unknown op");
    assert!(err.to_string().contains("did you mean listUsers"), "{err}");

    let err = c
        .call("listUsers", &params(json!({"size": 101, "nope": 1})), None)
        .await
        .expect_err("bounds");
    let msg = err.to_string();
    assert!(
        msg.contains("at most 100") && msg.contains("unknown parameter 'nope'"),
        "{msg}"
    );

    let err = c
        .call("createAccessRequest", &params(json!({})), None)
        .await
        .expect_err("body required");
    assert!(
        err.to_string()
            .contains("needs a JSON body (CreateAccessRequestInput)"),
        "{err}"
    );
}

#[tokio::test]
async fn path_params_are_encoded_and_text_plain_is_a_string() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/a%2Fb"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "a/b"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/art"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("~*~", "text/plain"))
        .mount(&server)
        .await;
    let c = client(&server);
    let app = c
        .call("getUser", &params(json!({"user_id": "a/b"})), None)
        .await
        .expect("ok");
    assert_eq!(app["id"], "a/b");
    assert_eq!(
        c.call("getLumosArt", &params(json!({})), None)
            .await
            .expect("art"),
        json!("~*~")
    );
}

#[tokio::test]
async fn post_sends_json_body_and_empty_204_is_null() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tasks/t1/complete"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/appstore/access_request"))
        .and(wiremock::matchers::body_json(json!({"app_id": "x"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!([{"id": "r1"}])))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(
        c.call("completeTask", &params(json!({"task_id": "t1"})), None)
            .await
            .expect("ok"),
        serde_json::Value::Null
    );
    let created = c
        .call(
            "createAccessRequest",
            &params(json!({})),
            Some(&json!({"app_id": "x"})),
        )
        .await
        .expect("ok");
    assert_eq!(created[0]["id"], "r1");
}

#[tokio::test]
async fn typed_current_user() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/current"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "u1", "email": "ann@example.com", "given_name": "Ann", "family_name": null, "status": "ACTIVE"}),
        ))
        .mount(&server)
        .await;
    let user = client(&server).current_user().await.expect("user");
    assert_eq!(user.email.as_deref(), Some("ann@example.com"));
    assert_eq!(user.display_name(), "Ann");
}
