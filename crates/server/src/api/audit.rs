//! The audit trail.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Deserialize, JsonSchema)]
pub struct AuditQuery {
    /// Only this action, e.g. `lumos.call` or `run.approve`.
    action: Option<String>,
    /// At most this many (default 100).
    limit: Option<i64>,
}

pub async fn audit_events(
    State(s): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    let events = s
        .engine
        .audit_events(q.action.as_deref(), q.limit.unwrap_or(100))
        .await?;
    Ok(Json(events).into_response())
}

/// The hash chain checked now: how many events, the head, the first that does not fit.
pub async fn verify_audit(
    State(s): State<AppState>,
    axum::Extension(c): axum::Extension<engine::Actor>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.verify_audit(&c).await?).into_response())
}
