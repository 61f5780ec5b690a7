//! Runs and their step records.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use crate::{Result, Store, with_pool};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Run {
    pub id: String,
    pub workflow_id: String,
    pub workflow_version: i32,
    pub status: String,
    pub inputs: Json<Value>,
    pub output: Option<Json<Value>>,
    pub error: Option<String>,
    pub connection: Option<String>,
    pub started_by: Option<String>,
    pub dry_run: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StepRow {
    pub step_id: String,
    pub iteration: i32,
    pub status: String,
    pub operation: Option<String>,
    pub params: Option<Json<Value>>,
    pub http_status: Option<i32>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub output: Option<Json<Value>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Which runs to list; `None` fields do not filter.
#[derive(Debug, Clone, Copy)]
pub struct RunFilter<'a> {
    pub workflow: Option<&'a str>,
    pub status: Option<&'a str>,
    pub started_by: Option<&'a str>,
    pub limit: i64,
}

impl Default for RunFilter<'_> {
    fn default() -> Self {
        Self {
            workflow: None,
            status: None,
            started_by: None,
            limit: 50,
        }
    }
}

pub struct NewRun<'a> {
    pub id: &'a str,
    pub workflow_id: &'a str,
    pub workflow_version: i32,
    pub status: &'a str,
    pub inputs: &'a Value,
    pub connection: Option<&'a str>,
    pub started_by: Option<&'a str>,
    pub dry_run: bool,
    /// Who runs it and until when the claim holds without a heartbeat.
    pub owner: &'a str,
    pub lease: Duration,
}

const RUN_COLUMNS: &str = "id, workflow_id, workflow_version, status, inputs, output, error, connection, started_by, \
                           dry_run, created_at, started_at, finished_at";

/// Statuses a run never leaves.
pub const FINAL: &[&str] = &["completed", "failed", "denied", "canceled"];

impl Store {
    pub async fn create_run(&self, r: &NewRun<'_>) -> Result<()> {
        let now = Utc::now();
        let started = (r.status == "running").then_some(now);
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO runs (id, workflow_id, workflow_version, status, inputs, connection, started_by, dry_run, \
             locked_by, locked_until, created_at, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(r.id).bind(r.workflow_id).bind(r.workflow_version).bind(r.status).bind(Json(r.inputs))
        .bind(r.connection).bind(r.started_by).bind(r.dry_run).bind(r.owner).bind(now + r.lease).bind(now).bind(started)
        .execute(p).await.map(|x| x.rows_affected()))?;
        Ok(())
    }

    /// Move a run to a final status, unless it already has one (a cancel wins over a late
    /// completion). Returns whether this call set it.
    pub async fn finish_run(
        &self,
        id: &str,
        status: &str,
        output: Option<&Value>,
        error: Option<&str>,
    ) -> Result<bool> {
        let n = with_pool!(&self.pool, p => sqlx::query(
            "UPDATE runs SET status = $2, output = $3, error = $4, finished_at = $5, locked_by = NULL, locked_until = NULL \
             WHERE id = $1 AND status NOT IN ('completed', 'failed', 'denied', 'canceled')",
        )
        .bind(id).bind(status).bind(output.map(Json)).bind(error).bind(Utc::now())
        .execute(p).await.map(|x| x.rows_affected()))?;
        Ok(n > 0)
    }

    /// Extend the lease of a running run; false when it was canceled meanwhile.
    pub async fn heartbeat(&self, id: &str, lease: Duration) -> Result<bool> {
        let n = with_pool!(&self.pool, p => sqlx::query(
            "UPDATE runs SET locked_until = $2 WHERE id = $1 AND status = 'running'",
        ).bind(id).bind(Utc::now() + lease).execute(p).await.map(|x| x.rows_affected()))?;
        Ok(n > 0)
    }

    pub async fn add_step(&self, run_id: &str, s: &StepRow) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO run_steps (run_id, step_id, iteration, status, operation, params, http_status, duration_ms, error, \
             output, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (run_id, step_id, iteration) DO UPDATE SET status = excluded.status, http_status = excluded.http_status, \
             duration_ms = excluded.duration_ms, error = excluded.error, output = excluded.output, finished_at = excluded.finished_at",
        )
        .bind(run_id).bind(&s.step_id).bind(s.iteration).bind(&s.status).bind(&s.operation).bind(&s.params)
        .bind(s.http_status).bind(s.duration_ms).bind(&s.error).bind(&s.output).bind(s.started_at).bind(s.finished_at)
        .execute(p).await.map(|x| x.rows_affected()))?;
        Ok(())
    }

    pub async fn run(&self, id: &str) -> Result<Option<Run>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Run>(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?,
        )
    }

    pub async fn run_steps(&self, id: &str) -> Result<Vec<StepRow>> {
        Ok(with_pool!(&self.pool, p => sqlx::query_as::<_, StepRow>(
            "SELECT step_id, iteration, status, operation, params, http_status, duration_ms, error, output, started_at, finished_at \
             FROM run_steps WHERE run_id = $1 ORDER BY started_at, step_id, iteration",
        ).bind(id).fetch_all(p).await)?)
    }

    /// Newest first.
    pub async fn runs(&self, f: &RunFilter<'_>) -> Result<Vec<Run>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE ($1 IS NULL OR workflow_id = $1) AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR started_by = $3) ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Run>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(f.workflow).bind(f.status).bind(f.started_by).bind(f.limit).fetch_all(p).await)?,
        )
    }

    /// Mark runs whose owner stopped heartbeating as failed, with the reason.
    pub async fn fail_abandoned_runs(&self) -> Result<u64> {
        Ok(with_pool!(&self.pool, p => sqlx::query(
            "UPDATE runs SET status = 'failed', finished_at = $1, locked_by = NULL, locked_until = NULL, \
             error = 'interrupted: lumosflow stopped while this run was in progress (it was not resumed because Lumos calls may have had effects)' \
             WHERE status = 'running' AND locked_until < $1",
        ).bind(Utc::now()).execute(p).await.map(|x| x.rows_affected()))?)
    }
}

impl Store {
    /// Record that a run waits for approval.
    pub async fn request_approval(&self, run_id: &str, message: &str) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO approvals (id, run_id, step_id, state, comment, created_at) VALUES ($1, $2, 'run', 'pending', $3, $4)",
        ).bind(uuid::Uuid::now_v7().to_string()).bind(run_id).bind(message).bind(Utc::now())
        .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Decide a pending run: approved moves it to `running` under `owner`'s lease; denied ends
    /// it. False when the run was not waiting for approval.
    pub async fn decide_approval(
        &self,
        run_id: &str,
        approved: bool,
        by: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<bool> {
        let now = Utc::now();
        let n = with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let n = if approved {
                sqlx::query("UPDATE runs SET status = 'running', started_at = $2, locked_by = $3, locked_until = $4 WHERE id = $1 AND status = 'pending_approval'")
                    .bind(run_id).bind(now).bind(owner).bind(now + lease).execute(&mut *tx).await?.rows_affected()
            } else {
                sqlx::query("UPDATE runs SET status = 'denied', finished_at = $2, error = $3 WHERE id = $1 AND status = 'pending_approval'")
                    .bind(run_id).bind(now).bind(format!("denied by {by}")).execute(&mut *tx).await?.rows_affected()
            };
            if n > 0 {
                sqlx::query("UPDATE approvals SET state = $2, decided_by = $3, decided_at = $4 WHERE run_id = $1 AND state = 'pending'")
                    .bind(run_id).bind(if approved { "approved" } else { "denied" }).bind(by).bind(now)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }
}
