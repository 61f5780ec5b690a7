//! API keys and roles. A key is `lfk_` plus 64 hex characters of OS randomness; only its
//! SHA-256 is stored.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{ApiKey, Store, StoreError};

/// Service-desk roles, each including the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read workflows and runs.
    Viewer,
    /// Also run installed workflows.
    Agent,
    /// Also create, edit and install workflows.
    Builder,
    /// Also connections, keys, direct Lumos calls.
    Admin,
}

pub const ROLES: &[&str] = &["viewer", "agent", "builder", "admin"];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Agent => "agent",
            Role::Builder => "builder",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "agent" => Ok(Role::Agent),
            "builder" => Ok(Role::Builder),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role '{other}' (valid: {})",
                ROLES.join(", ")
            )),
        }
    }
}

pub fn hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Invalid(String),
    #[error("an API key named '{0}' already exists (revoke it first)")]
    Taken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Create a key; the returned string is the only time it exists in full.
pub async fn create(store: &Store, name: &str, role: Role) -> Result<String, KeyError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if !ok {
        return Err(KeyError::Invalid(format!(
            "invalid key name '{name}': use 1-64 letters, digits, '-', '_', '.', '@'"
        )));
    }
    if store
        .api_keys()
        .await?
        .iter()
        .any(|k| k.name == name && k.revoked_at.is_none())
    {
        return Err(KeyError::Taken(name.to_owned()));
    }
    // uuid v4 draws from the operating system's CSPRNG.
    let key = format!(
        "lfk_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let id = uuid::Uuid::now_v7().to_string();
    store
        .create_api_key(&id, name, role.as_str(), &key[..12], &hash(&key))
        .await?;
    Ok(key)
}

/// The live key behind a presented secret.
pub async fn authenticate(
    store: &Store,
    presented: &str,
) -> Result<Option<(ApiKey, Role)>, StoreError> {
    if !presented.starts_with("lfk_") || presented.len() > 200 {
        return Ok(None);
    }
    let Some(key) = store.api_key_by_hash(&hash(presented)).await? else {
        return Ok(None);
    };
    let role = key.role.parse().unwrap_or(Role::Viewer);
    Ok(Some((key, role)))
}
