//! Named secrets for `http:` steps, sealed with the master key like Lumos tokens: set and
//! removed by admins, listed by name only, opened only when a step sends them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::crypto::Sealed;
use crate::from_row::from_row;
use crate::{Result, Store, StoreError, with_pool};

/// A secret as it is listed: never its value.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SecretInfo {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// The hosts (`host` or `host:port`) it may be sent to, comma-separated; empty for a
    /// secret set before secrets had hosts (sent nowhere until set again).
    pub hosts: String,
    /// Whether it may go over plain http (https only otherwise).
    pub allow_http: bool,
    /// The workflows that may use it, comma-separated; none: any.
    pub workflows: Option<String>,
}

from_row!(SecretInfo {
    name,
    created_at,
    created_by,
    hosts,
    allow_http,
    workflows
});

/// Where a secret may be sent (engine-checked; stored as given).
#[derive(Debug, Clone, Copy)]
pub struct SecretScope<'a> {
    pub hosts: &'a str,
    pub allow_http: bool,
    pub workflows: Option<&'a str>,
}

impl Store {
    /// Set (or replace) a secret.
    pub async fn set_secret(
        &self,
        name: &str,
        value: &str,
        scope: SecretScope<'_>,
        by: &str,
    ) -> Result<()> {
        let sealed = self.key.seal(&format!("{name}:secret"), value.as_bytes())?;
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO secrets (name, nonce, ciphertext, created_at, created_by, hosts, allow_http, workflows) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
             created_at = excluded.created_at, created_by = excluded.created_by, hosts = excluded.hosts, \
             allow_http = excluded.allow_http, workflows = excluded.workflows",
        ).bind(name).bind(&sealed.nonce).bind(&sealed.ciphertext).bind(Utc::now()).bind(by)
        .bind(scope.hosts).bind(scope.allow_http).bind(scope.workflows)
        .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn secrets(&self) -> Result<Vec<SecretInfo>> {
        Ok(with_pool!(&self.pool, p => sqlx::query_as::<_, SecretInfo>(
            "SELECT name, created_at, created_by, hosts, allow_http, workflows FROM secrets ORDER BY name",
        ).fetch_all(p).await)?)
    }

    /// A secret's value, to send, and where it may go; `None` when there is none of that
    /// name.
    pub async fn secret(&self, name: &str) -> Result<Option<(Zeroizing<String>, SecretInfo)>> {
        // One read: the rule and the sealed value of the same row.
        let found: Option<(SecretInfo, Vec<u8>, Vec<u8>)> = with_pool!(&self.pool, p => {
            let row = sqlx::query(
                "SELECT name, created_at, created_by, hosts, allow_http, workflows, nonce, ciphertext FROM secrets WHERE name = $1",
            ).bind(name).fetch_optional(p).await?;
            match row {
                None => None,
                Some(r) => {
                    use sqlx::{FromRow as _, Row as _};
                    Some((SecretInfo::from_row(&r)?, r.try_get("nonce")?, r.try_get("ciphertext")?))
                }
            }
        });
        let Some((info, nonce, ciphertext)) = found else {
            return Ok(None);
        };
        let bytes = self
            .key
            .open(&format!("{name}:secret"), &Sealed { nonce, ciphertext })?;
        String::from_utf8(bytes.to_vec())
            .map(|s| Some((Zeroizing::new(s), info)))
            .map_err(|_| StoreError::Key("a secret is not text".into()))
    }

    pub async fn remove_secret(&self, name: &str) -> Result<bool> {
        let n = with_pool!(&self.pool, p => sqlx::query("DELETE FROM secrets WHERE name = $1")
            .bind(name).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
