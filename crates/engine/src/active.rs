//! The runs this process executes, and the keeper that looks after them: it renews their
//! leases, and stops any that was canceled elsewhere (another replica's API, the CLI) as
//! soon as it hears of it — a PostgreSQL notification at once, or the next poll — and tells
//! whoever waits here for a run that ended on another replica.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use store::{Signal, Signals, Store};
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::EngineConfig;
use crate::outcome::RunOutcome;
use crate::owner::Owner;

/// This process's hold on one run it executes: until when its lease surely holds (renewed
/// by the keeper), and whether it was found taken away. Asked before every Lumos call the
/// run makes (a [`lumos_api::Fence`]): a process paused past its lease, or whose run was
/// failed or taken over elsewhere, sends nothing more for it.
pub(crate) struct RunLease {
    since: Instant,
    until: Mutex<Instant>,
    lost: AtomicBool,
}

impl RunLease {
    /// The time a lease surely holds from a renewal that began at `from`: a fifth short of
    /// the lease, for the database round trip and clocks that differ between replicas.
    fn sure_until(from: Instant, lease: Duration) -> Instant {
        from + lease - lease / 5
    }

    fn new(lease: Duration) -> RunLease {
        let now = Instant::now();
        RunLease {
            since: now,
            until: Mutex::new(Self::sure_until(now, lease)),
            lost: AtomicBool::new(false),
        }
    }

    fn extend(&self, from: Instant, lease: Duration) {
        if let Ok(mut u) = self.until.lock() {
            *u = (*u).max(Self::sure_until(from, lease));
        }
    }
}

impl lumos_api::Fence for RunLease {
    fn check(&self) -> Result<(), String> {
        if self.lost.load(Ordering::Acquire) {
            return Err(
                "this process no longer holds the run: it was failed or taken over elsewhere"
                    .into(),
            );
        }
        let until = self
            .until
            .lock()
            .map(|u| *u)
            .unwrap_or_else(|_| Instant::now());
        if Instant::now() >= until {
            return Err(
                "this process could not renew the run's lease in time, so another may take it over"
                    .into(),
            );
        }
        Ok(())
    }
}

#[derive(Default)]
pub(crate) struct Active {
    /// Each executing run's cancellation and lease.
    runs: Mutex<HashMap<String, (CancellationToken, Arc<RunLease>)>>,
    /// Callers waiting for a run to end, handed its outcome when it ends here.
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<RunOutcome>>>>,
    /// Runs queued by this process whose PostgreSQL notification has not come back: the
    /// workers were woken already, and a second wake would only make an empty claim.
    queued_here: Mutex<std::collections::HashSet<String>>,
    keeper: OnceLock<()>,
}

/// More than this many notifications not come back: the channel is down; start over.
const QUEUED_HERE_MAX: usize = 10_000;

impl Active {
    /// A run this process queued (and woke its workers for).
    pub(crate) fn queued_here(&self, id: &str) {
        if let Ok(mut s) = self.queued_here.lock() {
            if s.len() >= QUEUED_HERE_MAX {
                s.clear();
            }
            s.insert(id.to_owned());
        }
    }

    /// Whether a queue notification is for a run this process queued (then forgotten).
    pub(crate) fn was_queued_here(&self, id: &str) -> bool {
        self.queued_here.lock().is_ok_and(|mut s| s.remove(id))
    }

    /// Hold a run here: its cancellation, and a lease that starts now.
    pub(crate) fn insert(&self, id: &str, cancel: CancellationToken, lease: Duration) {
        if let Ok(mut m) = self.runs.lock() {
            m.insert(id.to_owned(), (cancel, Arc::new(RunLease::new(lease))));
        }
    }

    /// The lease of a run held here.
    pub(crate) fn lease(&self, id: &str) -> Option<Arc<RunLease>> {
        self.runs
            .lock()
            .ok()
            .and_then(|m| m.get(id).map(|(_, l)| l.clone()))
    }

    /// After a renewal that began at `from`: the runs it renewed hold longer; every other
    /// run held here since before it is no longer this process's, and stops.
    pub(crate) fn renewed(&self, from: Instant, lease: Duration, ids: &[String]) {
        let renewed: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let Ok(m) = self.runs.lock() else {
            return;
        };
        for (id, (cancel, l)) in m.iter() {
            if renewed.contains(id.as_str()) {
                l.extend(from, lease);
            } else if l.since < from {
                tracing::warn!(run = %id, "this process no longer holds the run; stopping it");
                l.lost.store(true, Ordering::Release);
                cancel.cancel();
            }
        }
    }

    pub(crate) fn remove(&self, id: &str) {
        if let Ok(mut m) = self.runs.lock() {
            m.remove(id);
        }
    }

    /// Stop a run executing here; false when it is not.
    pub(crate) fn cancel(&self, id: &str) -> bool {
        let token = self
            .runs
            .lock()
            .ok()
            .and_then(|m| m.get(id).map(|(t, _)| t.clone()));
        match token {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }

    /// Whether a run executes here now.
    pub(crate) fn holds(&self, id: &str) -> bool {
        self.runs.lock().is_ok_and(|m| m.contains_key(id))
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.runs
            .lock()
            .map_or_else(|_| Vec::new(), |m| m.keys().cloned().collect())
    }

    pub(crate) fn len(&self) -> usize {
        self.runs.lock().map_or(0, |m| m.len())
    }

    pub(crate) fn wait_for(&self, id: &str) -> oneshot::Receiver<RunOutcome> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut m) = self.waiters.lock() {
            m.entry(id.to_owned()).or_default().push(tx);
        }
        rx
    }

    /// Whether someone here waits for run `id`'s outcome.
    pub(crate) fn awaited(&self, id: &str) -> bool {
        self.waiters.lock().is_ok_and(|m| m.contains_key(id))
    }

    /// Hand the outcome to whoever waits for it here: the last waiter gets it moved, any
    /// others a copy.
    pub(crate) fn hand_over(&self, outcome: RunOutcome) {
        let mut waiting = self
            .waiters
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&outcome.run_id))
            .unwrap_or_default();
        let Some(last) = waiting.pop() else {
            return;
        };
        for tx in waiting {
            let _ = tx.send(outcome.clone());
        }
        let _ = last.send(outcome);
    }

    /// Whether anyone here waits for a run's end.
    pub(crate) fn is_waited_for(&self, id: &str) -> bool {
        self.waiters.lock().is_ok_and(|m| m.contains_key(id))
    }

    pub(crate) fn forget_waiter(&self, id: &str) {
        if let Ok(mut m) = self.waiters.lock()
            && let Some(list) = m.get_mut(id)
        {
            list.retain(|tx| !tx.is_closed());
            if list.is_empty() {
                m.remove(id);
            }
        }
    }
}

/// What the keeper needs, shared with the engine.
pub(crate) struct Keeper {
    pub store: Arc<Store>,
    pub owner: Owner,
    pub active: Arc<Active>,
    pub config: EngineConfig,
    pub stop: CancellationToken,
    pub wake_queue: Arc<Notify>,
}

impl Keeper {
    /// Start the keeper once per engine (the first time a run executes here).
    pub(crate) fn ensure(self) {
        let active = self.active.clone();
        if active.keeper.set(()).is_ok() {
            tokio::spawn(self.run());
        }
    }

    async fn run(self) {
        let mut signals = self.subscribe().await;
        let mut tick = tokio::time::interval(self.config.cancel_poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renewed = Instant::now();
        loop {
            tokio::select! {
                () = self.stop.cancelled() => break,
                _ = tick.tick() => {
                    if self.active.len() == 0 {
                        continue;
                    }
                    match self.store.runs_stopped_elsewhere(self.owner.as_str()).await {
                        Ok(ids) => {
                            for id in ids {
                                self.active.cancel(&id);
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot check for canceled runs"),
                    }
                    if renewed.elapsed() >= self.config.heartbeat() {
                        let from = Instant::now();
                        match self.store.renew_leases(self.owner.as_str(), chrono_lease(&self.config)).await {
                            Ok(ids) => {
                                self.active.renewed(from, self.config.lease, &ids);
                                renewed = from;
                            }
                            // Leases not renewed run out: their runs stop before their next call.
                            Err(e) => tracing::warn!(error = %e, "cannot renew run leases"),
                        }
                    }
                }
                signal = next_signal(&mut signals) => match signal {
                    Ok(Signal::Canceled(id)) => {
                        self.active.cancel(&id);
                    }
                    // Our own runs woke the workers when they were queued.
                    Ok(Signal::Queued(id)) => {
                        if !self.active.was_queued_here(&id) {
                            self.wake_queue.notify_one();
                        }
                    }
                    // Ended on another replica: whoever waits for it here hears at once.
                    Ok(Signal::Ended(id)) => {
                        if self.active.is_waited_for(&id) && !self.active.holds(&id) {
                            let (store, active) = (self.store.clone(), self.active.clone());
                            tokio::spawn(async move {
                                if let Ok(Some(run)) = store.run(&id).await
                                    && run.status.is_final()
                                {
                                    active.hand_over(RunOutcome::of_run(run));
                                }
                            });
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the notification channel; polling until it is back");
                        tokio::select! {
                            () = self.stop.cancelled() => break,
                            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                        }
                        signals = self.subscribe().await;
                    }
                },
            }
        }
    }

    async fn subscribe(&self) -> Option<Signals> {
        match self.store.signals().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for notifications; polling instead");
                None
            }
        }
    }
}

pub(crate) fn chrono_lease(config: &EngineConfig) -> chrono::Duration {
    chrono::Duration::from_std(config.lease).unwrap_or(chrono::Duration::seconds(30))
}

async fn next_signal(signals: &mut Option<Signals>) -> store::Result<Signal> {
    match signals {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
