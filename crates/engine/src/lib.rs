pub mod bundles;
pub mod connections;
pub mod definition;
pub mod executor;
pub mod inputs;
pub mod schedule;
pub mod service;
pub mod template;
pub mod validate;
pub mod workflow;

pub use service::{Engine, EngineError, Observers, RunOutcome, RunRequest, Started};
