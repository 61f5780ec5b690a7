//! Deleting old runs. Steps and approvals go with their run (`ON DELETE CASCADE`).

use chrono::{DateTime, Utc};

use crate::runs::FINAL_SQL;
use crate::{Result, Store, with_pool};

impl Store {
    /// Delete up to `batch` finished runs that ended before `before`; how many went.
    /// Callers loop until it returns less than `batch`, so no single statement holds the
    /// database for long.
    pub async fn prune_runs(&self, before: DateTime<Utc>, batch: i64) -> Result<u64> {
        let sql = format!(
            "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE status IN {FINAL_SQL} \
             AND COALESCE(finished_at, created_at) < $1 ORDER BY created_at LIMIT $2)"
        );
        Ok(
            with_pool!(&self.pool, p => sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(before).bind(batch).execute(p).await.map(|x| x.rows_affected()))?,
        )
    }
}
