//! The `/api/v1` handlers, one file per area: connections, workflows, runs, people and
//! sessions, the audit trail, direct Lumos calls, and the service's own health and metrics.

mod audit;
mod connections;
mod keys;
mod lumos;
mod meta;
mod people;
mod runs;
mod slack;
mod triggers;
mod workflows;

use axum::Json;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub use audit::*;
pub use connections::*;
pub use keys::*;
pub use lumos::*;
pub use meta::*;
pub use people::*;
pub use runs::*;
pub use slack::{interactivity as slack_interactivity, options as slack_options};
pub use triggers::*;
pub use workflows::*;

/// A JSON body whose problems become 400s in the API's error shape.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(ApiError::bad_request(format!(
                "invalid JSON body: {}",
                rejection.body_text()
            ))),
        }
    }
}
