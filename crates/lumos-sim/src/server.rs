//! The HTTP front of the simulator: auth, rate limits, faults and latency, then dispatch.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use lumos_api::Catalog;
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::handlers::{self, Caller, Ctx};
use crate::org::{Org, OrgSize};
use crate::routes::{Miss, Routes};
use crate::wire::{Reply, SimError, parse_query};

/// The default admin token, printed at start-up when no `--token` is given.
pub const DEFAULT_TOKEN: &str = "lsk_sim_admin_0000000000000000";
/// A built-in token acting as an ordinary (non-admin) user, for 403 paths.
pub const USER_TOKEN: &str = "lsk_sim_user_00000000000000000";

const CLI_VERSION: &str = "2.4.0";
/// Reported budget when no `--rate-limit` is set.
const UNLIMITED: u32 = 1_000_000;
const MAX_BODY: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub addr: String,
    /// Admin tokens; empty means [`DEFAULT_TOKEN`].
    pub tokens: Vec<String>,
    pub seed: u64,
    pub size: OrgSize,
    /// Requests per second per token; `None` for no limit.
    pub rate_limit: Option<u32>,
    /// Share of requests answered with a 5xx, 0.0–1.0.
    pub fault_rate: f64,
    pub latency: Duration,
    /// The simulator's "now" (seconds since the epoch): the seeded history ends here and the
    /// clock runs on from it. `None`: the real time.
    pub now: Option<i64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:0".into(),
            tokens: Vec::new(),
            seed: 42,
            size: OrgSize::default(),
            rate_limit: None,
            fault_rate: 0.0,
            latency: Duration::ZERO,
            now: None,
        }
    }
}

pub struct Sim {
    pub org: RwLock<Org>,
    routes: Routes,
    tokens: HashMap<String, Caller>,
    limiter: Mutex<HashMap<String, (u64, u32)>>,
    requests: AtomicU64,
    cfg: SimConfig,
    pub base_url: String,
}

/// A running simulator.
pub struct Simulator {
    pub addr: SocketAddr,
    pub base_url: String,
    /// The first admin token.
    pub token: String,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<()>,
}

impl Simulator {
    /// Generate the organization, bind, and serve in the background.
    pub async fn start(cfg: SimConfig) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(&cfg.addr).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let tokens_given = if cfg.tokens.is_empty() {
            vec![DEFAULT_TOKEN.to_owned()]
        } else {
            cfg.tokens.clone()
        };
        let mut tokens: HashMap<String, Caller> = tokens_given
            .iter()
            .map(|t| {
                (
                    t.clone(),
                    Caller {
                        user: 0,
                        admin: true,
                    },
                )
            })
            .collect();
        tokens.entry(USER_TOKEN.to_owned()).or_insert(Caller {
            user: 1,
            admin: false,
        });
        let org = Org::generate(
            cfg.seed,
            &cfg.size,
            cfg.now.unwrap_or_else(crate::time::wall),
        );
        let sim = Arc::new(Sim {
            org: RwLock::new(org),
            routes: Routes::new(Catalog::lumos()),
            tokens,
            limiter: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            cfg,
            base_url: base_url.clone(),
        });
        let app = Router::new().fallback(handle).with_state(sim);
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Simulator {
            addr,
            base_url,
            token: tokens_given[0].clone(),
            shutdown: Some(tx),
            handle,
        })
    }

    /// Stop accepting connections and wait for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.handle).await;
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Deterministic per-request coin: the n-th request faults or not for a given seed.
fn coin(seed: u64, n: u64) -> u64 {
    crate::ids::mix64(seed ^ n.wrapping_mul(crate::ids::GOLDEN))
}

async fn handle(State(sim): State<Arc<Sim>>, req: Request) -> Response {
    if !sim.cfg.latency.is_zero() {
        tokio::time::sleep(sim.cfg.latency).await;
    }
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let matched = match sim.routes.find(&method, &path) {
        Ok(m) => m,
        Err(Miss::NotFound) => {
            return finish(&sim, None, Err(SimError::Status(404, "Not Found".into())));
        }
        Err(Miss::MethodNotAllowed(allowed)) => {
            // A 405 says which methods the path has (RFC 9110).
            let mut resp = finish(
                &sim,
                None,
                Err(SimError::Status(405, "Method Not Allowed".into())),
            );
            if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            return resp;
        }
    };
    let op = matched.op;
    let token = bearer(req.headers());
    // The knowledge API answers its errors as `ApiError` (detail, type, code), 401s too.
    let unauthenticated = |detail: &str, code: &'static str| {
        if op.path.starts_with("/v1/knowledge") {
            SimError::Api(401, "authentication", code, detail.to_owned())
        } else {
            SimError::Status(401, detail.to_owned())
        }
    };
    let caller = if op.auth {
        match token.as_deref() {
            None => {
                return finish(
                    &sim,
                    None,
                    Err(unauthenticated("Not authenticated", "not_authenticated")),
                );
            }
            Some(t) => match sim.tokens.get(t) {
                Some(c) => Some(*c),
                None => {
                    return finish(
                        &sim,
                        None,
                        Err(unauthenticated(
                            "Invalid or expired API token",
                            "invalid_token",
                        )),
                    );
                }
            },
        }
    } else {
        token.as_deref().and_then(|t| sim.tokens.get(t)).copied()
    };
    let bucket = token
        .filter(|t| sim.tokens.contains_key(t))
        .unwrap_or_else(|| "anonymous".into());
    let budget = take_budget(&sim, &bucket);
    if let Some(limit) = sim.cfg.rate_limit
        && budget.0 > limit
    {
        let mut resp = finish(
            &sim,
            Some(budget),
            Err(SimError::Status(429, "Rate limit exceeded".into())),
        );
        let wait = (budget.2 - now_secs()).ceil().max(1.0) as u64;
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return resp;
    }
    let n = sim.requests.fetch_add(1, Ordering::Relaxed);
    if sim.cfg.fault_rate > 0.0 {
        let c = coin(sim.cfg.seed, n);
        let share = (c >> 11) as f64 / ((1u64 << 53) as f64);
        if share < sim.cfg.fault_rate {
            let status = [500, 502, 503, 504][(c % 4) as usize];
            return finish(
                &sim,
                Some(budget),
                Err(SimError::Status(status, "Simulated server error".into())),
            );
        }
    }
    let query = match parse_query(op, query.as_deref()) {
        Ok(q) => q,
        Err(e) => return finish(&sim, Some(budget), Err(e)),
    };
    let body = match read_body(op, req).await {
        Ok(b) => b,
        Err(e) => return finish(&sim, Some(budget), Err(e)),
    };
    let ctx = Ctx {
        op,
        path: matched.path,
        query,
        body,
        caller,
        base_url: &sim.base_url,
    };
    let result = handlers::dispatch(&sim.org, &ctx);
    finish(&sim, Some(budget), result)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Count this request in its token's one-second window: `(used, remaining, reset_at)`.
fn take_budget(sim: &Sim, bucket: &str) -> (u32, u32, f64) {
    let now = now_secs();
    let window = now.floor() as u64;
    let limit = sim.cfg.rate_limit.unwrap_or(UNLIMITED);
    let mut map = sim.limiter.lock().unwrap_or_else(|e| e.into_inner());
    let entry = map.entry(bucket.to_owned()).or_insert((window, 0));
    if entry.0 != window {
        *entry = (window, 0);
    }
    entry.1 = entry.1.saturating_add(1);
    (entry.1, limit.saturating_sub(entry.1), (window + 1) as f64)
}

async fn read_body(op: &lumos_api::Operation, req: Request) -> Result<Option<Value>, SimError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_multipart {
        let mut form = Multipart::from_request(req, &()).await.map_err(|e| {
            SimError::Validation(vec![
                serde_json::json!({"loc": ["body"], "msg": e.to_string(), "type": "value_error"}),
            ])
        })?;
        let mut map = Map::new();
        while let Ok(Some(field)) = form.next_field().await {
            let name = field.name().unwrap_or_default().to_owned();
            let text = field.text().await.unwrap_or_default();
            let list = ["generic_tags", "product_scopes"].contains(&name.as_str());
            match map.get_mut(&name) {
                Some(Value::Array(a)) => a.push(Value::String(text)),
                _ if list => {
                    map.insert(name, Value::Array(vec![Value::String(text)]));
                }
                _ => {
                    map.insert(name, Value::String(text));
                }
            }
        }
        return Ok(Some(Value::Object(map)));
    }
    let bytes = to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| SimError::Status(413, "Request body too large".into()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if op.body.is_none() {
        return Ok(None);
    }
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
        SimError::Validation(vec![serde_json::json!({
            "loc": ["body", e.column()], "msg": "JSON decode error", "type": "json_invalid",
            "ctx": {"error": e.to_string()}
        })])
    })?;
    crate::body_check::check(op, &body)?;
    Ok(Some(body))
}

fn finish(sim: &Sim, budget: Option<(u32, u32, f64)>, result: Result<Reply, SimError>) -> Response {
    let retry_after = match &result {
        Err(SimError::Busy(secs, _)) => Some(*secs),
        _ => None,
    };
    let (status, content_type, body) = match result {
        Ok(Reply::Json(s, bytes)) => (s, Some("application/json"), Body::from(bytes)),
        Ok(Reply::Empty(s)) => (s, None, Body::empty()),
        Ok(Reply::Text(t)) => (200, Some("text/plain; charset=utf-8"), Body::from(t)),
        Err(e) => (
            e.status(),
            Some("application/json"),
            Body::from(e.body().to_string()),
        ),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if let Some(ct) = content_type {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    h.insert("x-cli-version", HeaderValue::from_static(CLI_VERSION));
    if let Some(secs) = retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some((_, remaining, reset)) = budget {
        h.insert(
            "x-ratelimit-limit",
            HeaderValue::from(sim.cfg.rate_limit.unwrap_or(UNLIMITED)),
        );
        h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
        if let Ok(v) = HeaderValue::from_str(&format!("{reset:.6}")) {
            h.insert("x-ratelimit-reset", v);
        }
    }
    resp
}
