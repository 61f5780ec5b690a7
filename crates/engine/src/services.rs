//! What `serve` runs in the background besides answering requests: workers that take runs
//! from the queue up to the replica's limit, a sweeper that fails the runs of processes that
//! stopped, and retention.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::Engine;
use crate::error::Result;
use crate::owner::{self, Owner};

/// Whether `holder`, a process on this host other than `mine`, has died.
fn gone(holder: &str, mine: &str) -> bool {
    holder != mine
        && owner::parse_holder(holder)
            .pid
            .is_some_and(|pid| !owner::pid_alive(pid))
}

impl Engine {
    /// Fail runs whose process is gone: at once those of a dead process on this host (a
    /// restart within the lease), and any whose lease ran out. Returns how many.
    pub async fn recover(&self) -> Result<u64> {
        let mut failed = 0;
        let mine = self.owner.as_str();
        for held in self
            .store
            .runs_held_with_prefix(&Owner::host_prefix())
            .await?
        {
            let Some(holder) = held.locked_by.as_deref() else {
                continue;
            };
            if gone(holder, mine)
                && self
                    .store
                    .fail_orphaned_run(
                        &held.id,
                        Some(holder),
                        &owner::orphan_reason(Some(holder)),
                        None,
                    )
                    .await?
            {
                tracing::warn!(run = %held.id, holder, "failed a run whose process on this host is gone");
                self.crash_failed(&held.id).await;
                failed += 1;
            }
        }
        // Deliveries a dead process here was sending are due again at once (with the same
        // delivery id: a receiver that got one already drops the repeat).
        for holder in self
            .store
            .delivery_holders_with_prefix(&Owner::host_prefix())
            .await?
        {
            if gone(&holder, mine) {
                let n = self.store.release_deliveries(&holder).await?;
                tracing::warn!(
                    holder,
                    deliveries = n,
                    "released the deliveries of a process on this host that is gone"
                );
            }
        }
        Ok(failed + self.sweep().await?)
    }

    /// A run failed because its process is gone is as loud as any failed run: its notice,
    /// its count in the metrics, and an audit event.
    async fn crash_failed(&self, run_id: &str) {
        let Ok(Some(run)) = self.store.run(run_id).await else {
            return;
        };
        if let Some(f) = &self.observers.on_run {
            let secs = match (run.started_at, run.finished_at) {
                (Some(a), Some(b)) => (b - a).num_milliseconds().max(0) as f64 / 1000.0,
                _ => 0.0,
            };
            f(&run.workflow_id, run.status, secs);
        }
        self.audit(
            &crate::actor::Actor::system("lumosflow"),
            "run.interrupted",
            run_id,
            Some(serde_json::json!({"workflow": run.workflow_id, "error": run.error})),
        )
        .await;
        self.notify("run.failed", &run, serde_json::json!({"interrupted": true}))
            .await;
    }

    /// Fail running runs whose lease ran out (their process stopped renewing it).
    pub async fn sweep(&self) -> Result<u64> {
        let now = chrono::Utc::now();
        let mut failed = 0;
        for held in self.store.expired_runs(now).await? {
            let holder = held.locked_by.as_deref();
            if self
                .store
                .fail_orphaned_run(&held.id, holder, &owner::orphan_reason(holder), Some(now))
                .await?
            {
                tracing::warn!(run = %held.id, holder, "failed a run whose lease ran out");
                self.crash_failed(&held.id).await;
                failed += 1;
            }
        }
        Ok(failed)
    }

    /// Start the queue workers, the sweeper and retention; they stop when `stop` is
    /// cancelled. Runs started by the workers are tracked by `tasks`, so shutdown can wait
    /// for them.
    pub fn start_services(self: &Arc<Self>, stop: CancellationToken, tasks: TaskTracker) {
        let local = crate::slots::Slots::new(
            self,
            self.config.max_concurrent_runs,
            tasks.clone(),
            stop.clone(),
        );
        let slots = local.slots.clone();
        if self.local_slots.set(local).is_err() {
            tracing::warn!("the services of this engine were started twice");
            return;
        }
        tokio::spawn(self.clone().take_from_queue(slots, stop.clone(), tasks));
        tokio::spawn(self.clone().sweep_forever(stop.clone()));
        tokio::spawn(self.clone().send_notices_forever(stop.clone()));
        tokio::spawn(self.clone().send_replies_forever(stop.clone()));
        tokio::spawn(self.clone().follow_events_forever(stop.clone()));
        if let Some(age) = self.config.retention {
            tokio::spawn(self.clone().prune_forever(age, stop));
        }
        // The keeper also carries PostgreSQL's queue notifications to the workers.
        self.keeper().ensure();
    }

    /// Claim queued runs while this replica has free slots (shared with runs started here
    /// at once).
    async fn take_from_queue(
        self: Arc<Self>,
        slots: Arc<Semaphore>,
        stop: CancellationToken,
        tasks: TaskTracker,
    ) {
        let lease = crate::active::chrono_lease(&self.config);
        loop {
            // One free slot at least, then as many runs as there are free slots, claimed
            // together. Only the first slot is held while asking: a run submitted meanwhile
            // may start here at once with another.
            let first = tokio::select! {
                () = stop.cancelled() => return,
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let wanted = 1 + slots.available_permits();
            match self
                .store
                .claim_next_runs(self.owner.as_str(), lease, wanted as u32)
                .await
            {
                Ok(runs) => {
                    let emptied = runs.len() < wanted;
                    let mut first = Some(first);
                    for claimed in runs {
                        let slot = first
                            .take()
                            .or_else(|| slots.clone().try_acquire_owned().ok());
                        let Some(slot) = slot else {
                            // Its slot went to a run started here meanwhile: back in line.
                            if let Err(e) = self
                                .store
                                .unclaim_run(&claimed.run.id, self.owner.as_str())
                                .await
                            {
                                tracing::warn!(run = %claimed.run.id, error = %e, "cannot put a claimed run back in the queue; the sweep will");
                            }
                            continue;
                        };
                        let engine = self.clone();
                        tasks.spawn(async move {
                            engine.execute_claimed(claimed).await;
                            drop(slot);
                        });
                    }
                    if emptied {
                        // The queue is empty: a local submit or a notification wakes us
                        // at once; the poll covers other SQLite processes and lost
                        // notifications.
                        tokio::select! {
                            () = stop.cancelled() => return,
                            () = self.wake_queue.notified() => {}
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take a run from the queue");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    async fn sweep_forever(self: Arc<Self>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.config.sweep_every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.sweep().await {
                tracing::warn!(error = %e, "sweep for abandoned runs failed");
            }
            // Held runs nobody decided on in time end as expired.
            if let Err(e) = self.expire_approvals().await {
                tracing::warn!(error = %e, "expiring held runs failed");
            }
        }
    }

    async fn prune_forever(self: Arc<Self>, age: Duration, stop: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            match self.prune(age).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "deleted runs past the retention period"),
                Err(e) => tracing::warn!(error = %e, "retention failed"),
            }
        }
    }
}
