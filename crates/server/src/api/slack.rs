//! The Slack app's endpoints: `POST /slack/interactivity` (buttons pressed, modals
//! submitted) and `POST /slack/options` (a picker's options). Open to the world like hooks:
//! the engine checks Slack's signature before anything else. Slack wants an answer within
//! 3 seconds, so a button's work goes on after the answer, and so does waiting for a run.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::slack::SlackError;
use serde_json::Value;

use super::triggers::lower_headers;
use crate::error::ApiError;
use crate::state::AppState;

fn refused(e: SlackError) -> Response {
    let status = match e {
        SlackError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        SlackError::Payload(_) => StatusCode::BAD_REQUEST,
        SlackError::NotSetUp => StatusCode::SERVICE_UNAVAILABLE,
        SlackError::Refused { .. } | SlackError::Unreachable { .. } => StatusCode::BAD_GATEWAY,
    };
    let code = if status == StatusCode::UNAUTHORIZED {
        "unauthorized"
    } else {
        "slack"
    };
    ApiError::new(status, code, e.to_string()).into_response()
}

async fn payload(s: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Value, Response> {
    s.engine
        .slack_payload(&lower_headers(headers), body)
        .await
        .map_err(refused)
}

/// `POST /slack/interactivity`.
pub async fn interactivity(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let payload = match payload(&s, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let engine = s.engine.clone();
    match payload["type"].as_str() {
        Some("block_actions") => {
            s.tasks.spawn(async move {
                if let Some(f) = engine.slack_button(&payload).await {
                    engine.slack_follow_up(f).await;
                }
            });
            StatusCode::OK.into_response()
        }
        Some("view_submission") => {
            let answer = engine.slack_view(&payload).await;
            if let Some(f) = answer.then {
                s.tasks
                    .spawn(async move { engine.slack_follow_up(f).await });
            }
            Json(answer.body).into_response()
        }
        // Closing a modal, and kinds lumosflow does not use: nothing to do.
        _ => StatusCode::OK.into_response(),
    }
}

/// `POST /slack/options`.
pub async fn options(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match payload(&s, &headers, &body).await {
        Ok(p) => Json(s.engine.slack_options(&p).await).into_response(),
        Err(r) => r,
    }
}
