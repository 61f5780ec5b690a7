//! MCP's authorization flow with lumosflow as the OAuth resource server: a real OpenID
//! provider (the `oidc-provider` npm package) issues JWT access tokens for `/mcp` with the
//! client credentials grant, and lumosflow checks them — audience, signer, expiry, the person
//! behind them — while API keys keep working beside them.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use engine::{Actor, Role};
use lumos_sim::{SimConfig, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::Server;

use crate::sso::{options, provider};

/// node and the provider package; CI must have them.
fn provider_tools() -> bool {
    let ok = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/console/node_modules/oidc-provider")
        .exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install node and tests/console's npm packages"
        );
        eprintln!(
            "NOTICE: node or oidc-provider (npm ci --prefix tests/console) missing; skipping the MCP OAuth test"
        );
    }
    ok
}

/// The official MCP Python SDK, for a real client's view of the flow; CI must have it.
fn python_sdk() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import mcp"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install the MCP Python SDK (pip install mcp)"
        );
        eprintln!(
            "NOTICE: the MCP Python SDK is not installed (pip install mcp); skipping its part"
        );
    }
    ok
}

/// An access token from the provider for `resource`, to the agent client `client`.
async fn token(http: &reqwest::Client, issuer: &str, client: &str, resource: &str) -> String {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("resource", resource)
        .finish();
    let r = http
        .post(format!("{issuer}/token"))
        .basic_auth(client, Some("agent-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("token request");
    let status = r.status();
    let body: Value = r.json().await.expect("token json");
    assert_eq!(status, StatusCode::OK, "{client}: {body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// One JSON-RPC exchange with `/mcp`.
async fn post(
    http: &reqwest::Client,
    base: &str,
    bearer: Option<&str>,
    session: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut rb = http
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(b) = bearer {
        rb = rb.bearer_auth(b);
    }
    if let Some(s) = session {
        rb = rb
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-06-18");
    }
    rb.send().await.expect("mcp request")
}

/// The JSON-RPC answer in a reply, sent as JSON or as server-sent events.
async fn answer(resp: reqwest::Response) -> Value {
    let text = resp.text().await.expect("body");
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(&text).expect("json");
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC answer in {text}"))
}

/// Initialize a session with `bearer`: its id, or the refusal's status, challenge and body.
async fn initialize(
    http: &reqwest::Client,
    base: &str,
    bearer: Option<&str>,
) -> Result<String, (StatusCode, String, Value)> {
    let resp = post(
        http,
        base,
        bearer,
        None,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
    )
    .await;
    if !resp.status().is_success() {
        let status = resp.status();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = resp.json().await.unwrap_or(Value::Null);
        return Err((status, challenge, body));
    }
    let id = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("session id")
        .to_owned();
    let init = answer(resp).await;
    assert!(init["result"]["serverInfo"]["name"].is_string(), "{init}");
    let resp = post(
        http,
        base,
        bearer,
        Some(&id),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    Ok(id)
}

/// A refused token: 401 with `invalid_token` and a description saying `why`, in the
/// challenge and the JSON error alike, and the token echoed in neither.
async fn refused(http: &reqwest::Client, base: &str, token: &str, why: &str) {
    let (status, challenge, body) = initialize(http, base, Some(token))
        .await
        .expect_err("must be refused");
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
    assert!(
        challenge.starts_with(&format!(
            "Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource\""
        )) && challenge.contains("scope=\"openid ")
            && challenge.contains("error=\"invalid_token\"")
            && challenge.contains(why),
        "{why}: {challenge}"
    );
    assert_eq!(body["error"]["code"], "invalid_token", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "{why}: {message}");
    assert!(!challenge.contains(token) && !body.to_string().contains(token));
}

/// A JWT made here, signed with nothing the provider holds.
fn forged(header: Value, claims: Value, signature: &str) -> String {
    let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.{signature}", enc(&header), enc(&claims))
}

#[tokio::test]
async fn mcp_clients_use_access_tokens_from_the_identity_provider() {
    if !provider_tools() {
        return;
    }
    // Every call is bounded: a hang (seen once in a full run on a loaded machine) fails
    // saying which call, instead of stalling the suite.
    let http = lumos_api::http::client_builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client");
    let sim = Simulator::start(SimConfig::default()).await.expect("sim");
    let db = testkit::sqlite();
    let store = Arc::new(db.open().await);
    let keys = engine::Engine::new(store.clone());
    let admin_key = keys
        .create_key("root", Role::Admin, &Actor::operator())
        .await
        .expect("key");
    let agent_key = keys
        .create_key("desk-bot", Role::Agent, &Actor::operator())
        .await
        .expect("key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let resource = format!("{base}/mcp");
    let (mut idp, issuer) = provider(&format!("{base}/console/oidc/callback")).await;
    let srv = Server::start_on(
        store,
        listener,
        engine::EngineConfig::default(),
        options(&issuer, &base),
    )
    .await
    .expect("server");

    // Lumos connected, the workflows installed; the people, as SSO sign-in records them.
    for (path, body) in [
        (
            "/api/v1/connections",
            json!({"name": "default", "base_url": sim.base_url, "token": sim.token}),
        ),
        ("/api/v1/workflows/install", json!({"all": true})),
    ] {
        let r = http
            .post(format!("{base}{path}"))
            .bearer_auth(&admin_key)
            .json(&body)
            .send()
            .await
            .expect("setup");
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
    for (login, role) in [
        ("dan-desk", Role::Agent),
        ("ann-admin", Role::Admin),
        ("ned-nobody", Role::Agent),
        ("ugo-unverified", Role::Agent),
        ("sam-silent", Role::Agent),
    ] {
        srv.engine
            .sign_in_person(&format!("{login}@example-corp.com"), None, role, "Test IdP")
            .await
            .expect("person");
    }

    // The protected resource metadata, at both places clients look.
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let r = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("metadata");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let m: Value = r.json().await.expect("json");
        assert_eq!(m["resource"], resource, "{m}");
        assert_eq!(m["authorization_servers"], json!([issuer]), "{m}");
        assert_eq!(m["bearer_methods_supported"], json!(["header"]), "{m}");
        assert_eq!(m["resource_name"], "lumosflow", "{m}");
        let scopes = m["scopes_supported"].as_array().expect("scopes");
        assert!(scopes.contains(&json!("openid")) && scopes.contains(&json!("email")));
    }

    // No token: 401, and where to learn how to get one.
    let (status, challenge, body) = initialize(&http, &base, None).await.expect_err("401");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge,
        format!(
            "Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource\", scope=\"openid email profile groups\""
        )
    );
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");

    // A token from the provider for this server: the MCP session works, and the run is the
    // person's.
    let dan = token(&http, &issuer, "agent.dan-desk", &resource).await;
    let session = initialize(&http, &base, Some(&dan))
        .await
        .expect("dan's token is taken");
    let list = answer(
        post(
            &http,
            &base,
            Some(&dan),
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await,
    )
    .await;
    let tools = list["result"]["tools"].as_array().expect("tools");
    assert!(
        tools.iter().any(|t| t["name"] == "list-lumos-users"),
        "{list}"
    );
    let called = answer(
        post(
            &http,
            &base,
            Some(&dan),
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                   "params": {"name": "list-lumos-users", "arguments": {"search": "ann", "size": 2}}}),
        )
        .await,
    )
    .await;
    assert_eq!(called["result"]["isError"], false, "{called}");
    let runs = srv
        .engine
        .runs(&engine::RunFilter {
            requested_by: Some("dan-desk@example-corp.com"),
            ..engine::RunFilter::default()
        })
        .await
        .expect("runs");
    assert_eq!(runs.len(), 1, "the run is recorded as Dan's");

    // The official MCP Python SDK, told only the URL and its client credentials, finds its
    // way: the 401's resource metadata, the provider's metadata, a token for /mcp.
    if python_sdk() {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp/check_mcp.py");
        let out = tokio::process::Command::new("python3")
            .arg(script)
            .args([
                "oauth",
                &resource,
                &issuer,
                "agent.ann-admin",
                "agent-secret",
            ])
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(std::time::Duration::from_secs(120), out)
            .await
            .expect("the MCP Python SDK finished within 2 minutes")
            .expect("python3");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("\"oauth\": true"),
            "stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let runs = srv
            .engine
            .runs(&engine::RunFilter {
                requested_by: Some("ann-admin@example-corp.com"),
                ..engine::RunFilter::default()
            })
            .await
            .expect("runs");
        assert_eq!(runs.len(), 1, "the SDK's run is recorded as Ann's");
    }

    // Tokens that must not be taken, each refused saying why.
    let other = token(
        &http,
        &issuer,
        "agent.dan-desk",
        "https://other.example/api",
    )
    .await;
    refused(&http, &base, &other, "another audience").await;
    let expired = token(&http, &issuer, "expired.dan-desk", &resource).await;
    refused(&http, &base, &expired, "has expired").await;
    refused(
        &http,
        &base,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        "malformed",
    )
    .await;
    let claims = json!({"iss": issuer, "sub": "x", "aud": resource, "iat": 1_700_000_000i64,
        "exp": 4_000_000_000i64, "email": "ann-admin@example-corp.com"});
    for alg in ["none", "HS256"] {
        let t = forged(json!({"alg": alg, "typ": "JWT"}), claims.clone(), "c2ln");
        refused(&http, &base, &t, "signing algorithm").await;
    }
    // Dan's genuine header and signature over claims that make him Ann.
    let mut parts = dan.split('.');
    let (header, signature) = (
        parts.next().expect("header"),
        parts.nth(1).expect("signature"),
    );
    let swapped = format!(
        "{header}.{}.{signature}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    refused(&http, &base, &swapped, "signature does not verify").await;
    // A good token for someone lumosflow does not know: 403 insufficient_scope, not a 401
    // that would send the client back to the provider for nothing.
    let zed = token(&http, &issuer, "agent.zed-unknown", &resource).await;
    let (status, challenge, body) = initialize(&http, &base, Some(&zed)).await.expect_err("403");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_scope", "{body}");
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("is not a person in lumosflow"),
        "{challenge}"
    );
    let anon = token(&http, &issuer, "agent.no-email", &resource).await;
    refused(&http, &base, &anon, "no email claim").await;
    let ugo = token(&http, &issuer, "agent.ugo-unverified", &resource).await;
    refused(&http, &base, &ugo, "has not verified").await;
    // A token that does not say the email is verified is refused too (the provider is not
    // configured as one that issues verified emails only).
    let sam = token(&http, &issuer, "agent.sam-silent", &resource).await;
    refused(&http, &base, &sam, "does not say it verified").await;
    // Ned is an agent in lumosflow, but his groups map to no role: refused as at sign-in.
    let ned = token(&http, &issuer, "agent.ned-nobody", &resource).await;
    let (status, _, body) = initialize(&http, &base, Some(&ned)).await.expect_err("403");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("gives a lumosflow role")),
        "{body}"
    );

    // Deactivating Dan ends his token's use at once.
    srv.engine
        .deactivate_person("dan-desk@example-corp.com", &Actor::operator())
        .await
        .expect("deactivate");
    let (status, _, body) = initialize(&http, &base, Some(&dan)).await.expect_err("403");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("is deactivated")),
        "{body}"
    );

    // API keys work as before.
    initialize(&http, &base, Some(&agent_key))
        .await
        .expect("the agent key is taken");
    for wrong in ["lfk_not_a_key", "garbage"] {
        let (status, challenge, body) = initialize(&http, &base, Some(wrong))
            .await
            .expect_err("401");
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        assert!(
            challenge.contains("resource_metadata=")
                && challenge.contains("error=\"invalid_token\""),
            "{challenge}"
        );
    }

    // A key the provider starts signing with after lumosflow read its keys: unknown until
    // the provider publishes it, then taken (lumosflow fetches the keys again, at most one
    // fetch every two seconds).
    let rotated = token(&http, &issuer, "rotated.ann-admin", &resource).await;
    refused(&http, &base, &rotated, "unknown signer").await;
    let r = http
        .post(format!("{issuer}/test/rotate"))
        .send()
        .await
        .expect("rotate");
    assert!(r.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match initialize(&http, &base, Some(&rotated)).await {
            Ok(_) => break,
            Err((status, _, body)) => {
                assert!(
                    Instant::now() < deadline,
                    "the rotated key is never taken: {status} {body}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    // Without single sign-on: no metadata, and a plain challenge.
    let plain = Server::start(Arc::new(testkit::sqlite().open().await), "127.0.0.1:0")
        .await
        .expect("server");
    let r = http
        .get(format!(
            "{}/.well-known/oauth-protected-resource",
            plain.base_url
        ))
        .send()
        .await
        .expect("metadata");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("LUMOSFLOW_OIDC_ISSUER")),
        "{body}"
    );
    let (status, challenge, _) = initialize(&http, &plain.base_url, Some(&rotated))
        .await
        .expect_err("no SSO, no tokens");
    assert_eq!(
        (status, challenge.as_str()),
        (StatusCode::UNAUTHORIZED, "Bearer")
    );

    plain.stop().await;
    srv.stop().await;
    sim.stop().await;
    let _ = idp.kill().await;
}
