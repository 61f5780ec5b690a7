//! API keys for the HTTP API: stored as SHA-256 hashes (keys are long random strings, so a
//! fast hash is enough and lookups stay cheap), shown in full only when created.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::from_row::from_row;
use crate::{Result, Store, with_pool};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The person the key acts as (their email); none for a service key.
    pub owner: Option<String>,
    /// The owner's role now: the key never acts above it.
    #[serde(skip)]
    #[schemars(skip)]
    pub owner_role: Option<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub owner_name: Option<String>,
    /// The person who made the key (their email), when a person did: a service key counts
    /// as them for self-approval and separation of duties.
    pub created_by: Option<String>,
    /// Only workflows that change nothing.
    pub read_only: bool,
    /// Only these workflows (comma-separated); none: any.
    pub workflows: Option<String>,
}

from_row!(ApiKey {
    id,
    name,
    role,
    prefix,
    created_at,
    last_used_at,
    revoked_at,
    owner,
    owner_role,
    owner_name,
    created_by,
    read_only,
    workflows
});

/// A key to save: only its hash is kept, and the first characters to recognise it.
#[derive(Clone, Copy)]
pub struct NewApiKey<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub prefix: &'a str,
    pub hash: &'a str,
    /// The person the key acts as.
    pub owner_id: Option<&'a str>,
    /// The email of the person who made it.
    pub created_by: Option<&'a str>,
    pub read_only: bool,
    /// Comma-separated workflow ids; none: any.
    pub workflows: Option<&'a str>,
}

const COLUMNS: &str = "k.id, k.name, k.role, k.prefix, k.created_at, k.last_used_at, k.revoked_at, \
     p.email AS owner, p.role AS owner_role, p.name AS owner_name, k.created_by, k.read_only, k.workflows";
const FROM: &str = "api_keys k LEFT JOIN people p ON p.id = k.owner_id";

impl Store {
    /// Save a key by its hash. Fails on a name that is already taken by a live key.
    pub async fn create_api_key(&self, k: &NewApiKey<'_>) -> Result<()> {
        let NewApiKey {
            id,
            name,
            role,
            prefix,
            hash,
            owner_id,
            created_by,
            read_only,
            workflows,
        } = *k;
        with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            // A revoked key's name may be reused.
            sqlx::query("DELETE FROM api_keys WHERE name = $1 AND revoked_at IS NOT NULL").bind(name).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO api_keys (id, name, role, prefix, key_hash, created_at, owner_id, created_by, read_only, workflows) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                .bind(id).bind(name).bind(role).bind(prefix).bind(hash).bind(Utc::now()).bind(owner_id).bind(created_by).bind(read_only).bind(workflows)
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn api_keys(&self) -> Result<Vec<ApiKey>> {
        let sql = format!("SELECT {COLUMNS} FROM {FROM} ORDER BY k.created_at");
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, ApiKey>(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await)?,
        )
    }

    /// The live key with this hash (a key whose owner was deactivated is not live).
    pub async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE k.key_hash = $1 AND k.revoked_at IS NULL \
             AND (p.id IS NULL OR p.status = 'active')"
        );
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, ApiKey>(sqlx::AssertSqlSafe(sql.as_str())).bind(hash).fetch_optional(p).await)?,
        )
    }

    pub async fn touch_api_key(&self, id: &str) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
            .bind(id).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Revoke a live key by name; false when there is none.
    pub async fn revoke_api_key(&self, name: &str) -> Result<bool> {
        let n = with_pool!(&self.pool, p => sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL")
            .bind(name).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
