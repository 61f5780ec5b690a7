//! Inbound webhook triggers: the secret callers prove themselves with (sealed under the
//! master key), the workflow they start, the payload mapping, and receipts of what each
//! trigger has seen (a signature is accepted once; a dedupe key starts one run a day).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::crypto::Sealed;
use crate::from_row::from_row;
use crate::{Result, Store, StoreError, with_pool};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Trigger {
    pub id: String,
    pub name: String,
    pub workflow_id: String,
    /// `hmac`, `slack` or `header`.
    pub auth: String,
    /// The payload mapping (YAML), if any.
    pub mapping: Option<String>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_fired_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

from_row!(Trigger {
    id,
    name,
    workflow_id,
    auth,
    mapping,
    enabled,
    created_at,
    last_fired_at,
    last_error,
    last_error_at
});

pub struct NewTrigger<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub workflow_id: &'a str,
    pub auth: &'a str,
    pub secret: &'a str,
    pub mapping: Option<&'a str>,
}

const COLUMNS: &str = "id, name, workflow_id, auth, mapping, enabled, created_at, last_fired_at, last_error, last_error_at";

/// What checking a receipt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// First time: recorded.
    New,
    /// Seen before (within the window), with the run it started, if any.
    Seen(Option<String>),
}

impl Store {
    pub async fn add_trigger(&self, t: &NewTrigger<'_>) -> Result<()> {
        let sealed = self
            .key
            .seal(&format!("{}:trigger", t.id), t.secret.as_bytes())?;
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO triggers (id, name, workflow_id, auth, secret_nonce, secret_ciphertext, mapping, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        ).bind(t.id).bind(t.name).bind(t.workflow_id).bind(t.auth).bind(&sealed.nonce).bind(&sealed.ciphertext)
        .bind(t.mapping).bind(true).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn triggers(&self) -> Result<Vec<Trigger>> {
        let sql = format!("SELECT {COLUMNS} FROM triggers ORDER BY name");
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Trigger>(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await)?,
        )
    }

    /// By id or by name.
    pub async fn trigger(&self, id_or_name: &str) -> Result<Option<Trigger>> {
        let sql = format!("SELECT {COLUMNS} FROM triggers WHERE id = $1 OR name = $1");
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Trigger>(sqlx::AssertSqlSafe(sql.as_str())).bind(id_or_name).fetch_optional(p).await)?,
        )
    }

    /// A trigger's secret, opened.
    pub async fn trigger_secret(&self, id: &str) -> Result<Zeroizing<String>> {
        let row: Option<(Vec<u8>, Vec<u8>)> = with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT secret_nonce, secret_ciphertext FROM triggers WHERE id = $1",
        ).bind(id).fetch_optional(p).await)?;
        let (nonce, ciphertext) =
            row.ok_or_else(|| StoreError::NotFound(format!("trigger {id}")))?;
        let bytes = self
            .key
            .open(&format!("{id}:trigger"), &Sealed { nonce, ciphertext })?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| StoreError::Key("a trigger secret is not text".into()))
    }

    pub async fn set_trigger_secret(&self, id: &str, secret: &str) -> Result<()> {
        let sealed = self.key.seal(&format!("{id}:trigger"), secret.as_bytes())?;
        with_pool!(&self.pool, p => sqlx::query("UPDATE triggers SET secret_nonce = $2, secret_ciphertext = $3 WHERE id = $1")
            .bind(id).bind(&sealed.nonce).bind(&sealed.ciphertext).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn set_trigger_enabled(&self, id: &str, enabled: bool) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query("UPDATE triggers SET enabled = $2 WHERE id = $1")
            .bind(id).bind(enabled).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn remove_trigger(&self, id: &str) -> Result<bool> {
        let n = with_pool!(&self.pool, p => sqlx::query("DELETE FROM triggers WHERE id = $1")
            .bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Record a firing: `error` set when it failed (a mapping or input problem).
    pub async fn trigger_fired(&self, id: &str, error: Option<&str>) -> Result<()> {
        let now = Utc::now();
        let error = error.map(crate::clean::text);
        with_pool!(&self.pool, p => sqlx::query(
            "UPDATE triggers SET last_fired_at = $2, last_error = COALESCE($3, last_error), \
             last_error_at = CASE WHEN $3 IS NULL THEN last_error_at ELSE $2 END WHERE id = $1",
        ).bind(id).bind(now).bind(error.as_deref()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Record `key` of `kind` for a trigger, unless it was seen within `window`.
    pub async fn receipt(
        &self,
        trigger_id: &str,
        kind: &str,
        key: &str,
        window: Duration,
    ) -> Result<Receipt> {
        let now = Utc::now();
        Ok(with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            // Older receipts no longer count (a write first: racing callers queue here).
            sqlx::query("DELETE FROM trigger_receipts WHERE trigger_id = $1 AND kind = $2 AND at <= $3")
                .bind(trigger_id).bind(kind).bind(now - window).execute(&mut *tx).await?;
            let inserted = sqlx::query(
                "INSERT INTO trigger_receipts (trigger_id, kind, key, at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (trigger_id, kind, key) DO NOTHING",
            ).bind(trigger_id).bind(kind).bind(key).bind(now).execute(&mut *tx).await?.rows_affected();
            let out = if inserted > 0 {
                Receipt::New
            } else {
                let run: Option<Option<String>> = sqlx::query_scalar(
                    "SELECT run_id FROM trigger_receipts WHERE trigger_id = $1 AND kind = $2 AND key = $3",
                ).bind(trigger_id).bind(kind).bind(key).fetch_optional(&mut *tx).await?;
                Receipt::Seen(run.flatten())
            };
            tx.commit().await?;
            out
        }))
    }

    /// Attach the run a receipt started (or forget the receipt when no run started).
    pub async fn receipt_run(
        &self,
        trigger_id: &str,
        kind: &str,
        key: &str,
        run_id: Option<&str>,
    ) -> Result<()> {
        with_pool!(&self.pool, p => match run_id {
            Some(r) => sqlx::query("UPDATE trigger_receipts SET run_id = $4 WHERE trigger_id = $1 AND kind = $2 AND key = $3")
                .bind(trigger_id).bind(kind).bind(key).bind(r).execute(p).await.map(|r| r.rows_affected()),
            None => sqlx::query("DELETE FROM trigger_receipts WHERE trigger_id = $1 AND kind = $2 AND key = $3")
                .bind(trigger_id).bind(kind).bind(key).execute(p).await.map(|r| r.rows_affected()),
        })?;
        Ok(())
    }
}
