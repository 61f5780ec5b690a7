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
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Value::Null,
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
        (self.status, Json(body)).into_response()
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
        match e {
            EngineError::NotFound(m) => ApiError::not_found(m),
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
            EngineError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            EngineError::Connection(c) => c.into(),
            EngineError::Store(s) => ApiError::internal(s),
        }
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            other => ApiError::internal(other),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
