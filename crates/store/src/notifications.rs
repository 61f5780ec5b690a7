//! Notification targets (webhook URL and signing secret sealed under the master key) and
//! the deliveries queued for them. A delivery is taken by one process at a time with a
//! short lock, so replicas never send the same notice twice at once.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::crypto::Sealed;
use crate::from_row::from_row;
use crate::{Result, Store, StoreError, with_pool};

/// A target as listed: never its URL or secret, only a hint of the URL.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NotificationTarget {
    pub id: String,
    pub name: String,
    /// `slack` or `json`.
    pub format: String,
    /// The URL's scheme and host.
    pub url_hint: String,
    /// Comma-separated event names.
    pub events: String,
    pub workflow_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

from_row!(NotificationTarget {
    id,
    name,
    format,
    url_hint,
    events,
    workflow_id,
    created_at
});

/// What a sender needs: the target with its URL and secret opened.
pub struct OpenTarget {
    pub target: NotificationTarget,
    pub url: Zeroizing<String>,
    pub secret: Zeroizing<String>,
}

pub struct NewTarget<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub format: &'a str,
    pub url: &'a str,
    pub url_hint: &'a str,
    pub secret: &'a str,
    pub events: &'a str,
    pub workflow_id: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Delivery {
    pub id: i64,
    pub target_id: String,
    pub event: String,
    pub run_id: Option<String>,
    /// `pending`, `sent` or `failed` (given up).
    pub status: String,
    pub attempts: i32,
    pub next_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

from_row!(Delivery {
    id,
    target_id,
    event,
    run_id,
    status,
    attempts,
    next_at,
    last_error,
    created_at,
    sent_at
});

/// A delivery taken for sending, with its body.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub target_id: String,
    pub event: String,
    pub run_id: Option<String>,
    pub body: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

from_row!(DueDelivery {
    id,
    target_id,
    event,
    run_id,
    body,
    attempts,
    created_at
});

const TARGET_COLUMNS: &str = "id, name, format, url_hint, events, workflow_id, created_at";
const DELIVERY_COLUMNS: &str =
    "id, target_id, event, run_id, status, attempts, next_at, last_error, created_at, sent_at";

fn text(bytes: Zeroizing<Vec<u8>>) -> Result<Zeroizing<String>> {
    String::from_utf8(bytes.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| StoreError::Key("a sealed notification setting is not text".into()))
}

impl Store {
    pub async fn add_notification_target(&self, t: &NewTarget<'_>) -> Result<()> {
        let url = self.key.seal(&format!("{}:url", t.id), t.url.as_bytes())?;
        let secret = self
            .key
            .seal(&format!("{}:secret", t.id), t.secret.as_bytes())?;
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO notification_targets (id, name, format, url_nonce, url_ciphertext, secret_nonce, secret_ciphertext, \
             url_hint, events, workflow_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        ).bind(t.id).bind(t.name).bind(t.format).bind(&url.nonce).bind(&url.ciphertext)
        .bind(&secret.nonce).bind(&secret.ciphertext).bind(t.url_hint).bind(t.events).bind(t.workflow_id).bind(Utc::now())
        .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn notification_targets(&self) -> Result<Vec<NotificationTarget>> {
        let sql = format!("SELECT {TARGET_COLUMNS} FROM notification_targets ORDER BY name");
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, NotificationTarget>(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await)?,
        )
    }

    /// False when there is no target by that name.
    pub async fn remove_notification_target(&self, name: &str) -> Result<bool> {
        let n = with_pool!(&self.pool, p => sqlx::query("DELETE FROM notification_targets WHERE name = $1")
            .bind(name).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// A target with its URL and secret, for sending.
    pub async fn open_notification_target(&self, id: &str) -> Result<Option<OpenTarget>> {
        let sql = format!(
            "SELECT {TARGET_COLUMNS}, url_nonce, url_ciphertext, secret_nonce, secret_ciphertext FROM notification_targets WHERE id = $1"
        );
        type Row = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);
        let found: Option<(NotificationTarget, Row)> = with_pool!(&self.pool, p => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await?;
            match row {
                None => None,
                Some(r) => {
                    use sqlx::{FromRow as _, Row as _};
                    let t = NotificationTarget::from_row(&r)?;
                    Some((t, (r.try_get("url_nonce")?, r.try_get("url_ciphertext")?, r.try_get("secret_nonce")?, r.try_get("secret_ciphertext")?)))
                }
            }
        });
        let Some((target, (un, uc, sn, sc))) = found else {
            return Ok(None);
        };
        let url = text(self.key.open(
            &format!("{id}:url"),
            &Sealed {
                nonce: un,
                ciphertext: uc,
            },
        )?)?;
        let secret = text(self.key.open(
            &format!("{id}:secret"),
            &Sealed {
                nonce: sn,
                ciphertext: sc,
            },
        )?)?;
        Ok(Some(OpenTarget {
            target,
            url,
            secret,
        }))
    }

    /// Queue a notice for a target.
    pub async fn queue_delivery(
        &self,
        target_id: &str,
        event: &str,
        run_id: Option<&str>,
        body: &str,
    ) -> Result<()> {
        let now = Utc::now();
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO notification_deliveries (target_id, event, run_id, body, status, attempts, next_at, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
        ).bind(target_id).bind(event).bind(run_id).bind(body).bind(now)
        .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Take the next due delivery for `lock`, as `owner` (nobody else takes it meanwhile).
    pub async fn take_due_delivery(
        &self,
        lock: Duration,
        owner: &str,
    ) -> Result<Option<DueDelivery>> {
        let now = Utc::now();
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, DueDelivery>(
            "UPDATE notification_deliveries SET locked_until = $2, locked_by = $3 WHERE id = (\
               SELECT id FROM notification_deliveries WHERE status = 'pending' AND next_at <= $1 \
               AND (locked_until IS NULL OR locked_until <= $1) ORDER BY next_at LIMIT 1) \
             AND (locked_until IS NULL OR locked_until <= $1) \
             RETURNING id, target_id, event, run_id, body, attempts, created_at",
        ).bind(now).bind(now + lock).bind(owner).fetch_optional(p).await)?,
        )
    }

    /// The processes whose names start with `prefix` (one host's) that hold deliveries.
    pub async fn delivery_holders_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let pattern = crate::clean::starts_with(prefix);
        let rows: Vec<(String,)> = with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT DISTINCT locked_by FROM notification_deliveries WHERE locked_by LIKE $1 ESCAPE '\\' AND status = 'pending'",
        ).bind(pattern).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Let go of the deliveries `holder` took (a process that is gone): due again at once.
    pub async fn release_deliveries(&self, holder: &str) -> Result<u64> {
        Ok(with_pool!(&self.pool, p => sqlx::query(
            "UPDATE notification_deliveries SET locked_until = NULL, locked_by = NULL WHERE locked_by = $1 AND status = 'pending'",
        ).bind(holder).execute(p).await.map(|r| r.rows_affected()))?)
    }

    pub async fn delivery_sent(&self, id: i64) -> Result<()> {
        let now = Utc::now();
        with_pool!(&self.pool, p => sqlx::query(
            "UPDATE notification_deliveries SET status = 'sent', attempts = attempts + 1, sent_at = $2, locked_until = NULL, locked_by = NULL, last_error = NULL WHERE id = $1",
        ).bind(id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Record a failed attempt: try again at `next` (or give up when `None`).
    pub async fn delivery_failed(
        &self,
        id: i64,
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let error = crate::clean::text(error);
        with_pool!(&self.pool, p => sqlx::query(
            "UPDATE notification_deliveries SET attempts = attempts + 1, last_error = $2, locked_until = NULL, locked_by = NULL, \
             status = CASE WHEN $3 IS NULL THEN 'failed' ELSE 'pending' END, next_at = COALESCE($3, next_at) WHERE id = $1",
        ).bind(id).bind(error.as_ref()).bind(next).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Newest first.
    pub async fn deliveries(&self, limit: i64) -> Result<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM notification_deliveries ORDER BY id DESC LIMIT $1"
        );
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Delivery>(sqlx::AssertSqlSafe(sql.as_str())).bind(limit).fetch_all(p).await)?,
        )
    }
}
