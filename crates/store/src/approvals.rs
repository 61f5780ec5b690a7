//! Runs held for approval, and the decisions on them.

use chrono::{Duration, Utc};

use crate::{Result, Store, clean, with_pool};

/// Where an approved run goes next.
#[derive(Debug, Clone, Copy)]
pub enum AfterApproval<'a> {
    /// Into the queue, for whichever replica has a free slot.
    Queue,
    /// Straight to `running`, held by `owner` (the CLI runs it itself).
    Run { owner: &'a str, lease: Duration },
}

impl Store {
    /// Record that a run waits for approval.
    pub async fn request_approval(&self, run_id: &str, message: &str) -> Result<()> {
        let message = clean::text(message);
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO approvals (id, run_id, step_id, state, comment, created_at) VALUES ($1, $2, 'run', 'pending', $3, $4)",
        ).bind(uuid::Uuid::now_v7().to_string()).bind(run_id).bind(message.as_ref()).bind(Utc::now())
        .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Decide a pending run: approved moves it on as `then` says; denied ends it. False when
    /// the run was not waiting for approval.
    pub async fn decide_approval(
        &self,
        run_id: &str,
        approved: bool,
        by: &str,
        then: AfterApproval<'_>,
    ) -> Result<bool> {
        let now = Utc::now();
        let by = clean::text(by);
        let n = with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let n = match (approved, then) {
                (true, AfterApproval::Queue) => sqlx::query(
                    "UPDATE runs SET status = 'queued' WHERE id = $1 AND status = 'pending_approval'",
                ).bind(run_id).execute(&mut *tx).await?.rows_affected(),
                (true, AfterApproval::Run { owner, lease }) => sqlx::query(
                    "UPDATE runs SET status = 'running', started_at = $2, locked_by = $3, locked_until = $4 \
                     WHERE id = $1 AND status = 'pending_approval'",
                ).bind(run_id).bind(now).bind(owner).bind(now + lease).execute(&mut *tx).await?.rows_affected(),
                (false, _) => sqlx::query(
                    "UPDATE runs SET status = 'denied', finished_at = $2, error = $3 WHERE id = $1 AND status = 'pending_approval'",
                ).bind(run_id).bind(now).bind(format!("denied by {by}")).execute(&mut *tx).await?.rows_affected(),
            };
            if n > 0 {
                sqlx::query("UPDATE approvals SET state = $2, decided_by = $3, decided_at = $4 WHERE run_id = $1 AND state = 'pending'")
                    .bind(run_id).bind(if approved { "approved" } else { "denied" }).bind(by.as_ref()).bind(now)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            n
        });
        if n > 0 && approved && matches!(then, AfterApproval::Queue) {
            self.signal(crate::signals::QUEUE, run_id).await;
        }
        Ok(n > 0)
    }
}
