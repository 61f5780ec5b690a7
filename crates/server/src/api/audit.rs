//! The audit trail: pages of it with filters, its hash chain checked, and the whole of it
//! as a download, for admins and people with the auditor grant (the engine decides who).

use std::io::{Read, Seek};

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use engine::audit::AuditFormat;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only actions holding this (any case): `lumos.call`, `run.approve`, or `run.` for all
    /// of a run's.
    action: Option<String>,
    /// Only events by someone whose name contains this (any case): an email, `key:desk-bot`.
    actor: Option<String>,
    /// Only events about something whose name contains this (any case): a run id, an email.
    target: Option<String>,
    /// From this time (RFC 3339) or day (`YYYY-MM-DD`, UTC) on.
    since: Option<String>,
    /// Before this time or day (a day counts whole).
    until: Option<String>,
    /// Older than this event's `id`: the next page.
    before: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
}

/// `since` or `until` (`parse`: where a day starts, or where it ends), when given.
fn time(
    what: &str,
    s: Option<&str>,
    parse: fn(&str) -> Result<chrono::DateTime<chrono::Utc>, String>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    s.filter(|s| !s.is_empty())
        .map(parse)
        .transpose()
        .map_err(|e| format!("{what}: {e}"))
}

pub async fn audit_events(
    State(s): State<AppState>,
    axum::Extension(c): axum::Extension<engine::Actor>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    let until = time("until", q.until.as_deref(), engine::audit::parse_until)
        .map_err(ApiError::bad_request)?;
    let filter = engine::AuditFilter {
        action: q.action.as_deref().filter(|a| !a.is_empty()),
        actor: q.actor.as_deref().filter(|a| !a.is_empty()),
        target: q.target.as_deref().filter(|a| !a.is_empty()),
        since: time("since", q.since.as_deref(), engine::audit::parse_since)
            .map_err(ApiError::bad_request)?,
        until,
        before: q.before,
        limit: q.limit.unwrap_or(100),
    };
    Ok(Json(s.engine.audit_page(&c, &filter).await?).into_response())
}

/// The hash chain checked now: how many events, the head, the first that does not fit.
pub async fn verify_audit(
    State(s): State<AppState>,
    axum::Extension(c): axum::Extension<engine::Actor>,
) -> ApiResult<Response> {
    Ok(Json(s.engine.verify_audit(&c).await?).into_response())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditExportQuery {
    /// `csv` (default) or `ndjson`.
    format: Option<String>,
    /// From this time (RFC 3339) or day (`YYYY-MM-DD`, UTC) on.
    since: Option<String>,
}

/// Bytes read from the export file per piece of the answer.
const PIECE: usize = 256 << 10;

/// The whole trail as a file: written to an unnamed temporary file first (so the answer is
/// complete or an error, and memory stays flat at any size), then streamed.
pub async fn export_audit(
    State(s): State<AppState>,
    axum::Extension(c): axum::Extension<engine::Actor>,
    Query(q): Query<AuditExportQuery>,
) -> ApiResult<Response> {
    let format: AuditFormat = q
        .format
        .as_deref()
        .unwrap_or("csv")
        .parse()
        .map_err(ApiError::bad_request)?;
    let since = time("since", q.since.as_deref(), engine::audit::parse_since)
        .map_err(ApiError::bad_request)?;
    let mut file = tempfile::tempfile().map_err(ApiError::internal)?;
    {
        let mut out = std::io::BufWriter::new(&mut file);
        s.engine.export_audit(&c, since, format, &mut out).await?;
        std::io::Write::flush(&mut out).map_err(ApiError::internal)?;
    }
    file.rewind().map_err(ApiError::internal)?;
    let pieces = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0; PIECE];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((buf, file))
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
        match read {
            Ok((buf, _)) if buf.is_empty() => None,
            Ok((buf, file)) => Some((Ok(axum::body::Bytes::from(buf)), Some(file))),
            Err(e) => Some((Err(e), None)),
        }
    });
    let (media, ext) = match format {
        AuditFormat::Csv => ("text/csv", "csv"),
        AuditFormat::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    Response::builder()
        .header(header::CONTENT_TYPE, media)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"lumosflow-audit.{ext}\""),
        )
        .body(Body::from_stream(pieces))
        .map_err(ApiError::internal)
}
