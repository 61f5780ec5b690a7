//! Scheduled runs: workflows with `schedule: {every, inputs}` run on a timer while a server
//! runs. A compare-and-set on the last firing time makes exactly one replica fire each time,
//! however many share the database.

use chrono::{DateTime, Utc};

use crate::service::{Engine, Result, RunRequest, Started};

/// Start every scheduled run that is due at `now`; the caller executes them.
pub async fn start_due(engine: &Engine, now: DateTime<Utc>) -> Result<Vec<Started>> {
    let mut started = Vec::new();
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
        let req = RunRequest {
            started_by: Some("schedule".into()),
            ..RunRequest::default()
        };
        match engine.start(&row.id, &schedule.inputs, req).await {
            Ok(s) => started.push(s),
            Err(e) => {
                tracing::warn!(workflow = %row.id, error = %e, "scheduled run could not start")
            }
        }
    }
    Ok(started)
}
