//! People: an email (one per address, whatever its case), a name, a role and whether they
//! may still act. Deactivating someone ends their sessions and revokes their keys in the
//! same transaction, so nothing of theirs outlives the decision.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::from_row::from_row;
use crate::{PersonStatus, Result, Store, with_pool};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub status: PersonStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// When a key of theirs was last used (people who work through keys never sign in).
    pub last_key_used_at: Option<DateTime<Utc>>,
    /// May read, check and export the audit trail without being an admin.
    pub auditor: bool,
}

from_row!(Person {
    id,
    email,
    name,
    role,
    status,
    created_at,
    updated_at,
    last_sign_in_at,
    last_key_used_at,
    auditor
});

const COLUMNS: &str = "id, email, name, role, status, created_at, updated_at, last_sign_in_at, auditor, \
     (SELECT MAX(k.last_used_at) FROM api_keys k WHERE k.owner_id = people.id) AS last_key_used_at";

/// The key a person is found by: their email, lower-cased.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Store {
    pub async fn people(&self) -> Result<Vec<Person>> {
        let sql = format!("SELECT {COLUMNS} FROM people ORDER BY email_key");
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Person>(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await)?,
        )
    }

    pub async fn person_by_email(&self, email: &str) -> Result<Option<Person>> {
        let sql = format!("SELECT {COLUMNS} FROM people WHERE email_key = $1");
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Person>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(email_key(email)).fetch_optional(p).await)?,
        )
    }

    /// The person with this email, created with `role` if there is none yet (a key's new
    /// owner). An existing person keeps their role.
    pub async fn ensure_person(&self, id: &str, email: &str, role: &str) -> Result<Person> {
        let now = Utc::now();
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO people (id, email, email_key, name, role, status, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, $4, $5, $6, $6) ON CONFLICT (email_key) DO NOTHING",
        ).bind(id).bind(email.trim()).bind(email_key(email)).bind(role).bind(PersonStatus::Active).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        self.person_by_email(email)
            .await?
            .ok_or_else(|| crate::StoreError::NotFound(format!("person {email}")))
    }

    /// A sign-in through the identity provider: creates the person, or refreshes their
    /// name and role from the provider's claims. A deactivated person stays deactivated.
    pub async fn person_signed_in(
        &self,
        id: &str,
        email: &str,
        name: Option<&str>,
        role: &str,
    ) -> Result<Person> {
        let now = Utc::now();
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO people (id, email, email_key, name, role, status, created_at, updated_at, last_sign_in_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7) \
             ON CONFLICT (email_key) DO UPDATE SET email = excluded.email, name = COALESCE(excluded.name, people.name), \
             role = excluded.role, updated_at = excluded.updated_at, last_sign_in_at = excluded.last_sign_in_at",
        ).bind(id).bind(email.trim()).bind(email_key(email)).bind(name).bind(role).bind(PersonStatus::Active).bind(now)
            .execute(p).await.map(|r| r.rows_affected()))?;
        self.person_by_email(email)
            .await?
            .ok_or_else(|| crate::StoreError::NotFound(format!("person {email}")))
    }

    /// False when there is no such person.
    pub async fn set_person_role(&self, email: &str, role: &str) -> Result<bool> {
        let n = with_pool!(&self.pool, p => sqlx::query("UPDATE people SET role = $2, updated_at = $3 WHERE email_key = $1")
            .bind(email_key(email)).bind(role).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Give or take the auditor grant; false when there is no such person.
    pub async fn set_person_auditor(&self, email: &str, auditor: bool) -> Result<bool> {
        let n = with_pool!(&self.pool, p => sqlx::query("UPDATE people SET auditor = $2, updated_at = $3 WHERE email_key = $1")
            .bind(email_key(email)).bind(auditor).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Deactivate a person, end their sessions and revoke their keys, all at once. Returns
    /// how many keys were revoked, or `None` when there is no such person.
    pub async fn deactivate_person(&self, email: &str) -> Result<Option<u64>> {
        let now = Utc::now();
        let key = email_key(email);
        Ok(with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let id: Option<String> = sqlx::query_scalar("SELECT id FROM people WHERE email_key = $1")
                .bind(&key).fetch_optional(&mut *tx).await?;
            match id {
                None => None,
                Some(id) => {
                    sqlx::query("UPDATE people SET status = $2, updated_at = $3 WHERE id = $1")
                        .bind(&id).bind(PersonStatus::Deactivated).bind(now).execute(&mut *tx).await?;
                    let keys = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE owner_id = $1 AND revoked_at IS NULL")
                        .bind(&id).bind(now).execute(&mut *tx).await?.rows_affected();
                    sqlx::query("UPDATE sessions SET ended_at = $2 WHERE person_id = $1 AND ended_at IS NULL")
                        .bind(&id).bind(now).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Some(keys)
                }
            }
        }))
    }
}
