//! Workflows: list, install, create, validate, show, edit, uninstall.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::state::AppState;
use engine::Actor;

use super::Body;

#[derive(Deserialize, JsonSchema)]
pub struct ListQuery {
    /// `true` for the bundles' catalog instead of the installed workflows.
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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallBody {
    /// Bundle ids: `appstore`, `directory-and-apps`.
    #[serde(default)]
    bundles: Vec<String>,
    /// Single bundled workflow ids.
    #[serde(default)]
    workflows: Vec<String>,
    /// Every bundled workflow.
    #[serde(default)]
    all: bool,
    /// Replace installed copies that were edited.
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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct YamlBody {
    /// The workflow definition (docs/workflows.md).
    yaml: String,
}

/// A saved version.
#[derive(Serialize, JsonSchema)]
pub struct Saved {
    pub id: String,
    pub version: i32,
}

pub async fn create_workflow(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Body(b): Body<YamlBody>,
) -> ApiResult<Response> {
    let (id, version) = s.engine.create(&b.yaml, &c).await?;
    Ok((StatusCode::CREATED, Json(Saved { id, version })).into_response())
}

pub async fn validate_workflow(
    State(s): State<AppState>,
    Body(b): Body<YamlBody>,
) -> ApiResult<Response> {
    let wf = s
        .engine
        .validate(&b.yaml)
        .map_err(engine::EngineError::Invalid)?;
    Ok(Json(Validated {
        valid: true,
        id: wf.id().to_owned(),
        name: wf.name().to_owned(),
        steps: wf.def.steps.len(),
    })
    .into_response())
}

/// A definition that passed validation.
#[derive(Serialize, JsonSchema)]
pub struct Validated {
    pub valid: bool,
    pub id: String,
    pub name: String,
    pub steps: usize,
}

#[derive(Deserialize, JsonSchema)]
pub struct VersionQuery {
    /// A saved version instead of the current one.
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
    let changes = s.engine.changes(&wf).await?;
    Ok(json!({
        "id": row.id, "name": row.name, "description": wf.def.description, "origin": row.origin,
        "bundle": engine::bundles::bundle_of(&row.id).map(|b| json!({"id": b.id, "name": b.name})),
        "version": v.version, "current_version": row.current_version, "yaml": v.yaml, "inputs": inputs,
        "approval": wf.def.approval.as_ref().map(|a| a.value.summary()),
        "changes_lumos": changes.any(),
        "changes": changes.steps,
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
    Ok(Json(Saved { id, version }).into_response())
}

pub async fn delete_workflow(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    s.engine.uninstall(&id, &c).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
