//! lumosflow's HTTP API (`/api/v1`), health and metrics. Interfaces stay thin: every handler
//! calls the engine.

mod api;
mod auth;
mod console;
mod cookie;
pub mod error;
mod guards;
mod listener;
pub mod metrics;
pub mod routes;
pub use sso::SsoConfig;
mod sso;
mod state;
mod table;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderName;
use engine::Store;
use engine::{Engine, EngineConfig, Observers, RunStatus};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use engine::Role;
pub use listener::NetOptions;
pub use state::AppState;

use crate::Role::Agent;
use crate::table::{doc, table};

/// How long in-flight runs get to finish at shutdown before they are canceled.
const DRAIN: Duration = Duration::from_secs(20);

/// The engine a server uses, with metrics hooked in.
pub fn engine_with_metrics(
    store: Arc<Store>,
    config: EngineConfig,
) -> (Arc<Engine>, Arc<metrics::Metrics>) {
    let metrics = Arc::new(metrics::Metrics::new());
    let (m1, m2) = (metrics.clone(), metrics.clone());
    let observers = Observers {
        on_step: Some(Arc::new(
            move |_wf: &str, r: &engine::executor::StepRecord| {
                // Lumos calls only: http steps and sub-runs are not Lumos operations.
                if let Some(op) = &r.operation
                    && r.kind == engine::executor::StepKind::Lumos
                    && r.status != engine::StepStatus::DryRun
                {
                    m1.lumos_call(op, r.http_status, r.duration_ms as f64 / 1000.0);
                }
            },
        )),
        on_run: Some(Arc::new(move |wf: &str, status: RunStatus, secs: f64| {
            m2.run_finished(wf, status.as_str(), secs)
        })),
        on_request: Some(metrics.clone()),
    };
    (
        Arc::new(Engine::with_config(store, config).with_observers(observers)),
        metrics,
    )
}

/// How `serve` meets the network and who it answers to.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub net: NetOptions,
    /// Host names MCP clients may reach the server by, besides loopback names and the
    /// address it listens on (DNS-rebinding protection).
    pub allowed_hosts: Vec<String>,
    /// Console sign-in with the company's identity provider.
    pub sso: Option<sso::SsoConfig>,
    /// `LUMOSFLOW_CONSOLE_KEY_SIGNIN=false`: the console takes no API keys (SSO only).
    pub key_signin_off: bool,
    /// `LUMOSFLOW_METRICS_TOKEN`: when set, `/metrics` answers only a request bearing it.
    pub metrics_token: Option<String>,
}

impl ServerOptions {
    /// Defaults, with `LUMOSFLOW_PUBLIC_URL`'s host and `LUMOSFLOW_ALLOWED_HOSTS`
    /// (comma-separated) as allowed hosts and `LUMOSFLOW_MAX_CONNECTIONS` as the cap.
    pub fn from_env() -> Result<Self, String> {
        let mut o = Self::default();
        if let Ok(url) = std::env::var("LUMOSFLOW_PUBLIC_URL")
            && !url.trim().is_empty()
        {
            let parsed = url::Url::parse(url.trim())
                .map_err(|e| format!("LUMOSFLOW_PUBLIC_URL: '{url}' is not a URL: {e}"))?;
            if let Some(h) = parsed.host_str() {
                o.allowed_hosts.push(h.to_owned());
            }
        }
        if let Ok(hosts) = std::env::var("LUMOSFLOW_ALLOWED_HOSTS") {
            o.allowed_hosts.extend(
                hosts
                    .split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned),
            );
        }
        if let Ok(t) = std::env::var("LUMOSFLOW_METRICS_TOKEN")
            && !t.trim().is_empty()
        {
            if t.trim().len() < 16 {
                return Err("LUMOSFLOW_METRICS_TOKEN must be at least 16 characters".into());
            }
            o.metrics_token = Some(t.trim().to_owned());
        }
        for (var, field) in [
            ("LUMOSFLOW_MAX_CONNECTIONS", &mut o.net.max_connections),
            ("LUMOSFLOW_MAX_CONNECTIONS_PER_IP", &mut o.net.max_per_ip),
            (
                "LUMOSFLOW_MAX_UNAUTHENTICATED",
                &mut o.net.max_unauthenticated,
            ),
        ] {
            if let Ok(n) = std::env::var(var) {
                *field =
                    n.trim().parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        format!("{var}: '{n}' is not a whole number of at least 1")
                    })?;
            }
        }
        o.sso = sso::SsoConfig::from_lookup(|k| std::env::var(k).ok())?;
        if let Ok(v) = std::env::var("LUMOSFLOW_CONSOLE_KEY_SIGNIN") {
            o.key_signin_off = match v.trim().to_ascii_lowercase().as_str() {
                "false" | "0" | "no" | "off" => true,
                "true" | "1" | "yes" | "on" | "" => false,
                other => {
                    return Err(format!(
                        "LUMOSFLOW_CONSOLE_KEY_SIGNIN: '{other}' is not true or false"
                    ));
                }
            };
            if o.key_signin_off && o.sso.is_none() {
                return Err("LUMOSFLOW_CONSOLE_KEY_SIGNIN=false needs single sign-on (LUMOSFLOW_OIDC_ISSUER): nobody could sign in to the console".into());
            }
        }
        Ok(o)
    }
}

/// The full application router, and the one the reserve connections get when every slot
/// is taken: health checks only.
pub fn app(
    engine: Arc<Engine>,
    metrics: Arc<metrics::Metrics>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    options: &ServerOptions,
) -> (Router, Router) {
    let (router, mut docs) = table().router();
    docs.push(doc(
        "POST",
        "/mcp",
        Some(Agent),
        "mcp",
        "Model Context Protocol (streamable HTTP): installed workflows as tools",
    ));
    let mcp_watch = mcp::ToolsWatch::new(engine.clone());
    let state = AppState {
        engine: engine.clone(),
        metrics,
        docs: Arc::new(docs),
        tasks,
        mcp_watch: mcp_watch.clone(),
        sso: options.sso.clone().map(sso::Sso::new),
        key_signin: !options.key_signin_off,
        metrics_token: options.metrics_token.as_deref().map(auth::digest),
    };
    let sessions = mcp::HttpSessions::default();
    let mcp_service = tower::Layer::layer(
        &axum::middleware::from_fn_with_state(state.clone(), auth::mcp_key),
        tower::Layer::layer(
            &axum::middleware::from_fn_with_state(sessions.clone(), guards::mcp_sessions),
            mcp::http_service(
                engine,
                mcp_watch,
                shutdown,
                options.allowed_hosts.clone(),
                sessions,
            ),
        ),
    );
    let request_id = HeaderName::from_static("x-request-id");
    let health = Router::new()
        .route("/healthz", axum::routing::get(api::healthz))
        .route("/readyz", axum::routing::get(api::readyz))
        .fallback(guards::busy)
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(guards::json_errors));
    let unauthenticated = Arc::new(tokio::sync::Semaphore::new(
        options.net.max_unauthenticated.max(1),
    ));
    let main = router
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_role))
        .nest_service("/mcp", mcp_service)
        .fallback(api::not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn(guards::json_errors))
        .layer(axum::middleware::from_fn(guards::no_nul_in_path))
        .layer(axum::middleware::from_fn(guards::security_headers))
        .layer(axum::middleware::from_fn_with_state(
            options.net.body_timeout,
            guards::whole_body_within,
        ))
        // Outside the body's deadline: a request holds its slot while its body trickles in.
        .layer(axum::middleware::from_fn_with_state(
            unauthenticated,
            guards::unauthenticated_cap,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));
    (main, health)
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub base_url: String,
    pub engine: Arc<Engine>,
    shutdown: CancellationToken,
    handle: JoinHandle<()>,
}

impl Server {
    /// [`Server::start_with`] the default settings.
    pub async fn start(store: Arc<Store>, addr: &str) -> std::io::Result<Server> {
        Self::start_with(
            store,
            addr,
            EngineConfig::default(),
            ServerOptions::default(),
        )
        .await
    }

    /// Recover interrupted runs, bind, and serve in the background: the API, the queue
    /// workers, the sweeper, retention and schedules.
    pub async fn start_with(
        store: Arc<Store>,
        addr: &str,
        config: EngineConfig,
        options: ServerOptions,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        Self::start_on(store, listener, config, options).await
    }

    /// [`Server::start_with`] on a socket already bound (so its address can be known, e.g.
    /// for `LUMOSFLOW_PUBLIC_URL`, before the server starts).
    pub async fn start_on(
        store: Arc<Store>,
        listener: TcpListener,
        config: EngineConfig,
        mut options: ServerOptions,
    ) -> std::io::Result<Server> {
        let addr = listener.local_addr()?;
        let mut config = config;
        // Without LUMOSFLOW_PUBLIC_URL, links lumosflow hands out (a trigger's URL, a run in
        // a notice) point at the address it really listens on, not a guess.
        if config.public_url.is_none() && !addr.ip().is_unspecified() {
            config.public_url = Some(format!("http://{addr}"));
        }
        let (engine, metrics) = engine_with_metrics(store, config);
        if let Err(e) = engine.recover().await {
            tracing::warn!(error = %e, "could not close out interrupted runs");
        }
        // Loopback names and the address it listens on are always fine for MCP's Host check.
        options
            .allowed_hosts
            .extend(["localhost", "127.0.0.1", "::1"].map(str::to_owned));
        if !addr.ip().is_unspecified() {
            options.allowed_hosts.push(addr.ip().to_string());
        }
        let tasks = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let sched_metrics = metrics.clone();
        let (router, health) = app(
            engine.clone(),
            metrics,
            tasks.clone(),
            shutdown.clone(),
            &options,
        );
        engine.start_services(shutdown.clone(), tasks.clone());
        let stop = shutdown.clone();
        let eng = engine.clone();
        // Scheduled workflows are queued from here, at most one firing per tick cluster-wide.
        let (sched_engine, sched_stop) = (engine.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    () = sched_stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match engine::schedule::submit_due(&sched_engine, chrono::Utc::now()).await {
                    Ok(firings) => sched_metrics.firings(&firings),
                    Err(e) => tracing::warn!(error = %e, "schedule check failed"),
                }
            }
        });
        let handle = tokio::spawn(async move {
            listener::serve(listener, router, health, options.net, stop, DRAIN).await;
            // Let runs in flight finish; past the deadline, cancel and record them. Queued
            // runs stay queued for another replica or the next start.
            tasks.close();
            if tokio::time::timeout(DRAIN, tasks.wait()).await.is_err() {
                for id in eng.active_run_ids() {
                    let _ = eng.cancel(&id, "server shutdown").await;
                }
                let _ = tokio::time::timeout(Duration::from_secs(5), tasks.wait()).await;
            }
        });
        Ok(Server {
            addr,
            base_url: format!("http://{addr}"),
            engine,
            shutdown,
            handle,
        })
    }

    /// Stop accepting, drain, and return when done.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.handle.await;
    }
}
