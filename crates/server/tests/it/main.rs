//! The HTTP API over real HTTP, against the simulator, on SQLite and PostgreSQL.

mod api;
mod approvals;
mod console;
mod events;
mod mcp_oauth;
mod notices;
mod outputs;
mod people;
mod run_core;
mod schedules;
mod security;
mod slack;
mod sso;
mod triggers;
mod trust;

use std::sync::Arc;

use lumos_sim::{SimConfig, Simulator};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use server::{Role, Server};

pub struct Env {
    pub sim: Simulator,
    pub server: Server,
    pub http: reqwest::Client,
    pub keys: std::collections::HashMap<Role, String>,
    pub _db: testkit::Db,
}

impl Env {
    pub async fn new(db: testkit::Db) -> Env {
        Self::with_sim(db, SimConfig::default()).await
    }

    pub async fn with_sim(db: testkit::Db, cfg: SimConfig) -> Env {
        Self::custom(db, cfg, engine::EngineConfig::default()).await
    }

    pub async fn custom(db: testkit::Db, cfg: SimConfig, config: engine::EngineConfig) -> Env {
        let sim = Simulator::start(cfg).await.expect("sim");
        let store = Arc::new(db.open().await);
        let mut keys = std::collections::HashMap::new();
        for (role, name) in [
            (Role::Viewer, "v"),
            (Role::Agent, "a"),
            (Role::Builder, "b"),
            (Role::Admin, "root"),
        ] {
            keys.insert(
                role,
                engine::Engine::new(store.clone())
                    .create_key(name, role, &engine::Actor::operator())
                    .await
                    .expect("key"),
            );
        }
        let server = Server::start_with(
            store,
            "127.0.0.1:0",
            config,
            server::ServerOptions::default(),
        )
        .await
        .expect("server");
        Env {
            sim,
            server,
            http: lumos_api::http::client(),
            keys,
            _db: db,
        }
    }

    /// What `/metrics` at `base` (this server or another replica) shows, as text.
    pub async fn metrics_of(&self, base: &str) -> String {
        self.http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    pub async fn call(
        &self,
        role: Option<Role>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.server.base_url, path));
        if let Some(r) = role {
            rb = rb.bearer_auth(&self.keys[&r]);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Start a run of `workflow` as `role` (`wait`: answer when it is over).
    pub async fn run(
        &self,
        role: Role,
        workflow: &str,
        body: Option<Value>,
        wait: bool,
    ) -> (StatusCode, Value) {
        let path = format!(
            "/api/v1/workflows/{workflow}/runs{}",
            if wait { "?wait=true" } else { "" }
        );
        self.call(Some(role), Method::POST, &path, body).await
    }

    /// Connect the simulator as `default` over the API; the token is never echoed.
    /// Every bundled workflow installed, as an admin would.
    pub async fn install_all(&self) {
        let (s, body) = self
            .call(
                Some(Role::Admin),
                Method::POST,
                "/api/v1/workflows/install",
                Some(serde_json::json!({"all": true})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }

    pub async fn connect(&self) {
        let (s, body) = self
            .call(
                Some(Role::Admin),
                Method::POST,
                "/api/v1/connections",
                Some(serde_json::json!({"name": "default", "base_url": self.sim.base_url, "token": self.sim.token})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        assert!(
            !body.to_string().contains(&self.sim.token),
            "the token must never be echoed"
        );
        assert_eq!(body["token_hint"], "lsk_…0000");
    }

    pub async fn stop(self) {
        self.server.stop().await;
        self.sim.stop().await;
    }
}
