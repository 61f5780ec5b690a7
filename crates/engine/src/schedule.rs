//! Scheduled runs: workflows with `schedule: {every | cron, inputs}` run on a timer while a
//! server runs. A compare-and-set on the last firing time makes exactly one replica fire
//! each time, however many share the database; a firing is skipped (and the skip recorded in
//! the audit trail) while the previous scheduled run of the same workflow has not ended, and a
//! firing that cannot start (a full queue) is recorded as missed.

use chrono::{DateTime, Utc};

use crate::engine::Engine;
use crate::error::Result;
use crate::run_types::{RunRequest, Submitted};
use workflow_lang::definition::Timing;

/// Who scheduled runs are recorded as started by.
pub const REQUESTED_BY: &str = "schedule";
/// The audit actions of a firing skipped (the previous run had not ended) and missed (the
/// run could not start).
const SKIP: &str = "schedule.skip";
const MISS: &str = "schedule.miss";

/// The last occurrence of a cron schedule at or before `now`, and the next one after it.
fn cron_around(
    cron: &croner::Cron,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let local = now.with_timezone(&tz);
    let last = cron
        .find_previous_occurrence(&local, true)
        .ok()
        .map(|t| t.with_timezone(&Utc));
    let next = cron
        .find_next_occurrence(&local, false)
        .ok()
        .map(|t| t.with_timezone(&Utc));
    (last, next)
}

/// When a schedule fires next, given when it last fired.
pub fn next_firing(
    timing: &Timing,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match timing {
        Timing::Every(every) => Some(match last {
            Some(t) => t + chrono::Duration::from_std(*every).unwrap_or(chrono::Duration::zero()),
            None => now,
        }),
        Timing::Cron(cron, tz) => cron_around(cron, *tz, now).1,
    }
}

/// What one look at the schedules did: runs queued (and the workflows they are of), and the
/// workflows whose firing was skipped (the previous run had not ended) or missed (the run
/// could not start).
#[derive(Debug, Default)]
pub struct Firings {
    pub submitted: Vec<Submitted>,
    pub fired: Vec<String>,
    pub skipped: Vec<String>,
    pub missed: Vec<String>,
}

/// Queue every scheduled run that is due at `now`.
pub async fn submit_due(engine: &Engine, now: DateTime<Utc>) -> Result<Firings> {
    let mut firings = Firings::default();
    // One query a second: each installed version is parsed once and kept.
    for row in engine.store.workflows().await? {
        let wf = match engine.load_version(&row.id, row.current_version).await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(workflow = %row.id, error = %e, "cannot load a scheduled workflow");
                continue;
            }
        };
        let timed = wf
            .def
            .schedule
            .as_ref()
            .and_then(|s| s.value.timing().ok().map(|t| (&s.value, t)));
        let Some((schedule, timing)) = timed else {
            continue;
        };
        let key = format!("schedule:{}", row.id);
        let last_raw = engine.store.meta_value(&key).await?;
        let last = last_raw
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        // What the firing records as its time: now for an interval; the occurrence itself
        // for cron (so two replicas agree on which occurrence they are firing).
        let fire_at = match &timing {
            Timing::Every(every) => {
                let due = last.is_none_or(|t| {
                    now.signed_duration_since(t)
                        .to_std()
                        .is_ok_and(|d| d >= *every)
                });
                due.then_some(now)
            }
            Timing::Cron(cron, tz) => {
                let (occurred, _) = cron_around(cron, *tz, now);
                match (last, occurred) {
                    // First seen: fire from the next occurrence on, not for the past.
                    (None, Some(o)) => {
                        let _ = engine
                            .store
                            .meta_compare_and_set(&key, None, &o.to_rfc3339())
                            .await;
                        None
                    }
                    (Some(l), Some(o)) if o > l => Some(o),
                    _ => None,
                }
            }
        };
        let Some(fire_at) = fire_at else {
            continue;
        };
        if !engine
            .store
            .meta_compare_and_set(&key, last_raw.as_deref(), &fire_at.to_rfc3339())
            .await?
        {
            continue;
        }
        if engine
            .store
            .has_unfinished_run(&row.id, REQUESTED_BY)
            .await?
        {
            tracing::info!(workflow = %row.id, "skipping a scheduled run: the previous one has not ended");
            engine
                .audit(
                    &crate::actor::Actor::system(REQUESTED_BY),
                    SKIP,
                    &row.id,
                    Some(serde_json::json!({"at": fire_at, "why": "the previous scheduled run has not ended"})),
                )
                .await;
            firings.skipped.push(row.id);
            continue;
        }
        let req = RunRequest {
            actor: crate::actor::Actor::system(REQUESTED_BY),
            origin: crate::run_types::Origin::Schedule,
            ..RunRequest::default()
        };
        match engine.submit(&row.id, &schedule.inputs, req).await {
            Ok(s) => {
                firings.submitted.push(s);
                firings.fired.push(row.id);
            }
            // The firing time is already taken, so this occurrence is not retried: say so
            // where an operator looks (the audit trail), not only in the log.
            Err(e) => {
                tracing::warn!(workflow = %row.id, error = %e, "scheduled run could not start");
                engine
                    .audit(
                        &crate::actor::Actor::system(REQUESTED_BY),
                        MISS,
                        &row.id,
                        Some(serde_json::json!({
                            "at": fire_at,
                            "why": e.to_string(),
                            "retried": false,
                        })),
                    )
                    .await;
                firings.missed.push(row.id);
            }
        }
    }
    Ok(firings)
}

/// A scheduled workflow and when it fires next.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScheduleView {
    pub workflow_id: String,
    /// `every 15m` or `cron 0 9 * * MON-FRI (Europe/Berlin)`.
    pub schedule: String,
    pub last_fired: Option<DateTime<Utc>>,
    pub next: Option<DateTime<Utc>>,
    /// Firings skipped because the previous scheduled run had not ended.
    pub skipped: i64,
    /// Firings that could not start (not retried), and when the last was.
    pub missed: i64,
    pub last_missed: Option<DateTime<Utc>>,
}

impl Engine {
    /// Every installed workflow with a schedule, and its next firing.
    pub async fn schedules(&self) -> Result<Vec<ScheduleView>> {
        let now = Utc::now();
        let tallies = self.store.audit_tally(&[SKIP, MISS]).await?;
        let mut out = Vec::new();
        for row in self.store.workflows().await? {
            let Ok(wf) = self.load_version(&row.id, row.current_version).await else {
                continue;
            };
            let Some(s) = wf.def.schedule.as_ref().map(|s| &s.value) else {
                continue;
            };
            let Ok(timing) = s.timing() else { continue };
            let last = self
                .store
                .meta_value(&format!("schedule:{}", row.id))
                .await?
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc));
            let schedule = match (&s.every, &s.cron) {
                (Some(e), _) => format!("every {e}"),
                (_, Some(c)) => format!("cron {c} ({})", s.timezone.as_deref().unwrap_or("UTC")),
                _ => String::new(),
            };
            let tally = |action: &str| {
                tallies
                    .iter()
                    .find(|t| t.action == action && t.target == row.id)
            };
            let skipped = tally(SKIP).map_or(0, |t| t.count);
            let (missed, last_missed) = tally(MISS).map_or((0, None), |t| (t.count, t.last));
            out.push(ScheduleView {
                workflow_id: row.id,
                schedule,
                last_fired: last,
                next: next_firing(&timing, last, now),
                skipped,
                missed,
                last_missed,
            });
        }
        Ok(out)
    }
}
