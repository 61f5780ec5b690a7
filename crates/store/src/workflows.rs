//! Installed workflows and their numbered versions. A version is never changed or removed:
//! uninstalling hides the workflow, and a later one of the same id continues the numbering.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::from_row::from_row;
use crate::{Result, Store, StoreError, with_pool};

/// The content hash a version is known by (SHA-256 of its text, hex): runs pin the exact
/// definition they were requested with. The audit chain hashes its events with it too.
pub fn content_hash(yaml: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(yaml.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkflowRow {
    pub id: String,
    pub name: String,
    pub bundle: Option<String>,
    /// `bundle` (installed from a bundle) or `custom`.
    pub origin: String,
    pub current_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was last installed (after an uninstall, the new install); none for rows
    /// from before this was kept (installed at `created_at`).
    pub installed_at: Option<DateTime<Utc>>,
}

from_row!(WorkflowRow {
    id,
    name,
    bundle,
    origin,
    current_version,
    created_at,
    updated_at,
    installed_at
});

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkflowVersion {
    pub workflow_id: String,
    pub version: i32,
    pub yaml: String,
    pub hash: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

from_row!(WorkflowVersion {
    workflow_id,
    version,
    yaml,
    hash,
    created_by,
    created_at
});

/// What to save: a whole definition as text plus the fields lists need.
pub struct SaveWorkflow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub bundle: Option<&'a str>,
    pub origin: &'a str,
    pub yaml: &'a str,
    pub hash: &'a str,
    pub by: Option<&'a str>,
}

impl Store {
    /// Create the workflow, or add a new version when it exists. Returns the version number.
    pub async fn save_workflow(&self, w: &SaveWorkflow<'_>) -> Result<i32> {
        let now = Utc::now();
        let version = with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO workflows (id, name, bundle, origin, current_version, created_at, updated_at, installed_at) \
                 VALUES ($1, $2, $3, $4, 0, $5, $5, $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(w.id).bind(w.name).bind(w.bundle).bind(w.origin).bind(now)
            .execute(&mut *tx).await?;
            // A workflow saved again after an uninstall is installed again, numbering on.
            let (version,): (i32,) = sqlx::query_as(
                "UPDATE workflows SET current_version = current_version + 1, name = $2, bundle = $3, updated_at = $4, \
                 origin = CASE WHEN uninstalled_at IS NULL THEN origin ELSE $5 END, \
                 installed_at = CASE WHEN uninstalled_at IS NULL THEN installed_at ELSE $4 END, uninstalled_at = NULL \
                 WHERE id = $1 RETURNING current_version",
            )
            .bind(w.id).bind(w.name).bind(w.bundle).bind(now).bind(w.origin)
            .fetch_one(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO workflow_versions (workflow_id, version, yaml, hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(w.id).bind(version).bind(w.yaml).bind(w.hash).bind(w.by).bind(now)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            version
        });
        Ok(version)
    }

    pub async fn workflows(&self) -> Result<Vec<WorkflowRow>> {
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, WorkflowRow>(
            "SELECT id, name, bundle, origin, current_version, created_at, updated_at, installed_at FROM workflows WHERE uninstalled_at IS NULL ORDER BY id",
        ).fetch_all(p).await)?,
        )
    }

    pub async fn workflow(&self, id: &str) -> Result<Option<WorkflowRow>> {
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, WorkflowRow>(
            "SELECT id, name, bundle, origin, current_version, created_at, updated_at, installed_at FROM workflows WHERE id = $1 AND uninstalled_at IS NULL",
        ).bind(id).fetch_optional(p).await)?,
        )
    }

    /// A version of a workflow; `None` for the current one.
    pub async fn workflow_version(
        &self,
        id: &str,
        version: Option<i32>,
    ) -> Result<WorkflowVersion> {
        let row = with_pool!(&self.pool, p => sqlx::query_as::<_, WorkflowVersion>(
            "SELECT v.workflow_id, v.version, v.yaml, v.hash, v.created_by, v.created_at FROM workflow_versions v \
             JOIN workflows w ON w.id = v.workflow_id \
             WHERE v.workflow_id = $1 AND v.version = COALESCE($2, w.current_version)",
        ).bind(id).bind(version).fetch_optional(p).await)?;
        row.ok_or_else(|| {
            StoreError::NotFound(match version {
                Some(v) => format!("version {v} of workflow '{id}'"),
                None => format!("workflow '{id}'"),
            })
        })
    }

    pub async fn workflow_versions(&self, id: &str) -> Result<Vec<WorkflowVersion>> {
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, WorkflowVersion>(
            "SELECT workflow_id, version, yaml, hash, created_by, created_at FROM workflow_versions WHERE workflow_id = $1 ORDER BY version",
        ).bind(id).fetch_all(p).await)?,
        )
    }

    /// Uninstall a workflow: it leaves the lists, its versions stay. False when it was not
    /// installed.
    pub async fn uninstall_workflow(&self, id: &str) -> Result<bool> {
        let n = with_pool!(&self.pool, p => sqlx::query(
            "UPDATE workflows SET uninstalled_at = $2 WHERE id = $1 AND uninstalled_at IS NULL",
        ).bind(id).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Give versions saved under the old 64-bit hash their SHA-256 (once, at open).
    pub(crate) async fn upgrade_version_hashes(&self) -> Result<()> {
        let old: Vec<(String, i32, String)> = with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT workflow_id, version, yaml FROM workflow_versions WHERE LENGTH(hash) < 64",
        ).fetch_all(p).await)?;
        for (id, version, yaml) in old {
            with_pool!(&self.pool, p => sqlx::query(
                "UPDATE workflow_versions SET hash = $3 WHERE workflow_id = $1 AND version = $2",
            ).bind(&id).bind(version).bind(content_hash(&yaml)).execute(p).await.map(|r| r.rows_affected()))?;
        }
        Ok(())
    }
}
