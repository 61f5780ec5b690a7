//! Console sessions: a random 256-bit id in an HttpOnly cookie, stored hashed in the
//! database so replicas share them and restarts keep them. A session from a key sign-in
//! lives while the key does; one from SSO while the person is active. Who is behind it and
//! their role are read again on every request.

use std::time::Duration;

use store::{LiveSession, SessionRow};

use super::people::role_of;
use super::secret;
use crate::actor::Actor;
use crate::config::SessionTimes;
use crate::engine::Engine;
use crate::error::PersonError;
use crate::error::{EngineError, Result};
use workflow_lang::Role;

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(8))
}

fn actor_of(s: LiveSession) -> Actor {
    let scope = super::keys::scope_of(s.key_read_only.unwrap_or(false), s.key_workflows.as_deref());
    actor_unscoped(s).scoped(scope)
}

fn actor_unscoped(s: LiveSession) -> Actor {
    let key_role: Option<Role> = s.key_role.as_deref().and_then(|r| r.parse().ok());
    let person_role: Option<Role> = s.person_role.as_deref().and_then(|r| r.parse().ok());
    match (s.email, s.key_id, s.key_name) {
        // A person: through SSO, or a key they own (never above either role).
        (Some(email), key_id, _) => {
            let role = match (person_role, key_role) {
                (Some(p), Some(k)) => p.min(k),
                (Some(p), None) => p,
                _ => Role::Viewer,
            };
            Actor::person(&email, s.person_name.as_deref(), role, key_id.as_deref())
        }
        (None, Some(id), Some(name)) => Actor::key(
            &id,
            &name,
            key_role.unwrap_or(Role::Viewer),
            s.key_made_by.as_deref(),
        ),
        _ => Actor::system("unknown"),
    }
}

impl Engine {
    fn session_times(&self) -> SessionTimes {
        self.config.sessions
    }

    async fn new_session(&self, key_id: Option<&str>, person_id: Option<&str>) -> Result<String> {
        let secret = secret::new("lfs_")
            .map_err(|e| EngineError::Conflict(format!("no randomness: {e}")))?;
        let times = self.session_times();
        // Expired sessions go as new ones come, so the table stays the size of its use.
        let _ = self
            .store
            .prune_sessions(chrono::Utc::now(), chrono(times.idle))
            .await;
        self.store
            .create_session(
                &secret::hash(&secret),
                key_id,
                person_id,
                chrono(times.lifetime),
            )
            .await?;
        Ok(secret)
    }

    /// Sign in to the console with an API key: a new session's secret, or `None` when the
    /// key is not a live one.
    pub async fn sign_in_with_key(&self, presented: &str) -> Result<Option<(String, Actor)>> {
        let Some(actor) = self.authenticate_key(presented).await? else {
            return Ok(None);
        };
        let secret = self.new_session(actor.key_id.as_deref(), None).await?;
        self.audit(
            &actor,
            "session.create",
            &actor.label,
            Some(serde_json::json!({"via": "key"})),
        )
        .await;
        Ok(Some((secret, actor)))
    }

    /// Sign in a person the identity provider vouched for: creates them or refreshes their
    /// name and role, then opens a session. A deactivated person is refused.
    pub async fn sign_in_person(
        &self,
        email: &str,
        name: Option<&str>,
        role: Role,
        provider: &str,
    ) -> Result<(String, Actor)> {
        super::people::check_email(email)?;
        let person = self
            .store
            .person_signed_in(&crate::ids::new_run_id(), email, name, role.as_str())
            .await?;
        if person.status != store::PersonStatus::Active {
            return Err(PersonError::Deactivated(person.email).into());
        }
        let actor = Actor::person(
            &person.email,
            person.name.as_deref(),
            role_of(&person),
            None,
        );
        let secret = self.new_session(None, Some(&person.id)).await?;
        self.audit(
            &actor,
            "session.create",
            &actor.label,
            Some(serde_json::json!({"via": provider, "role": role})),
        )
        .await;
        Ok((secret, actor))
    }

    /// The actor behind a session secret, as they are now; `None` when the session ended
    /// (signed out, idle, too old, revoked, its key revoked or its person deactivated).
    pub async fn session(&self, presented: &str) -> Result<Option<Actor>> {
        if !presented.starts_with("lfs_") || presented.len() > 200 {
            return Ok(None);
        }
        let found = self
            .store
            .live_session(
                &secret::hash(presented),
                chrono::Utc::now(),
                chrono(self.session_times().idle),
            )
            .await?;
        Ok(found.map(actor_of))
    }

    pub async fn sign_out(&self, presented: &str) -> Result<()> {
        self.store.end_session(&secret::hash(presented)).await?;
        Ok(())
    }

    /// Live sessions, for admins: who, since when, until when; never their secrets.
    pub async fn sessions(&self) -> Result<Vec<SessionRow>> {
        Ok(self
            .store
            .sessions(chrono::Utc::now(), chrono(self.session_times().idle))
            .await?)
    }

    /// End a session by its listed id.
    pub async fn revoke_session(&self, id: &str, by: &Actor) -> Result<()> {
        if !self.store.revoke_session(id).await? {
            return Err(EngineError::NotFound(format!("no live session '{id}'")));
        }
        self.audit(by, "session.revoke", id, None).await;
        Ok(())
    }

    /// Remember an SSO sign-in under way (by the hash of its state) for ten minutes.
    pub async fn begin_sso(
        &self,
        state: &str,
        nonce: &str,
        verifier: &str,
        return_to: &str,
    ) -> Result<()> {
        let until = chrono::Utc::now() + chrono::Duration::minutes(10);
        self.store
            .save_oidc_login(&secret::hash(state), nonce, verifier, return_to, until)
            .await?;
        Ok(())
    }

    /// Take back an SSO sign-in under way, once: (nonce, verifier, return_to).
    pub async fn finish_sso(&self, state: &str) -> Result<Option<(String, String, String)>> {
        Ok(self.store.take_oidc_login(&secret::hash(state)).await?)
    }
}
