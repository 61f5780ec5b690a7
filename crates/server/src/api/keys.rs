//! API keys, for admins: list (prefixes only), create (the key is shown once, in the
//! answer), revoke (it stops working at once, with the console sessions signed in with it).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use engine::{Actor, Role};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Body;
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn list_keys(State(s): State<AppState>) -> ApiResult<Response> {
    Ok(Json(s.engine.keys().await?).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    pub name: String,
    pub role: Role,
    /// The person (an email) the key acts as; it never acts above their role. None: a
    /// service key.
    #[serde(default)]
    pub owner: Option<String>,
    /// Only workflows that change nothing.
    #[serde(default)]
    pub read_only: bool,
    /// Only these workflows (installed ids); none: any.
    #[serde(default)]
    pub workflows: Option<Vec<String>>,
}

/// A new key: the only time it is shown.
#[derive(Serialize, JsonSchema)]
pub struct NewKey {
    pub name: String,
    pub key: String,
}

pub async fn create_key(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Body(b): Body<NewKeyBody>,
) -> ApiResult<Response> {
    let owner = b.owner.as_deref().map(str::trim).filter(|o| !o.is_empty());
    let key = s
        .engine
        .create_scoped_key(
            b.name.trim(),
            b.role,
            owner,
            &engine::KeyScope {
                read_only: b.read_only,
                workflows: b.workflows.clone(),
            },
            &by,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewKey {
            name: b.name.trim().to_owned(),
            key,
        }),
    )
        .into_response())
}

pub async fn revoke_key(
    State(s): State<AppState>,
    Extension(by): Extension<Actor>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    s.engine.revoke_key(&name, &by).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
