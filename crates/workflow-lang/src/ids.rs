//! The shape of a workflow id.

/// A workflow id: a slug of lowercase letters, digits and '-', at most 64 long.
pub fn is_workflow_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
}
