//! The web console: static files embedded in the binary, and cookie sessions.
//!
//! Signing in (with SSO, see `sso`, or) exchanging an API key gives a session cookie (HttpOnly, SameSite=Strict) whose
//! session lives in the database, ends with its key, and follows people across replicas and
//! restarts. Requests authenticated by the cookie that change anything must also carry
//! `x-lumosflow-csrf`, a header other sites cannot send without a CORS preflight this server
//! never grants.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::api::Body;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use engine::access::SESSION_LIFETIME;

pub const COOKIE: &str = "lf_session";
pub const CSRF_HEADER: &str = "x-lumosflow-csrf";

/// The session id from the request's cookies.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    axum_extra::extract::CookieJar::from_headers(headers)
        .get(COOKIE)
        .map(|c| c.value().to_owned())
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// An API key (`lfk_…`).
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
    if !s.key_signin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "key_signin_off",
            "signing in with an API key is turned off here (LUMOSFLOW_CONSOLE_KEY_SIGNIN=false); use single sign-on",
        ));
    }
    let Some((secret, actor)) = s.engine.sign_in_with_key(b.key.trim()).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown or revoked API key",
        ));
    };
    let cookie = session_cookie(&secret, crate::cookie::cookie_secure(&s, &headers));
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(Me::of(&s, &actor).await?),
    )
        .into_response())
}

/// The session cookie: HttpOnly, SameSite=Strict, as long as a session may live.
pub fn session_cookie(secret: &str, secure: &str) -> String {
    format!(
        "{COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_LIFETIME.as_secs()
    )
}

/// Who is signed in, as the console shows them.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Me {
    /// A person's name (or email), or a service key's name.
    name: String,
    email: Option<String>,
    #[schemars(with = "String")]
    role: engine::Role,
    /// `person` or `key`.
    kind: &'static str,
    /// May read the audit trail (admins, and people with the auditor grant).
    audit: bool,
}

impl Me {
    async fn of(s: &AppState, a: &engine::Actor) -> ApiResult<Me> {
        let audit = s.engine.may_read_audit(a).await?;
        Ok(match &a.person {
            Some(p) => Me {
                name: p.name.clone().unwrap_or_else(|| p.email.clone()),
                email: Some(p.email.clone()),
                role: a.role,
                kind: "person",
                audit,
            },
            None => Me {
                name: a.label.trim_start_matches("key:").to_owned(),
                email: None,
                role: a.role,
                kind: "key",
                audit,
            },
        })
    }
}

/// How people may sign in here: for the console's sign-in screen.
#[derive(Serialize, schemars::JsonSchema)]
pub struct SignInOptions {
    /// "Sign in with {sso}" when single sign-on is set up.
    sso: Option<String>,
    key: bool,
}

pub async fn sign_in_options(State(s): State<AppState>) -> Json<SignInOptions> {
    Json(SignInOptions {
        sso: s.sso.as_ref().map(|o| o.config.name.clone()),
        key: s.key_signin,
    })
}

pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_id(&headers)
        && let Err(e) = s.engine.sign_out(&id).await
    {
        return ApiError::from(e).into_response();
    }
    let cookie = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response()
}

pub async fn me(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let actor = match session_id(&headers) {
        Some(id) => s.engine.session(&id).await?,
        None => None,
    };
    match actor {
        Some(a) => Ok(Json(Me::of(&s, &a).await?).into_response()),
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

/// The console's files, embedded in the binary: one script per view (ES modules, no build
/// step), the shared helpers, the styles and the icon.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("console/app.js")),
    ("lib.js", JS, include_str!("console/lib.js")),
    ("results.js", JS, include_str!("console/results.js")),
    ("run-panel.js", JS, include_str!("console/run-panel.js")),
    (
        "approval-box.js",
        JS,
        include_str!("console/approval-box.js"),
    ),
    ("view-signin.js", JS, include_str!("console/view-signin.js")),
    (
        "view-workflows.js",
        JS,
        include_str!("console/view-workflows.js"),
    ),
    ("view-run.js", JS, include_str!("console/view-run.js")),
    ("view-runs.js", JS, include_str!("console/view-runs.js")),
    (
        "view-approvals.js",
        JS,
        include_str!("console/view-approvals.js"),
    ),
    (
        "view-connections.js",
        JS,
        include_str!("console/view-connections.js"),
    ),
    ("view-yaml.js", JS, include_str!("console/view-yaml.js")),
    ("view-admin.js", JS, include_str!("console/view-admin.js")),
    ("view-audit.js", JS, include_str!("console/view-audit.js")),
    ("lumos-tasks.js", JS, include_str!("console/lumos-tasks.js")),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("console/app.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("console/favicon.svg"),
    ),
];
const JS: &str = "text/javascript; charset=utf-8";

pub async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                // Files change with the binary; a reload after an upgrade must not mix versions.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("the console has no file '{file}'"),
        )
        .into_response(),
    }
}
