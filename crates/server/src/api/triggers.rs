//! Triggers: inbound webhooks that start runs. `/hooks/{id}` is open to the world and
//! checks the caller's proof itself (a signature or a shared secret); managing triggers
//! under `/api/v1/triggers` is for admins.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use engine::Actor;
use engine::triggers::{Fired, HookError, HookOutcome, TriggerAuth};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::Body;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    name: String,
    /// The installed workflow it starts.
    workflow: String,
    /// `hmac` (default), `slack` or `header`.
    #[serde(default)]
    auth: Option<String>,
    /// The payload mapping (YAML): `inputs`, `requested_for`, `dedupe_key` as templates over
    /// `payload` and `headers`.
    #[serde(default)]
    map: Option<String>,
    /// For `slack`: the Slack app's signing secret (required). Others: lumosflow makes one
    /// unless given.
    #[serde(default)]
    secret: Option<String>,
}

pub async fn add_trigger(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Body(b): Body<TriggerBody>,
) -> ApiResult<Response> {
    let auth: TriggerAuth = b
        .auth
        .as_deref()
        .unwrap_or("hmac")
        .parse()
        .map_err(ApiError::bad_request)?;
    let created = s
        .engine
        .add_trigger(
            &b.name,
            &b.workflow,
            auth,
            b.map.as_deref(),
            b.secret.as_deref(),
            &by,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub async fn list_triggers(State(s): State<AppState>) -> ApiResult<Response> {
    Ok(Json(s.engine.triggers().await?).into_response())
}

pub async fn get_trigger(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.trigger(&name).await?).into_response())
}

pub async fn rotate_trigger(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.rotate_trigger_secret(&name, &by).await?).into_response())
}

pub async fn disable_trigger(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.set_trigger_enabled(&name, false, &by).await?).into_response())
}

pub async fn enable_trigger(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.set_trigger_enabled(&name, true, &by).await?).into_response())
}

pub async fn remove_trigger(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    s.engine.remove_trigger(&name, &by).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, JsonSchema)]
pub struct HookQuery {
    /// Wait up to this long (`30s`, at most what the trigger's mapping allows) and answer
    /// with the run's result if it ends in time.
    #[serde(default)]
    wait: Option<String>,
}

/// `POST /hooks/{id}`: a ticketing tool's rule, a Slack slash command.
pub async fn hook(
    State(s): State<AppState>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<HookQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let map = lower_headers(&headers);
    let wait = match q
        .wait
        .as_deref()
        .map(engine::config::parse_duration)
        .transpose()
    {
        Ok(w) => w,
        Err(e) => return ApiError::bad_request(format!("wait: {e}")).into_response(),
    };
    match s.engine.fire_trigger(&id, &map, &body, wait).await {
        // The modal is open: Slack wants an empty answer.
        Ok(HookOutcome::ModalOpened) => StatusCode::OK.into_response(),
        Ok(HookOutcome::Run(f)) if f.auth == "slack" => slack_answer(&s, f),
        Ok(HookOutcome::Run(f)) => {
            let status = if f.duplicate || f.status.is_final() {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            (status, Json(f)).into_response()
        }
        Err(HookError::NotFound) => ApiError::not_found("no such trigger").into_response(),
        Err(HookError::Unauthorized(m)) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m).into_response()
        }
        Err(HookError::Unprocessable(m)) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", m).into_response()
        }
        Err(HookError::Engine(e)) => ApiError::from(e).into_response(),
    }
}

/// A request's headers, names lower-cased, values that are text.
pub(crate) fn lower_headers(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect()
}

/// Slack wants an answer within 3 s: say the run started (how it ended is the trigger's
/// reply, posted to the command's `response_url` when it ends).
fn slack_answer(s: &AppState, f: Fired) -> Response {
    let link = s
        .engine
        .config()
        .public_url
        .as_ref()
        .map(|u| format!(" <{}/#/runs/{}|open>", u.trim_end_matches('/'), f.run_id))
        .unwrap_or_default();
    let text = if f.duplicate {
        format!(
            "Already started: `{}` run {}{link}",
            f.workflow_id, f.run_id
        )
    } else {
        format!("Started `{}` — run {}{link}", f.workflow_id, f.run_id)
    };
    Json(json!({"response_type": "ephemeral", "text": text})).into_response()
}
