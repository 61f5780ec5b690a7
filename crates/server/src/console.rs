//! The web console: static files embedded in the binary, and cookie sessions.
//!
//! Signing in exchanges an API key for a session cookie (HttpOnly, SameSite=Strict). Requests
//! authenticated by the cookie that change anything must also carry `x-lumosflow-csrf`, a
//! header other sites cannot send without a CORS preflight this server never grants.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::Body;
use crate::error::{ApiError, ApiResult};
use crate::keys::{self, Role};
use crate::state::AppState;

pub const COOKIE: &str = "lf_session";
pub const CSRF_HEADER: &str = "x-lumosflow-csrf";
const TTL: Duration = Duration::from_secs(8 * 3600);

#[derive(Clone)]
pub struct Session {
    pub key_name: String,
    pub role: Role,
    expires: Instant,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().ok()?;
        match map.get(id) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }
    fn create(&self, key_name: String, role: Role) -> String {
        let id = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, s| s.expires > Instant::now());
            map.insert(
                id.clone(),
                Session {
                    key_name,
                    role,
                    expires: Instant::now() + TTL,
                },
            );
        }
        id
    }
    fn remove(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }
}

/// The session id from the request's cookies.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    key: String,
}

pub async fn login(
    State(s): State<AppState>,
    headers: HeaderMap,
    Body(b): Body<LoginBody>,
) -> ApiResult<Response> {
    if !headers.contains_key(CSRF_HEADER) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            format!("missing {CSRF_HEADER} header"),
        ));
    }
    let Some((key, role)) = keys::authenticate(&s.engine.store, b.key.trim()).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown or revoked API key",
        ));
    };
    let id = s.sessions.create(key.name.clone(), role);
    // Behind a TLS-terminating proxy the cookie must never travel over plain http.
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"name": key.name, "role": role})),
    )
        .into_response())
}

pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_id(&headers) {
        s.sessions.remove(&id);
    }
    let cookie = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response()
}

pub async fn me(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let session = session_id(&headers).and_then(|id| s.sessions.get(&id));
    match session {
        Some(sess) => Ok(Json(json!({"name": sess.key_name, "role": sess.role})).into_response()),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "not signed in",
        )),
    }
}

pub async fn index() -> Response {
    Html(include_str!("console/index.html")).into_response()
}

pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console/app.js"),
    )
        .into_response()
}

pub async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("console/app.css"),
    )
        .into_response()
}
