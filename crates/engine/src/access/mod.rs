//! Who may do what: roles, the actor behind every action, people, API keys and console
//! sessions.
//! Keys and sessions are random secrets of which only a SHA-256 is stored.

mod keys;
mod people;

pub(crate) mod secret;
mod sessions;

pub use crate::actor::{Actor, KeyScope, PersonRef};
pub use crate::config::{SESSION_IDLE, SESSION_LIFETIME, SessionTimes};
pub use crate::error::{KeyError, PersonError};
pub use people::{check_email, role_of};
pub use workflow_lang::Role;

/// Refuse `by` doing `what` below `role`, in the words every door shows.
pub(crate) fn need(by: &Actor, role: Role, what: &str) -> crate::error::Result<()> {
    if by.may(role) {
        return Ok(());
    }
    Err(crate::error::EngineError::Forbidden(format!(
        "{what} needs the {role} role; {} has {}",
        by.label, by.role
    )))
}
