//! The audit trail: who did what to what, and when.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use crate::{Result, Store, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct AuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    #[schemars(with = "Option<Value>")]
    pub details: Option<Json<Value>>,
}

impl Store {
    /// Append to the audit trail.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        details: Option<&serde_json::Value>,
    ) -> Result<()> {
        let details = details.map(crate::clean::json);
        let (actor, target) = (crate::clean::text(actor), crate::clean::opt_text(target));
        with_pool!(&self.pool, p => sqlx::query("INSERT INTO audit_events (at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5)")
            .bind(Utc::now()).bind(actor.as_ref()).bind(action).bind(target.as_deref()).bind(details.as_ref().map(|d| sqlx::types::Json(d.as_ref())))
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Newest first; `action` filters by action (e.g. `lumos.call`).
    pub async fn audit_events(&self, action: Option<&str>, limit: i64) -> Result<Vec<AuditEvent>> {
        Ok(with_pool!(&self.pool, p => sqlx::query_as::<_, AuditEvent>(
            "SELECT id, at, actor, action, target, details FROM audit_events WHERE ($1 IS NULL OR action = $1) \
             ORDER BY id DESC LIMIT $2",
        ).bind(action).bind(limit).fetch_all(p).await)?)
    }
}
