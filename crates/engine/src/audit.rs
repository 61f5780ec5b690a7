//! The audit trail: who did what to what, kept in the database beside the runs.

use serde_json::Value;

use crate::actor::Actor;
use crate::engine::Engine;

impl Engine {
    /// Append to the audit trail. A failure to write is logged, never hides the action's
    /// own outcome.
    pub async fn audit(&self, actor: &Actor, action: &str, target: &str, details: Option<Value>) {
        if let Err(e) = self
            .store
            .audit(&actor.label, action, Some(target), details.as_ref())
            .await
        {
            tracing::warn!(error = %e, action, "could not write an audit event");
        }
    }
}

impl Engine {
    /// The audit trail, newest first.
    pub async fn audit_events(
        &self,
        action: Option<&str>,
        limit: i64,
    ) -> crate::error::Result<Vec<store::AuditEvent>> {
        Ok(self
            .store
            .audit_events(action, limit.clamp(1, 1000))
            .await?)
    }
}
