//! Runs: start (queued, or waited for), list, show, approve, deny, cancel.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use engine::{Actor, ApproveThen, RunRequest, RunStatus};

use super::audit;

#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    /// The workflow's inputs, by name.
    #[serde(default)]
    inputs: Map<String, Value>,
    /// The Lumos connection to use (default `default`).
    #[serde(default)]
    connection: Option<String>,
    /// Make the reads, only describe the changes.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Deserialize, JsonSchema)]
pub struct WaitQuery {
    /// `true` to answer when the run is over (or held for approval), with its output.
    #[serde(default)]
    wait: bool,
}

/// A run accepted: queued, or held for approval.
#[derive(Serialize, JsonSchema)]
pub struct RunStarted {
    pub id: String,
    pub workflow_id: String,
    pub status: RunStatus,
}

pub async fn run_detail(s: &AppState, id: &str) -> ApiResult<Value> {
    let d = s.engine.run_detail(id).await?;
    serde_json::to_value(&d).map_err(ApiError::internal)
}

/// Queue a run as `who`; with `wait`, answer when it is over (or held for approval).
pub async fn start_run(
    s: &AppState,
    id: &str,
    body: RunBody,
    who: Actor,
    wait: bool,
) -> ApiResult<(StatusCode, Value)> {
    let req = RunRequest {
        connection: body.connection,
        actor: who.clone(),
        dry_run: body.dry_run,
        ..RunRequest::default()
    };
    let submitted = s.engine.submit(id, &body.inputs, req).await?;
    if wait && submitted.status == RunStatus::Queued {
        return finished_run(s, &submitted.run_id, &who.label).await;
    }
    Ok((
        StatusCode::ACCEPTED,
        serde_json::to_value(RunStarted {
            id: submitted.run_id,
            workflow_id: id.to_owned(),
            status: submitted.status,
        })
        .map_err(ApiError::internal)?,
    ))
}

/// Wait for a run to end and answer with it and its output.
async fn finished_run(s: &AppState, run_id: &str, who: &str) -> ApiResult<(StatusCode, Value)> {
    let outcome = s.engine.wait(run_id, None, who).await?;
    let mut v = run_detail(s, &outcome.run_id).await?;
    // The output as the run produced it (the stored copy may be truncated).
    if outcome.output.is_some() {
        v["output"] = outcome.output.unwrap_or(Value::Null);
    }
    let status = if outcome.status.is_final() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, v))
}

pub async fn create_run(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    // The body is optional: no body means no inputs.
    let body: RunBody = if raw.iter().all(u8::is_ascii_whitespace) {
        RunBody::default()
    } else {
        serde_json::from_slice(&raw)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let (status, v) = start_run(&s, &id, body, c, q.wait).await?;
    Ok((status, Json(v)).into_response())
}

#[derive(Deserialize, JsonSchema)]
pub struct RunsQuery {
    /// Only runs of this workflow.
    workflow: Option<String>,
    /// Only runs in this state.
    status: Option<RunStatus>,
    /// Only runs started by this, e.g. `key:desk-bot`.
    started_by: Option<String>,
    /// At most this many (default 50, at most 500).
    limit: Option<i64>,
}

pub async fn list_runs(
    State(s): State<AppState>,
    Query(q): Query<RunsQuery>,
) -> ApiResult<Response> {
    let runs = s
        .engine
        .runs(&engine::RunFilter {
            workflow: q.workflow.as_deref(),
            status: q.status,
            started_by: q.started_by.as_deref(),
            limit: q.limit.unwrap_or(50).clamp(1, 500),
        })
        .await?;
    Ok(Json(runs).into_response())
}

pub async fn get_run(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(run_detail(&s, &id).await?).into_response())
}

pub async fn approve_run(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> ApiResult<Response> {
    s.engine.approve(&id, &c, ApproveThen::Queue).await?;
    if q.wait {
        let (status, v) = finished_run(&s, &id, &c.label).await?;
        return Ok((status, Json(v)).into_response());
    }
    Ok((StatusCode::ACCEPTED, Json(run_detail(&s, &id).await?)).into_response())
}

pub async fn deny_run(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let run = s.engine.deny(&id, &c).await?;
    Ok(Json(run).into_response())
}

pub async fn cancel_run(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let run = s.engine.cancel(&id, &c.label).await?;
    audit(&s, &c, "run.cancel", &id, None).await;
    Ok(Json(run).into_response())
}
