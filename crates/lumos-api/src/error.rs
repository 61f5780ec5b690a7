//! One error type for everything that can go wrong talking to Lumos. Each message is one line
//! an admin can act on, and none ever contains the API token.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::params::ParamProblem;

/// FastAPI's `detail`: a list of field errors on 422, a plain string elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ValidationDetail {
    Fields(Vec<FieldError>),
    Message(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl std::fmt::Display for ValidationDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValidationDetail::Message(m) => f.write_str(m),
            ValidationDetail::Fields(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|e| {
                        let loc: Vec<String> = e
                            .loc
                            .iter()
                            .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_owned))
                            .collect();
                        format!("{}: {}", loc.join("."), e.msg)
                    })
                    .collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown Lumos operation '{name}'{}", did_you_mean(.suggestions))]
    UnknownOperation {
        name: String,
        suggestions: Vec<String>,
    },

    #[error("invalid input for {operation}: {}", join(.problems))]
    InvalidInput {
        operation: String,
        problems: Vec<ParamProblem>,
    },

    #[error("invalid client configuration: {0}")]
    Config(String),

    #[error("Lumos rejected the API token (401 Unauthorized): {detail}")]
    Unauthorized { detail: String },

    #[error("the Lumos API token is not allowed to do this (403 Forbidden): {detail}")]
    Forbidden { detail: String },

    #[error("not found in Lumos (404): {detail}")]
    NotFound { detail: String },

    #[error("Lumos reports a conflict (409): {detail}")]
    Conflict { detail: String },

    #[error("Lumos refused the request as invalid (422): {detail}")]
    Unprocessable { detail: ValidationDetail },

    #[error("Lumos rate limit hit (429){}", retry_hint(.retry_after))]
    RateLimited { retry_after: Option<Duration> },

    #[error("Lumos answered {status}: {detail}")]
    Http { status: u16, detail: String },

    #[error("Lumos had a server error ({status}): {detail}")]
    Server { status: u16, detail: String },

    #[error("Lumos did not answer within {0:?}")]
    Timeout(Duration),

    /// The connection could not be made: the request certainly never reached Lumos.
    #[error("cannot reach Lumos at {url}: {reason}")]
    Connect { url: String, reason: String },

    /// The host's certificate could not be verified: nothing was sent, and trying again
    /// changes nothing until the certificate or the trusted roots do.
    /// `reason` says so and what to do.
    #[error("cannot reach Lumos at {url}: {reason}")]
    Untrusted { url: String, reason: String },

    /// The exchange broke after the request went out (a reset, a truncated body): Lumos may
    /// have acted on it.
    #[error("the connection to Lumos at {url} broke during the request: {reason}")]
    Interrupted { url: String, reason: String },

    #[error(
        "Lumos redirected to {location}; redirects are not followed so the token stays with its host"
    )]
    Redirect { location: String },

    /// A success status whose body is not what the operation promises (an HTML page from a
    /// proxy, JSON of another shape).
    #[error("Lumos answered {status} with {found} for {method} {target}; expected {expected}")]
    UnexpectedAnswer {
        status: u16,
        method: String,
        target: String,
        found: String,
        expected: String,
    },

    /// A walk over pages that cannot be complete: an empty or short page before the end
    /// Lumos announced, a repeated cursor, fewer items than the total.
    #[error("the listing of {operation} is incomplete: {detail}")]
    IncompleteListing { operation: String, detail: String },

    /// The last failure of a call that was tried more than once.
    #[error("{last} (gave up after {attempts} attempts)")]
    GaveUp { attempts: usize, last: Box<Error> },

    #[error("unexpected response shape from {operation}: {reason}")]
    Decode { operation: String, reason: String },

    /// The client's fence refused the request: it was not sent.
    #[error("not sent: {reason}")]
    Fenced { reason: String },
}

fn did_you_mean(s: &[String]) -> String {
    if s.is_empty() {
        " (not in the operation catalog)".to_owned()
    } else {
        format!(" (did you mean {}?)", s.join(", "))
    }
}

fn join(p: &[ParamProblem]) -> String {
    p.iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

fn retry_hint(d: &Option<Duration>) -> String {
    d.map(|d| format!("; retry after {}s", d.as_secs_f64().ceil()))
        .unwrap_or_default()
}

impl Error {
    /// The failure behind any retries.
    pub fn root(&self) -> &Error {
        match self {
            Error::GaveUp { last, .. } => last.root(),
            other => other,
        }
    }

    /// The HTTP status Lumos answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::GaveUp { last, .. } => last.status(),
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::Conflict { .. } => Some(409),
            Error::Unprocessable { .. } => Some(422),
            Error::RateLimited { .. } => Some(429),
            Error::Http { status, .. }
            | Error::Server { status, .. }
            | Error::UnexpectedAnswer { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Worth another attempt: rate limits, gateway errors, answers that are not what the
    /// operation promises, and transport failures.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RateLimited { .. }
            | Error::Timeout(_)
            | Error::Connect { .. }
            | Error::Interrupted { .. }
            | Error::UnexpectedAnswer { .. } => true,
            Error::Server { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// True when the request never left this process (bad input or configuration).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::UnknownOperation { .. } | Error::InvalidInput { .. } | Error::Config(_)
        )
    }
}
