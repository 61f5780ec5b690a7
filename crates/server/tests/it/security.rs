//! One regression test per finding of the security review, over HTTP against a real server.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::Role::{Admin, Agent, Builder, Viewer};
use testkit::{Db, both};

use crate::Env;

async fn installed(env: &Env) {
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
}

/// Sign in to the console with a key; the session cookie.
async fn sign_in(env: &Env, key: &str) -> String {
    let resp = env
        .http
        .post(format!("{}/console/login", env.server.base_url))
        .header("x-lumosflow-csrf", "1")
        .json(&json!({"key": key}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    assert!(cookie.starts_with("lf_session=lfs_"), "{cookie}");
    cookie
}

async fn with_cookie(env: &Env, base: &str, cookie: &str, path: &str) -> StatusCode {
    env.http
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("send")
        .status()
}

async fn create_admin(env: &Env, name: &str) -> String {
    env.server
        .engine
        .create_key(name, Admin, &engine::Actor::operator())
        .await
        .expect("key")
}

// 1. A revoked key's console session ends with it; sessions live in the database, so they
//    survive a restart and are shared by replicas.
async fn sessions_die_with_their_key_and_survive_restarts(db: Db) {
    let env = Env::new(db).await;
    let key = create_admin(&env, "ops").await;
    let cookie = sign_in(&env, &key).await;
    let base = env.server.base_url.clone();
    assert_eq!(
        with_cookie(&env, &base, &cookie, "/api/v1/connections").await,
        StatusCode::OK
    );
    // A second server on the same database (a replica, or the same one restarted).
    let store = std::sync::Arc::new(env._db.open().await);
    let other = server::Server::start(store, "127.0.0.1:0")
        .await
        .expect("replica");
    assert_eq!(
        with_cookie(&env, &other.base_url, &cookie, "/api/v1/connections").await,
        StatusCode::OK,
        "the session is known to the replica"
    );
    env.server
        .engine
        .revoke_key("ops", &engine::Actor::operator())
        .await
        .expect("revoke");
    for b in [&base, &other.base_url] {
        assert_eq!(
            with_cookie(&env, b, &cookie, "/api/v1/connections").await,
            StatusCode::UNAUTHORIZED,
            "revoking the key ends its sessions at once"
        );
    }
    let resp = env
        .http
        .post(format!("{base}/api/v1/lumos/call"))
        .header("cookie", &cookie)
        .header("x-lumosflow-csrf", "1")
        .json(&json!({"operation": "listUsers"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    other.stop().await;
    env.stop().await;
}
both!(
    sessions_die_with_their_key_and_survive_restarts,
    sessions_die_with_their_key_and_survive_restarts
);

const SWAP_V1: &str = "id: swap-demo\nname: Swap demo\napproval: Check first\nsteps:\n  - id: u\n    call: listUsers\n    params: { size: 1 }\n";
const SWAP_V2: &str = "id: swap-demo\nname: Swap demo\nsteps:\n  - id: u\n    call: listUsers\n    params: { size: 2 }\noutput: \"SWAPPED after the run was held\"\n";

// 2. Uninstall + re-create never reuses a version number, and a held run executes the
//    exact definition it was requested with or is refused.
async fn versions_are_never_reused_and_runs_are_pinned(db: Db) {
    let env = Env::new(db).await;
    installed(&env).await;
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": SWAP_V1})),
        )
        .await;
    assert_eq!(
        (s, v["version"].as_i64()),
        (StatusCode::CREATED, Some(1)),
        "{v}"
    );
    let mut held = Vec::new();
    for _ in 0..2 {
        let (_, run) = env.run(Agent, "swap-demo", None, false).await;
        assert_eq!(run["status"], "pending_approval");
        held.push(run["id"].as_str().expect("id").to_owned());
    }
    // A builder cannot take a gate away by uninstalling it (and re-creating it without).
    let (s, v) = env
        .call(
            Some(Builder),
            Method::DELETE,
            "/api/v1/workflows/swap-demo",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(v.to_string().contains("approval gate"), "{v}");
    let (s, _) = env
        .call(
            Some(Admin),
            Method::DELETE,
            "/api/v1/workflows/swap-demo",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = env
        .call(
            Some(Builder),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": SWAP_V2})),
        )
        .await;
    assert_eq!(
        (s, v["version"].as_i64()),
        (StatusCode::CREATED, Some(2)),
        "numbering continues: {v}"
    );
    // Approved, a held run never runs what was installed after it was requested, even
    // under the same id (and it would not run another text: runs are pinned by hash).
    let (s, run) = env
        .call(
            Some(Admin),
            Method::POST,
            &format!("/api/v1/runs/{}/approve?wait=true", held[0]),
            None,
        )
        .await;
    assert_eq!(
        (s, run["status"].as_str()),
        (StatusCode::OK, Some("failed")),
        "{run}"
    );
    assert!(
        run["error"]
            .as_str()
            .unwrap_or_default()
            .contains("was uninstalled and installed again after this run was requested"),
        "{run}"
    );
    assert_ne!(run["output"], "SWAPPED after the run was held");
    // Uninstalled, a held run is refused rather than run.
    env.call(
        Some(Builder),
        Method::DELETE,
        "/api/v1/workflows/swap-demo",
        None,
    )
    .await;
    env.call(
        Some(Admin),
        Method::POST,
        &format!("/api/v1/runs/{}/approve?wait=true", held[1]),
        None,
    )
    .await;
    let (_, run) = env
        .call(
            Some(Viewer),
            Method::GET,
            &format!("/api/v1/runs/{}", held[1]),
            None,
        )
        .await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap_or_default()
            .contains("was uninstalled after this run was requested"),
        "{run}"
    );
    env.call(
        Some(Builder),
        Method::POST,
        "/api/v1/workflows",
        Some(json!({"yaml": SWAP_V2})),
    )
    .await;
    // New runs get the new definition, from a server that had the old one parsed.
    let (_, now) = env.run(Agent, "swap-demo", None, true).await;
    assert_eq!(now["output"], "SWAPPED after the run was held", "{now}");
    assert_eq!(now["workflow_version"], 3);
    env.stop().await;
}
both!(
    versions_are_never_reused_and_runs_are_pinned,
    versions_are_never_reused_and_runs_are_pinned
);

// 3. Dot segments in path parameters are refused before anything is sent.
#[tokio::test]
async fn dot_segments_in_path_parameters_are_refused() {
    let env = Env::new(testkit::sqlite()).await;
    installed(&env).await;
    for app in ["..", ".", "%2e%2e"] {
        let (s, v) = env
            .call(
                Some(Admin),
                Method::POST,
                "/api/v1/lumos/call",
                Some(json!({"operation": "listAppRequestablePermissions", "params": {"app_id": app.replace("%2e", ".")}})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{app}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("only of dots"),
            "{v}"
        );
    }
    let (_, run) = env
        .run(
            Agent,
            "list-lumos-app-requestable-permissions",
            Some(json!({"inputs": {"app_id": ".."}})),
            true,
        )
        .await;
    assert_eq!(run["status"], "failed", "{run}");
    env.stop().await;
}

// 4. HEAD is checked as GET.
#[tokio::test]
async fn head_needs_the_same_role_as_get() {
    let env = Env::new(testkit::sqlite()).await;
    let head = |key: Option<&str>, path: &str| {
        let mut rb = env.http.head(format!("{}{path}", env.server.base_url));
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        rb.send()
    };
    assert_eq!(
        head(None, "/api/v1/connections")
            .await
            .expect("send")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        head(None, "/api/v1/runs").await.expect("send").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        head(Some(&env.keys[&Viewer]), "/api/v1/connections")
            .await
            .expect("send")
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        head(Some(&env.keys[&Admin]), "/api/v1/connections")
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    env.stop().await;
}

// 5. Connections have an allow-list of roles.
async fn connections_are_open_only_to_the_roles_allowed(db: Db) {
    let env = Env::new(db).await;
    installed(&env).await;
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/connections",
            Some(json!({"name": "spy", "base_url": env.sim.base_url, "token": env.sim.token})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let run_on = |role, conn: &'static str| {
        env.call(
            Some(role),
            Method::POST,
            "/api/v1/workflows/list-lumos-groups/runs?wait=true",
            Some(json!({"inputs": {"size": 1}, "connection": conn})),
        )
    };
    let (s, v) = run_on(Agent, "spy").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("may not run against connection 'spy'")
    );
    assert_eq!(run_on(Agent, "default").await.0, StatusCode::OK);
    assert_eq!(run_on(Builder, "spy").await.0, StatusCode::OK);
    let (s, v) = env
        .call(
            Some(Builder),
            Method::PUT,
            "/api/v1/connections/spy/roles",
            Some(json!({"roles": ["agent"]})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only admins widen it: {v}");
    let (s, v) = env
        .call(
            Some(Admin),
            Method::PUT,
            "/api/v1/connections/spy/roles",
            Some(json!({"roles": ["agent", "builder"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["may_run"], json!(["agent", "builder", "admin"]));
    assert_eq!(run_on(Agent, "spy").await.0, StatusCode::OK);
    env.stop().await;
}
both!(
    connections_are_open_only_to_the_roles_allowed,
    connections_are_open_only_to_the_roles_allowed
);

const GRANT: &str = "id: grant-role\nname: Grant a role\ninputs:\n  user_id: { type: text, required: true }\nsteps:\n  - id: grant\n    call: addRoleToUser\n    params: { user_id: \"{{ inputs.user_id }}\", role_name: ADMIN }\n";
const GATED_READ: &str = "id: gated-read\nname: Gated read\napproval: Check first\nsteps:\n  - id: u\n    call: listUsers\n    params: { size: 1 }\n";

// 6. A builder cannot save what changes Lumos or weakens an approval; every change a run
//    asks of Lumos is audited.
async fn builders_cannot_give_themselves_admin_power(db: Db) {
    let env = Env::new(db).await;
    installed(&env).await;
    let (s, v) = env
        .call(
            Some(Builder),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": GRANT})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("changes Lumos or the world (addRoleToUser in step 'grant')")
    );
    let (s, _) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": GATED_READ})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = env
        .call(
            Some(Builder),
            Method::PUT,
            "/api/v1/workflows/gated-read",
            Some(json!({"yaml": GATED_READ.replace("approval: Check first\n", "")})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "removing the gate needs an admin: {v}"
    );
    let (s, _) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": GRANT})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let user = env
        .server
        .engine
        .client("default")
        .await
        .expect("client")
        .call(
            "listUsers",
            &serde_json::Map::from_iter([("size".into(), json!(1))]),
            None,
        )
        .await
        .expect("users")["items"][0]["id"]
        .clone();
    let (_, run) = env
        .run(
            Agent,
            "grant-role",
            Some(json!({"inputs": {"user_id": user}})),
            true,
        )
        .await;
    let run_id = run["id"].as_str().expect("id");
    let (_, events) = env
        .call(
            Some(Admin),
            Method::GET,
            "/api/v1/audit?action=lumos.call",
            None,
        )
        .await;
    let ours: Vec<&Value> = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["details"]["run_id"] == run_id)
        .collect();
    assert_eq!(ours.len(), 1, "{events}");
    assert_eq!(ours[0]["actor"], "key:a");
    assert_eq!(ours[0]["target"], "addRoleToUser");
    assert_eq!(ours[0]["details"]["method"], "POST");
    assert!(
        ours[0]["details"]["path"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/roles/ADMIN")
    );
    let (s, _) = env
        .call(Some(Builder), Method::GET, "/api/v1/audit", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the audit trail is for admins");
    env.stop().await;
}
both!(
    builders_cannot_give_themselves_admin_power,
    builders_cannot_give_themselves_admin_power
);

// 7 and 11. A dry run of a gated workflow is held; nobody approves their own run.
#[tokio::test]
async fn gates_hold_dry_runs_and_nobody_approves_their_own() {
    let env = Env::new(testkit::sqlite()).await;
    installed(&env).await;
    env.call(
        Some(Admin),
        Method::POST,
        "/api/v1/workflows",
        Some(json!({"yaml": GATED_READ})),
    )
    .await;
    let (s, v) = env
        .run(Agent, "gated-read", Some(json!({"dry_run": true})), true)
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::ACCEPTED, Some("pending_approval")),
        "{v}"
    );
    // An admin asks; the same admin may not approve or deny it.
    let (_, mine) = env.run(Admin, "gated-read", None, false).await;
    let id = mine["id"].as_str().expect("id");
    for decision in ["approve", "deny"] {
        let (s, v) = env
            .call(
                Some(Admin),
                Method::POST,
                &format!("/api/v1/runs/{id}/{decision}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{decision}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("cannot decide on it")
        );
    }
    let other = create_admin(&env, "root2").await;
    let resp = env
        .http
        .post(format!(
            "{}/api/v1/runs/{id}/approve?wait=true",
            env.server.base_url
        ))
        .bearer_auth(&other)
        .send()
        .await
        .expect("approve");
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["status"], "completed", "{v}");
    // Approving a run that does not exist writes no audit event.
    let (s, _) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/runs/01a00000-0000-7000-8000-000000000000/approve",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, events) = env
        .call(
            Some(Admin),
            Method::GET,
            "/api/v1/audit?action=run.approve",
            None,
        )
        .await;
    assert_eq!(events.as_array().map(Vec::len), Some(1), "{events}");
    assert_eq!(events[0]["actor"], "key:root2");
    env.stop().await;
}

// 9. MCP sessions share one watcher, and a closed session stops listening.
#[tokio::test]
async fn closed_mcp_sessions_stop_watching() {
    let env = Env::new(testkit::sqlite()).await;
    let mcp = |session: Option<&str>, body: Value| {
        let mut rb = env
            .http
            .post(format!("{}/mcp", env.server.base_url))
            .bearer_auth(&env.keys[&Agent])
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(s) = session {
            rb = rb
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-06-18");
        }
        rb.send()
    };
    let mut sessions = Vec::new();
    for _ in 0..10 {
        let resp = mcp(
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
        )
        .await
        .expect("initialize");
        assert!(resp.status().is_success(), "{}", resp.status());
        let id = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .expect("session id")
            .to_owned();
        let _ = resp.text().await;
        mcp(
            Some(&id),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .await
        .expect("initialized");
        let resp = mcp(
            Some(&id),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await
        .expect("list");
        let _ = resp.text().await;
        sessions.push(id);
    }
    let watching = || async {
        let (_, m) = env.call(None, Method::GET, "/metrics", None).await;
        let text = m.as_str().unwrap_or_default().to_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("lumosflow_mcp_sessions_watching "))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    };
    assert_eq!(watching().await, 10);
    for id in &sessions {
        env.http
            .delete(format!("{}/mcp", env.server.base_url))
            .bearer_auth(&env.keys[&Agent])
            .header("mcp-session-id", id)
            .send()
            .await
            .expect("close");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while watching().await > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(watching().await, 0, "closed sessions stopped listening");
    env.stop().await;
}

// 10. Slowloris: half-open connections are closed after the header timeout, and never more
//     than the cap are held, so the server keeps answering.
#[tokio::test]
async fn half_open_connections_cannot_take_the_server_down() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = testkit::sqlite();
    let store = std::sync::Arc::new(db.open().await);
    let options = server::ServerOptions {
        net: server::NetOptions {
            header_timeout: Duration::from_secs(1),
            max_connections: 16,
            ..server::NetOptions::default()
        },
        ..server::ServerOptions::default()
    };
    let srv = server::Server::start_with(
        store,
        "127.0.0.1:0",
        engine::EngineConfig::default(),
        options,
    )
    .await
    .expect("server");
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut s = tokio::net::TcpStream::connect(srv.addr)
            .await
            .expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("write");
        slow.push(s);
    }
    let started = std::time::Instant::now();
    let resp = lumos_api::http::client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
        .get(format!("{}/healthz", srv.base_url))
        .send()
        .await
        .expect("healthz answers while 40 clients dawdle");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // The dawdlers were cut off.
    let mut s = slow.remove(0);
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("closed within the timeout")
        .unwrap_or(0);
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || answer.starts_with("HTTP/1.1 408"), "{answer}");
    srv.stop().await;
}

// Low: security headers on the console, MCP's Host check.
#[tokio::test]
async fn browsers_get_security_headers_and_mcp_checks_the_host() {
    let env = Env::new(testkit::sqlite()).await;
    let resp = env
        .http
        .get(format!("{}/", env.server.base_url))
        .send()
        .await
        .expect("console");
    let h = resp.headers();
    let csp = h
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(
        h.get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
    assert_eq!(
        h.get("referrer-policy").and_then(|v| v.to_str().ok()),
        Some("no-referrer")
    );
    let resp = env
        .http
        .post(format!("{}/mcp", env.server.base_url))
        .bearer_auth(&env.keys[&Agent])
        .header("host", "evil.example")
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
        .send()
        .await
        .expect("send");
    assert!(
        resp.status().is_client_error(),
        "a foreign Host is refused: {}",
        resp.status()
    );
    env.stop().await;
}

// Review 3, 5-6: without a key /healthz says only whether it is up, /metrics answers only
// its bearer token when one is set, and the key sign-in cookie is Secure when the public
// URL is https (one rule for every cookie).
#[tokio::test]
async fn health_metrics_and_cookies_give_nothing_away() {
    let db = testkit::sqlite();
    let store = std::sync::Arc::new(db.open().await);
    let key = engine::Engine::new(store.clone())
        .create_key("ops", Admin, &engine::Actor::operator())
        .await
        .expect("key");
    let token = "metrics-token-0123456789";
    let srv = server::Server::start_with(
        store.clone(),
        "127.0.0.1:0",
        engine::EngineConfig {
            public_url: Some("https://flow.example-corp.com".into()),
            ..engine::EngineConfig::default()
        },
        server::ServerOptions {
            metrics_token: Some(token.into()),
            allowed_hosts: vec!["flow.example-corp.com".into()],
            ..server::ServerOptions::default()
        },
    )
    .await
    .expect("server");
    engine::connections::connect(
        &store,
        "default",
        "http://127.0.0.1:9",
        "lsk_test_0000000000000000",
    )
    .await
    .ok();
    let http = lumos_api::http::client();
    let get = |path: &str, bearer: Option<&str>| {
        let mut rb = http.get(format!("{}{path}", srv.base_url));
        if let Some(b) = bearer {
            rb = rb.bearer_auth(b);
        }
        async move {
            let resp = rb.send().await.expect("send");
            let status = resp.status();
            (status, resp.text().await.unwrap_or_default())
        }
    };
    let (s, open) = get("/healthz", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&open).expect("json"),
        json!({"status": "ok"})
    );
    let (s, full) = get("/healthz", Some(&key)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        full.contains("\"database\"") && full.contains("active_runs"),
        "{full}"
    );
    for bad in [None, Some("wrong-token-0123456789"), Some(key.as_str())] {
        let (s, body) = get("/metrics", bad).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{bad:?}: {body}");
        assert!(!body.contains("lumosflow_"), "{body}");
    }
    let (s, body) = get("/metrics", Some(token)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("lumosflow_"), "{body}");
    let resp = http
        .post(format!("{}/console/login", srv.base_url))
        .header("x-lumosflow-csrf", "1")
        .json(&json!({"key": key}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    srv.stop().await;
}

// Review 3, 7: a run is seen by those who may use its connection, in lists, details and
// outputs; an agent sees and cancels only runs they asked for or that are for them (at the
// API and MCP); builders and admins cancel any they can see.
async fn runs_are_seen_and_stopped_only_by_those_they_belong_to(db: Db) {
    let env = Env::new(db).await;
    env.connect().await;
    env.install_all().await;
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/connections",
            Some(json!({"name": "prod", "base_url": env.sim.base_url, "token": env.sim.token})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = env
        .call(
            Some(Admin),
            Method::PUT,
            "/api/v1/connections/prod/roles",
            Some(json!({"roles": ["admin"]})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (_, secret_run) = env
        .run(
            Admin,
            "list-lumos-users",
            Some(json!({"inputs": {"size": 2}, "connection": "prod"})),
            true,
        )
        .await;
    let id = secret_run["id"].as_str().expect("id").to_owned();
    for role in [Viewer, Agent, Builder] {
        for path in [
            format!("/api/v1/runs/{id}"),
            format!("/api/v1/runs/{id}/output"),
            format!("/api/v1/runs/{id}/items"),
        ] {
            let (s, v) = env.call(Some(role), Method::GET, &path, None).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{role:?} {path}: {v}");
        }
        let (_, list) = env
            .call(Some(role), Method::GET, "/api/v1/runs", None)
            .await;
        assert!(!list.to_string().contains(&id), "{role:?} lists it: {list}");
    }
    let (s, _) = env
        .call(
            Some(Admin),
            Method::GET,
            &format!("/api/v1/runs/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Cancels: a held run of agent "a" is not another agent's to cancel.
    let (_, made) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": "id: gated-read\nname: Gated read\napproval: Check first\nsteps:\n  - id: u\n    call: listUsers\n    params: { size: 1 }\n"})),
        )
        .await;
    assert!(made.to_string().contains("gated-read"), "{made}");
    let other = env
        .server
        .engine
        .create_key("a2", Agent, &engine::Actor::operator())
        .await
        .expect("key");
    let env = &env;
    let held = |role| async move {
        let (_, r) = env.run(role, "gated-read", None, false).await;
        r["id"].as_str().expect("id").to_owned()
    };
    let run_a = held(Agent).await;
    // Another agent does not see it at any door: the API's run, its list, cancel, and MCP's
    // get-run-status and items resource; a viewer (an observer) and the agent who asked do.
    let as_other = |method: reqwest::Method, path: String| {
        let rb = env
            .http
            .request(method, format!("{}{path}", env.server.base_url))
            .bearer_auth(&other);
        async move { rb.send().await.expect("send") }
    };
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/v1/runs/{run_a}")),
        (reqwest::Method::GET, format!("/api/v1/runs/{run_a}/items")),
        (
            reqwest::Method::POST,
            format!("/api/v1/runs/{run_a}/cancel"),
        ),
    ] {
        let resp = as_other(method.clone(), path.clone()).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    let listed = as_other(reqwest::Method::GET, "/api/v1/runs".into())
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(!listed.contains(&run_a), "another agent lists it: {listed}");
    let answers = mcp_rpc(
        env,
        &other,
        &[
            json!({"method": "tools/call", "params": {"name": "get-run-status", "arguments": {"run_id": run_a}}}),
            json!({"method": "resources/read", "params": {"uri": format!("lumosflow://runs/{run_a}/items?offset=0&limit=10")}}),
        ],
    )
    .await;
    assert_eq!(answers[0]["result"]["isError"], true, "{}", answers[0]);
    assert!(
        answers[0].to_string().contains("not found"),
        "{}",
        answers[0]
    );
    assert!(
        answers[1]["error"].to_string().contains("not found"),
        "{}",
        answers[1]
    );
    for role in [Viewer, Agent] {
        let (s, _) = env
            .call(
                Some(role),
                Method::GET,
                &format!("/api/v1/runs/{run_a}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{role:?}");
    }
    let (s, v) = env
        .call(
            Some(Agent),
            Method::POST,
            &format!("/api/v1/runs/{run_a}/cancel"),
            None,
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("canceled")),
        "{v}"
    );
    let run_b = held(Agent).await;
    let (s, v) = env
        .call(
            Some(Builder),
            Method::POST,
            &format!("/api/v1/runs/{run_b}/cancel"),
            None,
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("canceled")),
        "{v}"
    );
}
both!(
    runs_are_seen_and_stopped_only_by_those_they_belong_to,
    runs_are_seen_and_stopped_only_by_those_they_belong_to
);

// Review 3, 9: MCP's edges answer as the MCP and OAuth specifications say: a browser Origin
// that is not the server's is 403 `forbidden`; closing a session with DELETE answers 2xx, an
// unknown or missing session 404 or 400.
#[tokio::test]
async fn mcp_edges_answer_as_the_specifications_say() {
    let env = Env::new(testkit::sqlite()).await;
    let post = |origin: Option<&str>| {
        let mut rb = env
            .http
            .post(format!("{}/mcp", env.server.base_url))
            .bearer_auth(&env.keys[&Agent])
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}));
        if let Some(o) = origin {
            rb = rb.header("origin", o);
        }
        rb.send()
    };
    let resp = post(Some("https://evil.example.com")).await.expect("send");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["error"]["code"], "forbidden", "{v}");
    let resp = post(None).await.expect("initialize");
    let session = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("session")
        .to_owned();
    let _ = resp.text().await;
    let delete = |s: Option<&str>| {
        let mut rb = env
            .http
            .delete(format!("{}/mcp", env.server.base_url))
            .bearer_auth(&env.keys[&Agent])
            .header("mcp-protocol-version", "2025-06-18");
        if let Some(s) = s {
            rb = rb.header("mcp-session-id", s);
        }
        rb.send()
    };
    // Ended on request: 204, which the official SDK takes as a clean end (202 it reports
    // as "Session termination failed").
    let closed = delete(Some(&session)).await.expect("delete");
    assert_eq!(closed.status(), StatusCode::NO_CONTENT);
    for (s, want) in [
        (Some(session.as_str()), StatusCode::NOT_FOUND),
        (Some("never-began"), StatusCode::NOT_FOUND),
        (None, StatusCode::BAD_REQUEST),
    ] {
        let resp = delete(s).await.expect("delete");
        assert_eq!(resp.status(), want, "{s:?}");
        let v: Value = resp.json().await.expect("json");
        assert!(v["error"]["message"].is_string(), "{v}");
    }
    env.stop().await;
}

/// A server on a random port with these network limits.
async fn limited(net: server::NetOptions) -> (server::Server, testkit::Db) {
    let db = testkit::sqlite();
    let store = std::sync::Arc::new(db.open().await);
    let srv = server::Server::start_with(
        store,
        "127.0.0.1:0",
        engine::EngineConfig::default(),
        server::ServerOptions {
            net,
            ..server::ServerOptions::default()
        },
    )
    .await
    .expect("server");
    (srv, db)
}

/// A hook request whose body trickles in a byte every 300 ms (at most 40), on its own
/// connection; what the server answered, if it did.
fn dripping(addr: std::net::SocketAddr) -> tokio::task::JoinHandle<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"POST /hooks/01a00000-0000-7000-8000-000000000000 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            .await
            .expect("head");
        let mut buf = vec![0u8; 1024];
        for _ in 0..40 {
            if s.write_all(b" ").await.is_err() {
                break;
            }
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await
            {
                return String::from_utf8_lossy(&buf[..n]).into_owned();
            }
        }
        String::new()
    })
}

// Review 3, 4: bodies that trickle in are cut off at a deadline for the whole request; one
// address holds at most its share of connections; requests without credentials have a cap
// of their own; and with every slot taken, /healthz still answers.
#[tokio::test]
async fn slow_bodies_cannot_take_the_server() {
    // Every slot held by dripping hooks: health checks still answer, on the reserve.
    let (srv, _db) = limited(server::NetOptions {
        body_timeout: Duration::from_secs(2),
        max_connections: 6,
        max_per_ip: 1000,
        max_unauthenticated: 1000,
        ..server::NetOptions::default()
    })
    .await;
    let drips: Vec<_> = (0..6).map(|_| dripping(srv.addr)).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = lumos_api::http::client_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let resp = client
        .get(format!("{}/healthz", srv.base_url))
        .send()
        .await
        .expect("healthz answers while every slot is held");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client
        .get(format!("{}/api/v1/runs", srv.base_url))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Each trickling request is cut off at the deadline for its whole body.
    for d in drips {
        let said = d.await.expect("join");
        assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    }
    srv.stop().await;

    // One address: its share, then closed at once.
    let (srv, _db) = limited(server::NetOptions {
        max_per_ip: 3,
        ..server::NetOptions::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(
            tokio::net::TcpStream::connect(srv.addr)
                .await
                .expect("connect"),
        );
    }
    let mut fourth = tokio::net::TcpStream::connect(srv.addr)
        .await
        .expect("connect");
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut fourth, &mut buf),
    )
    .await
    .expect("closed at once");
    assert_eq!(n.unwrap_or(0), 0, "the fourth connection is closed");
    drop(held);
    srv.stop().await;

    // Requests without credentials: a cap of their own, answered 503 past it.
    let (srv, _db) = limited(server::NetOptions {
        max_unauthenticated: 2,
        ..server::NetOptions::default()
    })
    .await;
    let drips: Vec<_> = (0..2).map(|_| dripping(srv.addr)).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = client
        .post(format!(
            "{}/hooks/01a00000-0000-7000-8000-000000000000",
            srv.base_url
        ))
        .body("{}")
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "5");
    let resp = client
        .get(format!("{}/healthz", srv.base_url))
        .send()
        .await
        .expect("health");
    assert_eq!(resp.status(), StatusCode::OK);
    for d in drips {
        d.abort();
    }
    srv.stop().await;
}

/// The JSON-RPC answer in an MCP HTTP reply (plain JSON, or the `data:` of an SSE event).
/// A new MCP session for `key`, and the answers to `calls` (each a method and its params)
/// made in it, in order.
async fn mcp_rpc(env: &Env, key: &str, calls: &[Value]) -> Vec<Value> {
    let post = |session: Option<&str>, body: Value| {
        let mut rb = env
            .http
            .post(format!("{}/mcp", env.server.base_url))
            .bearer_auth(key)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(s) = session {
            rb = rb
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-06-18");
        }
        rb.send()
    };
    let resp = post(
        None,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
    )
    .await
    .expect("initialize");
    let session = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("session")
        .to_owned();
    let _ = resp.text().await;
    post(
        Some(&session),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await
    .expect("initialized");
    let mut answers = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let mut body = call.clone();
        body["jsonrpc"] = json!("2.0");
        body["id"] = json!(i + 1);
        let resp = post(Some(&session), body).await.expect("call");
        answers.push(rpc_answer(&resp.text().await.unwrap_or_default()));
    }
    answers
}

/// The tool names of a `tools/list` answer, sorted.
fn tool_names(listed: &Value) -> Vec<String> {
    let mut names: Vec<String> = listed["result"]["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort_unstable();
    names
}

fn rpc_answer(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v.get("id").is_some())
            .unwrap_or(Value::Null)
    })
}

// Keys scoped to what an agent may do: `read_only` (only workflows that change nothing) and
// an allow-list of workflows. The run core refuses the rest at every door; MCP lists only
// the tools the key may call.
#[tokio::test]
async fn scoped_keys_see_and_run_only_their_workflows() {
    let env = Env::new(testkit::sqlite()).await;
    env.connect().await;
    env.install_all().await;
    let (s, made) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/keys",
            Some(
                json!({"name": "desk-bot", "role": "agent", "read_only": true,
                        "workflows": ["list-lumos-users", "cancel-lumos-access-request"]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let key = made["key"].as_str().expect("key").to_owned();
    // Over the API: its workflow runs; another, or a change, is refused.
    let run = |workflow: &str, inputs: Value| {
        let (http, base, key) = (&env.http, &env.server.base_url, &key);
        let workflow = workflow.to_owned();
        async move {
            let resp = http
                .post(format!("{base}/api/v1/workflows/{workflow}/runs?wait=true"))
                .bearer_auth(key)
                .json(&json!({"inputs": inputs}))
                .send()
                .await
                .expect("run");
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, v) = run("list-lumos-users", json!({"size": 2})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = run("list-lumos-groups", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v.to_string().contains("may run only these workflows"),
        "{v}"
    );
    let (s, v) = run("cancel-lumos-access-request", json!({"request_id": "x"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(v.to_string().contains("is read-only"), "{v}");
    // Over MCP: only the tools it may call are listed, and another is refused.
    let answers = mcp_rpc(
        &env,
        &key,
        &[
            json!({"method": "tools/list"}),
            json!({"method": "tools/call", "params": {"name": "list-lumos-groups", "arguments": {}}}),
        ],
    )
    .await;
    assert_eq!(
        tool_names(&answers[0]),
        ["get-run-status", "list-lumos-users"],
        "{}",
        answers[0]
    );
    assert!(
        answers[1]
            .to_string()
            .contains("may run only these workflows"),
        "{}",
        answers[1]
    );
    // It calls no Lumos operation directly.
    let resp = env
        .http
        .post(format!("{}/api/v1/lumos/call", env.server.base_url))
        .bearer_auth(&key)
        .json(&json!({"operation": "listUsers"}))
        .send()
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // The read-only rule at every door a key reaches, for a change hidden in a `workflow:`
    // step: the API, MCP (neither listed nor callable), and the console session of the key.
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows",
            Some(json!({"yaml": WRAPPER})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, made) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/keys",
            Some(json!({"name": "reader", "role": "agent", "read_only": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let reader = made["key"].as_str().expect("key").to_owned();
    let inputs = json!({"inputs": {"request_id": "x"}});
    let api = env
        .http
        .post(format!(
            "{}/api/v1/workflows/wrapper/runs?wait=true",
            env.server.base_url
        ))
        .bearer_auth(&reader)
        .json(&inputs)
        .send()
        .await
        .expect("run");
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    let said = api.text().await.unwrap_or_default();
    assert!(
        said.contains("is read-only") && said.contains("cancelAccessRequest"),
        "{said}"
    );
    let answers = mcp_rpc(
        &env,
        &reader,
        &[
            json!({"method": "tools/list"}),
            json!({"method": "tools/call", "params": {"name": "wrapper", "arguments": {"request_id": "x"}}}),
        ],
    )
    .await;
    let names = tool_names(&answers[0]);
    assert!(
        names.contains(&"list-lumos-users".to_owned())
            && !names.contains(&"wrapper".to_owned())
            && !names.contains(&"cancel-lumos-access-request".to_owned()),
        "{names:?}"
    );
    assert!(
        answers[1].to_string().contains("is read-only"),
        "{}",
        answers[1]
    );
    let cookie = sign_in(&env, &reader).await;
    let console = env
        .http
        .post(format!(
            "{}/api/v1/workflows/wrapper/runs?wait=true",
            env.server.base_url
        ))
        .header("cookie", &cookie)
        .header("x-lumosflow-csrf", "1")
        .json(&inputs)
        .send()
        .await
        .expect("run");
    assert_eq!(console.status(), StatusCode::FORBIDDEN);
    env.stop().await;
}

const WRAPPER: &str = "id: wrapper\nname: Looks harmless\ninputs:\n  request_id: { type: text, required: true }\nsteps:\n  - id: sub\n    workflow: cancel-lumos-access-request\n    inputs: { request_id: \"{{ inputs.request_id }}\" }\n";
