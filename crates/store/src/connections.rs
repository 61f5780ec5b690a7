//! Lumos connections: a name, a base URL and a sealed API token.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::crypto::Sealed;
use crate::from_row::from_row;
use crate::{Result, Store, StoreError, with_pool};

/// What a verified connect saves. The token is sealed before it reaches SQL.
pub struct NewConnection<'a> {
    pub name: &'a str,
    pub base_url: &'a str,
    pub token: &'a str,
    pub token_hint: &'a str,
    pub lumos_user_id: &'a str,
    pub lumos_user_email: Option<&'a str>,
}

/// A connection as shown to people: never the token, only its hint.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Connection {
    pub id: String,
    pub name: String,
    pub base_url: String,
    pub token_hint: String,
    pub lumos_user_id: Option<String>,
    pub lumos_user_email: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub last_check_at: Option<DateTime<Utc>>,
    pub last_check_status: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Roles that may run against it, comma-separated; `None`: the default rule.
    pub allowed_roles: Option<String>,
}

from_row!(Connection {
    id,
    name,
    base_url,
    token_hint,
    lumos_user_id,
    lumos_user_email,
    verified_at,
    last_check_at,
    last_check_status,
    created_at,
    updated_at,
    allowed_roles
});

const COLUMNS: &str = "id, name, base_url, token_hint, lumos_user_id, lumos_user_email, verified_at, \
                       last_check_at, last_check_status, created_at, updated_at, allowed_roles";

impl Store {
    /// Save a verified connection, replacing the token of an existing one with that name.
    /// The id of a name never changes, so the token's associated data stays valid.
    pub async fn save_connection(&self, c: &NewConnection<'_>) -> Result<Connection> {
        let now = Utc::now();
        let fresh_id = uuid::Uuid::now_v7().to_string();
        with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            // Claim the name first (a write, so concurrent savers queue here), then seal under
            // whichever id owns it.
            sqlx::query(
                "INSERT INTO connections (id, name, base_url, token_hint, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (name) DO NOTHING",
            )
            .bind(&fresh_id).bind(c.name).bind(c.base_url).bind(c.token_hint).bind(now)
            .execute(&mut *tx).await?;
            let (id,): (String,) = sqlx::query_as("SELECT id FROM connections WHERE name = $1").bind(c.name).fetch_one(&mut *tx).await?;
            let sealed = self.key.seal(&id, c.token.as_bytes())?;
            sqlx::query(
                "UPDATE connections SET base_url = $2, token_hint = $3, token_nonce = $4, token_ciphertext = $5, \
                 key_version = 1, lumos_user_id = $6, lumos_user_email = $7, verified_at = $8, last_check_at = $8, \
                 last_check_status = 'ok', updated_at = $8 WHERE id = $1",
            )
            .bind(&id).bind(c.base_url).bind(c.token_hint).bind(&sealed.nonce).bind(&sealed.ciphertext)
            .bind(c.lumos_user_id).bind(c.lumos_user_email).bind(now)
            .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        self.connection(c.name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("connection '{}'", c.name)))
    }

    pub async fn connections(&self) -> Result<Vec<Connection>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM connections WHERE token_ciphertext IS NOT NULL ORDER BY name"
        );
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Connection>(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await)?,
        )
    }

    pub async fn connection(&self, name: &str) -> Result<Option<Connection>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM connections WHERE name = $1 AND token_ciphertext IS NOT NULL"
        );
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Connection>(sqlx::AssertSqlSafe(sql.as_str())).bind(name).fetch_optional(p).await)?,
        )
    }

    /// The decrypted token of a connection, for building its client.
    pub async fn connection_token(&self, name: &str) -> Result<Zeroizing<String>> {
        let row: Option<(String, Vec<u8>, Vec<u8>)> = with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT id, token_nonce, token_ciphertext FROM connections WHERE name = $1 AND token_ciphertext IS NOT NULL",
        ).bind(name).fetch_optional(p).await)?;
        let (id, nonce, ciphertext) =
            row.ok_or_else(|| StoreError::NotFound(format!("connection '{name}'")))?;
        let plain = self.key.open(&id, &Sealed { nonce, ciphertext })?;
        String::from_utf8(plain.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| StoreError::Key("a sealed token is not text".into()))
    }

    /// Record the outcome of a re-verification.
    pub async fn record_check(&self, name: &str, status: &str, email: Option<&str>) -> Result<()> {
        let now = Utc::now();
        with_pool!(&self.pool, p => sqlx::query(
            "UPDATE connections SET last_check_at = $2, last_check_status = $3, \
             lumos_user_email = COALESCE($4, lumos_user_email), \
             verified_at = CASE WHEN $3 = 'ok' THEN $2 ELSE verified_at END WHERE name = $1",
        ).bind(name).bind(now).bind(status).bind(email).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Remove a connection; false when there was none.
    pub async fn remove_connection(&self, name: &str) -> Result<bool> {
        let removed = with_pool!(&self.pool, p => sqlx::query("DELETE FROM connections WHERE name = $1").bind(name).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(removed > 0)
    }

    /// Set which roles may run against a connection (`None`: back to the default rule).
    /// False when there is no such connection.
    pub async fn set_connection_roles(&self, name: &str, roles: Option<&str>) -> Result<bool> {
        let n = with_pool!(&self.pool, p => sqlx::query(
            "UPDATE connections SET allowed_roles = $2 WHERE name = $1 AND token_ciphertext IS NOT NULL",
        ).bind(name).bind(roles).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
