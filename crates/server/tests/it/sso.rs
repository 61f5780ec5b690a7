//! Single sign-on against a real OpenID provider (the `oidc-provider` npm package), driven
//! through the whole redirect flow in Chromium; then what a session from it survives
//! (a restart, a second replica on the same database) and what ends it.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use engine::{Actor, Role};
use reqwest::StatusCode;
use server::{Server, ServerOptions, SsoConfig};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::console::tools;

const PROVIDER_NAME: &str = "Test IdP";

/// The provider on a random port, for lumosflow's redirect URI (also the MCP OAuth test's).
pub(crate) async fn provider(redirect_uri: &str) -> (tokio::process::Child, String) {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/console/oidc-provider.mjs");
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .arg(redirect_uri)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // Readiness: the provider prints its issuer once it listens.
    let issuer = loop {
        let line = lines
            .next_line()
            .await
            .expect("read")
            .expect("provider exited");
        if let Some(url) = line.strip_prefix("ready ") {
            break url.to_owned();
        }
    };
    // Keep reading: the provider's later output must not hit a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, issuer)
}

pub(crate) fn options(issuer: &str, public_url: &str) -> ServerOptions {
    let vars: std::collections::HashMap<&str, String> = [
        ("LUMOSFLOW_OIDC_ISSUER", issuer.to_owned()),
        ("LUMOSFLOW_OIDC_CLIENT_ID", "lumosflow".to_owned()),
        (
            "LUMOSFLOW_OIDC_CLIENT_SECRET",
            "lumosflow-test-secret".to_owned(),
        ),
        ("LUMOSFLOW_PUBLIC_URL", public_url.to_owned()),
        (
            "LUMOSFLOW_OIDC_SCOPES",
            "openid email profile groups".to_owned(),
        ),
        (
            "LUMOSFLOW_OIDC_ROLES",
            "admin=it-admins,builder=it-builders,agent=service-desk".to_owned(),
        ),
        ("LUMOSFLOW_OIDC_DEFAULT_ROLE", "none".to_owned()),
        ("LUMOSFLOW_OIDC_NAME", PROVIDER_NAME.to_owned()),
    ]
    .into_iter()
    .collect();
    ServerOptions {
        sso: SsoConfig::from_lookup(|k| vars.get(k).cloned()).expect("sso settings"),
        ..ServerOptions::default()
    }
}

async fn start(db: &testkit::Db, options: ServerOptions) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    Server::start_on(
        Arc::new(db.open().await),
        listener,
        engine::EngineConfig::default(),
        options,
    )
    .await
    .expect("server")
}

/// `fut`, or a failure naming `what` when it takes more than 30 s (a hang says where).
async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(30), fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took more than 30 s"))
}

/// Who `/console/me` says the session is, or the status.
async fn me(base: &str, session: &str) -> Result<serde_json::Value, StatusCode> {
    let r = lumos_api::http::client()
        .get(format!("{base}/console/me"))
        .header("cookie", format!("lf_session={session}"))
        .send()
        .await
        .expect("me");
    if r.status() != StatusCode::OK {
        return Err(r.status());
    }
    Ok(r.json().await.expect("json"))
}

#[tokio::test]
async fn people_sign_in_with_sso_and_stay_signed_in_across_restarts_and_replicas() {
    if !tools() {
        return;
    }
    // Two replicas need a shared database: PostgreSQL where there is one.
    let db = match testkit::postgres().await {
        Some(db) => db,
        None => testkit::sqlite(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let public_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (mut idp, issuer) = within(
        "starting the identity provider",
        provider(&format!("{public_url}/console/oidc/callback")),
    )
    .await;
    let a = within(
        "starting the first replica",
        Server::start_on(
            Arc::new(db.open().await),
            listener,
            engine::EngineConfig::default(),
            options(&issuer, &public_url),
        ),
    )
    .await
    .expect("server");

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/console/sso.test.mjs");
    let mut args = vec![
        script.display().to_string(),
        a.base_url.clone(),
        PROVIDER_NAME.to_owned(),
    ];
    args.extend(
        std::env::var("LUMOSFLOW_SCREENSHOT")
            .ok()
            .map(|p| p.replace(".png", "-sso.png")),
    );
    let out = crate::console::browser_run(tokio::process::Command::new("node").args(&args)).await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let session = |login: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("session {login} ")))
            .unwrap_or_else(|| panic!("no session for {login} in {stdout}"))
            .to_owned()
    };
    let (ann, dan2) = (session("ann-admin"), session("dan-desk-2"));

    // The people exist with their mapped roles; the refused ones do not.
    let people = a.engine.people().await.expect("people");
    let roles: Vec<(String, String)> = people
        .iter()
        .map(|p| (p.email.clone(), p.role.clone()))
        .collect();
    assert_eq!(
        roles,
        [
            ("ann-admin@example-corp.com".to_owned(), "admin".to_owned()),
            ("dan-desk@example-corp.com".to_owned(), "agent".to_owned()),
        ]
    );
    let audit = a
        .engine
        .audit_events(Some("session.create"), 20)
        .await
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.actor == "ann-admin@example-corp.com"),
        "the audit trail names the person: {audit:?}"
    );

    // A restart keeps the session; a second replica on the same database shares it.
    within("stopping the first replica", a.stop()).await;
    let b = within(
        "starting replica b",
        start(&db, options(&issuer, &public_url)),
    )
    .await;
    let c = within(
        "starting replica c",
        start(&db, options(&issuer, &public_url)),
    )
    .await;
    for s in [&b, &c] {
        let who = within("me after the restart", me(&s.base_url, &ann))
            .await
            .expect("still signed in");
        assert_eq!(who["email"], "ann-admin@example-corp.com");
        assert_eq!(who["role"], "admin");
    }

    // A role change shows on the next request; deactivating ends every session at once.
    let admin = Actor::operator();
    b.engine
        .set_person_role("Dan-Desk@example-corp.com", Role::Builder, &admin)
        .await
        .expect("set role");
    assert_eq!(
        within("me after the role change", me(&c.base_url, &dan2))
            .await
            .expect("dan")["role"],
        "builder"
    );
    b.engine
        .deactivate_person("dan-desk@example-corp.com", &admin)
        .await
        .expect("deactivate");
    assert_eq!(
        within("me after deactivation", me(&c.base_url, &dan2))
            .await
            .unwrap_err(),
        StatusCode::UNAUTHORIZED
    );
    assert!(
        within("me of another person", me(&c.base_url, &ann))
            .await
            .is_ok(),
        "others stay signed in"
    );
    within("stopping replica b", b.stop()).await;
    within("stopping replica c", c.stop()).await;
    let _ = idp.kill().await;
}
