//! Console sessions: a random 256-bit id in an HttpOnly cookie, stored hashed in the
//! database so replicas share them and restarts keep them. A session lives while the key
//! it signed in with does: revoking the key ends it, and its role is read again on every
//! request.

use std::time::Duration;

use super::actor::Actor;
use super::role::Role;
use super::secret;
use crate::Engine;
use crate::error::{EngineError, Result};

/// A session unused this long ends.
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
/// A session ends this long after sign-in, used or not.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 86_400);

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(8))
}

impl Engine {
    /// Sign in to the console with an API key: a new session's secret, or `None` when the
    /// key is not a live one.
    pub async fn sign_in_with_key(&self, presented: &str) -> Result<Option<(String, Actor)>> {
        let Some(actor) = self.authenticate_key(presented).await? else {
            return Ok(None);
        };
        let secret = secret::new("lfs_")
            .map_err(|e| EngineError::Conflict(format!("no randomness: {e}")))?;
        let key_id = actor.key_id.clone().unwrap_or_default();
        // Expired sessions go as new ones come, so the table stays the size of its use.
        let _ = self
            .store
            .prune_sessions(chrono::Utc::now(), chrono(SESSION_IDLE))
            .await;
        self.store
            .create_session(&secret::hash(&secret), &key_id, chrono(SESSION_LIFETIME))
            .await?;
        self.audit(&actor, "session.create", &actor.label, None)
            .await;
        Ok(Some((secret, actor)))
    }

    /// The actor behind a session secret, with its key's current role; `None` when the
    /// session ended (signed out, idle, too old, or its key was revoked).
    pub async fn session(&self, presented: &str) -> Result<Option<Actor>> {
        if !presented.starts_with("lfs_") || presented.len() > 200 {
            return Ok(None);
        }
        let found = self
            .store
            .live_session(
                &secret::hash(presented),
                chrono::Utc::now(),
                chrono(SESSION_IDLE),
            )
            .await?;
        Ok(found.map(|s| {
            let role: Role = s.role.parse().unwrap_or(Role::Viewer);
            Actor::key(&s.key_id, &s.key_name, role)
        }))
    }

    pub async fn sign_out(&self, presented: &str) -> Result<()> {
        self.store.end_session(&secret::hash(presented)).await?;
        Ok(())
    }
}
