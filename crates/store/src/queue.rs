//! The run queue: runs wait as `queued` rows until a replica with a free slot claims one.
//! A claim is atomic across processes: `FOR UPDATE SKIP LOCKED` on PostgreSQL (replicas
//! never wait on each other), a write transaction taken up front on SQLite (one claimer at
//! a time). Workers claim as many runs as they have free slots in one statement. A queued
//! run belongs to nobody, so a replica that dies leaves nothing behind.

use chrono::{DateTime, Duration, Utc};

use crate::from_row::from_row;
use crate::runs::{RUN_COLUMNS, Run};
use crate::{Pool, Result, Store};

/// A run just claimed, with when its workflow was installed (`None`: it is not installed
/// any more), read by the claim itself so the run need not look again before it starts.
#[derive(Debug)]
pub struct Claimed {
    pub run: Run,
    pub workflow_installed_at: Option<DateTime<Utc>>,
}

from_row!(Claimed { workflow_installed_at } flatten { run });

/// Where a claimed run's workflow stands, as the claim returns it.
const WORKFLOW_INSTALLED_AT: &str = "(SELECT COALESCE(w.installed_at, w.created_at) FROM workflows w \
     WHERE w.id = runs.workflow_id AND w.uninstalled_at IS NULL) AS workflow_installed_at";

/// How deep the queue is, for metrics and back-pressure.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueStats {
    pub depth: i64,
    pub oldest: Option<DateTime<Utc>>,
}

impl Store {
    /// Claim queued run `id` for `owner`; `None` when it is not queued (any more).
    pub async fn claim_run(
        &self,
        id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<Claimed>> {
        self.claim(Some(id), owner, lease).await
    }

    async fn claim(
        &self,
        id: Option<&str>,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<Claimed>> {
        let now = Utc::now();
        let pick = match (id, &self.pool) {
            (Some(_), _) => "SELECT id FROM runs WHERE id = $4 AND status = 'queued'",
            (None, Pool::Postgres(_)) => {
                "SELECT id FROM runs WHERE status = 'queued' ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
            }
            (None, Pool::Sqlite(_)) => {
                "SELECT id FROM runs WHERE status = 'queued' ORDER BY created_at, id LIMIT 1"
            }
        };
        let sql = format!(
            "UPDATE runs SET status = 'running', locked_by = $1, locked_until = $2, started_at = $3 \
             WHERE status = 'queued' AND id = ({pick}) RETURNING {RUN_COLUMNS}, {WORKFLOW_INSTALLED_AT}"
        );
        let sql = sqlx::AssertSqlSafe(sql);
        // `$4` exists only when claiming by id; PostgreSQL refuses unused parameters.
        macro_rules! query {
            () => {{
                let q = sqlx::query_as::<_, Claimed>(sql)
                    .bind(owner)
                    .bind(now + lease)
                    .bind(now);
                match id {
                    Some(id) => q.bind(id),
                    None => q,
                }
            }};
        }
        let run = match &self.pool {
            Pool::Postgres(p) => query!().fetch_optional(p).await?,
            Pool::Sqlite(p) => {
                // Take the write lock before reading, so two processes cannot both pick the
                // same row (a plain deferred transaction could read, then fail to upgrade).
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let run = query!().fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                run
            }
        };
        Ok(run)
    }

    /// Claim up to `n` queued runs, oldest first, in one statement: fewer than `n` back
    /// means the queue is empty now, so a worker need not ask again until woken.
    pub async fn claim_next_runs(
        &self,
        owner: &str,
        lease: Duration,
        n: u32,
    ) -> Result<Vec<Claimed>> {
        let now = Utc::now();
        let lock = if matches!(self.pool, Pool::Postgres(_)) {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE runs SET status = 'running', locked_by = $1, locked_until = $2, started_at = $3 \
             WHERE status = 'queued' AND id IN (SELECT id FROM runs WHERE status = 'queued' \
             ORDER BY created_at, id LIMIT $4{lock}) RETURNING {RUN_COLUMNS}, {WORKFLOW_INSTALLED_AT}"
        );
        // Typed per database: the query is built twice, once for each.
        macro_rules! query {
            () => {
                sqlx::query_as::<_, Claimed>(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(owner)
                    .bind(now + lease)
                    .bind(now)
                    .bind(i64::from(n.max(1)))
            };
        }
        let mut runs = match &self.pool {
            Pool::Postgres(p) => query!().fetch_all(p).await?,
            Pool::Sqlite(p) => {
                // The write lock first, as for one claim.
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let runs = query!().fetch_all(&mut *tx).await?;
                tx.commit().await?;
                runs
            }
        };
        // RETURNING gives no order: oldest first, as queued.
        runs.sort_by(|a, b| (a.run.created_at, &a.run.id).cmp(&(b.run.created_at, &b.run.id)));
        Ok(runs)
    }

    /// Put a run `owner` claimed but will not execute back in the queue, as it was.
    pub async fn unclaim_run(&self, id: &str, owner: &str) -> Result<bool> {
        let n = crate::with_pool!(&self.pool, p => sqlx::query(
            "UPDATE runs SET status = 'queued', locked_by = NULL, locked_until = NULL, started_at = NULL \
             WHERE id = $1 AND locked_by = $2 AND status = 'running'",
        ).bind(id).bind(owner).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    pub async fn queue_stats(&self) -> Result<QueueStats> {
        let (depth, oldest): (i64, Option<DateTime<Utc>>) = crate::with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM runs WHERE status = 'queued'",
        ).fetch_one(p).await)?;
        Ok(QueueStats { depth, oldest })
    }
}
