//! Who may see and stop which runs, decided here for every door. A run is seen by those who
//! may use its connection, so runs on a connection kept for admins stay with admins. An
//! agent (a help-desk key or person acting for others) sees only the runs they asked for or
//! that are for them, and, opened from their Approvals, the held runs they may decide now
//! (lists never ask Lumos who approves): one person's requests are not another's business. Viewers (observers, auditors) see every run their connections allow.
//! An agent cancels the runs they asked for or that are for them; builders and admins cancel
//! any run they can see. A run someone may not see is "not found" to them, as if it did not
//! exist.

use std::collections::HashMap;
use std::sync::Arc;

use store::{Run, RunFilter};
use workflow_lang::Role;

use crate::actor::Actor;
use crate::connections::allowed_roles;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::outcome::StoredEnd;
use crate::output::StoredOutput;
use crate::run_types::{RunDetail, RunOutcome};

/// The roles each connection is open to, read once for a batch of runs.
#[derive(Default)]
struct OpenTo(HashMap<String, Vec<Role>>);

impl Engine {
    async fn open_to(&self, open: &mut OpenTo, connection: &str) -> Result<Vec<Role>> {
        if let Some(r) = open.0.get(connection) {
            return Ok(r.clone());
        }
        // A connection removed since: its runs stay with admins.
        let roles = match self.connection_row(connection).await? {
            Some(c) => allowed_roles(&c),
            None => vec![Role::Admin],
        };
        open.0.insert(connection.to_owned(), roles.clone());
        Ok(roles)
    }

    /// Whether `by` sees `run` in a list: its connection is open to them and, for an agent,
    /// the run is theirs. Cheap: a list never asks Lumos who approves.
    async fn listed(&self, open: &mut OpenTo, run: &Run, by: &Actor) -> Result<bool> {
        let connection = run.connection.as_deref().unwrap_or("default");
        let roles = self.open_to(open, connection).await?;
        Ok(roles.contains(&by.role.max(Role::Agent))
            && (by.role != Role::Agent || Self::is_theirs(run, by)))
    }

    /// Whether `by` sees `run` when they ask for it: as listed, or, for an agent who is to
    /// decide a held run (their Approvals list links to it), that run.
    async fn sees(&self, open: &mut OpenTo, run: &Run, by: &Actor) -> Result<bool> {
        if self.listed(open, run, by).await? {
            return Ok(true);
        }
        let connection = run.connection.as_deref().unwrap_or("default");
        Ok(by.role == Role::Agent
            && self.open_to(open, connection).await?.contains(&Role::Agent)
            && run.status == store::RunStatus::PendingApproval
            && self.may_decide_now(run, by).await?)
    }

    /// Whether `by` asked for `run` (as themselves or through their key) or it is for them.
    fn is_theirs(run: &Run, by: &Actor) -> bool {
        let names = by.names();
        let theirs = |who: &Option<String>| {
            who.as_deref()
                .is_some_and(|w| names.iter().any(|n| n.eq_ignore_ascii_case(w)))
        };
        theirs(&run.requested_by)
            || theirs(&run.requested_for)
            || names.contains(&Self::requester_of(run).actor.person_key())
    }

    /// Whether `by` may see `run`.
    pub async fn may_see(&self, run: &Run, by: &Actor) -> Result<bool> {
        self.sees(&mut OpenTo::default(), run, by).await
    }

    /// A run as `by` may see it; "not found" when they may not.
    pub async fn run_for(&self, id: &str, by: &Actor) -> Result<Run> {
        let run = self.existing(id).await?;
        self.shown_to(&run, by).await?;
        Ok(run)
    }

    /// "Not found" when `by` may not see `run`, as if it did not exist.
    async fn shown_to(&self, run: &Run, by: &Actor) -> Result<()> {
        if !self.may_see(run, by).await? {
            return Err(EngineError::RunNotFound(run.id.clone()));
        }
        Ok(())
    }

    /// A run's detail, for someone who may see it.
    pub async fn run_detail_for(&self, id: &str, by: &Actor) -> Result<RunDetail> {
        let (run, steps) = self.existing_with_steps(id).await?;
        self.shown_to(&run, by).await?;
        self.detail_of(run, steps).await
    }

    /// The detail of a run waited for, for someone who may see it: as its end stored it
    /// when the outcome carries that (no read; moved out unless another waiter shares it),
    /// else as read now.
    pub async fn ended_detail_for(&self, outcome: RunOutcome, by: &Actor) -> Result<RunDetail> {
        let Some(end) = outcome.stored else {
            return self.run_detail_for(&outcome.run_id, by).await;
        };
        self.shown_to(&end.run, by).await?;
        let StoredEnd { run, steps } = Arc::try_unwrap(end).unwrap_or_else(|shared| StoredEnd {
            run: shared.run.clone(),
            steps: shared.steps.clone(),
        });
        self.detail_of(run, steps).await
    }

    /// A run's stored output, for someone who may see it.
    pub async fn stored_output_for(&self, id: &str, by: &Actor) -> Result<StoredOutput> {
        let run = self.run_for(id, by).await?;
        self.output_of(run)
    }

    /// The runs `by` may see, newest first: as many as the filter's limit, reading on past
    /// runs they may not see so a page is never cut short by them.
    pub async fn runs_for(&self, filter: &RunFilter<'_>, by: &Actor) -> Result<Vec<Run>> {
        let limit = filter.limit.clamp(1, 1000);
        let mut open = OpenTo::default();
        let mut out = Vec::new();
        let mut before = filter.before.map(str::to_owned);
        loop {
            let batch = self
                .runs(&RunFilter {
                    before: before.as_deref(),
                    limit,
                    ..*filter
                })
                .await?;
            let full = batch.len() as i64 == limit;
            before = batch.last().map(|r| r.id.clone());
            for run in batch {
                if self.listed(&mut open, &run, by).await? {
                    out.push(run);
                    if out.len() as i64 == limit {
                        return Ok(out);
                    }
                }
            }
            if !full {
                return Ok(out);
            }
        }
    }

    /// Cancel a run as `by`: an agent their own runs or those for them, builders and admins
    /// any they can see.
    pub async fn cancel_for(&self, id: &str, by: &Actor) -> Result<Run> {
        let run = self.run_for(id, by).await?;
        crate::access::need(by, Role::Agent, "canceling runs")?;
        if !by.may(Role::Builder) && !Self::is_theirs(&run, by) {
            return Err(EngineError::Forbidden(format!(
                "{} may cancel only runs they asked for or that are for them; run '{id}' was asked for by {}",
                by.label,
                run.requested_by.as_deref().unwrap_or("someone else")
            )));
        }
        let run = self.cancel(id, &by.label).await?;
        self.audit(by, "run.cancel", id, None).await;
        Ok(run)
    }
}
