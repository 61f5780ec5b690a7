//! Claims on running runs: each running run is held by one process (its owner) under a
//! lease that the owner renews. A run whose lease runs out belongs to a process that
//! stopped; a survivor fails it with the reason instead of leaving it `running` forever.

use chrono::{DateTime, Duration, Utc};

use crate::from_row::from_row;
use crate::runs::FINAL_SQL;
use crate::status::RunStatus;
use crate::{Result, Store, clean, with_pool};

/// A running run and the process holding it.
#[derive(Debug, Clone)]
pub struct HeldRun {
    pub id: String,
    pub locked_by: Option<String>,
}

from_row!(HeldRun { id, locked_by });

/// What a cancel found.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelOutcome {
    /// No run has that id.
    Missing,
    /// The run had already ended.
    AlreadyFinal(RunStatus),
    /// Recorded as canceled; `holder` is the process that was running it, if any.
    Canceled {
        was: RunStatus,
        holder: Option<String>,
    },
}

impl Store {
    /// Extend the lease of every running run `owner` holds; the ids of those it still
    /// holds. A run it executes that is not among them was failed or taken elsewhere.
    pub async fn renew_leases(&self, owner: &str, lease: Duration) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = with_pool!(&self.pool, p => sqlx::query_as(
            "UPDATE runs SET locked_until = $2 WHERE locked_by = $1 AND status = 'running' RETURNING id",
        ).bind(owner).bind(Utc::now() + lease).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Runs `owner` holds that are no longer `running`: canceled by someone else (or failed
    /// by a sweep), so the owner must stop them.
    pub async fn runs_stopped_elsewhere(&self, owner: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT id FROM runs WHERE locked_by = $1 AND status <> 'running'",
        ).bind(owner).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Running runs whose lease ran out before `now`.
    pub async fn expired_runs(&self, now: DateTime<Utc>) -> Result<Vec<HeldRun>> {
        Ok(with_pool!(&self.pool, p => sqlx::query_as::<_, HeldRun>(
            "SELECT id, locked_by FROM runs WHERE status = 'running' AND (locked_until IS NULL OR locked_until < $1)",
        ).bind(now).fetch_all(p).await)?)
    }

    /// Running runs whose holder's name starts with `prefix` (the processes of one host).
    pub async fn runs_held_with_prefix(&self, prefix: &str) -> Result<Vec<HeldRun>> {
        let pattern = crate::clean::starts_with(prefix);
        Ok(with_pool!(&self.pool, p => sqlx::query_as::<_, HeldRun>(
            "SELECT id, locked_by FROM runs WHERE status = 'running' AND locked_by LIKE $1 ESCAPE '\\'",
        ).bind(pattern).fetch_all(p).await)?)
    }

    /// Fail a running run that `holder` still holds, with `reason`. With `expired_before`,
    /// only if its lease also ran out before then (another sweeper or a late renewal may have
    /// got there first). Returns whether this call failed it.
    pub async fn fail_orphaned_run(
        &self,
        id: &str,
        holder: Option<&str>,
        reason: &str,
        expired_before: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let reason = clean::text(reason);
        let n = with_pool!(&self.pool, p => sqlx::query(
            "UPDATE runs SET status = 'failed', error = $3, finished_at = $4, locked_by = NULL, locked_until = NULL \
             WHERE id = $1 AND status = 'running' AND locked_by IS NOT DISTINCT FROM $2 \
             AND ($5 IS NULL OR locked_until IS NULL OR locked_until < $5)",
        ).bind(id).bind(holder).bind(reason.as_ref()).bind(Utc::now()).bind(expired_before)
        .execute(p).await.map(|x| x.rows_affected()))?;
        Ok(n > 0)
    }

    /// Record a cancel: any run that has not ended becomes `canceled`, by `by`, now. The
    /// process running it learns of it through [`Store::runs_stopped_elsewhere`] (and a
    /// notification on PostgreSQL) and stops.
    pub async fn cancel_run(&self, id: &str, by: &str) -> Result<CancelOutcome> {
        let by = clean::text(by);
        // Read, then update only if nothing changed meanwhile; a lost race is read again.
        for _ in 0..5 {
            let row: Option<(RunStatus, Option<String>)> = with_pool!(&self.pool, p => sqlx::query_as(
                "SELECT status, locked_by FROM runs WHERE id = $1",
            ).bind(id).fetch_optional(p).await)?;
            let Some((was, holder)) = row else {
                return Ok(CancelOutcome::Missing);
            };
            if was.is_final() {
                return Ok(CancelOutcome::AlreadyFinal(was));
            }
            let now = Utc::now();
            let sql = format!(
                "UPDATE runs SET status = 'canceled', canceled_by = $2, canceled_at = $3, finished_at = $3, error = $4 \
                 WHERE id = $1 AND status = $5 AND status NOT IN {FINAL_SQL}"
            );
            let n = with_pool!(&self.pool, p => sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id).bind(by.as_ref()).bind(now).bind(format!("canceled by {by}")).bind(was)
                .execute(p).await.map(|x| x.rows_affected()))?;
            if n > 0 {
                if holder.is_some() {
                    self.signal(crate::signals::CANCEL, id).await;
                }
                return Ok(CancelOutcome::Canceled { was, holder });
            }
        }
        Err(crate::StoreError::Busy(format!(
            "run '{id}' kept changing while it was being canceled"
        )))
    }
}
