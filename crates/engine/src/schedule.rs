//! Scheduled runs: workflows with `schedule: {every, inputs}` run on a timer while a server
//! runs. A compare-and-set on the last firing time makes exactly one replica fire each time,
//! however many share the database; a firing is skipped while the previous scheduled run of
//! the same workflow has not ended.

use chrono::{DateTime, Utc};

use crate::{Engine, Result, RunRequest, Submitted};

/// Who scheduled runs are recorded as started by.
pub const REQUESTED_BY: &str = "schedule";

/// Queue every scheduled run that is due at `now`.
pub async fn submit_due(engine: &Engine, now: DateTime<Utc>) -> Result<Vec<Submitted>> {
    let mut submitted = Vec::new();
    for row in engine.store.workflows().await? {
        let (wf, _) = match engine.load(&row.id, None).await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(workflow = %row.id, error = %e, "cannot load a scheduled workflow");
                continue;
            }
        };
        let Some(schedule) = wf.def.schedule.as_ref().map(|s| &s.value) else {
            continue;
        };
        let Some(every) = schedule.interval() else {
            continue;
        };
        let key = format!("schedule:{}", row.id);
        let last_raw = engine.store.meta_value(&key).await?;
        let last = last_raw
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let due = last.is_none_or(|t| {
            now.signed_duration_since(t)
                .to_std()
                .is_ok_and(|d| d >= every)
        });
        if !due
            || !engine
                .store
                .meta_compare_and_set(&key, last_raw.as_deref(), &now.to_rfc3339())
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
            continue;
        }
        let req = RunRequest {
            actor: crate::Actor::system(REQUESTED_BY),
            ..RunRequest::default()
        };
        match engine.submit(&row.id, &schedule.inputs, req).await {
            Ok(s) => submitted.push(s),
            Err(e) => {
                tracing::warn!(workflow = %row.id, error = %e, "scheduled run could not start")
            }
        }
    }
    Ok(submitted)
}
