//! People and console sessions, for admins: list, change a role, deactivate (which ends
//! their sessions and revokes their keys), list and end sessions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use engine::{Actor, Role};
use schemars::JsonSchema;
use serde::Deserialize;

use super::Body;
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn list_people(State(s): State<AppState>) -> ApiResult<Response> {
    Ok(Json(s.engine.people().await?).into_response())
}

pub async fn get_person(
    State(s): State<AppState>,
    Path(email): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.person(&email).await?).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRoleBody {
    pub role: Role,
}

pub async fn set_person_role(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Path(email): Path<String>,
    Body(b): Body<PersonRoleBody>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.set_person_role(&email, b.role, &by).await?).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonAuditorBody {
    pub auditor: bool,
}

pub async fn set_person_auditor(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Path(email): Path<String>,
    Body(b): Body<PersonAuditorBody>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.set_person_auditor(&email, b.auditor, &by).await?).into_response())
}

pub async fn deactivate_person(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Path(email): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.deactivate_person(&email, &by).await?).into_response())
}

pub async fn list_sessions(State(s): State<AppState>) -> ApiResult<Response> {
    Ok(Json(s.engine.sessions().await?).into_response())
}

pub async fn revoke_session(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    s.engine.revoke_session(&id, &by).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
