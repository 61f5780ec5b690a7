//! Runs and their step records: creating, reading, listing and finishing them.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use tracing::Instrument;

use crate::compressed;
use crate::from_row::from_row;
use crate::outputs::{OutputInfo, RunProgress};
use crate::status::{RunStatus, StepStatus};
use crate::{Result, Store, clean, with_pool};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Run {
    pub id: String,
    pub workflow_id: String,
    pub workflow_version: i32,
    /// The content hash of the exact definition the run was requested with.
    pub workflow_hash: Option<String>,
    pub status: RunStatus,
    #[schemars(with = "Value")]
    pub inputs: Json<Value>,
    /// The output; for a listing, without its items (they are stored apart, see
    /// `output_info`).
    #[schemars(with = "Option<Value>")]
    pub output: Option<Json<Value>>,
    #[schemars(with = "Option<OutputInfo>")]
    pub output_info: Option<Json<OutputInfo>>,
    /// How far a run that walks pages got (updated while it runs).
    #[schemars(with = "Option<RunProgress>")]
    pub progress: Option<Json<RunProgress>>,
    pub error: Option<String>,
    pub connection: Option<String>,
    /// Who asked: a person's email, `key:NAME` for a service key, `cli:USER`, `schedule`.
    pub requested_by: Option<String>,
    /// The end user the run acts for, when an agent or integration asks on their behalf.
    pub requested_for: Option<String>,
    /// The whole requester as the engine wrote it (role, key, person behind it): what the
    /// queue, approvals and sub-runs act as. Shown through `requested_by`.
    #[serde(skip)]
    #[schemars(skip)]
    pub requester: Option<Json<Value>>,
    pub dry_run: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub canceled_by: Option<String>,
    pub canceled_at: Option<DateTime<Utc>>,
    /// For a gated run: the policy it was requested under, as the engine wrote it (shown
    /// through the engine's approval view, not as stored).
    #[serde(skip)]
    #[schemars(skip)]
    pub approval: Option<Json<Value>>,
    /// The approval step it waits at (0 is the first).
    pub approval_step: Option<i32>,
    pub approval_expires_at: Option<DateTime<Utc>>,
    /// The Lumos event that started it, for workflows that follow events.
    #[schemars(with = "Option<Value>")]
    pub event: Option<Json<Value>>,
    /// For a run held before its first change: where to go on from (engine-defined).
    #[serde(skip)]
    #[schemars(skip)]
    pub resume: Option<Json<Value>>,
    /// For a run started by a `workflow:` step of another run: that run.
    pub parent_run_id: Option<String>,
}

from_row!(Run {
    id,
    workflow_id,
    workflow_version,
    workflow_hash,
    status,
    inputs,
    output,
    output_info,
    progress,
    error,
    connection,
    requested_by,
    requested_for,
    requester,
    dry_run,
    created_at,
    started_at,
    finished_at,
    canceled_by,
    canceled_at,
    approval,
    approval_step,
    approval_expires_at,
    event,
    resume,
    parent_run_id
});

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct StepRow {
    pub step_id: String,
    pub iteration: i32,
    pub status: StepStatus,
    pub operation: Option<String>,
    #[schemars(with = "Option<Value>")]
    pub params: Option<Json<Value>>,
    pub http_status: Option<i32>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    #[schemars(with = "Option<Value>")]
    pub output: Option<Json<Value>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A step record as stored: its output in one of two columns (see `compressed`).
struct StoredStep {
    step_id: String,
    iteration: i32,
    status: StepStatus,
    operation: Option<String>,
    params: Option<Json<Value>>,
    http_status: Option<i32>,
    duration_ms: Option<i64>,
    error: Option<String>,
    output: Option<Json<Value>>,
    output_z: Option<Vec<u8>>,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

from_row!(StoredStep {
    step_id,
    iteration,
    status,
    operation,
    params,
    http_status,
    duration_ms,
    error,
    output,
    output_z,
    started_at,
    finished_at
});

impl StoredStep {
    fn row(self) -> Result<StepRow> {
        let output = compressed::unpack(self.output.map(|j| j.0), self.output_z.as_deref())?;
        Ok(StepRow {
            step_id: self.step_id,
            iteration: self.iteration,
            status: self.status,
            operation: self.operation,
            params: self.params,
            http_status: self.http_status,
            duration_ms: self.duration_ms,
            error: self.error,
            output: output.map(Json),
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

/// A run's row with the step records written with its end.
struct RunWithSteps {
    run: Run,
    steps_z: Option<Vec<u8>>,
    steps_apart: Option<bool>,
}

from_row!(RunWithSteps { steps_z, steps_apart } flatten { run });

/// A run's row as its end recorded it, and whether some of its step records were written
/// apart before (see [`Store::finish_run`]).
struct EndedRow {
    run: Run,
    steps_apart: Option<bool>,
}

from_row!(EndedRow { steps_apart } flatten { run });

/// What [`Store::finish_run`] recorded: the run as stored, and whether step records other
/// than those given to it were written apart before (then only a read has them all).
#[derive(Debug, Clone)]
pub struct Finished {
    pub run: Run,
    pub steps_apart: bool,
}

/// Step records in the order a run's detail shows them: by start, then step, then attempt.
pub fn in_step_order(steps: &mut [StepRow]) {
    steps.sort_by(|a, b| {
        (a.started_at, &a.step_id, a.iteration).cmp(&(b.started_at, &b.step_id, b.iteration))
    });
}

/// Which runs to list; `None` fields do not filter.
#[derive(Debug, Clone, Copy)]
pub struct RunFilter<'a> {
    pub workflow: Option<&'a str>,
    pub status: Option<RunStatus>,
    /// Requested by someone whose name contains this, in any case ("ann" finds
    /// `ann.brown@…`; `key:desk` finds `key:desk-bot`).
    pub requested_by: Option<&'a str>,
    pub requested_for: Option<&'a str>,
    /// Only runs older than this run (its id): the next page after it, newest first.
    pub before: Option<&'a str>,
    /// Only runs created at or after this time.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only runs created before this time.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub limit: i64,
}

impl Default for RunFilter<'_> {
    fn default() -> Self {
        Self {
            workflow: None,
            status: None,
            requested_by: None,
            requested_for: None,
            before: None,
            since: None,
            until: None,
            limit: 50,
        }
    }
}

pub struct NewRun<'a> {
    pub id: &'a str,
    pub workflow_id: &'a str,
    pub workflow_version: i32,
    pub workflow_hash: &'a str,
    /// `queued`, `pending_approval`, or `running` for a run this process executes at once.
    pub status: RunStatus,
    pub inputs: &'a Value,
    pub connection: Option<&'a str>,
    pub requested_by: Option<&'a str>,
    pub requested_for: Option<&'a str>,
    /// The whole requester (engine-defined), read back by whatever runs or decides it.
    pub requester: &'a Value,
    pub event: Option<&'a Value>,
    pub dry_run: bool,
    /// The run whose `workflow:` step started this one.
    pub parent_run_id: Option<&'a str>,
    /// For a `running` run: who runs it, and for how long the claim holds without renewal.
    pub owner: &'a str,
    pub lease: Duration,
}

pub(crate) const RUN_COLUMNS: &str = "id, workflow_id, workflow_version, workflow_hash, status, inputs, output, output_info, progress, error, connection, \
     requested_by, requested_for, dry_run, created_at, started_at, finished_at, canceled_by, canceled_at, \
     approval, approval_step, approval_expires_at, resume, event, parent_run_id, requester";

/// Final statuses as an SQL list, for `status NOT IN (…)`.
pub(crate) const FINAL_SQL: &str = "('completed', 'failed', 'denied', 'canceled', 'expired')";

/// The span a transaction's statements run in: what a statement count sees as one
/// transaction (the test that budgets a run's statements).
fn transaction() -> tracing::Span {
    tracing::debug_span!("transaction")
}

/// A step record's values as stored: text cleaned, a big output compressed.
struct StepValues<'a> {
    row: &'a StepRow,
    params: Option<std::borrow::Cow<'a, Value>>,
    output: Option<std::borrow::Cow<'a, Value>>,
    output_z: Option<Vec<u8>>,
    error: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> StepValues<'a> {
    fn of(row: &'a StepRow) -> Result<Self> {
        let output = row.output.as_ref().map(|o| clean::json(&o.0));
        let output_z = output
            .as_deref()
            .map(compressed::pack)
            .transpose()?
            .flatten();
        // A compressed output is kept only there.
        let output = output.filter(|_| output_z.is_none());
        Ok(StepValues {
            row,
            params: row.params.as_ref().map(|p| clean::json(&p.0)),
            output,
            output_z,
            error: clean::opt_text(row.error.as_deref()),
        })
    }
}

/// The statement that writes one step record (a later attempt replaces it), bound.
macro_rules! insert_step {
    ($run_id:expr, $v:expr) => {{
        let v: &StepValues = $v;
        let s = v.row;
        sqlx::query(
            "INSERT INTO run_steps (run_id, step_id, iteration, status, operation, params, http_status, duration_ms, error, \
             output, output_z, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (run_id, step_id, iteration) DO UPDATE SET status = excluded.status, http_status = excluded.http_status, \
             duration_ms = excluded.duration_ms, error = excluded.error, output = excluded.output, output_z = excluded.output_z, \
             finished_at = excluded.finished_at",
        )
        .bind($run_id).bind(&s.step_id).bind(s.iteration).bind(s.status).bind(&s.operation)
        .bind(v.params.as_ref().map(|p| Json(p.as_ref())))
        .bind(s.http_status).bind(s.duration_ms).bind(v.error.as_deref())
        .bind(v.output.as_ref().map(|o| Json(o.as_ref()))).bind(v.output_z.as_deref()).bind(s.started_at).bind(s.finished_at)
    }};
}
impl Store {
    /// Record a new run, only while its workflow is installed: the check and the insert are
    /// one statement, so a run is never recorded for a workflow uninstalled meanwhile
    /// (whatever a cache said). False when it was not installed.
    pub async fn create_run(&self, r: &NewRun<'_>) -> Result<bool> {
        let now = Utc::now();
        let running = r.status == RunStatus::Running;
        let (owner, until) = if running {
            (Some(r.owner), Some(now + r.lease))
        } else {
            (None, None)
        };
        let inputs = clean::json(r.inputs);
        let event = r.event.map(clean::json);
        let n = with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO runs (id, workflow_id, workflow_version, status, inputs, connection, requested_by, dry_run, \
             locked_by, locked_until, created_at, started_at, workflow_hash, requested_for, event, parent_run_id, requester) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 \
             WHERE EXISTS (SELECT 1 FROM workflows WHERE id = $2 AND uninstalled_at IS NULL)",
        )
        .bind(r.id).bind(r.workflow_id).bind(r.workflow_version).bind(r.status).bind(Json(inputs.as_ref()))
        .bind(r.connection).bind(r.requested_by).bind(r.dry_run).bind(owner).bind(until).bind(now)
        .bind(running.then_some(now)).bind(r.workflow_hash).bind(r.requested_for).bind(event.as_ref().map(|e| Json(e.as_ref()))).bind(r.parent_run_id)
        .bind(Json(clean::json(r.requester).as_ref()))
        .execute(p).await.map(|x| x.rows_affected()))?;
        Ok(n > 0)
    }

    /// Move a run `owner` holds to a final status and release it, unless the run already
    /// has a final status (a cancel wins over a late completion), with the step records it
    /// held until now (`steps`): one statement, which also notes whether any were written
    /// apart before and, with `announce`, tells other replicas it ended. Returns the run as
    /// stored when this call set the status (`None` when it had ended before); the claim is
    /// released and the steps written either way.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_run(
        &self,
        id: &str,
        owner: &str,
        status: RunStatus,
        output: Option<&Value>,
        info: Option<&OutputInfo>,
        error: Option<&str>,
        steps: &[StepRow],
        announce: bool,
    ) -> Result<Option<Finished>> {
        let output = output.map(clean::json);
        let error = clean::opt_text(error);
        let steps_z = if steps.is_empty() {
            None
        } else {
            Some(compressed::pack_as(steps)?)
        };
        let sql = format!(
            "UPDATE runs SET status = $2, output = $3, error = $4, finished_at = $5, output_info = $6, \
             locked_by = NULL, locked_until = NULL, steps_z = $7, \
             steps_apart = EXISTS (SELECT 1 FROM run_steps WHERE run_id = $1) \
             WHERE id = $1 AND status NOT IN {FINAL_SQL} RETURNING {RUN_COLUMNS}, steps_apart"
        );
        macro_rules! bound {
            ($sql:expr) => {
                sqlx::query_as::<_, EndedRow>(sqlx::AssertSqlSafe($sql))
                    .bind(id)
                    .bind(status)
                    .bind(output.as_ref().map(|o| Json(o.as_ref())))
                    .bind(error.as_deref())
                    .bind(Utc::now())
                    .bind(info.map(Json))
                    .bind(steps_z.as_deref())
            };
        }
        let ended = match &self.pool {
            // On PostgreSQL the end tells the other replicas in the same statement.
            crate::Pool::Postgres(p) if announce => {
                let sql = format!(
                    "WITH ended AS ({sql}) SELECT ended.*, pg_notify('{}', ended.id)::text AS notified FROM ended",
                    crate::signals::ENDED
                );
                bound!(sql.as_str()).fetch_optional(p).await?
            }
            pool => with_pool!(pool, p => bound!(sql.as_str()).fetch_optional(p).await)?,
        };
        let Some(EndedRow { run, steps_apart }) = ended else {
            // Ended elsewhere first (rare): the steps go with the others.
            self.add_steps(id, steps).await?;
            self.release_run(id, owner).await?;
            return Ok(None);
        };
        Ok(Some(Finished {
            run,
            steps_apart: steps_apart != Some(false),
        }))
    }

    /// Let go of a run's claim (after it stopped on a cancel).
    pub async fn release_run(&self, id: &str, owner: &str) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query(
            "UPDATE runs SET locked_by = NULL, locked_until = NULL WHERE id = $1 AND locked_by = $2",
        ).bind(id).bind(owner).execute(p).await.map(|x| x.rows_affected()))?;
        Ok(())
    }

    /// Who holds a run's claim, if anyone.
    pub async fn run_owner(&self, id: &str) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> = with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT locked_by FROM runs WHERE id = $1",
        ).bind(id).fetch_optional(p).await)?;
        Ok(row.and_then(|r| r.0))
    }

    /// Write step records (a new attempt of a step replaces its record), in one transaction.
    pub async fn add_steps(&self, run_id: &str, steps: &[StepRow]) -> Result<()> {
        let steps = steps
            .iter()
            .map(StepValues::of)
            .collect::<Result<Vec<_>>>()?;
        match steps.as_slice() {
            [] => {}
            [one] => {
                with_pool!(&self.pool, p => insert_step!(run_id, one).execute(p).await.map(|r| r.rows_affected()))?;
            }
            many => with_pool!(&self.pool, p => async {
                let mut tx = p.begin().await?;
                for s in many {
                    insert_step!(run_id, s).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok::<_, crate::StoreError>(())
            }
            .instrument(transaction())
            .await)?,
        }
        Ok(())
    }

    pub async fn run(&self, id: &str) -> Result<Option<Run>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Run>(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?,
        )
    }

    /// A run with its step records, oldest first: those written with its end come with the
    /// run itself; the others are read only when some were written apart (or it is not
    /// known: a run still going, one that ended elsewhere, one from before).
    pub async fn run_with_steps(&self, id: &str) -> Result<Option<(Run, Vec<StepRow>)>> {
        let sql = format!("SELECT {RUN_COLUMNS}, steps_z, steps_apart FROM runs WHERE id = $1");
        let row = with_pool!(&self.pool, p => sqlx::query_as::<_, RunWithSteps>(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?;
        let Some(RunWithSteps {
            run,
            steps_z,
            steps_apart,
        }) = row
        else {
            return Ok(None);
        };
        let mut steps = if steps_apart == Some(false) {
            Vec::new()
        } else {
            self.run_steps(id).await?
        };
        if let Some(z) = steps_z.as_deref() {
            let held: Vec<StepRow> = compressed::unpack_as(z)?;
            // A record held to the end is a later attempt than one of the same step written
            // apart: it replaces it.
            let later: std::collections::HashSet<(&str, i32)> = held
                .iter()
                .map(|s| (s.step_id.as_str(), s.iteration))
                .collect();
            steps.retain(|s| !later.contains(&(s.step_id.as_str(), s.iteration)));
            steps.extend(held);
            in_step_order(&mut steps);
        }
        Ok(Some((run, steps)))
    }

    /// The step records written apart from a run's end (see [`Store::run_with_steps`]).
    pub async fn run_steps(&self, id: &str) -> Result<Vec<StepRow>> {
        let rows = with_pool!(&self.pool, p => sqlx::query_as::<_, StoredStep>(
            "SELECT step_id, iteration, status, operation, params, http_status, duration_ms, error, output, output_z, \
             started_at, finished_at FROM run_steps WHERE run_id = $1 ORDER BY started_at, step_id, iteration",
        ).bind(id).fetch_all(p).await)?;
        rows.into_iter().map(StoredStep::row).collect()
    }

    /// Newest first.
    pub async fn runs(&self, f: &RunFilter<'_>) -> Result<Vec<Run>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE ($1 IS NULL OR workflow_id = $1) AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR LOWER(requested_by) LIKE $3 ESCAPE '\\') AND ($5 IS NULL OR LOWER(requested_for) = LOWER($5)) \
             AND ($6 IS NULL OR (created_at, id) < (SELECT b.created_at, b.id FROM runs b WHERE b.id = $6)) \
             AND ($7 IS NULL OR created_at >= $7) AND ($8 IS NULL OR created_at < $8) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        // `before` is keyset paging on the order itself, so a page never skips or repeats a
        // run when new ones arrive meanwhile.
        let by = f.requested_by.map(|b| clean::contains(&b.to_lowercase()));
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, Run>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(f.workflow).bind(f.status).bind(by.as_deref()).bind(f.limit).bind(f.requested_for)
            .bind(f.before).bind(f.since).bind(f.until).fetch_all(p).await)?,
        )
    }

    /// Whether a run of `workflow_id` started by `requested_by` has not finished yet.
    pub async fn has_unfinished_run(&self, workflow_id: &str, requested_by: &str) -> Result<bool> {
        let sql = format!(
            "SELECT COUNT(*) FROM runs WHERE workflow_id = $1 AND requested_by = $2 AND status NOT IN {FINAL_SQL}"
        );
        let (n,): (i64,) = with_pool!(&self.pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(workflow_id).bind(requested_by).fetch_one(p).await)?;
        Ok(n > 0)
    }
}
