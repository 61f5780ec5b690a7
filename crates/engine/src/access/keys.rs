//! API keys: `lfk_` + 64 hex characters, shown once when created, stored as a SHA-256.

use store::ApiKey;

use super::secret;
use crate::actor::{Actor, KeyScope};
use crate::engine::Engine;
use crate::error::{EngineError, KeyError, Result};
use workflow_lang::Role;

fn check_name(name: &str) -> std::result::Result<(), KeyError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(KeyError::Name(name.to_owned()))
    }
}

impl Engine {
    /// Create a service key; the returned string is the only time it exists in full.
    pub async fn create_key(&self, name: &str, role: Role, by: &Actor) -> Result<String> {
        self.create_owned_key(name, role, None, by).await
    }

    /// Create a key; with an `owner` (an email) it acts as that person, who is created
    /// with the key's role if they are new, and it can never have more than their role.
    pub async fn create_owned_key(
        &self,
        name: &str,
        role: Role,
        owner: Option<&str>,
        by: &Actor,
    ) -> Result<String> {
        self.create_scoped_key(name, role, owner, &KeyScope::default(), by)
            .await
    }

    /// Create a key that may do less than its role: only workflows that change nothing
    /// (`read_only`), only the workflows named. Named workflows must be installed.
    pub async fn create_scoped_key(
        &self,
        name: &str,
        role: Role,
        owner: Option<&str>,
        scope: &KeyScope,
        by: &Actor,
    ) -> Result<String> {
        for id in scope.workflows.iter().flatten() {
            if self.store.workflow(id).await?.is_none() {
                return Err(EngineError::Inputs(vec![format!(
                    "--workflows: '{id}' is not an installed workflow"
                )]));
            }
        }
        if scope.workflows.as_ref().is_some_and(Vec::is_empty) {
            return Err(EngineError::Inputs(vec![
                "--workflows: name at least one workflow".into(),
            ]));
        }
        check_name(name)?;
        if self
            .store
            .api_keys()
            .await?
            .iter()
            .any(|k| k.name == name && k.revoked_at.is_none())
        {
            return Err(KeyError::Taken(name.to_owned()).into());
        }
        let owner = match owner {
            Some(email) => Some(self.key_owner(email, role).await?),
            None => None,
        };
        let key = secret::new("lfk_")
            .map_err(|e| EngineError::Conflict(format!("no randomness: {e}")))?;
        let id = crate::ids::new_run_id();
        let made_by = by.email();
        self.store
            .create_api_key(&store::NewApiKey {
                id: &id,
                name,
                role: role.as_str(),
                prefix: &key[..12],
                hash: &secret::hash(&key),
                owner_id: owner.as_ref().map(|p| p.id.as_str()),
                created_by: made_by.as_deref(),
                read_only: scope.read_only,
                workflows: scope.workflows.as_ref().map(|w| w.join(",")).as_deref(),
            })
            .await?;
        self.audit(
            by,
            "key.create",
            name,
            Some(
                serde_json::json!({"role": role, "owner": owner.map(|p| p.email),
                "read_only": scope.read_only, "workflows": scope.workflows}),
            ),
        )
        .await;
        Ok(key)
    }

    /// Revoke a live key by name: it stops working at once, and so do the console sessions
    /// signed in with it.
    pub async fn revoke_key(&self, name: &str, by: &Actor) -> Result<()> {
        if !self.store.revoke_api_key(name).await? {
            return Err(KeyError::Unknown(name.to_owned()).into());
        }
        self.audit(by, "key.revoke", name, None).await;
        Ok(())
    }

    pub async fn keys(&self) -> Result<Vec<ApiKey>> {
        Ok(self.store.api_keys().await?)
    }

    /// The actor behind a presented key, if it is a live one. Records its use at most once
    /// a minute (a write per request would be a write per request).
    pub async fn authenticate_key(&self, presented: &str) -> Result<Option<Actor>> {
        if !presented.starts_with("lfk_") || presented.len() > 200 {
            return Ok(None);
        }
        let Some(key) = self.store.api_key_by_hash(&secret::hash(presented)).await? else {
            return Ok(None);
        };
        if key
            .last_used_at
            .is_none_or(|t| chrono::Utc::now() - t > chrono::Duration::seconds(60))
        {
            let _ = self.store.touch_api_key(&key.id).await;
        }
        Ok(Some(key_actor(&key)))
    }
}

/// A key's scope as stored.
pub(crate) fn scope_of(read_only: bool, workflows: Option<&str>) -> KeyScope {
    KeyScope {
        read_only,
        workflows: workflows.map(|w| {
            w.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        }),
    }
}

/// The actor a key is: its owner (never above the owner's current role), or itself as a
/// service key; in either case within the key's scope.
pub(crate) fn key_actor(key: &store::ApiKey) -> Actor {
    key_actor_unscoped(key).scoped(scope_of(key.read_only, key.workflows.as_deref()))
}

fn key_actor_unscoped(key: &store::ApiKey) -> Actor {
    let role: Role = key.role.parse().unwrap_or(Role::Viewer);
    match &key.owner {
        Some(email) => {
            let owner_role: Role = key
                .owner_role
                .as_deref()
                .and_then(|r| r.parse().ok())
                .unwrap_or(Role::Viewer);
            Actor::person(
                email,
                key.owner_name.as_deref(),
                role.min(owner_role),
                Some(&key.id),
            )
        }
        None => Actor::key(&key.id, &key.name, role, key.created_by.as_deref()),
    }
}
