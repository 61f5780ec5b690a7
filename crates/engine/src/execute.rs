//! Executing a run this process holds: the executor's step records go to the store as
//! they happen, the outcome is recorded however the database is doing, and anyone waiting
//! here is handed the outcome.

use std::sync::Arc;

use backon::Retryable;
use std::time::Duration;

use store::{Run, RunStatus};

use crate::engine::Engine;
use crate::error::Result;
use crate::executor::{Executor, Hold, RunError, RunOptions};
use crate::outcome::StoredEnd;
use crate::output::{self, ChunkWriter, Kept, Produced, Sink};
use crate::run_types::{ParentRun, RunOutcome, Started};
use crate::step_records::{Who, progress_keeper, recorder};
use crate::sub_runner::SubRunner;

impl Engine {
    /// What the `http:` steps of `wf` need: the allowed hosts, the secrets it names, a
    /// client that follows no redirects. None for a workflow without such steps: most runs
    /// pay nothing for them.
    pub(crate) async fn http_env(
        &self,
        wf: &workflow_lang::workflow::Workflow,
    ) -> Option<crate::executor::HttpEnv> {
        if !wf.def.steps.iter().any(|s| s.http.is_some()) {
            return None;
        }
        let opened = self.secrets_for(wf).await.unwrap_or_else(|e| {
            // The steps that need them fail naming the secret; the reason is here.
            tracing::warn!(error = %e, "cannot open the secrets of workflow {}", wf.id());
            Default::default()
        });
        let secrets = opened
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect();
        Some(crate::executor::HttpEnv {
            allowed_hosts: self.config.http_allowed_hosts.clone(),
            redact: workflow_lang::secret_refs::Redactor::new(&secrets),
            secrets,
            rules: opened.into_iter().map(|(k, (_, r))| (k, r)).collect(),
            client: crate::webhook::client(std::time::Duration::from_secs(30)),
        })
    }
}

impl Engine {
    /// Execute a started run to its end and record the outcome.
    pub async fn execute(&self, started: Started) -> Result<RunOutcome> {
        if started.status != RunStatus::Running {
            return Ok(RunOutcome::without_output(
                started.run_id,
                started.status,
                None,
            ));
        }
        let Started {
            run_id,
            workflow: wf,
            client,
            inputs,
            req,
            began,
            announce_end,
            ..
        } = started;
        let (records, recording) = recorder(
            self.store.clone(),
            run_id.clone(),
            wf.id().to_owned(),
            Who {
                actor: req.actor.label.clone(),
                origin: req.origin,
                requested_for: req.requested_for.clone(),
            },
            self.observers.on_step.clone(),
        );
        let (progress, keeping) =
            progress_keeper(self.store.clone(), run_id.clone(), req.progress.clone());
        // Pages of a listing that is the output go to the store as they arrive.
        let sink = Arc::new(Sink::new(
            ChunkWriter::new(self.store.clone(), &run_id),
            req.tap.clone(),
        ));
        // This process's lease on the run, asked before every request the run sends.
        let fence: Option<Arc<dyn lumos_api::Fence>> = self
            .active
            .lease(&run_id)
            .map(|l| l as Arc<dyn lumos_api::Fence>);
        let client = match &fence {
            Some(f) => client.fenced(f.clone()),
            None => client,
        };
        // A gate before changes: hold at the first change, or go on from where an approved
        // run was held. A dry run sends no change, so it is not held.
        let gate_changes = !req.dry_run
            && wf
                .def
                .approval
                .as_ref()
                .is_some_and(|a| a.value.gate() == crate::approval::Gate::BeforeChanges);
        let resume: Option<Hold> = if gate_changes {
            self.store
                .run(&run_id)
                .await
                .ok()
                .flatten()
                .and_then(|r| r.resume)
                .and_then(|j| serde_json::from_value(j.0).ok())
        } else {
            None
        };
        let held_inputs = gate_changes.then(|| inputs.clone());
        // What the workflow changes, worked out only when a gate holds before the first.
        let hold_before_changes = if gate_changes {
            Some(Arc::new(self.changes_or_all(&wf).await))
        } else {
            None
        };
        let http = self.http_env(&wf).await;
        let subs = SubRunner {
            engine: self,
            actor: req.actor.clone(),
            connection: req.connection.clone(),
            requested_for: req.requested_for.clone(),
            cancel: req.cancel.clone(),
            parent: ParentRun {
                run_id: run_id.clone(),
                depth: req.parent.as_ref().map_or(0, |p| p.depth + 1),
            },
        };
        let executor = Executor {
            workflow: &wf,
            client: &client,
            templates: &self.templates,
            records,
            options: RunOptions {
                dry_run: req.dry_run,
                cancel: req.cancel.clone(),
                sink: Some(sink.clone()),
                progress: Some(progress),
                fuel: self.config.run_fuel,
                max_bytes: self.config.run_max_bytes,
                hold_before_changes,
                resume,
                fence,
            },
            subs: Some(&subs),
            http: http.as_ref(),
        };
        let run_info = serde_json::json!({
            "id": run_id,
            "requested_by": req.actor.label,
            "requested_for": req.requested_for,
            // The person it acts as: the one it is for, else the requester when a person.
            "person": req.requested_for.clone().or_else(|| req.actor.email()),
            "role": req.actor.role,
            "dry_run": req.dry_run,
            "started_at": started_at(),
        });
        let result = executor
            .run(
                inputs,
                run_info,
                req.event.clone().unwrap_or(serde_json::Value::Null),
            )
            .await;
        drop(executor);
        // Step records not written yet go with the run's end.
        let steps = recording.await.unwrap_or_default();
        let _ = keeping.await;
        let writer = match Arc::into_inner(sink) {
            Some(sink) => sink.into_writer().await,
            None => None,
        };
        if let Err(RunError::Held(hold)) = &result {
            if let Some(w) = writer {
                w.settle().await;
            }
            let _ = self.store.drop_output(&run_id).await;
            if let Err(e) = self.store.add_steps(&run_id, &steps).await {
                tracing::warn!(run = %run_id, error = %e, "could not record the steps of a held run");
            }
            return self
                .hold_before_changes(&run_id, &wf, held_inputs.unwrap_or_default(), hold)
                .await;
        }

        let (status, produced, kept, error) = match (result, writer) {
            (Ok(produced), Some(writer)) => {
                let columns = output::planned_columns(&wf);
                match output::keep(writer, &produced, columns, self.config.max_output_bytes).await {
                    Ok(kept) => (RunStatus::Completed, Some(produced), Some(kept), None),
                    Err(e) => (RunStatus::Failed, None, None, Some(e.to_string())),
                }
            }
            (Ok(_), None) => (
                RunStatus::Failed,
                None,
                None,
                Some("the run's output was lost before it could be stored".to_owned()),
            ),
            (Err(e), writer) => {
                // Let a chunk being stored land before the run's items are deleted below.
                if let Some(w) = writer {
                    w.settle().await;
                }
                match e {
                    RunError::Canceled => (
                        RunStatus::Canceled,
                        None,
                        None,
                        Some("canceled before it finished".to_owned()),
                    ),
                    e => (RunStatus::Failed, None, None, Some(e.to_string())),
                }
            }
        };
        if kept.is_none() {
            // A run that did not complete has no output to give: its items go.
            if let Err(e) = self.store.drop_output(&run_id).await {
                tracing::warn!(run = %run_id, error = %e, "could not delete the items of a run that did not complete");
            }
        }
        let recorded = self
            .record_outcome(
                &run_id,
                status,
                kept.as_ref(),
                error.as_deref(),
                Ended {
                    steps: &steps,
                    announce: announce_end,
                },
            )
            .await;
        self.active.remove(&run_id);
        if let Some(f) = &self.observers.on_run {
            f(wf.id(), recorded.status, began.elapsed().as_secs_f64());
        }
        let event = match recorded.status {
            RunStatus::Completed => Some("run.completed"),
            RunStatus::Failed => Some("run.failed"),
            _ => None,
        };
        if let Some(event) = event {
            self.notify_run(event, &run_id, wf.id(), serde_json::json!({}))
                .await;
        }
        // A run that was canceled or failed elsewhere has no output to give.
        let produced = produced.filter(|_| recorded.status == status);
        let info = kept.map(|k| k.info).filter(|_| recorded.status == status);
        let (output, items_apart) = match produced {
            Some(Produced::Value(v)) => (Some(v), false),
            Some(Produced::Streamed { envelope }) => (Some(envelope), true),
            None => (None, false),
        };
        Ok(RunOutcome {
            run_id,
            status: recorded.status,
            output,
            output_info: info,
            items_apart,
            error: recorded.error,
            stored: recorded.stored,
        })
    }

    /// A run stopped before its first change: it waits for approval with what it was about
    /// to send, and goes on from there once approved.
    async fn hold_before_changes(
        &self,
        run_id: &str,
        wf: &workflow_lang::workflow::Workflow,
        inputs: serde_json::Map<String, serde_json::Value>,
        hold: &Hold,
    ) -> Result<RunOutcome> {
        self.active.remove(run_id);
        let resume = serde_json::to_value(hold)
            .map_err(|e| crate::error::EngineError::Conflict(e.to_string()))?;
        // The policy first: nobody may see the run waiting without what it waits for.
        let expires = self.write_policy(run_id, wf, &inputs).await?;
        if !self
            .store
            .hold_running(run_id, self.owner.as_str(), &resume)
            .await?
        {
            // Canceled (or taken over) meanwhile: the record says what it is.
            let r = self.recorded(run_id, RunStatus::Canceled, None).await;
            return Ok(RunOutcome::without_output(
                run_id.to_owned(),
                r.status,
                r.error,
            ));
        }
        if let Some(expires) = expires {
            self.announce_policy(run_id, expires).await;
        }
        Ok(RunOutcome::without_output(
            run_id.to_owned(),
            RunStatus::PendingApproval,
            None,
        ))
    }

    /// Record how a run ended, with its step records not written yet. If the database
    /// refuses the full record (a full disk, an output too large), record the failure
    /// without the output instead, retrying for a while: a run must never stay `running`
    /// because its output could not be kept.
    async fn record_outcome(
        &self,
        run_id: &str,
        status: RunStatus,
        kept: Option<&Kept>,
        error: Option<&str>,
        ended: Ended<'_>,
    ) -> Recorded {
        let owner = self.owner.as_str();
        let first = self
            .store
            .finish_run(
                run_id,
                owner,
                status,
                kept.and_then(|k| k.output.as_ref()),
                kept.map(|k| &k.info),
                error,
                ended.steps,
                ended.announce,
            )
            .await;
        let cause = match first {
            // Our outcome is the record: nothing to read back. Someone waiting here is
            // handed the run as stored, with its steps if they all went with the end.
            Ok(Some(finished)) => {
                let stored = (!finished.steps_apart && self.active.awaited(run_id)).then(|| {
                    let mut steps = ended.steps.to_vec();
                    store::in_step_order(&mut steps);
                    Arc::new(StoredEnd {
                        run: finished.run,
                        steps,
                    })
                });
                return Recorded {
                    status,
                    error: error.map(str::to_owned),
                    stored,
                };
            }
            // Ended elsewhere first (a cancel, a failure): the record wins.
            Ok(None) => return self.recorded(run_id, status, error).await,
            Err(e) => e,
        };
        tracing::error!(run = run_id, error = %cause, "could not record the end of a run; recording the failure instead");
        let reason = match (status, error) {
            (RunStatus::Completed, _) => {
                format!("the run completed, but its output could not be stored: {cause}")
            }
            (_, Some(e)) => {
                format!("{e} (and the run's record could not be stored in full: {cause})")
            }
            _ => format!("the run's outcome could not be stored: {cause}"),
        };
        // Eight more tries over about half a minute: a database that comes back in that
        // time gets the failure recorded.
        let backoff = backon::ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(5))
            .with_max_times(8);
        let failed = (|| {
            self.store.finish_run(
                run_id,
                owner,
                RunStatus::Failed,
                None,
                None,
                Some(&reason),
                &[],
                ended.announce,
            )
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .notify(|e, _| {
            tracing::error!(run = run_id, error = %e, "still cannot record the end of a run")
        })
        .await;
        // The steps apart, so a record the database refused cannot keep the run open.
        if let Err(e) = self.store.add_steps(run_id, ended.steps).await {
            tracing::warn!(run = run_id, error = %e, "could not record the steps of a failed run");
        }
        if failed.is_err() {
            return Recorded {
                status: RunStatus::Failed,
                error: Some(reason),
                stored: None,
            };
        }
        if let Err(e) = self.store.drop_output(run_id).await {
            tracing::warn!(run = run_id, error = %e, "could not delete the items of a failed run");
        }
        self.recorded(run_id, RunStatus::Failed, Some(&reason))
            .await
    }

    /// What the record says now (a cancel recorded elsewhere wins over our outcome).
    async fn recorded(&self, run_id: &str, status: RunStatus, error: Option<&str>) -> Recorded {
        match self.store.run(run_id).await {
            Ok(Some(Run {
                status: now, error, ..
            })) => Recorded {
                status: now,
                error,
                stored: None,
            },
            _ => Recorded {
                status,
                error: error.map(str::to_owned),
                stored: None,
            },
        }
    }

    /// Claim queued run `run_id` and execute it here; `None` when it is not queued (any
    /// more: another process took it, or it was canceled).
    pub async fn execute_queued(&self, run_id: &str) -> Result<Option<RunOutcome>> {
        let lease = crate::active::chrono_lease(&self.config);
        let Some(claimed) = self
            .store
            .claim_run(run_id, self.owner.as_str(), lease)
            .await?
        else {
            return Ok(None);
        };
        let waiting = self.active.wait_for(run_id);
        self.execute_claimed(claimed).await;
        Ok(waiting.await.ok())
    }

    /// Execute a run claimed from the queue, and hand its outcome to anyone waiting here.
    pub(crate) async fn execute_claimed(&self, claimed: store::Claimed) {
        let cancel = tokio_util::sync::CancellationToken::new();
        self.hold(&claimed.run.id, cancel.clone());
        let run_id = claimed.run.id.clone();
        let outcome = match self.started_from(claimed, cancel).await {
            Ok(started) => self.execute(started).await,
            Err(reason) => {
                let r = self
                    .record_outcome(
                        &run_id,
                        RunStatus::Failed,
                        None,
                        Some(&reason),
                        Ended {
                            steps: &[],
                            announce: true,
                        },
                    )
                    .await;
                self.active.remove(&run_id);
                Ok(RunOutcome::without_output(
                    run_id.clone(),
                    r.status,
                    r.error,
                ))
            }
        };
        match outcome {
            Ok(o) => self.active.hand_over(o),
            Err(e) => {
                tracing::error!(run = %run_id, error = %e, "a queued run could not be recorded")
            }
        }
    }

    /// A queued run's workflow version, client and inputs, or why it cannot run.
    async fn started_from(
        &self,
        claimed: store::Claimed,
        cancel: tokio_util::sync::CancellationToken,
    ) -> std::result::Result<Started, String> {
        let store::Claimed {
            run,
            workflow_installed_at,
        } = claimed;
        let workflow = self
            .pinned_as_installed(&run, workflow_installed_at)
            .await?;
        let connection = run
            .connection
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let client = self
            .client(&connection)
            .await
            .map_err(|e| format!("connection '{connection}': {e}"))?;
        let inputs = run.inputs.0.as_object().cloned().unwrap_or_default();
        let req = Self::request_of(&run, crate::run_types::Attach { cancel });
        Ok(Started {
            run_id: run.id,
            status: RunStatus::Running,
            workflow,
            client,
            inputs,
            req,
            began: std::time::Instant::now(),
            announce_end: true,
        })
    }

    /// What `wf` changes; when that cannot be read (the database), every `workflow:` step
    /// is counted as a change, so a gate holds rather than lets one through.
    pub(crate) async fn changes_or_all(
        &self,
        wf: &workflow_lang::workflow::Workflow,
    ) -> workflow_lang::changes::Changes {
        match self.changes(wf).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot follow the workflow steps of {}; counting them as changes", wf.id());
                workflow_lang::changes::Changes::assumed(wf)
            }
        }
    }
}

/// What goes with a run's end: the step records it held, and whether other replicas are
/// told (see [`Started::announce_end`]).
struct Ended<'a> {
    steps: &'a [store::StepRow],
    announce: bool,
}

struct Recorded {
    status: RunStatus,
    error: Option<String>,
    stored: Option<Arc<StoredEnd>>,
}

/// When a run begins, as Lumos writes times (UTC, to the second): `verify:` checks look for
/// what was made since (`run.started_at`).
pub(crate) fn started_at() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}
