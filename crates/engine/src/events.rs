//! Lumos events as triggers: workflows with `on: {lumos_event: {source, where, inputs}}` get
//! one run per new event of the source for which `where` holds, with the event as `event`
//! in templates. `serve` follows each source from where it last stopped (kept in the
//! database, so a restart resumes there), and a compare-and-set on that position makes one
//! replica start the runs for each batch of events: none is missed or run twice.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::Result;
use crate::run_types::RunRequest;
use workflow_lang::definition::{EventSource, LumosEvent};

/// Who event-started runs are recorded as requested by.
pub const REQUESTED_BY: &str = "lumos-event";

/// Where a workflow's follow of its source stands: events up to `since` are handled, and
/// of those at exactly `since`, the ones in `seen`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Position {
    since: String,
    seen: BTreeSet<String>,
}

/// An event's time (Lumos writes naive UTC, which sorts as text) and identity.
fn time_and_id(source: EventSource, e: &Value) -> Option<(String, String)> {
    let (t, id) = match source {
        EventSource::IdentityEvents => (&e["detected_time"], &e["id"]),
        EventSource::ActivityLogs => (&e["event_began_at"], &e["event_hash"]),
    };
    Some((t.as_str()?.to_owned(), id.as_str()?.to_owned()))
}

fn lumos_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

impl Engine {
    /// Follow every event source some workflow listens to, until `stop`.
    pub(crate) async fn follow_events_forever(self: Arc<Self>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.config.event_poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.follow_events().await {
                tracing::warn!(error = %e, "following Lumos events failed");
            }
        }
    }

    /// One look at every followed source; how many runs were started.
    pub async fn follow_events(&self) -> Result<usize> {
        let mut started = 0;
        for row in self.store.workflows().await? {
            let Ok((wf, _)) = self.load(&row.id, None).await else {
                continue;
            };
            let Some(on) = wf.def.on.as_ref().map(|o| o.value.lumos_event.clone()) else {
                continue;
            };
            match self.follow(&row.id, &on).await {
                Ok(n) => started += n,
                Err(e) => {
                    tracing::warn!(workflow = %row.id, error = %e, "cannot follow Lumos events")
                }
            }
        }
        Ok(started)
    }

    async fn follow(&self, workflow: &str, on: &LumosEvent) -> Result<usize> {
        let key = format!("events:{workflow}");
        let raw = self.store.meta_value(&key).await?;
        let Some(pos) = raw
            .as_deref()
            .and_then(|r| serde_json::from_str::<Position>(r).ok())
        else {
            // First seen: follow from now on, not the history.
            let start = Position {
                since: lumos_now(),
                seen: BTreeSet::new(),
            };
            let text = serde_json::to_string(&start).unwrap_or_default();
            self.store
                .meta_compare_and_set(&key, raw.as_deref(), &text)
                .await?;
            return Ok(0);
        };
        let client = self.client("default").await?;
        let mut params = Map::new();
        let op = match on.source {
            EventSource::IdentityEvents => {
                params.insert("start_time".into(), json!(pos.since));
                "getIdentityEvents"
            }
            EventSource::ActivityLogs => {
                params.insert("since".into(), json!(pos.since));
                "getActivityLogs"
            }
        };
        let events: Vec<Value> = client
            .paginate(op, &params)
            .try_collect()
            .await
            .map_err(|e| crate::error::EngineError::Conflict(format!("{op}: {e}")))?;
        let mut fresh: Vec<(String, String, Value)> = events
            .into_iter()
            .filter_map(|e| {
                let (t, id) = time_and_id(on.source, &e)?;
                let new = t > pos.since || (t == pos.since && !pos.seen.contains(&id));
                new.then_some((t, id, e))
            })
            .collect();
        if fresh.is_empty() {
            return Ok(0);
        }
        fresh.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let latest = fresh.last().map(|f| f.0.clone()).unwrap_or_default();
        let mut seen: BTreeSet<String> = if latest == pos.since {
            pos.seen.clone()
        } else {
            BTreeSet::new()
        };
        seen.extend(fresh.iter().filter(|f| f.0 == latest).map(|f| f.1.clone()));
        let next = serde_json::to_string(&Position {
            since: latest,
            seen,
        })
        .unwrap_or_default();
        // The replica that moves the position on starts the runs for these events.
        if !self
            .store
            .meta_compare_and_set(&key, raw.as_deref(), &next)
            .await?
        {
            return Ok(0);
        }
        let mut started = 0;
        for (_, id, event) in fresh {
            let scope = json!({"event": event});
            let cache = std::sync::OnceLock::new();
            let ctx = workflow_lang::template::EvalCtx::new(&scope, &cache);
            let wanted = match &on.condition {
                Some(w) => self.templates.truthy(w, &ctx),
                None => Ok(true),
            };
            match wanted {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => {
                    tracing::warn!(workflow, event = %id, error = %e, "the event condition failed");
                    continue;
                }
            }
            let mut inputs = Map::new();
            let mut bad = None;
            for (k, v) in &on.inputs {
                match self.templates.eval(v, &ctx) {
                    Ok(v) => {
                        inputs.insert(k.clone(), v);
                    }
                    Err(e) => bad = Some(format!("input '{k}': {e}")),
                }
            }
            if let Some(e) = bad {
                tracing::warn!(workflow, event = %id, error = %e, "cannot map an event to inputs");
                continue;
            }
            let req = RunRequest {
                actor: Actor::system(REQUESTED_BY),
                origin: crate::run_types::Origin::LumosEvent,
                event: Some(event),
                ..RunRequest::default()
            };
            match self.submit(workflow, &inputs, req).await {
                Ok(_) => started += 1,
                Err(e) => {
                    tracing::warn!(workflow, event = %id, error = %e, "an event run could not start")
                }
            }
        }
        Ok(started)
    }
}
