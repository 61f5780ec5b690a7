//! Request and response guards shared by every route: a path with a NUL character is
//! refused before it reaches any handler (PostgreSQL cannot even look it up), an error
//! answer that is not JSON — a body-size limit, an extractor's plain-text rejection — is
//! rewritten into the API's documented `{"error": {"code", "message"}}` shape, and every
//! answer carries the security headers a browser needs (the console is served from here).

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Largest plain-text error body carried over into the JSON message.
const MAX_ERROR_TEXT: usize = 4096;

pub async fn no_nul_in_path(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.contains('\0') || path.to_ascii_lowercase().contains("%00") {
        return ApiError::bad_request("the request path contains a NUL character").into_response();
    }
    next.run(req).await
}

/// MCP over HTTP: a request naming a session that ended or never began is 404, as the MCP
/// specification says (the client then starts a new session), DELETE included.
pub async fn mcp_sessions(
    axum::extract::State(sessions): axum::extract::State<mcp::HttpSessions>,
    req: Request,
    next: Next,
) -> Response {
    let named = req
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(id) = named
        && !mcp::session_open(&sessions, &id).await
    {
        return ApiError::not_found(format!(
            "no open MCP session '{}': it ended or never began; initialize a new one",
            id.chars().take(64).collect::<String>()
        ))
        .into_response();
    }
    let ending = req.method() == axum::http::Method::DELETE;
    let mut answer = next.run(req).await;
    // A session ended on request answers 204 No Content, as MCP clients expect (the
    // transport says 202, which the official SDK reports as a failed termination).
    if ending && answer.status() == StatusCode::ACCEPTED {
        *answer.status_mut() = StatusCode::NO_CONTENT;
    }
    answer
}

/// Largest request body read: past it, 413 (routes take up to 2 MiB; MCP messages less).
const BODY_MAX: usize = 4 << 20;

/// The whole request body must arrive within `deadline`, however it trickles in (a client
/// sending a byte every few seconds holds a connection for `deadline`, not forever). The
/// body is read here, then handed on.
pub async fn whole_body_within(
    axum::extract::State(deadline): axum::extract::State<std::time::Duration>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(deadline, to_bytes(body, BODY_MAX)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Ok(Err(e)) if is_too_large(&e) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than {} MiB", BODY_MAX >> 20),
        )
        .into_response(),
        Ok(Err(e)) => ApiError::bad_request(format!("the request body could not be read: {e}"))
            .into_response(),
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!(
                "the request body did not arrive within {} s",
                deadline.as_secs()
            ),
        )
        .into_response(),
    }
}

/// Whether reading a body stopped at the size limit.
fn is_too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.to_string().contains("length limit exceeded") {
            return true;
        }
        source = s.source();
    }
    false
}

/// Paths anyone may call without signing in whose work is more than a page: hooks and
/// sign-in. At most so many at once; more are answered 503 at once rather than queued.
pub async fn unauthenticated_cap(
    axum::extract::State(slots): axum::extract::State<std::sync::Arc<tokio::sync::Semaphore>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let open = path.starts_with("/hooks/")
        || path.starts_with("/slack/")
        || path.starts_with("/console/login")
        || path.starts_with("/console/oidc/");
    if !open {
        return next.run(req).await;
    }
    let Ok(_permit) = slots.try_acquire() else {
        return busy_answer("too many requests without credentials at once; try again shortly");
    };
    next.run(req).await
}

/// What a connection on the reserve lane gets for anything but a health check.
pub async fn busy() -> Response {
    busy_answer(
        "the server is at its connection limit; only /healthz and /readyz answer on this connection",
    )
}

/// 503 `busy`, to come back in 5 seconds.
fn busy_answer(message: &str) -> Response {
    let mut r = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message).into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    r
}

/// axum's words for a query string serde could not read ("Failed to deserialize query
/// string: limit: unknown field `limit`, expected `format`"), said as the API says things:
/// the parameter by name, and what the endpoint takes. `None`: not such a rejection.
fn query_problem(text: &str) -> Option<String> {
    let rest = text.strip_prefix("Failed to deserialize query string: ")?;
    if let Some((_, after)) = rest.split_once("unknown field `") {
        let (name, expected) = after.split_once('`')?;
        // "expected `a`" / "expected one of `a`, `b`" / "there are no fields"
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let takes = if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        };
        return Some(format!(
            "unknown query parameter '{name}' (this endpoint takes: {takes})"
        ));
    }
    if let Some(after) = rest.strip_prefix("missing field `") {
        let name = after.split('`').next()?;
        return Some(format!("missing query parameter '{name}'"));
    }
    let (name, why) = rest.split_once(": ").filter(|(n, _)| !n.contains(' '))?;
    Some(format!("invalid query parameter '{name}': {why}"))
}

pub async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    // JSON errors are ours already; HTML pages are written for people (a sign-in that
    // could not finish) and stay pages.
    let is_ours = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_ours {
        return resp;
    }
    let retry_after = resp.headers().get(header::RETRY_AFTER).cloned();
    let text = to_bytes(resp.into_body(), MAX_ERROR_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::CONFLICT => "conflict",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned()
    } else {
        query_problem(&text).unwrap_or(text)
    };
    let mut out = ApiError::new(status, code, message).into_response();
    if let Some(v) = retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, v);
    }
    out
}

/// The console's policy: scripts, styles and data only from this server, never in a frame.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    resp
}
