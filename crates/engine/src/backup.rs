//! `lumosflow backup`: a copy of the database taken while it is in use (see
//! [`store::Store::backup_to`]), recorded in the audit trail.

use std::path::Path;

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::Result;

impl Engine {
    /// Copy the database to `dest`; the copy's unfinished runs are marked failed so a restore
    /// never runs them again.
    pub async fn backup(&self, dest: &Path, actor: &Actor) -> Result<store::Backup> {
        let backup = self.store.backup_to(dest).await?;
        self.audit(
            actor,
            "database.backup",
            &dest.display().to_string(),
            Some(serde_json::json!({"unfinished_runs_marked_in_copy": backup.interrupted})),
        )
        .await;
        Ok(backup)
    }
}
