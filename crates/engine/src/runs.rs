//! A run's life from the outside: started here at once (the CLI, MCP over stdio) or
//! submitted to the queue (`serve`), held for approval, approved or denied, canceled,
//! waited for, listed and shown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use store::{AfterApproval, CancelOutcome, NewRun, Run, RunStatus};
use tokio_util::sync::CancellationToken;

use crate::active::chrono_lease;
use crate::actor::Actor;
use crate::approval::Outcome;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::ids;
use crate::run_types::{
    ApproveThen, Approved, Attach, Requester, RunOutcome, RunRequest, Started, Submitted,
};
use workflow_lang::Role;
use workflow_lang::inputs;
use workflow_lang::workflow::Workflow;

/// A run's checked inputs and everything needed to record it.
pub(crate) struct Prepared {
    pub(crate) workflow: Arc<Workflow>,
    pub(crate) version: i32,
    pub(crate) inputs: Map<String, Value>,
    pub(crate) connection: String,
    pub(crate) client: lumos_api::Client,
}

impl Engine {
    /// Check a request: the workflow is installed, the inputs fit, the connection works.
    async fn prepare(
        &self,
        id: &str,
        given: &Map<String, Value>,
        req: &RunRequest,
    ) -> Result<Prepared> {
        let (workflow, version) = self.load(id, req.version).await?;
        if let Some(whom) = &req.requested_for {
            crate::access::check_email(whom)
                .map_err(|e| EngineError::Inputs(vec![format!("requested_for: {e}")]))?;
        }
        let me = req.actor.email();
        let marks_me = workflow
            .def
            .inputs
            .values()
            .any(|s| s.value.for_whom == Some(workflow_lang::definition::ForWhom::Me));
        let scoped = !req.actor.scope.is_open();
        // Read only where it decides something: a scoped key, or an admin looking for others.
        let changes = if scoped || (marks_me && req.actor.may(Role::Admin)) {
            Some(self.changes_or_all(&workflow).await)
        } else {
            None
        };
        // A key that may do less than its role: only its workflows, only reads.
        if let Some(why) = req.actor.scope.refusal(
            &req.actor.label,
            id,
            changes.as_ref().and_then(|c| c.describe_first()).as_deref(),
        ) {
            return Err(EngineError::Forbidden(why));
        }
        let may_look_for_others =
            marks_me && req.actor.may(Role::Admin) && !changes.as_ref().is_some_and(|c| c.any());
        let given = inputs::bind_person(
            &workflow.def.inputs,
            given,
            &inputs::People {
                requested_for: req.requested_for.as_deref(),
                requester: me.as_deref(),
                requester_label: &req.actor.label,
                may_look_for_others,
            },
        )
        .map_err(|e| EngineError::Inputs(vec![e]))?;
        let inputs = inputs::resolve(&workflow.def.inputs, &given).map_err(EngineError::Inputs)?;
        let connection = req
            .connection
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        self.check_connection_use(&connection, &req.actor).await?;
        let client = self.client(&connection).await?;
        Ok(Prepared {
            workflow,
            version,
            inputs,
            connection,
            client,
        })
    }

    /// Every run of a workflow gated before it runs waits for approval, dry runs too: a dry
    /// run makes the reads, and what it reads is what the gate protects. A workflow gated
    /// `before_changes` makes its reads first and is held by the executor.
    fn gated(wf: &Workflow) -> bool {
        wf.def
            .approval
            .as_ref()
            .is_some_and(|a| a.value.gate() == crate::approval::Gate::BeforeRun)
    }

    async fn record(
        &self,
        run_id: &str,
        id: &str,
        p: &Prepared,
        req: &RunRequest,
        status: RunStatus,
    ) -> Result<()> {
        let requester = serde_json::to_value(Requester {
            actor: req.actor.clone(),
            origin: req.origin,
        })
        .map_err(|e| EngineError::Conflict(e.to_string()))?;
        let recorded = self
            .store
            .create_run(&NewRun {
                id: run_id,
                workflow_id: id,
                workflow_version: p.version,
                workflow_hash: &p.workflow.hash,
                status,
                inputs: &Value::Object(p.inputs.clone()),
                connection: Some(&p.connection),
                requested_by: Some(&req.actor.label),
                requested_for: req.requested_for.as_deref(),
                requester: &requester,
                event: req.event.as_ref(),
                dry_run: req.dry_run,
                parent_run_id: req.parent.as_ref().map(|p| p.run_id.as_str()),
                owner: self.owner.as_str(),
                lease: chrono_lease(&self.config),
            })
            .await?;
        if !recorded {
            // Uninstalled meanwhile (on another replica, say): what was kept is stale.
            self.library.rows.forget();
            return Err(EngineError::NotInstalled {
                id: id.to_owned(),
                bundled: crate::bundles::source(id).is_some(),
            });
        }
        if status == RunStatus::PendingApproval {
            self.request_policy(run_id, &p.workflow, &p.inputs).await?;
        }
        Ok(())
    }

    /// Record the approval a held run waits for: its policy as this run will be judged by
    /// (app ids rendered from its inputs now, so later edits of the workflow never change
    /// what it waits for) and when it expires; tell whoever wants to know.
    pub(crate) async fn request_policy(
        &self,
        run_id: &str,
        workflow: &Workflow,
        inputs: &Map<String, Value>,
    ) -> Result<()> {
        if let Some(expires) = self.write_policy(run_id, workflow, inputs).await? {
            self.announce_policy(run_id, expires).await;
        }
        Ok(())
    }

    /// Keep on the run the policy it waits under (templates rendered); when it expires.
    pub(crate) async fn write_policy(
        &self,
        run_id: &str,
        workflow: &Workflow,
        inputs: &Map<String, Value>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let Some(spec) = &workflow.def.approval else {
            return Ok(None);
        };
        let scope = serde_json::json!({"inputs": Value::Object(inputs.clone())});
        let cache = std::sync::OnceLock::new();
        let ctx = workflow_lang::template::EvalCtx::new(&scope, &cache);
        let policy = spec
            .value
            .for_run(|v| self.templates.eval(v, &ctx))
            .map_err(|e| EngineError::Inputs(vec![e]))?;
        let expires = chrono::Utc::now()
            + chrono::Duration::from_std(spec.value.expires_after())
                .unwrap_or(chrono::Duration::days(7));
        let policy =
            serde_json::to_value(&policy).map_err(|e| EngineError::Conflict(e.to_string()))?;
        self.store
            .request_approval(run_id, &policy, expires)
            .await?;
        Ok(Some(expires))
    }

    /// Tell whoever follows approvals that a run waits.
    pub(crate) async fn announce_policy(
        &self,
        run_id: &str,
        expires: chrono::DateTime<chrono::Utc>,
    ) {
        if let Ok(Some(run)) = self.store.run(run_id).await {
            let policy = Self::policy_of(&run);
            let first = policy.steps.first();
            let changes = run
                .resume
                .as_ref()
                .map(|r| crate::approval::words::held_changes(&r.0));
            let details = serde_json::json!({
                "reason": policy.reason,
                "requester_reason": crate::approval::words::requester_reason(&run.inputs.0),
                "changes": changes,
                "step": first.map(|s| s.name.clone()),
                "who": first.map(|s| s.who()),
                "expires_at": expires,
            });
            self.notify("approval.requested", &run, details).await;
        }
    }

    /// Check inputs, then run here and record. Bad inputs and connection problems are
    /// errors before anything is stored; everything after is a recorded run.
    pub async fn run(
        &self,
        id: &str,
        given: &Map<String, Value>,
        req: RunRequest,
    ) -> Result<RunOutcome> {
        let started = self.start(id, given, req).await?;
        self.execute(started).await
    }

    /// Validate and record a run that this process executes (`execute` does), so callers
    /// can show the run id at once.
    pub async fn start(
        &self,
        id: &str,
        given: &Map<String, Value>,
        req: RunRequest,
    ) -> Result<Started> {
        let p = self.prepare(id, given, &req).await?;
        let run_id = ids::new_run_id();
        let status = if Self::gated(&p.workflow) {
            RunStatus::PendingApproval
        } else {
            RunStatus::Running
        };
        self.record(&run_id, id, &p, &req, status).await?;
        if status == RunStatus::Running {
            self.hold(&run_id, req.cancel.clone());
        }
        Ok(Started {
            run_id,
            status,
            workflow: p.workflow,
            client: p.client,
            inputs: p.inputs,
            req,
            began: Instant::now(),
            announce_end: false,
        })
    }

    /// Validate and queue a run for whichever `serve` replica has a free slot, or start it
    /// here at once when this replica has one and nothing is queued. A full queue is
    /// refused before anything is recorded.
    pub async fn submit(
        &self,
        id: &str,
        given: &Map<String, Value>,
        req: RunRequest,
    ) -> Result<Submitted> {
        let p = self.prepare(id, given, &req).await?;
        let limit = self.config.queue_limit;
        let depth = match self.queue_depth.estimate(limit) {
            Some(d) => d,
            None => {
                let d = self.store.queue_stats().await?.depth;
                self.queue_depth.keep(d);
                d
            }
        };
        if depth >= limit {
            return Err(EngineError::QueueFull {
                depth,
                retry_after: Duration::from_secs(5),
            });
        }
        let run_id = ids::new_run_id();
        if Self::gated(&p.workflow) {
            self.record(&run_id, id, &p, &req, RunStatus::PendingApproval)
                .await?;
            return Ok(Submitted {
                run_id,
                status: RunStatus::PendingApproval,
            });
        }
        // Nobody waits before it and a slot is free here: it starts here at once, recorded
        // as running in the same statement that records it, as if claimed from the queue.
        if depth == 0
            && let Some((engine, slot)) = self.free_slot()
        {
            self.record(&run_id, id, &p, &req, RunStatus::Running)
                .await?;
            engine.start_here(run_id.clone(), p, req, slot);
            return Ok(Submitted {
                run_id,
                status: RunStatus::Running,
            });
        }
        self.record(&run_id, id, &p, &req, RunStatus::Queued)
            .await?;
        self.queue_depth.queued_one();
        self.active.queued_here(&run_id);
        self.wake_queue.notify_one();
        self.store.signal_queued(&run_id).await;
        Ok(Submitted {
            run_id,
            status: RunStatus::Queued,
        })
    }

    /// Mark a run as executing here, so cancels reach it and its lease is renewed.
    pub(crate) fn hold(&self, run_id: &str, cancel: CancellationToken) {
        self.active.insert(run_id, cancel, self.config.lease);
        self.keeper().ensure();
    }

    pub(crate) async fn existing(&self, run_id: &str) -> Result<Run> {
        if !ids::is_run_id(run_id) {
            return Err(EngineError::RunNotFound(run_id.to_owned()));
        }
        self.store
            .run(run_id)
            .await?
            .ok_or_else(|| EngineError::RunNotFound(run_id.to_owned()))
    }

    /// Approve a run waiting for approval at its current step. When that completes the
    /// last step the run goes on: queued, or run here to its end.
    pub async fn approve(
        &self,
        run_id: &str,
        by: &Actor,
        comment: Option<&str>,
        then: ApproveThen,
    ) -> Result<Approved> {
        let run = self.existing(run_id).await?;
        match then {
            ApproveThen::Queue => {
                let outcome = self
                    .record_decision(&run, by, true, comment, AfterApproval::Queue)
                    .await?;
                if outcome == Outcome::Opened {
                    self.wake_queue.notify_one();
                    return Ok(Approved::Queued(run_id.to_owned()));
                }
                Ok(Approved::Waiting(outcome))
            }
            ApproveThen::RunHere(attach) => {
                // Everything that could fail comes before the decision is recorded.
                let workflow = self.pinned(&run).await.map_err(EngineError::Conflict)?;
                let req = Self::request_of(&run, attach);
                let client = self
                    .client(req.connection.as_deref().unwrap_or("default"))
                    .await?;
                let after = AfterApproval::Run {
                    owner: self.owner.as_str(),
                    lease: chrono_lease(&self.config),
                };
                let outcome = self.record_decision(&run, by, true, comment, after).await?;
                if outcome != Outcome::Opened {
                    return Ok(Approved::Waiting(outcome));
                }
                self.hold(run_id, req.cancel.clone());
                let started = Started {
                    run_id: run_id.to_owned(),
                    status: RunStatus::Running,
                    workflow,
                    client,
                    inputs: run.inputs.0.as_object().cloned().unwrap_or_default(),
                    req,
                    began: Instant::now(),
                    announce_end: false,
                };
                Ok(Approved::Ran(self.execute(started).await?))
            }
        }
    }

    /// Who asked for a run, as it recorded them; runs from before the whole requester was
    /// kept act as their label with the role that may run workflows.
    pub(crate) fn requester_of(run: &Run) -> Requester {
        run.requester
            .as_ref()
            .and_then(|j| serde_json::from_value(j.0.clone()).ok())
            .unwrap_or_else(|| Requester {
                actor: Actor::system(run.requested_by.as_deref().unwrap_or_default()),
                origin: crate::run_types::Origin::Api,
            })
    }

    /// The request a recorded run was made with, read back from the run: whoever resumes
    /// it (an approval, the queue, another replica) runs it as it was requested, never as
    /// themselves and never with another dry-run mode.
    pub(crate) fn request_of(run: &Run, attach: Attach) -> RunRequest {
        let Requester { actor, origin } = Self::requester_of(run);
        RunRequest {
            connection: Some(
                run.connection
                    .clone()
                    .unwrap_or_else(|| "default".to_owned()),
            ),
            actor,
            origin,
            requested_for: run.requested_for.clone(),
            event: run.event.as_ref().map(|e| e.0.clone()),
            dry_run: run.dry_run,
            cancel: attach.cancel,
            tap: None,
            progress: None,
            version: Some(run.workflow_version),
            parent: None,
        }
    }

    /// The exact definition a run was requested with, or why it cannot run: the workflow
    /// was uninstalled since, or that definition is gone.
    pub(crate) async fn pinned(&self, run: &Run) -> std::result::Result<Arc<Workflow>, String> {
        let installed = self
            .store
            .workflow(&run.workflow_id)
            .await
            .map_err(|e| e.to_string())?;
        self.pinned_as_installed(
            run,
            installed.map(|w| w.installed_at.unwrap_or(w.created_at)),
        )
        .await
    }

    /// [`Self::pinned`], knowing when the workflow was installed (`None`: it is not).
    pub(crate) async fn pinned_as_installed(
        &self,
        run: &Run,
        installed_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> std::result::Result<Arc<Workflow>, String> {
        let Some(installed_at) = installed_at else {
            return Err(format!(
                "workflow '{}' was uninstalled after this run was requested",
                run.workflow_id
            ));
        };
        // Installed again since, even with the same text: not what was asked to run.
        if installed_at > run.created_at {
            return Err(format!(
                "workflow '{}' was uninstalled and installed again after this run was requested",
                run.workflow_id
            ));
        }
        let gone = || {
            format!(
                "the definition of '{}' version {} this run was requested with is gone",
                run.workflow_id, run.workflow_version
            )
        };
        // Runs from before definitions were pinned run the version they recorded.
        let Some(hash) = run.workflow_hash.as_deref() else {
            return self
                .load(&run.workflow_id, Some(run.workflow_version))
                .await
                .map(|(w, _)| w)
                .map_err(|e| e.to_string());
        };
        self.load_pinned(&run.workflow_id, run.workflow_version, hash)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(gone)
    }

    /// Deny a run waiting for approval; a denial says why.
    pub async fn deny(&self, run_id: &str, by: &Actor, comment: Option<&str>) -> Result<Run> {
        let run = self.existing(run_id).await?;
        self.record_decision(&run, by, false, comment, AfterApproval::Queue)
            .await?;
        self.existing(run_id).await
    }

    /// Cancel a run that has not ended. A running one is stopped wherever it runs — here
    /// at once, on another replica as soon as it hears of it — and this returns once its
    /// process has let go of it (or after a few seconds if that process is gone), so no
    /// Lumos call of the run starts after the answer.
    pub async fn cancel(&self, run_id: &str, by: &str) -> Result<Run> {
        if !ids::is_run_id(run_id) {
            return Err(EngineError::RunNotFound(run_id.to_owned()));
        }
        match self.store.cancel_run(run_id, by).await? {
            CancelOutcome::Missing => return Err(EngineError::RunNotFound(run_id.to_owned())),
            CancelOutcome::AlreadyFinal(status) => {
                return Err(EngineError::AlreadyFinished {
                    id: run_id.to_owned(),
                    status,
                });
            }
            CancelOutcome::Canceled { holder: None, .. } => {}
            CancelOutcome::Canceled {
                holder: Some(holder),
                ..
            } => {
                self.active.cancel(run_id);
                let deadline =
                    Instant::now() + self.config.cancel_poll * 4 + Duration::from_secs(2);
                loop {
                    match self.store.run_owner(run_id).await? {
                        None => break,
                        Some(_) if Instant::now() >= deadline => {
                            // Its process is gone or stuck: release it so nothing waits on it.
                            tracing::warn!(run = run_id, holder = %holder, "the process running a canceled run did not stop in time");
                            self.store.release_run(run_id, &holder).await?;
                            break;
                        }
                        Some(_) => tokio::time::sleep(Duration::from_millis(25)).await,
                    }
                }
            }
        }
        self.existing(run_id).await
    }

    /// Wait until a run ends, wherever it runs. Cancelling `cancel` cancels the run (an
    /// agent that gives up on a tool call).
    pub async fn wait(
        &self,
        run_id: &str,
        cancel: Option<&CancellationToken>,
        by: &str,
    ) -> Result<RunOutcome> {
        self.wait_from(run_id, cancel, by, false).await
    }

    /// [`Self::wait`] for a run just submitted: its record says what `submit` said, so it
    /// is not read before the first poll.
    pub async fn wait_submitted(
        &self,
        submitted: &Submitted,
        cancel: Option<&CancellationToken>,
        by: &str,
    ) -> Result<RunOutcome> {
        self.wait_from(&submitted.run_id, cancel, by, true).await
    }

    async fn wait_from(
        &self,
        run_id: &str,
        cancel: Option<&CancellationToken>,
        by: &str,
        just_submitted: bool,
    ) -> Result<RunOutcome> {
        let mut ended_here = self.active.wait_for(run_id);
        // A run executing here hands its end to the waiter just registered, and a run just
        // submitted is as `submit` said: the record need not be read first. Any other is
        // looked at at once.
        let every = Duration::from_millis(250);
        let first = if just_submitted || self.active.holds(run_id) {
            tokio::time::Instant::now() + every
        } else {
            tokio::time::Instant::now()
        };
        let mut poll = tokio::time::interval_at(first, every);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let never = CancellationToken::new();
        let cancel = cancel.unwrap_or(&never);
        let outcome = loop {
            tokio::select! {
                outcome = &mut ended_here => {
                    match outcome {
                        Ok(o) => break o,
                        // The sender went away without an outcome: read the record.
                        Err(_) => ended_here = self.active.wait_for(run_id),
                    }
                }
                _ = poll.tick() => {
                    let run = self.existing(run_id).await?;
                    if run.status.is_final() || run.status == RunStatus::PendingApproval {
                        break RunOutcome::of_run(run);
                    }
                }
                () = cancel.cancelled() => {
                    let run = self.cancel(run_id, by).await?;
                    break RunOutcome::without_output(run.id, run.status, run.error);
                }
            }
        };
        self.active.forget_waiter(run_id);
        Ok(outcome)
    }

    pub async fn runs(&self, filter: &store::RunFilter<'_>) -> Result<Vec<Run>> {
        let filter = store::RunFilter {
            limit: filter.limit.clamp(1, 1000),
            ..*filter
        };
        Ok(self.store.runs(&filter).await?)
    }

    /// Delete finished runs (with their steps) that ended longer than `age` ago; how many.
    pub async fn prune(&self, age: Duration) -> Result<u64> {
        let age = chrono::Duration::from_std(age)
            .map_err(|_| EngineError::Inputs(vec![format!("{age:?} is too long an age")]))?;
        let before = chrono::Utc::now() - age;
        let mut total = 0;
        loop {
            let n = self.store.prune_runs(before, 500).await?;
            total += n;
            if n < 500 {
                return Ok(total);
            }
        }
    }
}
