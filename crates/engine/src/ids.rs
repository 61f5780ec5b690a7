//! The shapes of ids. Anything else can name no workflow and no run, so it is "not found"
//! before it reaches the database (where, for instance, a NUL character is an error on
//! PostgreSQL and not on SQLite).

/// A workflow id: a slug of lowercase letters, digits and '-', at most 64 long.
pub fn is_workflow_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
}

/// A run id: a UUID.
pub fn is_run_id(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok()
}

/// A new run id: time-ordered, so lists sort by creation.
pub fn new_run_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
