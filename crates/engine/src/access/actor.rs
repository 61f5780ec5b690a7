//! The actor behind an action: an API key (from the API, the console or MCP), the local
//! operator (the CLI, which holds the database and its master key), or lumosflow itself
//! (schedules). Runs and audit events record its label.

use serde::Serialize;

use super::role::Role;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// How records name it: `key:desk-bot`, `cli`, `schedule`.
    pub label: String,
    pub role: Role,
    /// The API key it acts through, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

impl Actor {
    /// Whoever runs the CLI on this machine: they hold the database and its master key, so
    /// they can do anything.
    pub fn operator() -> Actor {
        Actor {
            label: "cli".to_owned(),
            role: Role::Admin,
            key_id: None,
        }
    }

    /// lumosflow acting on its own (a schedule): the role that may run workflows, no more.
    pub fn system(label: &str) -> Actor {
        Actor {
            label: label.to_owned(),
            role: Role::Agent,
            key_id: None,
        }
    }

    pub fn key(id: &str, name: &str, role: Role) -> Actor {
        Actor {
            label: format!("key:{name}"),
            role,
            key_id: Some(id.to_owned()),
        }
    }

    pub fn may(&self, role: Role) -> bool {
        self.role >= role
    }
}

impl Default for Actor {
    fn default() -> Self {
        Actor::operator()
    }
}
