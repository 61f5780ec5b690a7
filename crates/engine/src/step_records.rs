//! What a run leaves behind while it runs: each step's record (and, for a change, its audit
//! event) kept off the executor's path, and its progress kept at most once a second.

use std::sync::Arc;
use std::time::Duration;

use store::{RunProgress, StepRow, Store};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::executor::{LoopSample, Progress, StepRecord};

/// Step records of reads wait at most this long to be written (the console shows a long
/// run's steps as they come); most runs end sooner and write theirs with their end.
const HELD_AT_MOST: Duration = Duration::from_secs(1);
/// Or this many of them.
const HELD_MOST: usize = 64;

/// Take each step record off the executor's path; of a loop's items only a sample (its
/// summary record has the counts). A record of a step that may have changed something is
/// written at once, with any held before it, so a crash never hides what a run changed;
/// records of reads are held and written together, at most a second later, or with the
/// run's end: what the handle gives back is what is still to be written. Every change a run
/// makes also goes to the audit trail, as the run's requester, sampled or not.
pub(crate) fn recorder(
    store: Arc<Store>,
    run_id: String,
    workflow_id: String,
    who: Who,
    on_step: Option<crate::engine::StepHook>,
) -> (mpsc::UnboundedSender<StepRecord>, JoinHandle<Vec<StepRow>>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<StepRecord>();
    let handle = tokio::spawn(async move {
        let mut sample = LoopSample::default();
        let mut held: Vec<StepRow> = Vec::new();
        let mut due = tokio::time::Instant::now();
        let write = async |held: &mut Vec<StepRow>| {
            if let Err(e) = store.add_steps(&run_id, held).await {
                tracing::warn!(run = %run_id, error = %e, "could not record {} step(s)", held.len());
            }
            held.clear();
        };
        loop {
            let r = tokio::select! {
                r = rx.recv() => match r {
                    Some(r) => r,
                    None => return held,
                },
                () = tokio::time::sleep_until(due), if !held.is_empty() => {
                    write(&mut held).await;
                    continue;
                }
            };
            if let Some(f) = &on_step {
                f(&workflow_id, &r);
            }
            audit_change(&store, &who, &run_id, &r).await;
            if !sample.keep(&r) {
                continue;
            }
            // What a crash must not hide: anything that may have changed something.
            let changed = r.changed
                || r.operation
                    .as_deref()
                    .is_some_and(crate::write_outcome::may_change);
            if held.is_empty() {
                due = tokio::time::Instant::now() + HELD_AT_MOST;
            }
            held.push(StepRow {
                step_id: r.step_id,
                iteration: r.iteration,
                status: r.status,
                operation: r.operation,
                params: r.params.map(store::Json),
                http_status: r.http_status.map(i32::from),
                duration_ms: Some(r.duration_ms as i64),
                error: r.error,
                output: r.output.map(store::Json),
                started_at: r.started_at,
                finished_at: Some(chrono::Utc::now()),
            });
            if changed || held.len() >= HELD_MOST {
                write(&mut held).await;
            }
        }
    });
    (tx, handle)
}

/// Who a run's changes are recorded as: its requester, the door, the person it is for.
#[derive(Clone)]
pub(crate) struct Who {
    pub actor: String,
    pub origin: crate::run_types::Origin,
    pub requested_for: Option<String>,
}

/// The audit event of a step that sent a change (a Lumos write, an http write); nothing
/// for any other step. One place for runs and tries alike.
pub(crate) async fn audit_change(store: &Store, who: &Who, run_id: &str, r: &StepRecord) {
    if !r.changed {
        return;
    }
    let action = match r.kind {
        crate::executor::StepKind::Lumos => "lumos.call",
        crate::executor::StepKind::Http => "http.call",
        _ => return,
    };
    let details = serde_json::json!({"run_id": run_id, "step": r.step_id, "iteration": r.iteration,
        "method": r.method, "path": r.path, "params": r.params, "body": r.sent,
        "status": r.http_status, "outcome": r.status,
        "origin": who.origin, "requested_for": who.requested_for});
    if let Err(e) = store
        .audit(&who.actor, action, r.operation.as_deref(), Some(&details))
        .await
    {
        tracing::warn!(run = %run_id, error = %e, "could not audit a change");
    }
}

/// Keep a run's progress in its record, at most once a second (replicas and the API read
/// it there), and pass each step to `also` (the CLI's progress bar).
pub(crate) fn progress_keeper(
    store: Arc<Store>,
    run_id: String,
    also: Option<Progress>,
) -> (Progress, JoinHandle<()>) {
    let (tx, mut rx) = watch::channel(RunProgress::default());
    let report: Progress = Arc::new(move |step: &str, p: &RunProgress| {
        if let Some(f) = &also {
            f(step, p);
        }
        tx.send_replace(*p);
    });
    let handle = tokio::spawn(async move {
        let mut last = RunProgress::default();
        let keep = async |last: &mut RunProgress, now: RunProgress| {
            if now != *last {
                if let Err(e) = store.set_progress(&run_id, &now).await {
                    tracing::warn!(run = %run_id, error = %e, "could not record a run's progress");
                }
                *last = now;
            }
        };
        while rx.changed().await.is_ok() {
            let now = *rx.borrow_and_update();
            keep(&mut last, now).await;
            // Rest a second before the next write, unless the run ends meanwhile.
            let rest = tokio::time::sleep(Duration::from_secs(1));
            tokio::pin!(rest);
            let open = loop {
                tokio::select! {
                    () = &mut rest => break true,
                    changed = rx.changed() => if changed.is_err() { break false },
                }
            };
            let now = *rx.borrow_and_update();
            keep(&mut last, now).await;
            if !open {
                return;
            }
        }
        let now = *rx.borrow();
        keep(&mut last, now).await;
    });
    (report, handle)
}
