//! The actor behind an action: a person (signed in with SSO, or through a key they own), a
//! service key (an integration), the local operator (the CLI, which holds the database and
//! its master key), or lumosflow itself (schedules). Runs and audit events record its label.

use serde::{Deserialize, Serialize};

use workflow_lang::Role;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// How records name it: a person's email, `key:desk-bot` for a service key, `cli:USER`
    /// (or `LUMOSFLOW_ACTOR`) for the CLI, `schedule`.
    pub label: String,
    pub role: Role,
    /// The API key it acts through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The person it is, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonRef>,
    /// For a service key made by a person: their email. The key counts as them where it
    /// matters who someone is (self-approval, separation of duties).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_by: Option<String>,
    /// What the key it acts through may do beyond its role (none: what the role allows).
    #[serde(default, skip_serializing_if = "KeyScope::is_open")]
    pub scope: KeyScope,
}

/// A key's scope: only workflows that change nothing, only the workflows named. Narrows,
/// never widens, what the role allows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KeyScope {
    #[serde(default)]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflows: Option<Vec<String>>,
}

impl KeyScope {
    pub fn is_open(&self) -> bool {
        !self.read_only && self.workflows.is_none()
    }

    /// Whether a key of this scope may see or run workflow `id` (before knowing whether it
    /// changes anything).
    pub fn lists(&self, id: &str) -> bool {
        self.workflows
            .as_ref()
            .is_none_or(|w| w.iter().any(|x| x == id))
    }

    /// Why `by` (acting through a key of this scope) may not run workflow `id`, whose first
    /// change is `changes` (none: it changes nothing), if it may not.
    pub fn refusal(&self, by: &str, id: &str, changes: Option<&str>) -> Option<String> {
        if !self.lists(id) {
            let allowed = self.workflows.as_deref().unwrap_or_default().join(", ");
            return Some(format!(
                "{by} may run only these workflows: {allowed}; not '{id}'"
            ));
        }
        match changes {
            Some(first) if self.read_only => Some(format!(
                "{by} is read-only, and '{id}' changes Lumos or the world ({first})"
            )),
            _ => None,
        }
    }
}

impl Actor {
    /// This actor, acting through a key of `scope`.
    pub fn scoped(mut self, scope: KeyScope) -> Actor {
        self.scope = scope;
        self
    }
}

/// Who a person is, as records and the console show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    pub email: String,
    pub name: Option<String>,
}

impl Actor {
    /// Whoever runs the CLI on this machine: they hold the database and its master key, so
    /// they can do anything.
    pub fn operator() -> Actor {
        Actor::operator_named("cli")
    }

    /// The local operator under a name of their choosing (`cli:alice`, or an email from
    /// `LUMOSFLOW_ACTOR`).
    pub fn operator_named(label: &str) -> Actor {
        Actor {
            label: label.to_owned(),
            role: Role::Admin,
            key_id: None,
            person: None,
            made_by: None,
            scope: KeyScope::default(),
        }
    }

    /// lumosflow acting on its own (a schedule): the role that may run workflows, no more.
    pub fn system(label: &str) -> Actor {
        Actor {
            label: label.to_owned(),
            role: Role::Agent,
            key_id: None,
            person: None,
            made_by: None,
            scope: KeyScope::default(),
        }
    }

    /// A service key: an integration, not a person; `made_by` is the person who made it.
    pub fn key(id: &str, name: &str, role: Role, made_by: Option<&str>) -> Actor {
        Actor {
            label: format!("key:{name}"),
            role,
            key_id: Some(id.to_owned()),
            person: None,
            made_by: made_by.map(str::to_lowercase),
            scope: KeyScope::default(),
        }
    }

    /// A person, signed in with SSO (`key_id` none) or acting through a key they own.
    pub fn person(email: &str, name: Option<&str>, role: Role, key_id: Option<&str>) -> Actor {
        Actor {
            label: email.to_owned(),
            role,
            key_id: key_id.map(str::to_owned),
            person: Some(PersonRef {
                email: email.to_owned(),
                name: name.map(str::to_owned),
            }),
            made_by: None,
            scope: KeyScope::default(),
        }
    }

    pub fn may(&self, role: Role) -> bool {
        self.role >= role
    }

    /// Who this is as a person, lower-cased: the person's email, the email of the person who
    /// made a service key, an email the operator goes by, else the label. Self-approval,
    /// separation of duties and "one decision per person" compare this.
    pub fn person_key(&self) -> String {
        self.email().unwrap_or_else(|| self.label.to_lowercase())
    }

    /// The email of the person behind this actor, lower-cased, if one is known.
    pub fn email(&self) -> Option<String> {
        self.person
            .as_ref()
            .map(|p| p.email.to_lowercase())
            .or_else(|| self.made_by.clone())
            .or_else(|| self.label.contains('@').then(|| self.label.to_lowercase()))
    }

    /// Every name this actor goes by, lower-cased (its label and the person behind it).
    pub fn names(&self) -> Vec<String> {
        let mut names = vec![self.label.to_lowercase()];
        let person = self.person_key();
        if !names.contains(&person) {
            names.push(person);
        }
        names
    }
}

impl Default for Actor {
    fn default() -> Self {
        Actor::operator()
    }
}
