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
pub use people::check_email;
pub use workflow_lang::Role;
