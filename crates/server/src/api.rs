//! The `/api/v1` handlers.

use axum::Extension;
use axum::Json;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::{Actor, ApproveThen, RunRequest, RunStatus};
use lumos_api::{CallOptions, Catalog};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A JSON body whose problems become 400s in the API's error shape.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(ApiError::bad_request(format!(
                "invalid JSON body: {}",
                rejection.body_text()
            ))),
        }
    }
}

async fn audit(
    state: &AppState,
    caller: &Actor,
    action: &str,
    target: &str,
    details: Option<Value>,
) {
    state.engine.audit(caller, action, target, details).await;
}

// ---------------------------------------------------------------- connections

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectBody {
    #[serde(default = "default_name")]
    name: String,
    #[serde(default = "default_base")]
    base_url: String,
    token: String,
}

fn default_name() -> String {
    "default".into()
}

fn default_base() -> String {
    lumos_api::DEFAULT_BASE_URL.into()
}

pub async fn create_connection(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Body(b): Body<ConnectBody>,
) -> ApiResult<Response> {
    let conn = s.engine.connect(&b.name, &b.base_url, &b.token, &c).await?;
    Ok((StatusCode::CREATED, Json(conn)).into_response())
}

pub async fn list_connections(State(s): State<AppState>) -> ApiResult<Response> {
    Ok(Json(s.engine.connections().await?).into_response())
}

pub async fn check_connection(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.check_connection(&name).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    roles: Option<Vec<engine::Role>>,
}

pub async fn connection_roles(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(name): Path<String>,
    Body(b): Body<RolesBody>,
) -> ApiResult<Response> {
    let conn = s
        .engine
        .set_connection_roles(&name, b.roles.as_deref(), &c)
        .await?;
    let roles = engine::connections::allowed_roles(&conn);
    Ok(Json(json!({"connection": conn, "may_run": roles})).into_response())
}

pub async fn delete_connection(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    s.engine.remove_connection(&name, &c).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- workflows

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    installable: Option<bool>,
}

pub async fn list_workflows(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let all = s.engine.list().await?;
    let shown: Vec<_> = all
        .into_iter()
        .filter(|l| {
            if q.installable == Some(true) {
                l.installable
            } else {
                l.installed
            }
        })
        .collect();
    Ok(Json(shown).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallBody {
    #[serde(default)]
    bundles: Vec<String>,
    #[serde(default)]
    workflows: Vec<String>,
    #[serde(default)]
    all: bool,
    #[serde(default)]
    force: bool,
}

pub async fn install(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Body(b): Body<InstallBody>,
) -> ApiResult<Response> {
    let targets: Vec<String> = b.bundles.into_iter().chain(b.workflows).collect();
    let out = s.engine.install(&targets, b.all, b.force, &c).await?;
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YamlBody {
    yaml: String,
}

pub async fn create_workflow(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Body(b): Body<YamlBody>,
) -> ApiResult<Response> {
    let (id, version) = s.engine.create(&b.yaml, &c).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "version": version})),
    )
        .into_response())
}

pub async fn validate_workflow(
    State(s): State<AppState>,
    Body(b): Body<YamlBody>,
) -> ApiResult<Response> {
    let wf = s
        .engine
        .validate(&b.yaml)
        .map_err(engine::EngineError::Invalid)?;
    Ok(
        Json(json!({"valid": true, "id": wf.id(), "name": wf.name(), "steps": wf.def.steps.len()}))
            .into_response(),
    )
}

#[derive(Deserialize)]
pub struct VersionQuery {
    version: Option<i32>,
}

/// A workflow with its YAML, inputs (for forms and tools) and version history.
pub async fn workflow_json(s: &AppState, id: &str, version: Option<i32>) -> ApiResult<Value> {
    let (row, v) = s.engine.show(id, version).await?;
    let versions = s.engine.workflow_versions(id).await?;
    let (wf, _) = s.engine.load(id, Some(v.version)).await?;
    let inputs: Vec<Value> = wf
        .def
        .inputs
        .iter()
        .map(|(name, spec)| {
            let mut v = serde_json::to_value(&spec.value).unwrap_or_default();
            v["name"] = json!(name);
            if spec.value.options_from.is_some() {
                v["options"] = json!(engine::inputs::options(&spec.value));
            }
            v
        })
        .collect();
    Ok(json!({
        "id": row.id, "name": row.name, "description": wf.def.description, "origin": row.origin,
        "bundle": engine::bundles::bundle_of(&row.id).map(|b| json!({"id": b.id, "name": b.name})),
        "version": v.version, "current_version": row.current_version, "yaml": v.yaml, "inputs": inputs,
        "steps": wf.def.steps.iter().map(|st| json!({"id": st.id.value, "call": st.call.as_ref().map(|c| c.value.clone())})).collect::<Vec<_>>(),
        "versions": versions.iter().map(|v| json!({"version": v.version, "created_at": v.created_at, "created_by": v.created_by, "hash": v.hash})).collect::<Vec<_>>(),
    }))
}

pub async fn get_workflow(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Response> {
    Ok(Json(workflow_json(&s, &id, q.version).await?).into_response())
}

pub async fn edit_workflow(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
    Body(b): Body<YamlBody>,
) -> ApiResult<Response> {
    let version = s.engine.edit(&id, &b.yaml, &c).await?;
    Ok(Json(json!({"id": id, "version": version})).into_response())
}

pub async fn delete_workflow(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    s.engine.uninstall(&id, &c).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- runs

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    #[serde(default)]
    inputs: Map<String, Value>,
    #[serde(default)]
    connection: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

#[derive(Deserialize)]
pub struct WaitQuery {
    #[serde(default)]
    wait: bool,
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
        json!({"id": submitted.run_id, "workflow_id": id, "status": submitted.status}),
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

#[derive(Deserialize)]
pub struct RunsQuery {
    workflow: Option<String>,
    status: Option<RunStatus>,
    started_by: Option<String>,
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

#[derive(Deserialize)]
pub struct AuditQuery {
    action: Option<String>,
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

// ---------------------------------------------------------------- direct Lumos calls

pub async fn operations() -> Response {
    let ops: Vec<Value> = Catalog::lumos()
        .operations()
        .iter()
        .map(|op| json!({"operation_id": op.operation_id, "alias": op.alias, "name": op.name(), "method": op.method,
                          "path": op.path, "tag": op.tag, "pagination": op.pagination.as_str(),
                          "params": op.params, "body": op.body}))
        .collect();
    Json(ops).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallBody {
    operation: String,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    connection: Option<String>,
}

pub async fn call(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Body(b): Body<CallBody>,
) -> ApiResult<Response> {
    let client = s
        .engine
        .client(b.connection.as_deref().unwrap_or("default"))
        .await?;
    let started = std::time::Instant::now();
    let result = client
        .call_with(
            &b.operation,
            &b.params,
            b.body.as_ref(),
            CallOptions::default(),
        )
        .await;
    let op_name = client
        .operation(&b.operation)
        .map(|o| o.name().to_owned())
        .unwrap_or(b.operation.clone());
    s.metrics.lumos_call(
        &op_name,
        result
            .as_ref()
            .map(|r| r.status)
            .ok()
            .or_else(|| result.as_ref().err().and_then(lumos_api::Error::status)),
        started.elapsed().as_secs_f64(),
    );
    let is_write = client
        .operation(&b.operation)
        .is_ok_and(lumos_api::Operation::is_mutating);
    if is_write {
        audit(
            &s,
            &c,
            "lumos.call",
            &op_name,
            Some(json!({"params": b.params})),
        )
        .await;
    }
    match result {
        Ok(r) => Ok(Json(json!({"status": r.status, "body": r.body})).into_response()),
        Err(e) if e.is_invalid_input() => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_call",
            e.to_string(),
        )),
        Err(e) => Err(
            ApiError::new(StatusCode::BAD_GATEWAY, "lumos_error", e.to_string())
                .details(json!({"lumos_status": e.status()})),
        ),
    }
}

// ---------------------------------------------------------------- operations

/// Liveness: cheap, open, no writes. Says whether the database answers a read.
/// Liveness: cheap, open, no writes. Says whether the database answers a read.
pub async fn healthz(State(s): State<AppState>) -> Response {
    let h = s.engine.health().await;
    let connections: Vec<Value> = h
        .connections
        .iter()
        .map(|c| json!({"name": c.name, "base_url": c.base_url, "last_check_status": c.last_check_status, "last_check_at": c.last_check_at}))
        .collect();
    let ok = h.database.is_ok();
    let body = json!({
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

pub async fn metrics(State(s): State<AppState>) -> Response {
    s.metrics.mcp_listeners(s.mcp_watch.listeners());
    match s.engine.queue_stats().await {
        Ok(q) => s.metrics.queue(q, s.engine.active_runs()),
        Err(e) => tracing::warn!(error = %e, "cannot read the run queue for metrics"),
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
