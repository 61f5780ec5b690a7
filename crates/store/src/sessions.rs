//! Console sessions, by the SHA-256 of their secret.

use chrono::{DateTime, Duration, Utc};

use crate::{Result, Store, with_pool};

/// A live session and the key behind it, as the key is now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveSession {
    pub key_id: String,
    pub key_name: String,
    pub role: String,
    pub last_seen_at: DateTime<Utc>,
}

impl Store {
    pub async fn create_session(
        &self,
        id_hash: &str,
        key_id: &str,
        lifetime: Duration,
    ) -> Result<()> {
        let now = Utc::now();
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO sessions (id_hash, key_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
        ).bind(id_hash).bind(key_id).bind(now).bind(now + lifetime).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The session, if it has not ended, been idle longer than `idle`, outlived its
    /// lifetime, or lost its key. Marks it seen (at most once a minute).
    pub async fn live_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Result<Option<LiveSession>> {
        let found: Option<LiveSession> = with_pool!(&self.pool, p => sqlx::query_as::<_, LiveSession>(
            "SELECT s.key_id, k.name AS key_name, k.role, s.last_seen_at FROM sessions s JOIN api_keys k ON k.id = s.key_id \
             WHERE s.id_hash = $1 AND s.ended_at IS NULL AND k.revoked_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $3",
        ).bind(id_hash).bind(now).bind(now - idle).fetch_optional(p).await)?;
        if let Some(s) = &found
            && now - s.last_seen_at > Duration::seconds(60)
        {
            with_pool!(&self.pool, p => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
                .bind(id_hash).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        }
        Ok(found)
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
}
