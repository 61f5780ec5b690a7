//! Every request passes here: the route's required role (from the route table) against the
//! caller — an API key (`Authorization: Bearer lfk_…`) or a console session (cookie plus the
//! CSRF header on anything that changes state). 401 without a valid key or session, 403
//! with too small a role. HEAD is checked as GET; a route missing from the table is refused,
//! never let through.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use engine::{Actor, Role};

use crate::error::ApiError;
use crate::routes::required_role;
use crate::sso::resource;
use crate::state::AppState;

/// The API key from `Authorization: Bearer …`.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim().to_owned())
}

/// The SHA-256 of a presented secret: compared digest to digest, so how long a comparison
/// takes says nothing of the secret.
pub fn digest(secret: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes()).into()
}

pub(crate) fn unauthorized(message: &str) -> Response {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response()
}

/// Who is calling: a key, or a console session (which needs the CSRF header to change
/// anything). `Err` is the answer to give instead.
pub(crate) async fn caller(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    method: &str,
) -> Result<Option<Actor>, Response> {
    if let Some(presented) = bearer(headers) {
        return state
            .engine
            .authenticate_key(&presented)
            .await
            .map_err(|e| ApiError::from(e).into_response());
    }
    let Some(id) = crate::console::session_id(headers) else {
        return Ok(None);
    };
    let actor = state
        .engine
        .session(&id)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    if actor.is_some()
        && !matches!(method, "GET" | "HEAD")
        && !headers.contains_key(crate::console::CSRF_HEADER)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            format!("missing {} header", crate::console::CSRF_HEADER),
        )
        .into_response());
    }
    Ok(actor)
}

pub async fn require_role(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let method = match req.method().as_str() {
        "HEAD" => "GET".to_owned(),
        m => m.to_owned(),
    };
    let Some(needed) = required_role(&state.docs, &method, &path) else {
        // Every route is in the table; anything else is refused rather than let through.
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not served at {path}"),
        )
        .into_response();
    };
    let Some(needed) = needed else {
        return next.run(req).await;
    };
    let headers = req.headers().clone();
    let actor = match caller(&state, &headers, &method).await {
        Ok(Some(a)) => a,
        Ok(None) if bearer(&headers).is_some() => {
            return unauthorized("unknown or revoked API key");
        }
        Ok(None) => {
            return unauthorized(
                "missing API key: send Authorization: Bearer lfk_… (or sign in to the console)",
            );
        }
        Err(resp) => return resp,
    };
    if actor.role < needed {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this needs the {needed} role; {} has {}",
                actor.label, actor.role
            ),
        )
        .into_response();
    }
    req.extensions_mut().insert(actor);
    next.run(req).await
}

/// `/mcp`: an API key, or with single sign-on an access token from the identity provider
/// for this server (the MCP authorization flow), of someone with at least the agent role;
/// runs are recorded as started by them. A 401 carries `WWW-Authenticate`, which points MCP
/// clients to the protected resource metadata when there is an identity provider.
pub async fn mcp_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let presented = bearer(req.headers()).unwrap_or_default();
    let sso = state.sso.as_deref();
    let found = match sso {
        Some(sso) if !presented.starts_with("lfk_") && resource::looks_like_jwt(&presented) => {
            match resource::authenticate(&state, sso, &presented).await {
                Ok(actor) => Some(actor),
                Err(e) => {
                    // Why, and never the token.
                    tracing::info!(reason = %e, "MCP access token refused");
                    return resource::refuse(Some(sso), &e);
                }
            }
        }
        _ => match state.engine.authenticate_key(&presented).await {
            Ok(found) => found,
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    match found {
        Some(actor) if actor.role >= Role::Agent => {
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        Some(actor) => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "MCP needs the agent role; {} has {}",
                actor.label, actor.role
            ),
        )
        .into_response(),
        None => {
            let (message, invalid) = match (presented.is_empty(), sso) {
                (_, None) => (
                    "missing or unknown API key: send Authorization: Bearer lfk_…".to_owned(),
                    None,
                ),
                (true, Some(sso)) => (
                    format!(
                        "missing credentials: send Authorization: Bearer with an API key (lfk_…) or an access token from {} for {}",
                        sso.config.issuer,
                        sso.config.mcp_resource()
                    ),
                    None,
                ),
                (false, Some(_)) => (
                    "unknown or revoked API key, and not an access token".to_owned(),
                    Some("unknown or revoked API key, and not an access token"),
                ),
            };
            let mut r = unauthorized(&message);
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, resource::challenge(sso, invalid));
            r
        }
    }
}
