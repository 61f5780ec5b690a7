//! This replica's run slots (`serve`), shared by its queue workers and by runs started at
//! once where they are submitted (see `local_slots`). Generic over the engine it points
//! back to, so the engine can hold it without this file knowing the engine.

use std::sync::{Arc, Weak};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) struct Slots<E> {
    /// One permit per run this replica may execute at once.
    pub(crate) slots: Arc<Semaphore>,
    /// Shutdown waits for the runs started here, like those its workers claimed.
    pub(crate) tasks: TaskTracker,
    /// Once stopping, nothing more starts here: it is queued for another replica.
    pub(crate) stop: CancellationToken,
    pub(crate) engine: Weak<E>,
}

impl<E> Slots<E> {
    pub(crate) fn new(
        engine: &Arc<E>,
        runs: usize,
        tasks: TaskTracker,
        stop: CancellationToken,
    ) -> Self {
        Slots {
            slots: Arc::new(Semaphore::new(runs)),
            tasks,
            stop,
            engine: Arc::downgrade(engine),
        }
    }
}
