//! The Lumos operation catalog and direct calls to any operation.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use engine::Actor;
use lumos_api::{CallOptions, Catalog};

use super::Body;

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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallBody {
    /// An operation id or alias of the catalog.
    operation: String,
    /// Path and query parameters.
    #[serde(default)]
    params: Map<String, Value>,
    /// The JSON body, for operations that take one.
    #[serde(default)]
    body: Option<Value>,
    /// The Lumos connection to use (default `default`).
    #[serde(default)]
    connection: Option<String>,
}

/// What Lumos answered.
#[derive(Serialize, JsonSchema)]
pub struct CallAnswer {
    pub status: u16,
    pub body: Value,
}

pub async fn call(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Body(b): Body<CallBody>,
) -> ApiResult<Response> {
    let started = std::time::Instant::now();
    let result = s
        .engine
        .call_lumos(
            &c,
            engine::direct_call::DirectCall {
                connection: b.connection.as_deref().unwrap_or("default"),
                operation: &b.operation,
                params: &b.params,
                body: b.body.as_ref(),
                options: CallOptions::default(),
                origin: engine::Origin::Api,
            },
        )
        .await?;
    let op_name = Catalog::lumos()
        .get(&b.operation)
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
    match result {
        Ok(r) => Ok(Json(CallAnswer {
            status: r.status,
            body: r.body,
        })
        .into_response()),
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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// `apps`, `appstore` (apps people may request) or `users`.
    kind: engine::lookup::LookupKind,
    /// Part of a name (or, for people, of an email).
    q: String,
}

/// Apps or people whose name holds the text: the console's pickers.
pub async fn lookup(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    axum::extract::Query(q): axum::extract::Query<LookupQuery>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.lookup(q.kind, &q.q, &c).await?).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DurationsQuery {
    /// The app: its id, or its AppStore name.
    app: String,
    /// Permissions chosen (labels or ids, comma-separated): their own lengths apply.
    permissions: Option<String>,
}

/// The access lengths a request for an app (and permissions) may ask for: the console's
/// duration field offers them.
pub async fn durations(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    axum::extract::Query(q): axum::extract::Query<DurationsQuery>,
) -> ApiResult<Response> {
    let permissions: Vec<String> = q
        .permissions
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::to_owned)
        .collect();
    Ok(Json(s.engine.durations(&q.app, &permissions, &c).await?).into_response())
}
