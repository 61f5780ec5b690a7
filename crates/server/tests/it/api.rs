use engine::RunStatus;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::Role::{self, Admin, Agent, Builder, Viewer};
use testkit::{Db, both};

use crate::Env;

async fn connect(env: &Env) {
    env.connect().await;
}

async fn end_to_end(db: Db) {
    let env = Env::new(db).await;
    // A rejected token: 400 with a clear message, nothing stored.
    let (s, body) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/connections",
            Some(json!({"base_url": env.sim.base_url, "token": "lsk_wrong_token_12345"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "lumos_rejected_token");
    assert!(!body.to_string().contains("lsk_wrong_token_12345"));
    let (_, list) = env
        .call(Some(Admin), Method::GET, "/api/v1/connections", None)
        .await;
    assert_eq!(list, json!([]));
    connect(&env).await;
    let (s, _) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/connections/default/check",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, out) = env
        .call(
            Some(Builder),
            Method::POST,
            "/api/v1/workflows/install",
            Some(json!({"bundles": ["appstore", "directory-and-apps"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out.as_array().map(Vec::len), Some(9));
    let (_, installed) = env
        .call(Some(Viewer), Method::GET, "/api/v1/workflows", None)
        .await;
    assert_eq!(installed.as_array().map(Vec::len), Some(9));
    let (_, catalog) = env
        .call(
            Some(Viewer),
            Method::GET,
            "/api/v1/workflows?installable=true",
            None,
        )
        .await;
    let installable = catalog.as_array().expect("list");
    assert_eq!(installable.len(), 22);
    assert!(installable.iter().all(|w| w["bundle"]["id"].is_string()));
    let (_, wf) = env
        .call(
            Some(Viewer),
            Method::GET,
            "/api/v1/workflows/list-lumos-accounts",
            None,
        )
        .await;
    let status_input = wf["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .find(|i| i["name"] == "status")
        .cloned()
        .expect("status");
    assert!(
        status_input["options"]
            .as_array()
            .expect("options")
            .contains(&json!("SUSPENDED"))
    );

    // Run and wait.
    let (s, run) = env
        .run(
            Agent,
            "list-lumos-users",
            Some(json!({"inputs": {"search": "ann", "size": 3}})),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{run}");
    assert_eq!(run["status"], "completed");
    assert_eq!(run["requested_by"], "key:a");
    assert!(run["output"]["total"].as_u64().unwrap_or(0) > 0);
    assert_eq!(run["steps"][0]["operation"], "listUsers");

    // Run in the background, then read it back.
    let (s, started) = env
        .run(
            Agent,
            "list-lumos-groups",
            Some(json!({"inputs": {}})),
            false,
        )
        .await;
    // Nothing is queued and a slot is free: it starts at once on this replica.
    assert_eq!(
        (s, started["status"].as_str()),
        (StatusCode::ACCEPTED, Some("running"))
    );
    let id = started["id"].as_str().expect("id").to_owned();
    let mut done = Value::Null;
    for _ in 0..500 {
        let (_, r) = env
            .call(
                Some(Viewer),
                Method::GET,
                &format!("/api/v1/runs/{id}"),
                None,
            )
            .await;
        if r["status"] != "running" && r["status"] != "queued" {
            done = r;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(done["status"], "completed", "{done}");
    let (_, runs) = env
        .call(
            Some(Viewer),
            Method::GET,
            "/api/v1/runs?workflow=list-lumos-groups",
            None,
        )
        .await;
    assert_eq!(runs.as_array().map(Vec::len), Some(1));
    let (_, by) = env
        .call(
            Some(Viewer),
            Method::GET,
            "/api/v1/runs?requested_by=key:a",
            None,
        )
        .await;
    assert_eq!(by.as_array().map(Vec::len), Some(2));

    // Cancel: a finished run is a conflict; an unknown one is 404.
    let (s, body) = env
        .call(
            Some(Agent),
            Method::POST,
            &format!("/api/v1/runs/{id}/cancel"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _) = env
        .call(Some(Agent), Method::POST, "/api/v1/runs/nope/cancel", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A custom workflow through the API, then a direct Lumos call.
    let yaml = "id: who-am-i\nname: Who am I\nsteps:\n  - id: me\n    call: currentUser\n";
    let (s, created) = env
        .call(
            Some(Builder),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": yaml})),
        )
        .await;
    assert_eq!(
        (s, created["version"].as_i64()),
        (StatusCode::CREATED, Some(1)),
        "{created}"
    );
    let (s, edited) = env
        .call(
            Some(Builder),
            Method::PUT,
            "/api/v1/workflows/who-am-i",
            Some(json!({"yaml": yaml.replace("Who am I", "Me")})),
        )
        .await;
    assert_eq!((s, edited["version"].as_i64()), (StatusCode::OK, Some(2)));
    let (_, me) = env.run(Agent, "who-am-i", None, true).await;
    assert!(
        me["output"]["email"]
            .as_str()
            .is_some_and(|e| e.contains('@')),
        "{me}"
    );
    let (s, call) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "listUsers", "params": {"size": 1}})),
        )
        .await;
    assert_eq!((s, call["status"].as_u64()), (StatusCode::OK, Some(200)));
    let (s, _) = env
        .call(
            Some(Builder),
            Method::DELETE,
            "/api/v1/workflows/who-am-i",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = env
        .call(
            Some(Admin),
            Method::DELETE,
            "/api/v1/connections/default",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    env.stop().await;
}
both!(end_to_end, end_to_end);

#[tokio::test]
async fn every_role_against_every_endpoint_class() {
    let env = Env::new(testkit::sqlite()).await;
    connect(&env).await;
    let (s, _) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows/install",
            Some(json!({"all": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // (method, path, body, least role)
    let classes: Vec<(Method, &str, Option<Value>, Role)> = vec![
        (Method::GET, "/api/v1/workflows", None, Viewer),
        (Method::GET, "/api/v1/runs", None, Viewer),
        (Method::GET, "/api/v1/lumos/operations", None, Viewer),
        (
            Method::POST,
            "/api/v1/workflows/list-lumos-apps/runs?wait=true",
            Some(json!({"inputs": {"size": 1}})),
            Agent,
        ),
        (
            Method::POST,
            "/api/v1/workflows/validate",
            Some(json!({"yaml": "id: a\nname: A\nsteps:\n  - id: x\n    return: 1\n"})),
            Builder,
        ),
        (
            Method::POST,
            "/api/v1/workflows/install",
            Some(json!({"workflows": ["get-lumos-app"]})),
            Builder,
        ),
        (Method::GET, "/api/v1/connections", None, Admin),
        (
            Method::POST,
            "/api/v1/lumos/call",
            Some(json!({"operation": "getLumosInfo"})),
            Admin,
        ),
    ];
    for (method, path, body, least) in classes {
        let (s, _) = env.call(None, method.clone(), path, body.clone()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path} without a key");
        let http = lumos_api::http::client();
        let bad = http
            .request(method.clone(), format!("{}{}", env.server.base_url, path))
            .bearer_auth("lfk_not_a_key")
            .send()
            .await
            .expect("send");
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
        for role in [Viewer, Agent, Builder, Admin] {
            let (s, out) = env
                .call(Some(role), method.clone(), path, body.clone())
                .await;
            if role >= least {
                assert!(s.is_success(), "{method} {path} as {role}: {s} {out}");
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path} as {role}");
                assert_eq!(out["error"]["code"], "forbidden");
            }
        }
    }
    // Revoked keys stop working at once.
    env.server
        .engine
        .revoke_key("v", &engine::Actor::operator())
        .await
        .expect("revoke");
    let (s, _) = env
        .call(Some(Viewer), Method::GET, "/api/v1/workflows", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    env.stop().await;
}

#[tokio::test]
async fn bad_requests_are_clear_4xx_never_500() {
    let env = Env::new(testkit::sqlite()).await;
    connect(&env).await;
    env.install_all().await;
    let raw = |path: &str, body: &'static str| {
        env.http
            .post(format!("{}{}", env.server.base_url, path))
            .bearer_auth(&env.keys[&Admin])
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (path, body) in [
        ("/api/v1/workflows", "{not json"),
        ("/api/v1/workflows/list-lumos-users/runs", "[1,2"),
        // Valid JSON, but not an object: serde would read `[]` as a body of defaults.
        ("/api/v1/workflows/list-lumos-users/runs?wait=true", "[]"),
        ("/api/v1/lumos/call", "{\"operation\": 5}"),
    ] {
        let resp = raw(path, body).await.expect("send");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["error"]["code"], "bad_request");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("invalid JSON body"), "{message}");
        if body == "[]" {
            assert!(message.contains("must be an object"), "{message}");
        }
    }
    let cases = [
        (
            "/api/v1/workflows/nope/runs?wait=true",
            json!({}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/v1/workflows/list-lumos-accounts/runs?wait=true",
            json!({"inputs": {"status": "DEACTIVATED"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_inputs",
        ),
        (
            "/api/v1/workflows/get-lumos-app/runs?wait=true",
            json!({"inputs": {}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_inputs",
        ),
        (
            "/api/v1/workflows/list-lumos-users/runs",
            json!({"inputs": {}, "surprise": 1}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/api/v1/workflows",
            json!({"yaml": "id: x\nname: X\nsteps:\n  - id: a\n    call: listUser\n"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_workflow",
        ),
        (
            "/api/v1/lumos/call",
            json!({"operation": "getAccounts", "params": {"status": "NOPE"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_call",
        ),
        (
            "/api/v1/workflows/install",
            json!({"bundles": ["nope"]}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (path, body, status, code) in cases {
        let (s, v) = env.call(Some(Admin), Method::POST, path, Some(body)).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {v}"
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": "id: x\nname: X\nsteps:\n  - id: a\n    call: listUser\n"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["details"][0]["line"], 5);
    let (s, _) = env
        .call(Some(Admin), Method::GET, "/api/v1/nothing-here", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A query string the endpoint cannot read: the parameter by name, not serde's words.
    let (_, run) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows/list-lumos-apps/runs?wait=true",
            Some(json!({})),
        )
        .await;
    let id = run["id"].as_str().expect("a run").to_owned();
    for (path, says) in [
        (
            format!("/api/v1/runs/{id}/output?limit=3"),
            "unknown query parameter 'limit' (this endpoint takes: format)".to_owned(),
        ),
        (
            "/api/v1/runs?limit=lots".to_owned(),
            "invalid query parameter 'limit': ".to_owned(),
        ),
    ] {
        let (s, v) = env.call(Some(Admin), Method::GET, &path, None).await;
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{path}: {v}"
        );
        assert!(message.starts_with(&says), "{path}: {message}");
        assert!(!message.contains("Failed to deserialize"), "{message}");
    }
    env.stop().await;
}

#[tokio::test]
async fn openapi_lists_every_route_and_health_and_metrics_answer() {
    let env = Env::new(testkit::sqlite()).await;
    let (s, doc) = env
        .call(None, Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let expected = [
        ("post", "/api/v1/connections"),
        ("get", "/api/v1/connections"),
        ("post", "/api/v1/connections/{name}/check"),
        ("delete", "/api/v1/connections/{name}"),
        ("get", "/api/v1/workflows"),
        ("post", "/api/v1/workflows/install"),
        ("post", "/api/v1/workflows"),
        ("get", "/api/v1/workflows/{id}"),
        ("put", "/api/v1/workflows/{id}"),
        ("delete", "/api/v1/workflows/{id}"),
        ("post", "/api/v1/workflows/validate"),
        ("post", "/api/v1/workflows/{id}/runs"),
        ("get", "/api/v1/runs"),
        ("get", "/api/v1/runs/{id}"),
        ("post", "/api/v1/runs/{id}/cancel"),
        ("get", "/api/v1/lumos/operations"),
        ("post", "/api/v1/lumos/call"),
        ("get", "/healthz"),
        ("get", "/metrics"),
    ];
    for (m, p) in expected {
        assert!(
            doc["paths"][p][m].is_object(),
            "{m} {p} missing from the OpenAPI document"
        );
    }
    let (s, health) = env.call(None, Method::GET, "/healthz", None).await;
    assert_eq!((s, health["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (_, health) = env.call(Some(Admin), Method::GET, "/healthz", None).await;
    assert_eq!(
        health["lumos"]["last_answer_at"],
        Value::Null,
        "nothing heard from Lumos yet: {health}"
    );
    connect(&env).await;
    env.install_all().await;
    env.run(Agent, "list-lumos-apps", None, true).await;
    let resp = env
        .http
        .get(format!("{}/metrics", env.server.base_url))
        .send()
        .await
        .expect("metrics");
    assert!(resp.headers().contains_key("content-type"));
    let text = resp.text().await.expect("text");
    assert!(
        text.contains("lumosflow_runs_total{workflow=\"list-lumos-apps\",status=\"completed\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("lumosflow_lumos_calls_total{operation=\"listApps\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("lumosflow_lumos_call_duration_seconds_bucket"));
    assert!(
        text.contains("lumosflow_lumos_requests_total{operation=\"listApps\",status=\"200\"}"),
        "each request sent is counted: {text}"
    );
    for series in [
        "lumosflow_approvals_pending 0",
        "lumosflow_approvals_oldest_pending_seconds 0",
        "lumosflow_database_bytes ",
    ] {
        assert!(text.contains(series), "{series}: {text}");
    }
    assert!(
        text.contains("lumosflow_lumos_last_answer_age_seconds ")
            && !text.contains("lumosflow_lumos_last_answer_age_seconds -1"),
        "{text}"
    );
    let (_, health) = env.call(Some(Admin), Method::GET, "/healthz", None).await;
    assert!(
        health["lumos"]["last_answer_at"].is_string()
            && health["lumos"]["last_answer_age_seconds"]
                .as_i64()
                .is_some_and(|a| a < 60),
        "the run's calls were heard: {health}"
    );
    let resp = env
        .http
        .get(format!("{}/healthz", env.server.base_url))
        .send()
        .await
        .expect("health");
    assert!(resp.headers().get("x-request-id").is_some());
    env.stop().await;
}

#[tokio::test]
async fn approvals_over_the_api() {
    let env = Env::new(testkit::sqlite()).await;
    connect(&env).await;
    let yaml = "id: gated-who-am-i\nname: Gated\napproval: Check first\nsteps:\n  - id: me\n    call: currentUser\n";
    let (s, _) = env
        .call(
            Some(Builder),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": yaml})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, run) = env.run(Agent, "gated-who-am-i", None, true).await;
    assert_eq!(
        (s, run["status"].as_str()),
        (StatusCode::ACCEPTED, Some("pending_approval")),
        "{run}"
    );
    let id = run["id"].as_str().expect("id").to_owned();
    // An operator sees it waiting in the metrics.
    let text = env.metrics_of(&env.server.base_url).await;
    assert!(
        text.contains("lumosflow_approvals_pending 1\n")
            && !text.contains("lumosflow_approvals_oldest_pending_seconds 0.0\n"),
        "{text}"
    );
    let (s, _) = env
        .call(
            Some(Builder),
            Method::POST,
            &format!("/api/v1/runs/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only admins approve");
    let (s, done) = env
        .call(
            Some(Admin),
            Method::POST,
            &format!("/api/v1/runs/{id}/approve?wait=true"),
            None,
        )
        .await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("completed")),
        "{done}"
    );
    assert!(done["output"]["email"].is_string());
    let (s, again) = env
        .call(
            Some(Admin),
            Method::POST,
            &format!("/api/v1/runs/{id}/deny"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");
    let (_, second) = env.run(Agent, "gated-who-am-i", None, false).await;
    let id2 = second["id"].as_str().expect("id").to_owned();
    let (s, denied) = env
        .call(
            Some(Admin),
            Method::POST,
            &format!("/api/v1/runs/{id2}/deny"),
            None,
        )
        .await;
    // A denial says why.
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{denied}");
    let (s, denied) = env
        .call(
            Some(Admin),
            Method::POST,
            &format!("/api/v1/runs/{id2}/deny"),
            Some(serde_json::json!({"comment": "not this week"})),
        )
        .await;
    assert_eq!(
        (s, denied["status"].as_str()),
        (StatusCode::OK, Some("denied")),
        "{denied}"
    );
    env.stop().await;
}

#[tokio::test]
async fn the_server_fires_scheduled_workflows() {
    let env = Env::new(testkit::sqlite()).await;
    connect(&env).await;
    let yaml = "id: tick\nname: Tick\nschedule: { every: 1s }\nsteps:\n  - id: me\n    call: currentUser\n";
    let (s, _) = env
        .call(
            Some(Builder),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": yaml})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, runs) = env
            .call(
                Some(Viewer),
                Method::GET,
                "/api/v1/runs?workflow=tick&requested_by=schedule&status=completed",
                None,
            )
            .await;
        if runs.as_array().is_some_and(|r| r.len() >= 2) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled runs: {runs}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    env.stop().await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_runs_finish() {
    let cfg = lumos_sim::SimConfig {
        latency: std::time::Duration::from_millis(60),
        ..lumos_sim::SimConfig::default()
    };
    let env = Env::with_sim(testkit::sqlite(), cfg).await;
    connect(&env).await;
    env.install_all().await;
    let (s, started) = env
        .run(
            Agent,
            "list-lumos-accounts",
            Some(json!({"inputs": {"all": true}})),
            false,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let id = started["id"].as_str().expect("id").to_owned();
    let engine = env.server.engine.clone();
    // A queue worker takes it within moments.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while engine.active_runs() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        engine.active_runs(),
        1,
        "the run is still going when the server is asked to stop"
    );
    env.server.stop().await;
    let run = engine.run_detail(&id).await.expect("detail").run;
    assert_eq!(run.status, RunStatus::Completed, "{:?}", run.error);
    // 6 accounts each of 500 people, and 15 Lumos linked to nobody.
    assert_eq!(run.output.map(|o| o.0["total"].clone()), Some(json!(3015)));
    env.sim.stop().await;
}

#[tokio::test]
async fn console_sessions_need_the_csrf_header_to_change_things() {
    let env = Env::new(testkit::sqlite()).await;
    let http = lumos_api::http::client();
    let login = |csrf: bool, proto: Option<&'static str>| {
        let mut rb = http
            .post(format!("{}/console/login", env.server.base_url))
            .json(&json!({"key": env.keys[&Builder]}));
        if csrf {
            rb = rb.header("x-lumosflow-csrf", "1");
        }
        if let Some(p) = proto {
            rb = rb.header("x-forwarded-proto", p);
        }
        rb.send()
    };
    assert_eq!(
        login(false, None).await.expect("send").status(),
        StatusCode::FORBIDDEN
    );
    let ok = login(true, Some("https")).await.expect("send");
    assert_eq!(ok.status(), StatusCode::OK);
    let cookie = ok.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Secure"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("pair").to_owned();
    let get = http
        .get(format!("{}/api/v1/workflows", env.server.base_url))
        .header("cookie", &session)
        .send()
        .await
        .expect("get");
    assert_eq!(get.status(), StatusCode::OK);
    let body = json!({"yaml": "id: a\nname: A\nsteps:\n  - id: x\n    return: 1\n"});
    let no_csrf = http
        .post(format!("{}/api/v1/workflows/validate", env.server.base_url))
        .header("cookie", &session)
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let with = http
        .post(format!("{}/api/v1/workflows/validate", env.server.base_url))
        .header("cookie", &session)
        .header("x-lumosflow-csrf", "1")
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(with.status(), StatusCode::OK);
    // The session carries the key's role: a builder cannot manage connections.
    let conns = http
        .get(format!("{}/api/v1/connections", env.server.base_url))
        .header("cookie", &session)
        .send()
        .await
        .expect("get");
    assert_eq!(conns.status(), StatusCode::FORBIDDEN);
    env.stop().await;
}

/// Run history page by page: `before` continues after the last run of a page (no run
/// skipped or repeated), `since` keeps only recent runs, a bad `since` is refused.
async fn run_history_pages(db: Db) {
    let env = Env::new(db).await;
    env.connect().await;
    let (s, v) = env
        .call(
            Some(Role::Builder),
            Method::POST,
            "/api/v1/workflows/install",
            Some(json!({"workflows": ["list-lumos-groups"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut started = Vec::new();
    for _ in 0..7 {
        let (s, v) = env
            .run(
                Role::Agent,
                "list-lumos-groups",
                Some(json!({"inputs": {"size": 1}})),
                false,
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        started.push(v["id"].as_str().expect("id").to_owned());
    }
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let path = match &before {
            Some(b) => format!("/api/v1/runs?limit=3&before={b}"),
            None => "/api/v1/runs?limit=3".to_owned(),
        };
        let (s, page) = env.call(Some(Role::Viewer), Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let ids: Vec<String> = page
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect();
        if ids.is_empty() {
            break;
        }
        before = ids.last().cloned();
        seen.extend(ids);
    }
    started.reverse();
    assert_eq!(seen, started, "newest first, each run once");

    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (_, recent) = env
        .call(
            Some(Role::Viewer),
            Method::GET,
            &format!("/api/v1/runs?since={today}"),
            None,
        )
        .await;
    assert_eq!(recent.as_array().map(Vec::len), Some(7));
    let (_, none) = env
        .call(
            Some(Role::Viewer),
            Method::GET,
            "/api/v1/runs?since=2999-01-01",
            None,
        )
        .await;
    assert_eq!(none.as_array().map(Vec::len), Some(0));
    let (s, bad) = env
        .call(
            Some(Role::Viewer),
            Method::GET,
            "/api/v1/runs?since=yesterday",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(bad.to_string().contains("since: 'yesterday'"), "{bad}");
    env.stop().await;
}
both!(run_history, run_history_pages);

/// What a request may ask for: the app's lengths, or, with a permission that overrides
/// them, the permission's; an id given to the lookup finds that one app (a link's id shown
/// by name); unknown permissions and ids are clear errors.
#[tokio::test]
async fn request_lengths_and_ids_are_looked_up_for_the_form() {
    let env = Env::new(testkit::sqlite()).await;
    env.connect().await;
    let sim = |path: String| {
        let (http, base, token) = (
            env.http.clone(),
            env.sim.base_url.clone(),
            env.sim.token.clone(),
        );
        async move {
            http.get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .expect("sim")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    // A permission with its own lengths, in the AppStore.
    let mut found = None;
    for page in 1..=20 {
        let perms = sim(format!(
            "/appstore/requestable_permissions?in_app_store=true&size=100&page={page}"
        ))
        .await;
        let items = perms["items"].as_array().cloned().unwrap_or_default();
        found = items.into_iter().find(|p| {
            p["request_config"]["request_fulfillment_config"]["time_based_access_override"] == true
                && p["request_config"]["appstore_visibility"] == "VISIBLE"
        });
        if found.is_some() {
            break;
        }
    }
    let perm = found.expect("a permission with its own lengths");
    let app_id = perm["app_id"].as_str().expect("app id").to_owned();
    let label = perm["label"].as_str().expect("label").to_owned();
    let settings = sim(format!("/appstore/apps/{app_id}/settings")).await;
    let app = sim(format!("/appstore/apps/{app_id}")).await;
    let name = app["user_friendly_label"]
        .as_str()
        .expect("name")
        .to_owned();

    let (s, d) = env
        .call(
            Some(Agent),
            Method::GET,
            &format!("/api/v1/lumos/durations?app={app_id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["offered"], settings["provisioning"]["time_based_access"]);
    assert_eq!(d["of"], name.as_str());
    let (s, d) = env
        .call(
            Some(Agent),
            Method::GET,
            &format!(
                "/api/v1/lumos/durations?app={app_id}&permissions={}",
                url::form_urlencoded::byte_serialize(label.as_bytes()).collect::<String>()
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(
        d["offered"],
        json!(["1 day", "7 days"]),
        "the permission's own lengths"
    );
    assert_eq!(d["of"], format!("{name} · {label}"));
    let (s, bad) = env
        .call(
            Some(Agent),
            Method::GET,
            &format!("/api/v1/lumos/durations?app={app_id}&permissions=No%20Such"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(
        bad.to_string()
            .contains("has no requestable permission 'No Such'"),
        "{bad}"
    );
    let (s, bad) = env
        .call(
            Some(Agent),
            Method::GET,
            "/api/v1/lumos/durations?app=Slack",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");

    // An id looks up that one app, by name; an unknown id finds nothing.
    let (s, one) = env
        .call(
            Some(Agent),
            Method::GET,
            &format!("/api/v1/lumos/lookup?kind=apps&q={app_id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(one[0]["id"], app_id.as_str(), "{one}");
    assert!(one[0]["label"].is_string(), "{one}");
    let (s, none) = env
        .call(
            Some(Agent),
            Method::GET,
            "/api/v1/lumos/lookup?kind=users&q=99999999-0000-4000-8000-000000000000",
            None,
        )
        .await;
    assert_eq!((s, none), (StatusCode::OK, json!([])));
    env.stop().await;
}

/// The pickers' lookup: apps and people by part of a name, for those who may run workflows.
#[tokio::test]
async fn apps_and_people_are_found_by_part_of_a_name() {
    let env = Env::new(testkit::sqlite()).await;
    env.connect().await;
    let (s, apps) = env
        .call(
            Some(Agent),
            Method::GET,
            "/api/v1/lumos/lookup?kind=apps&q=okt",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{apps}");
    let first = &apps.as_array().expect("list")[0];
    assert!(
        first["label"]
            .as_str()
            .expect("label")
            .to_lowercase()
            .contains("okt"),
        "{apps}"
    );
    assert!(
        first["id"].as_str().is_some_and(|id| id.len() == 36),
        "{apps}"
    );
    let (s, people) = env
        .call(
            Some(Agent),
            Method::GET,
            "/api/v1/lumos/lookup?kind=users&q=ann",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{people}");
    assert!(
        people.as_array().expect("list").iter().all(|p| {
            let text = format!("{} {}", p["label"], p["email"]).to_lowercase();
            text.contains("ann")
        }),
        "{people}"
    );
    let (s, _) = env
        .call(
            Some(Viewer),
            Method::GET,
            "/api/v1/lumos/lookup?kind=apps&q=okt",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "viewers do not run workflows");
    let (s, bad) = env
        .call(
            Some(Agent),
            Method::GET,
            "/api/v1/lumos/lookup?kind=apps&q=%20",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(
        bad.to_string().contains("type 1 to 100 characters"),
        "{bad}"
    );
    let (s, bad) = env
        .call(
            Some(Agent),
            Method::GET,
            "/api/v1/lumos/lookup?kind=groups&q=it",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    env.stop().await;
}
