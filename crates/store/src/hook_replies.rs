//! Replies of triggers: when a run a hook started ends, its answer goes where the trigger
//! says (a Slack `response_url`, a ticketing tool). Kept here until sent, so whichever
//! replica finds the run ended sends it, and a restart loses none; retried with backoff.

use chrono::{DateTime, Duration, Utc};
use zeroize::Zeroizing;

use crate::crypto::Sealed;
use crate::{Result, Store, StoreError, with_pool};

/// A reply whose run has ended, taken for sending.
#[derive(Debug, Clone)]
pub struct DueReply {
    pub run_id: String,
    pub trigger_id: String,
    /// What the reply's templates read besides the run (the payload and headers), as JSON.
    pub scope: Zeroizing<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

type Row = (String, String, Vec<u8>, Vec<u8>, i32, DateTime<Utc>);

fn aad(run_id: &str) -> String {
    format!("{run_id}:hook_reply")
}

impl Store {
    /// Keep the reply of run `run_id`, sent once the run ends.
    pub async fn add_hook_reply(&self, run_id: &str, trigger_id: &str, scope: &str) -> Result<()> {
        let sealed = self.key.seal(&aad(run_id), scope.as_bytes())?;
        let now = Utc::now();
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO hook_replies (run_id, trigger_id, nonce, ciphertext, created_at, next_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (run_id) DO NOTHING",
        ).bind(run_id).bind(trigger_id).bind(&sealed.nonce).bind(&sealed.ciphertext).bind(now)
        .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Take one reply whose run has ended and that is due, for `lock` (another process
    /// takes it after that if this one is gone).
    pub async fn take_due_reply(&self, lock: Duration) -> Result<Option<DueReply>> {
        let now = Utc::now();
        let row: Option<Row> = with_pool!(&self.pool, p => sqlx::query_as(
            "UPDATE hook_replies SET locked_until = $2 WHERE run_id = (\
               SELECT r.run_id FROM hook_replies r JOIN runs ON runs.id = r.run_id \
               WHERE r.status = 'pending' AND r.next_at <= $1 \
               AND (r.locked_until IS NULL OR r.locked_until <= $1) \
               AND runs.status IN ('completed', 'failed', 'denied', 'canceled', 'expired') \
               ORDER BY r.next_at LIMIT 1) \
             AND (locked_until IS NULL OR locked_until <= $1) \
             RETURNING run_id, trigger_id, nonce, ciphertext, attempts, created_at",
        ).bind(now).bind(now + lock).fetch_optional(p).await)?;
        let Some((run_id, trigger_id, nonce, ciphertext, attempts, created_at)) = row else {
            return Ok(None);
        };
        let bytes = self
            .key
            .open(&aad(&run_id), &Sealed { nonce, ciphertext })?;
        let scope = String::from_utf8(bytes.to_vec())
            .map_err(|_| StoreError::Key("a hook reply is not text".into()))?;
        Ok(Some(DueReply {
            run_id,
            trigger_id,
            scope: Zeroizing::new(scope),
            attempts,
            created_at,
        }))
    }

    /// Record a reply sent (`error` none), or why not and when to try again (`next` none:
    /// given up).
    pub async fn reply_tried(
        &self,
        run_id: &str,
        error: Option<&str>,
        next: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let status = match (error, next) {
            (None, _) => "sent",
            (Some(_), Some(_)) => "pending",
            (Some(_), None) => "failed",
        };
        let next = next.unwrap_or_else(Utc::now);
        with_pool!(&self.pool, p => sqlx::query(
            "UPDATE hook_replies SET status = $2, attempts = attempts + 1, last_error = $3, \
             next_at = $4, locked_until = NULL WHERE run_id = $1",
        ).bind(run_id).bind(status).bind(error).bind(next).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A run's reply as it stands: `pending`, `sent` or `failed`, and the last error.
    pub async fn reply_status(&self, run_id: &str) -> Result<Option<(String, Option<String>)>> {
        Ok(with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT status, last_error FROM hook_replies WHERE run_id = $1",
        ).bind(run_id).fetch_optional(p).await)?)
    }
}
