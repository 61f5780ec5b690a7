//! What an operator watches beside the queue, read at scrape time from the shared database
//! (so every replica reports the same): approvals waiting and for how long, notice deliveries
//! by state, the database's size.

use chrono::{DateTime, Utc};

use crate::from_row::from_row;
use crate::{Pool, Result, Store};

#[derive(Debug, Clone, Default)]
pub struct OperatorStats {
    pub pending_approvals: i64,
    pub oldest_pending_approval: Option<DateTime<Utc>>,
    /// Notice deliveries by status (`pending`, `sent`, `failed`) with their attempts.
    pub deliveries: Vec<DeliveryCount>,
    pub database_bytes: i64,
}

#[derive(Debug, Clone)]
pub struct DeliveryCount {
    pub status: String,
    pub deliveries: i64,
    pub attempts: i64,
}

from_row!(DeliveryCount {
    status,
    deliveries,
    attempts
});

impl Store {
    pub async fn operator_stats(&self) -> Result<OperatorStats> {
        let (pending_approvals, oldest_pending_approval): (i64, Option<DateTime<Utc>>) = crate::with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM runs WHERE status = 'pending_approval'",
        ).fetch_one(p).await)?;
        let deliveries: Vec<DeliveryCount> = crate::with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT status, COUNT(*) AS deliveries, CAST(COALESCE(SUM(attempts), 0) AS BIGINT) AS attempts \
             FROM notification_deliveries GROUP BY status ORDER BY status",
        ).fetch_all(p).await)?;
        let (database_bytes,): (i64,) =
            match &self.pool {
                Pool::Sqlite(p) => sqlx::query_as(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                )
                .fetch_one(p)
                .await?,
                Pool::Postgres(p) => {
                    sqlx::query_as("SELECT pg_database_size(current_database())")
                        .fetch_one(p)
                        .await?
                }
            };
        Ok(OperatorStats {
            pending_approvals,
            oldest_pending_approval,
            deliveries,
            database_bytes,
        })
    }
}
