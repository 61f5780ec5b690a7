//! Cron schedules on two replicas sharing one database: a 6-field pattern firing every 2 s
//! starts exactly one run per occurrence; a schedule whose run outlasts its interval skips
//! (and records the skip, in the audit trail and the metrics) instead of piling up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Timelike;
use lumos_sim::SimConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;
use server::Role::Admin;

use crate::Env;

const EVERY_TWO: &str = "id: every-two\nname: Every two seconds\nschedule: { cron: \"*/2 * * * * *\", timezone: Europe/Berlin }\nsteps:\n  - id: t\n    transform: \"{{ 1 }}\"\n";
const SLOW: &str = "id: slow-tick\nname: Slow tick\nschedule: { cron: \"* * * * * *\" }\nsteps:\n  - id: me\n    call: currentUser\n";

#[tokio::test]
async fn cron_fires_once_per_occurrence_across_replicas_and_skips_while_running() {
    let db = match testkit::postgres().await {
        Some(db) => db,
        None => testkit::sqlite(),
    };
    // Every Lumos call takes 2.5 s: the slow schedule's run outlasts its 1 s occurrences.
    let sim = SimConfig {
        latency: Duration::from_millis(2500),
        ..SimConfig::default()
    };
    let env = Env::with_sim(db, sim).await;
    env.connect().await;
    let second = server::Server::start(Arc::new(env._db.open().await), "127.0.0.1:0")
        .await
        .expect("second replica");
    for yaml in [EVERY_TWO, SLOW] {
        let (s, v) = env
            .call(
                Some(Admin),
                Method::POST,
                "/api/v1/workflows",
                Some(json!({"yaml": yaml})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // Bad schedules are refused with what is wrong.
    for (schedule, says) in [
        ("{ cron: \"61 * * * *\" }", "not a cron pattern"),
        (
            "{ cron: \"0 9 * * *\", timezone: Mars/Olympus }",
            "not a time zone",
        ),
        ("{ every: 1m, cron: \"0 9 * * *\" }", "not both"),
    ] {
        let yaml = format!(
            "id: bad-schedule\nname: Bad\nschedule: {schedule}\nsteps:\n  - id: t\n    transform: \"{{{{ 1 }}}}\"\n"
        );
        let (s, v) = env
            .call(
                Some(Admin),
                Method::POST,
                "/api/v1/workflows",
                Some(json!({"yaml": yaml})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{schedule}: {v}");
        assert!(v.to_string().contains(says), "{says}: {v}");
    }
    let engine = &env.server.engine;
    // Readiness polling: four occurrences of the 2 s pattern.
    let deadline = Instant::now() + Duration::from_secs(30);
    let runs = loop {
        let runs = engine
            .runs(&engine::RunFilter {
                workflow: Some("every-two"),
                limit: 100,
                ..Default::default()
            })
            .await
            .expect("runs");
        if runs.len() >= 4 {
            break runs;
        }
        assert!(
            Instant::now() < deadline,
            "too few scheduled runs: {}",
            runs.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // One run per occurrence: never two created within one 2-second slot.
    let mut slots: Vec<i64> = runs
        .iter()
        .map(|r| (r.created_at.timestamp() - i64::from(r.created_at.second() % 2)) / 2)
        .collect();
    let n = slots.len();
    slots.sort_unstable();
    slots.dedup();
    assert_eq!(slots.len(), n, "two replicas fired the same occurrence");
    assert!(
        runs.iter()
            .all(|r| r.requested_by.as_deref() == Some("schedule"))
    );

    // The slow schedule never has two runs going, and says when it skipped.
    let skipped = engine
        .audit_events(Some("schedule.skip"), 100)
        .await
        .expect("audit");
    assert!(
        skipped
            .iter()
            .any(|e| e.target.as_deref() == Some("slow-tick")),
        "skips recorded: {skipped:?}"
    );
    // Each replica counts the firings it made: between the two, the skips and the fired runs.
    let mut scraped = String::new();
    for base in [&env.server.base_url, &second.base_url] {
        scraped.push_str(&env.metrics_of(base).await);
    }
    for series in [
        "lumosflow_schedule_firings_total{workflow=\"slow-tick\",outcome=\"skipped\"}",
        "lumosflow_schedule_firings_total{workflow=\"every-two\",outcome=\"fired\"}",
    ] {
        assert!(scraped.contains(series), "{series} in {scraped}");
    }
    let slow = engine
        .runs(&engine::RunFilter {
            workflow: Some("slow-tick"),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("runs");
    let unfinished = slow.iter().filter(|r| !r.status.is_final()).count();
    assert!(unfinished <= 1, "{unfinished} slow runs at once");
    let views = engine.schedules().await.expect("schedules");
    let two = views
        .iter()
        .find(|v| v.workflow_id == "every-two")
        .expect("listed");
    assert!(
        two.schedule.contains("Europe/Berlin") && two.next.is_some(),
        "{two:?}"
    );
    second.stop().await;
    env.stop().await;
}
