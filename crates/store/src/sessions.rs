//! Console sessions, by the SHA-256 of their secret. A session comes from a key sign-in
//! (it lives while the key does) or from SSO (it lives while the person is active); the
//! person behind it is the SSO person or the key's owner.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::from_row::from_row;
use crate::{Result, Store, with_pool};

/// A live session and who is behind it, as they are now.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub key_id: Option<String>,
    pub key_name: Option<String>,
    pub key_role: Option<String>,
    /// Who made the key (a service key counts as them for self-approval).
    pub key_made_by: Option<String>,
    /// The key's scope (see `ApiKey`).
    pub key_read_only: Option<bool>,
    pub key_workflows: Option<String>,
    pub person_id: Option<String>,
    pub email: Option<String>,
    pub person_name: Option<String>,
    pub person_role: Option<String>,
    pub last_seen_at: DateTime<Utc>,
}

from_row!(LiveSession {
    key_id,
    key_name,
    key_role,
    key_made_by,
    key_read_only,
    key_workflows,
    person_id,
    email,
    person_name,
    person_role,
    last_seen_at
});

/// A session as admins list it: never its secret, only the start of the secret's hash.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SessionRow {
    /// The first 16 characters of the secret's hash: enough to name it, useless to use it.
    pub id: String,
    pub key_name: Option<String>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

from_row!(SessionRow {
    id,
    key_name,
    email,
    created_at,
    last_seen_at,
    expires_at
});

/// Length of a session's listed id.
pub const SESSION_ID_LEN: usize = 16;

const WHO: &str = "FROM sessions s LEFT JOIN api_keys k ON k.id = s.key_id \
     LEFT JOIN people p ON p.id = COALESCE(s.person_id, k.owner_id)";

/// Live: not ended, not expired, not idle, its key (if any) not revoked, its person (if
/// any) active.
const LIVE: &str = "s.ended_at IS NULL AND s.expires_at > $1 AND s.last_seen_at > $2 \
     AND (s.key_id IS NULL OR k.revoked_at IS NULL) AND (p.id IS NULL OR p.status = 'active')";

impl Store {
    /// A new session for a key sign-in (`key_id`) or an SSO person (`person_id`).
    pub async fn create_session(
        &self,
        id_hash: &str,
        key_id: Option<&str>,
        person_id: Option<&str>,
        lifetime: Duration,
    ) -> Result<()> {
        let now = Utc::now();
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO sessions (id_hash, key_id, person_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)",
        ).bind(id_hash).bind(key_id).bind(person_id).bind(now).bind(now + lifetime).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The session, if it is live (see [`LIVE`]). Marks it seen (at most once a minute).
    pub async fn live_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Result<Option<LiveSession>> {
        let sql = format!(
            "SELECT s.key_id, k.name AS key_name, k.role AS key_role, k.created_by AS key_made_by, k.read_only AS key_read_only, k.workflows AS key_workflows, p.id AS person_id, p.email, \
             p.name AS person_name, p.role AS person_role, s.last_seen_at {WHO} WHERE s.id_hash = $3 AND {LIVE}"
        );
        let found: Option<LiveSession> = with_pool!(&self.pool, p => sqlx::query_as::<_, LiveSession>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(now).bind(now - idle).bind(id_hash).fetch_optional(p).await)?;
        if let Some(s) = &found
            && now - s.last_seen_at > Duration::seconds(60)
        {
            with_pool!(&self.pool, p => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
                .bind(id_hash).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        }
        Ok(found)
    }

    /// Live sessions, newest first.
    pub async fn sessions(&self, now: DateTime<Utc>, idle: Duration) -> Result<Vec<SessionRow>> {
        let sql = format!(
            "SELECT SUBSTR(s.id_hash, 1, {SESSION_ID_LEN}) AS id, k.name AS key_name, p.email, s.created_at, \
             s.last_seen_at, s.expires_at {WHO} WHERE {LIVE} ORDER BY s.created_at DESC"
        );
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, SessionRow>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(now).bind(now - idle).fetch_all(p).await)?,
        )
    }

    /// End a session by its listed id; false when no live session has it.
    pub async fn revoke_session(&self, listed_id: &str) -> Result<bool> {
        if listed_id.len() != SESSION_ID_LEN || !listed_id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let n = with_pool!(&self.pool, p => sqlx::query(
            "UPDATE sessions SET ended_at = $2 WHERE SUBSTR(id_hash, 1, 16) = $1 AND ended_at IS NULL",
        ).bind(listed_id.to_ascii_lowercase()).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    pub async fn end_session(&self, id_hash: &str) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query("UPDATE sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL")
            .bind(id_hash).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Delete sessions that can no longer be used.
    pub async fn prune_sessions(&self, now: DateTime<Utc>, idle: Duration) -> Result<u64> {
        Ok(with_pool!(&self.pool, p => sqlx::query(
            "DELETE FROM sessions WHERE ended_at IS NOT NULL OR expires_at <= $1 OR last_seen_at <= $2",
        ).bind(now).bind(now - idle).execute(p).await.map(|r| r.rows_affected()))?)
    }

    /// Save an SSO sign-in under way until its callback (ten minutes at most).
    pub async fn save_oidc_login(
        &self,
        state_hash: &str,
        nonce: &str,
        verifier: &str,
        return_to: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(&self.pool, p => {
            sqlx::query("DELETE FROM oidc_logins WHERE expires_at <= $1").bind(Utc::now()).execute(p).await?;
            sqlx::query("INSERT INTO oidc_logins (state_hash, nonce, verifier, return_to, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(state_hash).bind(nonce).bind(verifier).bind(return_to).bind(expires_at).execute(p).await?;
        });
        Ok(())
    }

    /// Take an SSO sign-in under way: (nonce, verifier, return_to), once. A second call with
    /// the same state finds nothing, so a replayed callback fails.
    pub async fn take_oidc_login(
        &self,
        state_hash: &str,
    ) -> Result<Option<(String, String, String)>> {
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, (String, String, String)>(
            "DELETE FROM oidc_logins WHERE state_hash = $1 AND expires_at > $2 RETURNING nonce, verifier, return_to",
        ).bind(state_hash).bind(Utc::now()).fetch_optional(p).await)?,
        )
    }
}
