//! Backups: a consistent copy of a SQLite database taken while it is in use, that never runs
//! again what the original may already have done.

use std::path::Path;
use std::str::FromStr;

use chrono::Utc;
use sqlx::sqlite::SqliteConnectOptions;

use crate::{Pool, Result, Store, StoreError};

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct Backup {
    /// Runs that had not ended (queued or running) when the copy was taken, marked failed in
    /// the copy.
    pub interrupted: u64,
}

impl Store {
    /// Write a consistent copy of the database to `dest`, a file that must not exist yet.
    ///
    /// SQLite's `VACUUM INTO` reads one snapshot, so runs may go on meanwhile. In the copy,
    /// each run that had not ended is marked failed with the time of the backup: restored, a
    /// queued run must not run a second time, nor a running one be taken for lost and retried,
    /// when the original may have finished them after the copy was taken. PostgreSQL is backed
    /// up with its own tools (`pg_dump`); this refuses and says so.
    pub async fn backup_to(&self, dest: &Path) -> Result<Backup> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Err(StoreError::Backup(
                "a PostgreSQL database is backed up with pg_dump (see docs/operations.md, \"Backup and restore\")".to_owned(),
            ));
        };
        if dest.exists() {
            return Err(StoreError::Backup(format!(
                "{} exists already; name a new file",
                dest.display()
            )));
        }
        // Created empty and private first: the copy holds encrypted secrets and the people's
        // names, so only the owner reads it (VACUUM INTO accepts an empty file).
        crate::sqlite_file::create_private(dest).map_err(|e| {
            let reason = match e {
                StoreError::Dir { reason, .. } => reason,
                other => other.to_string(),
            };
            StoreError::Backup(format!("cannot write {}: {reason}", dest.display()))
        })?;
        let target = dest.display().to_string();
        if let Err(e) = sqlx::query("VACUUM INTO $1")
            .bind(&target)
            .execute(pool)
            .await
        {
            let _ = std::fs::remove_file(dest);
            return Err(e.into());
        }
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{target}"))
            .map_err(|_| StoreError::Url(target.clone()))?;
        let copy = sqlx::SqlitePool::connect_with(opts).await?;
        let now = Utc::now();
        let reason = format!(
            "interrupted by a restore: the run had not ended when this backup was taken ({}); it is not run again",
            now.format("%Y-%m-%d %H:%M:%S UTC")
        );
        let interrupted = sqlx::query(
            "UPDATE runs SET status = 'failed', error = $1, finished_at = $2, locked_by = NULL, locked_until = NULL \
             WHERE status IN ('queued', 'running')",
        )
        .bind(&reason)
        .bind(now)
        .execute(&copy)
        .await?
        .rows_affected();
        copy.close().await;
        Ok(Backup { interrupted })
    }
}
