//! Runs held for approval, and the decisions on them. A held run keeps its policy (JSON,
//! decided by the engine), the step it waits at and when it expires; each decision is one
//! row. Moving a run on is a compare-and-set on its status and step, so two approvals racing
//! for the last slot open the gate exactly once.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use crate::from_row::from_row;
use crate::{Result, Store, clean, with_pool};

/// Where an approved run goes next.
#[derive(Debug, Clone, Copy)]
pub enum AfterApproval<'a> {
    /// Into the queue, for whichever replica has a free slot.
    Queue,
    /// Straight to `running`, held by `owner` (the CLI runs it itself).
    Run { owner: &'a str, lease: Duration },
}

/// One approval or denial.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Decision {
    /// The policy step it was made at (0 is the first).
    pub step: i32,
    pub decided_by: String,
    /// The person behind the decision, lower-cased (see [`NewDecision::person`]).
    #[serde(skip)]
    #[schemars(skip)]
    pub by_key: String,
    pub approved: bool,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

from_row!(Decision {
    step,
    decided_by,
    by_key,
    approved,
    comment,
    at
});

/// What recording a decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// Counted; the step needs more approvals.
    Counted {
        approvals: u32,
    },
    /// The step has enough; the run waits at the next one.
    NextStep(i32),
    /// The last step has enough: the run moved on as asked.
    Opened,
    Denied,
    /// This person already decided at this step.
    AlreadyDecided,
    /// The run no longer waits at this step (decided, moved on, expired, canceled).
    NotWaiting,
}

/// A decision to record.
pub struct NewDecision<'a> {
    pub run_id: &'a str,
    pub step: i32,
    /// Whether `step` is the policy's last.
    pub last: bool,
    pub min: u32,
    pub by: &'a str,
    /// Who the decider is as a person (their email, or the email of the person who made the
    /// key they decide with; otherwise their label): one decision per person per step.
    pub person: &'a str,
    pub approved: bool,
    pub comment: Option<&'a str>,
}

impl Store {
    /// Record that a run waits for approval under `policy`, at its first step.
    pub async fn request_approval(
        &self,
        run_id: &str,
        policy: &Value,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let policy = clean::json(policy);
        with_pool!(&self.pool, p => sqlx::query(
            "UPDATE runs SET approval = $2, approval_step = 0, approval_expires_at = $3 WHERE id = $1",
        ).bind(run_id).bind(Json(policy.as_ref())).bind(expires_at)
        .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Hold a running run (of `owner`) for approval before its first change, keeping where
    /// to resume from. False when the run is no longer this owner's running run.
    pub async fn hold_running(&self, run_id: &str, owner: &str, resume: &Value) -> Result<bool> {
        let resume = clean::json(resume);
        let n = with_pool!(&self.pool, p => sqlx::query(
            "UPDATE runs SET status = 'pending_approval', locked_by = NULL, locked_until = NULL, resume = $3 \
             WHERE id = $1 AND status = 'running' AND locked_by = $2",
        ).bind(run_id).bind(owner).bind(Json(resume.as_ref())).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    pub async fn decisions(&self, run_id: &str) -> Result<Vec<Decision>> {
        Ok(with_pool!(&self.pool, p => sqlx::query_as::<_, Decision>(
            "SELECT step, decided_by, by_key, approved, comment, at FROM approval_decisions WHERE run_id = $1 ORDER BY id",
        ).bind(run_id).fetch_all(p).await)?)
    }

    /// Record a decision and move the run on when it completes a step, all or nothing.
    pub async fn decide(&self, d: &NewDecision<'_>, then: AfterApproval<'_>) -> Result<Decided> {
        let now = Utc::now();
        let by = clean::text(d.by);
        let comment = clean::opt_text(d.comment);
        let by_key = d.person.to_lowercase();
        let outcome = with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            // A write first: it checks the run still waits at this step and takes the write
            // lock at once (SQLite), so racing deciders queue up instead of failing.
            let waiting = sqlx::query(
                "UPDATE runs SET approval_step = approval_step WHERE id = $1 AND status = 'pending_approval' AND approval_step = $2",
            ).bind(d.run_id).bind(d.step).execute(&mut *tx).await?.rows_affected();
            if waiting == 0 {
                return Ok(Decided::NotWaiting);
            }
            let inserted = sqlx::query(
                "INSERT INTO approval_decisions (run_id, step, decided_by, by_key, approved, comment, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (run_id, step, by_key) DO NOTHING",
            ).bind(d.run_id).bind(d.step).bind(by.as_ref()).bind(&by_key).bind(d.approved)
            .bind(comment.as_deref()).bind(now).execute(&mut *tx).await?.rows_affected();
            if inserted == 0 {
                return Ok(Decided::AlreadyDecided);
            }
            let outcome = if !d.approved {
                let n = sqlx::query(
                    "UPDATE runs SET status = 'denied', finished_at = $3, error = $4 \
                     WHERE id = $1 AND status = 'pending_approval' AND approval_step = $2",
                ).bind(d.run_id).bind(d.step).bind(now).bind(format!("denied by {by}"))
                .execute(&mut *tx).await?.rows_affected();
                if n == 0 { Decided::NotWaiting } else { Decided::Denied }
            } else {
                let approvals: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM approval_decisions WHERE run_id = $1 AND step = $2 AND approved",
                ).bind(d.run_id).bind(d.step).fetch_one(&mut *tx).await?;
                if (approvals as u64) < u64::from(d.min) {
                    Decided::Counted { approvals: approvals as u32 }
                } else if !d.last {
                    let n = sqlx::query(
                        "UPDATE runs SET approval_step = $2 + 1 WHERE id = $1 AND status = 'pending_approval' AND approval_step = $2",
                    ).bind(d.run_id).bind(d.step).execute(&mut *tx).await?.rows_affected();
                    if n == 0 { Decided::NotWaiting } else { Decided::NextStep(d.step + 1) }
                } else {
                    let n = match then {
                        AfterApproval::Queue => sqlx::query(
                            "UPDATE runs SET status = 'queued' WHERE id = $1 AND status = 'pending_approval' AND approval_step = $2",
                        ).bind(d.run_id).bind(d.step).execute(&mut *tx).await?.rows_affected(),
                        AfterApproval::Run { owner, lease } => sqlx::query(
                            "UPDATE runs SET status = 'running', started_at = $3, locked_by = $4, locked_until = $5 \
                             WHERE id = $1 AND status = 'pending_approval' AND approval_step = $2",
                        ).bind(d.run_id).bind(d.step).bind(now).bind(owner).bind(now + lease)
                        .execute(&mut *tx).await?.rows_affected(),
                    };
                    if n == 0 { Decided::NotWaiting } else { Decided::Opened }
                }
            };
            if outcome == Decided::NotWaiting {
                return Ok(outcome);
            }
            tx.commit().await?;
            outcome
        });
        if outcome == Decided::Opened && matches!(then, AfterApproval::Queue) {
            self.signal(crate::signals::QUEUE, d.run_id).await;
        }
        Ok(outcome)
    }

    /// End runs whose approval expired before anyone decided; their ids.
    pub async fn expire_approvals(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        Ok(with_pool!(&self.pool, p => sqlx::query_scalar::<_, String>(
            "UPDATE runs SET status = 'expired', finished_at = $1, \
             error = 'no decision before the approval expired' \
             WHERE status = 'pending_approval' AND approval_expires_at <= $1 RETURNING id",
        ).bind(now).fetch_all(p).await)?)
    }
}
