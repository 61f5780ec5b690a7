//! Work done by template filters, counted towards the run's budget. Evaluations run start
//! to end on one thread, so a thread-local counter read after each one is exact.

use std::cell::Cell;

thread_local! {
    static FILTER_WORK: Cell<u64> = const { Cell::new(0) };
}

/// Count `items` walked by a filter towards the run's work.
pub(crate) fn filter_work(items: usize) {
    FILTER_WORK.with(|w| w.set(w.get().saturating_add(items as u64)));
}

/// What filters walked since the last call (and start again from zero).
pub(crate) fn take_filter_work() -> u64 {
    FILTER_WORK.with(|w| w.replace(0))
}
