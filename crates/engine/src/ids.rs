//! The shapes of ids. Anything else can name no workflow and no run, so it is "not found"
//! before it reaches the database (where, for instance, a NUL character is an error on
//! PostgreSQL and not on SQLite).

pub use workflow_lang::ids::is_workflow_id;

/// A run id: a UUID.
pub fn is_run_id(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok()
}

/// A new run id: time-ordered, so lists sort by creation.
pub fn new_run_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
