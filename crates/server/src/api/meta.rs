//! The service itself: health, readiness, metrics, the OpenAPI document, unknown routes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// Liveness: cheap, open, no writes. Says whether the database answers a read; what is
/// behind it (connections, their Lumos URLs, the backend) only to a caller with an API key.
pub async fn healthz(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    // Who asks decides what is read: a probe without credentials costs one round trip.
    let known = matches!(crate::auth::caller(&s, &headers, "GET").await, Ok(Some(_)));
    if !known {
        let ok = s.engine.database_answers().await.is_ok();
        return (
            if ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            },
            Json(json!({"status": if ok { "ok" } else { "unavailable" }})),
        )
            .into_response();
    }
    let h = s.engine.health().await;
    let connections: Vec<Value> = h
        .connections
        .iter()
        .map(|c| json!({"name": c.name, "base_url": c.base_url, "last_check_status": c.last_check_status, "last_check_at": c.last_check_at}))
        .collect();
    let ok = h.database.is_ok();
    // A connection's last check can be old; what this process last heard from Lumos is not.
    let seen = s.metrics.lumos_seen();
    let age = seen
        .last_answer_at
        .map(|t| crate::metrics::age_secs(t) as i64);
    let body = json!({
        "lumos": {
            "last_answer_at": seen.last_answer_at,
            "last_answer_age_seconds": age,
            "last_failure_at": seen.last_failure_at,
            "last_failure": seen.last_failure,
        },
        "status": if ok { "ok" } else { "unavailable" },
        "database": {"backend": h.backend, "status": match &h.database { Ok(()) => "ok".to_owned(), Err(e) => e.clone() }},
        "connections": connections,
        "active_runs": s.engine.active_runs(),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Readiness: the database takes a write (a committed transaction that changes nothing).
/// A read-only mount, a full disk or a broken table answer 503 with the reason.
pub async fn readyz(State(s): State<AppState>) -> Response {
    let backend = s.engine.backend();
    match s.engine.ready().await {
        Ok(()) => Json(json!({"status": "ready", "database": backend})).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "database": backend, "reason": reason})),
        )
            .into_response(),
    }
}

pub async fn metrics(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(want) = &s.metrics_token {
        let given = crate::auth::bearer(&headers).map(|t| crate::auth::digest(&t));
        if given.as_ref() != Some(want) {
            let mut answer = crate::auth::unauthorized(
                "/metrics needs the bearer token set in LUMOSFLOW_METRICS_TOKEN",
            );
            answer.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
            return answer;
        }
    }
    s.metrics.mcp_listeners(s.mcp_watch.listeners());
    s.metrics.lumos_age();
    match s.engine.queue_stats().await {
        Ok(q) => s.metrics.queue(q, s.engine.active_runs()),
        Err(e) => tracing::warn!(error = %e, "cannot read the run queue for metrics"),
    }
    match s.engine.operator_stats().await {
        Ok(o) => s.metrics.operator(&o),
        Err(e) => tracing::warn!(error = %e, "cannot read approvals and deliveries for metrics"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

pub async fn openapi(State(s): State<AppState>) -> Response {
    Json(crate::routes::openapi(&s.docs)).into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route (see /api/v1/openapi.json)")
}
