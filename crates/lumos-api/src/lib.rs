//! Client for the Lumos REST API.
//!
//! - [`ApiToken`]: a validated `lsk_…` token that never prints itself.
//! - [`catalog`]: every operation of the official API (86), with parameter rules.
//! - [`Client`]: generic [`Client::call`] on any operation, typed helpers, pagination
//!   streams, retries that honour `Retry-After`, and pacing on `x-ratelimit-*`.
//! - [`models`]: typed shapes for what a service desk reads.
//! - [`http`]: every HTTP client lumosflow builds, with its TLS provider.

mod answer;
pub mod catalog;
mod client;
mod error;
pub mod http;
mod listing;
pub mod models;
mod paginate;
pub mod params;
mod retry;
pub mod schemas;
mod token;

pub use catalog::{Catalog, Operation, Pagination, Param, ParamKind, ResponseSpec, Shape};
pub use client::{CallOptions, Client, ClientBuilder, DEFAULT_BASE_URL, Fence, Response, Watch};
pub use error::{Error, ValidationDetail};
pub use listing::RawPage;
pub use params::{ParamProblem, PreparedRequest, ProblemKind};
pub use retry::RetryPolicy;
pub use schemas::Schemas;
pub use token::{ApiToken, TokenError};
