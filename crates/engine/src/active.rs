//! The runs this process executes, and the keeper that looks after them: it renews their
//! leases, and stops any that was canceled elsewhere (another replica's API, the CLI) as
//! soon as it hears of it — a PostgreSQL notification at once, or the next poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use store::{Signal, Signals, Store};
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::EngineConfig;
use crate::owner::Owner;
use crate::run_types::RunOutcome;

#[derive(Default)]
pub(crate) struct Active {
    /// Each executing run's cancellation.
    runs: Mutex<HashMap<String, CancellationToken>>,
    /// Callers waiting for a run to end, handed its outcome when it ends here.
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<RunOutcome>>>>,
    keeper: OnceLock<()>,
}

impl Active {
    pub(crate) fn insert(&self, id: &str, cancel: CancellationToken) {
        if let Ok(mut m) = self.runs.lock() {
            m.insert(id.to_owned(), cancel);
        }
    }

    pub(crate) fn remove(&self, id: &str) {
        if let Ok(mut m) = self.runs.lock() {
            m.remove(id);
        }
    }

    /// Stop a run executing here; false when it is not.
    pub(crate) fn cancel(&self, id: &str) -> bool {
        let token = self.runs.lock().ok().and_then(|m| m.get(id).cloned());
        match token {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
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
                        match self.store.renew_leases(self.owner.as_str(), chrono_lease(&self.config)).await {
                            Ok(_) => renewed = Instant::now(),
                            Err(e) => tracing::warn!(error = %e, "cannot renew run leases"),
                        }
                    }
                }
                signal = next_signal(&mut signals) => match signal {
                    Ok(Signal::Canceled(id)) => {
                        self.active.cancel(&id);
                    }
                    Ok(Signal::Queued(_)) => self.wake_queue.notify_one(),
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
