//! Every `/api/v1` request passes here: the route's required role (from the route table)
//! against the presented API key. 401 without a valid key, 403 with too small a role.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::keys;
use crate::routes::required_role;
use crate::state::{AppState, Caller};

/// The API key from `Authorization: Bearer …`.
fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim().to_owned())
}

pub async fn require_role(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let method = req.method().as_str().to_owned();
    let Some(needed) = required_role(&state.docs, &method, &path) else {
        return next.run(req).await;
    };
    let Some(needed) = needed else {
        return next.run(req).await;
    };
    let presented = bearer(req.headers());
    let Some(presented) = presented else {
        // The console: a session cookie, plus the CSRF header on anything that changes state.
        let session =
            crate::console::session_id(req.headers()).and_then(|id| state.sessions.get(&id));
        let Some(session) = session else {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing API key: send Authorization: Bearer lfk_…",
            )
            .into_response();
        };
        if !matches!(method.as_str(), "GET" | "HEAD")
            && !req.headers().contains_key(crate::console::CSRF_HEADER)
        {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "missing x-lumosflow-csrf header",
            )
            .into_response();
        }
        if session.role < needed {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this needs the {needed} role; you have {}", session.role),
            )
            .into_response();
        }
        req.extensions_mut().insert(Caller {
            key_name: session.key_name,
            role: session.role,
        });
        return next.run(req).await;
    };
    let found = match keys::authenticate(&state.engine.store, &presented).await {
        Ok(f) => f,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let Some((key, role)) = found else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown or revoked API key",
        )
        .into_response();
    };
    if role < needed {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this needs the {needed} role; key '{}' has {role}",
                key.name
            ),
        )
        .into_response();
    }
    // Recording every use would be a write per request; once a minute is enough.
    if key
        .last_used_at
        .is_none_or(|t| chrono::Utc::now() - t > chrono::Duration::seconds(60))
    {
        let _ = state.engine.store.touch_api_key(&key.id).await;
    }
    req.extensions_mut().insert(Caller {
        key_name: key.name,
        role,
    });
    next.run(req).await
}

/// `/mcp`: an API key with at least the agent role; runs are recorded as started by it.
pub async fn mcp_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let presented = bearer(req.headers()).unwrap_or_default();
    match keys::authenticate(&state.engine.store, &presented).await {
        Ok(Some((key, role))) if role >= crate::keys::Role::Agent => {
            req.extensions_mut()
                .insert(mcp::StartedBy(format!("key:{}", key.name)));
            next.run(req).await
        }
        Ok(Some((key, role))) => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("MCP needs the agent role; key '{}' has {role}", key.name),
        )
        .into_response(),
        Ok(None) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or unknown API key: send Authorization: Bearer lfk_…",
        )
        .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}
