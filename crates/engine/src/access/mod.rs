//! Who may do what: roles, the actor behind every action, people, API keys and console
//! sessions.
//! Keys and sessions are random secrets of which only a SHA-256 is stored.

mod actor;
mod keys;
mod people;

pub(crate) mod secret;
mod sessions;

pub use actor::Actor;
pub use actor::PersonRef;
pub use keys::KeyError;
pub use people::{PersonError, check_email};
pub use sessions::{SESSION_IDLE, SESSION_LIFETIME, SessionTimes};
pub use workflow_lang::Role;
