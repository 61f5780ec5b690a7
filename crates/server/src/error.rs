//! The API's error shape: `{"error": {"code", "message", "details"}}` with a fitting status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::EngineError;
use engine::connections::ConnectError;
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.code, "message": self.message, "details": self.details}});
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        let msg = e.to_string();
        match e {
            ConnectError::Format(_) | ConnectError::Name(_) | ConnectError::Config(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_connection", msg)
            }
            ConnectError::Rejected { status, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "lumos_rejected_token", msg)
                    .details(json!({"lumos_status": status}))
            }
            ConnectError::Unreachable { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, "lumos_unreachable", msg)
            }
            ConnectError::Lumos(_) => ApiError::new(StatusCode::BAD_GATEWAY, "lumos_error", msg),
            ConnectError::NotFound(_) => ApiError::not_found(msg),
            ConnectError::Store(s) => ApiError::internal(s),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let msg = e.to_string();
        match e {
            EngineError::NotInstalled { id, bundled } => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                if bundled {
                    format!(
                        "{msg}; install it with POST /api/v1/workflows/install {{\"workflows\": [\"{id}\"]}}"
                    )
                } else {
                    format!("{msg} (GET /api/v1/workflows lists what is)")
                },
            ),
            EngineError::RunNotFound(_) | EngineError::NotFound(_) => ApiError::not_found(msg),
            EngineError::Invalid(inv) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_workflow",
                inv.to_string(),
            )
            .details(serde_json::to_value(&inv.problems).unwrap_or_default()),
            EngineError::Inputs(list) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_inputs",
                format!("invalid inputs: {}", list.join("; ")),
            )
            .details(json!(list)),
            EngineError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", msg),
            EngineError::BadRequest(_) => ApiError::bad_request(msg),
            EngineError::AlreadyFinished { status, .. }
            | EngineError::NotPending { status, .. } => {
                ApiError::new(StatusCode::CONFLICT, "conflict", msg)
                    .details(json!({"status": status}))
            }
            EngineError::QueueFull { retry_after, .. } => {
                let mut err = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "queue_full", msg);
                err.retry_after = Some(retry_after.as_secs().max(1));
                err
            }
            EngineError::Key(k) => match k {
                engine::access::KeyError::Unknown(_) => ApiError::not_found(msg),
                engine::access::KeyError::Taken(_) => {
                    ApiError::new(StatusCode::CONFLICT, "conflict", msg)
                }
                engine::access::KeyError::Name(_) => ApiError::bad_request(msg),
            },
            EngineError::Person(p) => match p {
                engine::access::PersonError::Unknown(_) => ApiError::not_found(msg),
                engine::access::PersonError::Deactivated(_) => {
                    ApiError::new(StatusCode::FORBIDDEN, "deactivated", msg)
                }
                engine::access::PersonError::Email(_)
                | engine::access::PersonError::AboveOwner { .. } => ApiError::bad_request(msg),
            },
            EngineError::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", msg),
            EngineError::Connection(c) => c.into(),
            EngineError::Store(s) => ApiError::internal(s),
            EngineError::Output(o) => ApiError::internal(o),
            EngineError::Slack(_) => ApiError::new(StatusCode::BAD_GATEWAY, "slack", msg),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
