//! Lumos connections: connect, list, check, who may use them, remove.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::state::AppState;
use engine::Actor;

use super::Body;

/// Connect Lumos: the token is verified with Lumos first, then kept sealed.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectBody {
    /// The connection's name (default `default`).
    #[serde(default = "default_name")]
    name: String,
    /// Lumos's address (default `https://api.lumos.com`).
    #[serde(default = "default_base")]
    base_url: String,
    /// A Lumos API token (`lsk_…`): verified, stored encrypted, never returned.
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

/// A connection and the roles that may run against it.
#[derive(Serialize, JsonSchema)]
pub struct ConnectionRoles {
    pub connection: engine::Connection,
    pub may_run: Vec<engine::Role>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    /// Roles that may run workflows against the connection (admins always may); null
    /// restores the default: every role that may run for `default`, builder and admin for
    /// others.
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
    Ok(Json(ConnectionRoles {
        connection: conn,
        may_run: roles,
    })
    .into_response())
}

pub async fn delete_connection(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    s.engine.remove_connection(&name, &c).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
