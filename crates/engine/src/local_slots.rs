//! Runs started here at once: a run submitted while nothing is queued and one of this
//! replica's slots (`slots`) is free is recorded as running by the statement that records
//! it and executed here, skipping the queue's round trip (a claim, a notification), never
//! past the replica's limit.

use std::sync::Arc;
use std::time::Instant;

use store::RunStatus;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::run_types::{RunRequest, Started};
use crate::runs::Prepared;

impl Engine {
    /// A free slot of this replica, if it runs workers and one is free now.
    pub(crate) fn free_slot(&self) -> Option<(Arc<Engine>, OwnedSemaphorePermit)> {
        let local = self.local_slots.get()?;
        if local.stop.is_cancelled() {
            return None;
        }
        let engine = local.engine.upgrade()?;
        let slot = local.slots.clone().try_acquire_owned().ok()?;
        Some((engine, slot))
    }

    /// Execute a run just recorded as running here, exactly as a worker that claimed it
    /// from the queue would: the request as recorded, its own cancellation.
    pub(crate) fn start_here(
        self: Arc<Self>,
        run_id: String,
        p: Prepared,
        req: RunRequest,
        slot: OwnedSemaphorePermit,
    ) {
        let cancel = CancellationToken::new();
        // Held before anyone can wait for it, so a waiter here is handed its end.
        self.hold(&run_id, cancel.clone());
        let started = Started {
            run_id,
            status: RunStatus::Running,
            workflow: p.workflow,
            client: p.client,
            inputs: p.inputs,
            req: RunRequest {
                connection: Some(p.connection),
                cancel,
                tap: None,
                progress: None,
                version: Some(p.version),
                parent: None,
                ..req
            },
            began: Instant::now(),
            announce_end: false,
        };
        let Some(tasks) = self.local_slots.get().map(|l| l.tasks.clone()) else {
            return;
        };
        tasks.spawn(async move {
            let run_id = started.run_id.clone();
            let outcome = self.execute(started).await;
            // Recorded: the slot is free before anyone waiting hears of the end.
            drop(slot);
            match outcome {
                Ok(outcome) => self.active.hand_over(outcome),
                Err(e) => tracing::error!(run = %run_id, error = %e, "a run started here could not be recorded"),
            }
        });
    }
}
