//! What can go wrong in the engine, in the domain's words. Each interface (CLI, HTTP,
//! console, MCP) adds its own hint ("install it with …") to these.

use std::time::Duration;

use store::{RunStatus, StoreError};

use crate::connections::ConnectError;
use workflow_lang::Role;
use workflow_lang::definition::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No installed workflow has this id; `bundled` when a bundle offers one.
    #[error("workflow '{id}' is not installed")]
    NotInstalled { id: String, bundled: bool },
    #[error("run '{0}' not found")]
    RunNotFound(String),
    /// Some other named thing is missing (a version, a bundle).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("invalid inputs: {}", .0.join("; "))]
    Inputs(Vec<String>),
    #[error("{0}")]
    Conflict(String),
    /// A request that cannot be read as asked (a query naming no column).
    #[error("{0}")]
    BadRequest(String),
    #[error("run '{id}' already finished ({status})")]
    AlreadyFinished { id: String, status: RunStatus },
    #[error("run '{id}' is not waiting for approval ({status})")]
    NotPending { id: String, status: RunStatus },
    /// Too many runs wait already; the caller should come back later.
    #[error("the run queue is full ({depth} runs waiting); try again in {}s", .retry_after.as_secs())]
    QueueFull { depth: i64, retry_after: Duration },
    #[error(transparent)]
    Connection(#[from] ConnectError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Person(#[from] PersonError),
    /// The actor's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    #[error(transparent)]
    Slack(#[from] crate::slack::SlackError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => EngineError::NotFound(format!("{what} not found")),
            other => EngineError::Store(other),
        }
    }
}

/// What is wrong with an API key being made or named.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid key name '{0}': use 1-64 letters, digits, '-', '_', '.', '@'")]
    Name(String),
    #[error("an API key named '{0}' already exists (revoke it first)")]
    Taken(String),
    #[error("no live API key named '{0}'")]
    Unknown(String),
}

/// What is wrong with a person asked for.
#[derive(Debug, thiserror::Error)]
pub enum PersonError {
    #[error("invalid email '{0}': expected name@domain")]
    Email(String),
    #[error("no person with email '{0}' (they appear when they first sign in, or own a key)")]
    Unknown(String),
    #[error("{0} is deactivated")]
    Deactivated(String),
    #[error("{email} has the {has} role; a key they own cannot have more ({asked})")]
    AboveOwner {
        email: String,
        has: Role,
        asked: Role,
    },
}

pub type Result<T> = std::result::Result<T, EngineError>;
