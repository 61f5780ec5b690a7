//! Runs: start (queued or started at once, or waited for), list, show, approve, deny, cancel.

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use engine::output::Format;
use engine::{Actor, ApproveThen, RunRequest, RunStatus};
use futures_util::StreamExt;

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
    /// The end user (an email) the run acts for, when an agent or integration asks on
    /// their behalf; templates see it as `run.requested_for`.
    #[serde(default)]
    requested_for: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
pub struct WaitQuery {
    /// `true` to answer when the run is over (or held for approval), with its output.
    #[serde(default)]
    wait: bool,
}

/// A run accepted: queued, started at once on this replica (`running`), or held for approval.
#[derive(Serialize, JsonSchema)]
pub struct RunStarted {
    pub id: String,
    pub workflow_id: String,
    pub status: RunStatus,
}

/// Where a completed run's output can be read in full.
#[derive(Serialize, JsonSchema)]
pub struct OutputLinks {
    /// The items after those in `output`, a page at a time (outputs with items).
    pub next_items: Option<String>,
    /// The whole output as JSON, NDJSON or CSV.
    pub json: String,
    pub ndjson: String,
    pub csv: String,
}

/// A run with its steps; a completed run with the first items of its output and links to
/// the rest.
#[derive(Serialize, JsonSchema)]
pub struct RunView {
    #[serde(flatten)]
    pub detail: engine::RunDetail,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_links: Option<OutputLinks>,
}

fn output_links(d: &engine::RunDetail) -> Option<OutputLinks> {
    if d.run.status != RunStatus::Completed {
        return None;
    }
    let id = &d.run.id;
    let at = |format: &str| format!("/api/v1/runs/{id}/output?format={format}");
    Some(OutputLinks {
        next_items: d
            .items
            .as_ref()
            .filter(|i| i.count > i.shown)
            .map(|i| items_link(id, i.shown, engine::PREVIEW_ITEMS)),
        json: at("json"),
        ndjson: at("ndjson"),
        csv: at("csv"),
    })
}

fn items_link(id: &str, offset: u64, limit: u64) -> String {
    format!("/api/v1/runs/{id}/items?offset={offset}&limit={limit}")
}

/// A run's detail as `by` may see it.
pub async fn run_detail(s: &AppState, id: &str, by: &Actor) -> ApiResult<Value> {
    view_of(s.engine.run_detail_for(id, by).await?).map_err(ApiError::internal)
}

fn view_of(detail: engine::RunDetail) -> serde_json::Result<Value> {
    let view = RunView {
        output_links: output_links(&detail),
        detail,
    };
    serde_json::to_value(&view)
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
        requested_for: body.requested_for,
        ..RunRequest::default()
    };
    let submitted = s.engine.submit(id, &body.inputs, req).await?;
    if wait && submitted.will_run() {
        let outcome = s
            .engine
            .wait_submitted(&submitted, None, &who.label)
            .await?;
        return answered_run(s, outcome, &who).await;
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

/// Answer with a run waited for: its output as stored, with the first items of a listing
/// and links to the rest (never the whole listing in one body).
async fn answered_run(
    s: &AppState,
    outcome: engine::RunOutcome,
    who: &Actor,
) -> ApiResult<(StatusCode, Value)> {
    let status = if outcome.status.is_final() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let v = view_of(s.engine.ended_detail_for(outcome, who).await?).map_err(ApiError::internal)?;
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
        // An object, not any JSON serde would take for the struct (`[]` is a struct of
        // defaults to serde): a list is a mistake, refused before anything runs.
        let object =
            serde_json::from_slice::<Map<String, Value>>(&raw).map_err(|e| match e.classify() {
                serde_json::error::Category::Data => ApiError::bad_request(
                    "invalid JSON body: it must be an object, such as {\"inputs\": {…}}",
                ),
                _ => ApiError::bad_request(format!("invalid JSON body: {e}")),
            })?;
        serde_json::from_value(Value::Object(object))
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
    /// Only runs requested by someone whose name contains this, in any case (a person's
    /// email, `key:NAME` for a service key): `ann` finds `ann.brown@…`.
    requested_by: Option<String>,
    /// Only runs requested on behalf of this person (an email, any case).
    requested_for: Option<String>,
    /// The next page: only runs older than this run id (the last one of the previous page).
    before: Option<String>,
    /// Only runs created at or after this time (RFC 3339, or a date `YYYY-MM-DD`).
    since: Option<String>,
    /// Only runs created before this time (RFC 3339), or up to the end of this day
    /// (`YYYY-MM-DD`).
    until: Option<String>,
    /// At most this many (default 50, at most 500).
    limit: Option<i64>,
}

pub async fn list_runs(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Query(q): Query<RunsQuery>,
) -> ApiResult<Response> {
    let runs = s
        .engine
        .runs_for(
            &engine::RunFilter {
                workflow: q.workflow.as_deref(),
                status: q.status,
                requested_by: q.requested_by.as_deref(),
                requested_for: q.requested_for.as_deref(),
                before: q.before.as_deref(),
                since: q
                    .since
                    .as_deref()
                    .map(parse_since)
                    .transpose()
                    .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", m))?,
                until: q
                    .until
                    .as_deref()
                    .map(engine::audit::parse_until)
                    .transpose()
                    .map_err(|m| {
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "invalid_query",
                            format!("until: {m}"),
                        )
                    })?,
                limit: q.limit.unwrap_or(50).clamp(1, 500),
            },
            &c,
        )
        .await?;
    Ok(Json(runs).into_response())
}

pub async fn get_run(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(run_detail(&s, &id, &c).await?).into_response())
}

/// A decision's optional body.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Why: optional for an approval, required for a denial.
    #[serde(default)]
    comment: Option<String>,
}

fn decision_body(raw: &[u8]) -> Result<DecisionBody, String> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(DecisionBody::default());
    }
    serde_json::from_slice(raw).map_err(|e| format!("invalid JSON body: {e}"))
}

pub async fn approve_run(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let body = decision_body(&raw).map_err(ApiError::bad_request)?;
    let approved = s
        .engine
        .approve(&id, &c, body.comment.as_deref(), ApproveThen::Queue)
        .await?;
    // Still waiting (more approvals, or the next step): the run as it stands.
    if matches!(approved, engine::Approved::Waiting(_)) {
        return Ok((StatusCode::OK, Json(run_detail(&s, &id, &c).await?)).into_response());
    }
    if q.wait {
        let outcome = s.engine.wait(&id, None, &c.label).await?;
        let (status, v) = answered_run(&s, outcome, &c).await?;
        return Ok((status, Json(v)).into_response());
    }
    Ok((StatusCode::ACCEPTED, Json(run_detail(&s, &id, &c).await?)).into_response())
}

pub async fn deny_run(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let body = decision_body(&raw).map_err(ApiError::bad_request)?;
    s.engine.deny(&id, &c, body.comment.as_deref()).await?;
    Ok(Json(run_detail(&s, &id, &c).await?).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsQuery {
    /// `true`: only runs the caller may decide on now.
    #[serde(default)]
    mine: bool,
}

/// A held run in the approvals list.
#[derive(Serialize, JsonSchema)]
pub struct Held {
    pub id: String,
    pub workflow_id: String,
    pub requested_by: Option<String>,
    pub requested_for: Option<String>,
    /// A dry run held like a real one: approved, it still sends nothing.
    pub dry_run: bool,
    #[schemars(with = "Value")]
    pub inputs: Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub approval: Option<engine::approval::ApprovalView>,
}

pub async fn list_approvals(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Query(q): Query<ApprovalsQuery>,
) -> ApiResult<Response> {
    let runs = if q.mine {
        s.engine.decidable_by(&c, 200).await?
    } else {
        s.engine
            .runs_for(
                &engine::RunFilter {
                    status: Some(RunStatus::PendingApproval),
                    limit: 200,
                    ..Default::default()
                },
                &c,
            )
            .await?
    };
    let mut out = Vec::new();
    for r in runs {
        let approval = s.engine.approval_view(&r).await?;
        out.push(Held {
            id: r.id,
            workflow_id: r.workflow_id,
            requested_by: r.requested_by,
            requested_for: r.requested_for,
            dry_run: r.dry_run,
            inputs: r.inputs.0,
            created_at: r.created_at,
            approval,
        });
    }
    Ok(Json(out).into_response())
}

pub async fn cancel_run(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let run = s.engine.cancel_for(&id, &c).await?;
    Ok(Json(run).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputQuery {
    /// `json` (the default), `ndjson` or `csv`.
    #[serde(default)]
    format: Option<Format>,
}

/// A completed run's whole output, streamed from the store in the format asked for.
pub async fn run_output(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
    Query(q): Query<OutputQuery>,
) -> ApiResult<Response> {
    let format = q.format.unwrap_or(Format::Json);
    let stored = s.engine.stored_output_for(&id, &c).await?;
    let name = format!(
        "{}-{}.{}",
        stored.run.workflow_id,
        stored.run.id,
        format.extension()
    );
    let pieces = stored.bytes(format).map(move |piece| {
        piece.map_err(|e| {
            // Ends the chunked body without its last chunk: the client sees a broken
            // transfer, never a shorter file that looks whole.
            tracing::error!(run = %id, error = %e, "could not read a stored output");
            std::io::Error::other(e.to_string())
        })
    });
    Response::builder()
        .header(header::CONTENT_TYPE, format.media_type())
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(Body::from_stream(pieces))
        .map_err(ApiError::internal)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    /// The first item (from 0).
    #[serde(default)]
    offset: u64,
    /// Items per page (default 100, at most 1000).
    #[serde(default)]
    limit: Option<u64>,
    /// Only items with a value containing this text, in any case (the answer's `matched`
    /// counts them).
    #[serde(default)]
    filter: Option<String>,
    /// The fields the filter looks in, comma-separated (default: all).
    #[serde(default)]
    columns: Option<String>,
    /// Sort by this field (`-field`: descending); numbers by value, text in any case with
    /// numbers in it read as numbers, items without it last.
    #[serde(default)]
    sort: Option<String>,
}

impl ItemsQuery {
    fn view(&self) -> engine::ViewQuery<'_> {
        engine::ViewQuery {
            filter: self.filter.as_deref(),
            columns: self.columns.as_deref(),
            sort: self.sort.as_deref(),
        }
    }

    /// The link to the page at `offset` of the same view.
    fn link(&self, id: &str, offset: u64, limit: u64) -> String {
        let mut link = items_link(id, offset, limit);
        for (k, v) in [
            ("filter", &self.filter),
            ("columns", &self.columns),
            ("sort", &self.sort),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                link.push_str(&format!("&{k}={}", urlencoding(v)));
            }
        }
        link
    }
}

/// `v` for a query string.
fn urlencoding(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// A page of a run's output items.
#[derive(Serialize, JsonSchema)]
pub struct ItemsAnswer {
    #[serde(flatten)]
    page: engine::output::ItemsPage,
    /// The next page, when there is one.
    next: Option<String>,
}

/// A page of a completed run's output items (for outputs that are listings or lists).
pub async fn run_items(
    State(s): State<AppState>,
    Extension(c): Extension<Actor>,
    Path(id): Path<String>,
    Query(q): Query<ItemsQuery>,
) -> ApiResult<Response> {
    let limit = q.limit.unwrap_or(engine::PREVIEW_ITEMS);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and 1000, got {limit}"
        )));
    }
    let page = s
        .engine
        .items_page_for(&id, &c, &q.view(), q.offset, limit)
        .await?;
    let next = page.next_offset.map(|o| q.link(&id, o, limit));
    Ok(Json(ItemsAnswer { page, next }).into_response())
}

/// `since`: a time (RFC 3339) or a day (`YYYY-MM-DD`, from its start in UTC), read as the
/// audit trail reads it.
fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    engine::audit::parse_since(s).map_err(|e| format!("since: {e}"))
}
