//! Runs that can be trusted: a loop stops at its first failure, a run ends recorded even
//! when the database refuses its output, bad input never reaches Lumos, old runs go.

use std::time::Duration;

use engine::{RunRequest, RunStatus};
use lumos_sim::SimConfig;
use serde_json::json;
use testkit::{Db, FaultProxy, both};

use crate::{obj, setup_with};

/// Five access requests, one after another; the third names an app that does not exist.
const LOOP: &str = r#"
id: request-five
name: Request five
inputs:
  app_id: { type: text, required: true }
  fail_fast: { type: boolean, default: true }
steps:
  - id: apps
    transform: "{{ [inputs.app_id, inputs.app_id, 'no-such-app', inputs.app_id, inputs.app_id] }}"
  - id: request
    for_each: "{{ steps.apps.output }}"
    concurrency: 1
    call: createAccessRequest
    body: { app_id: "{{ item }}", business_justification: "loop" }
output: "{{ steps.request.output | length }}"
"#;

async fn a_loop_stops_at_its_first_failure(db: Db) {
    let s = setup_with(db, SimConfig::default()).await;
    s.engine
        .create(LOOP, &engine::Actor::operator())
        .await
        .expect("create");
    let no_fail_fast = LOOP
        .replace("id: request-five", "id: request-five-all")
        .replace(
            "    concurrency: 1\n",
            "    concurrency: 1\n    fail_fast: false\n",
        );
    s.engine
        .create(&no_fail_fast, &engine::Actor::operator())
        .await
        .expect("create");
    let app = s.store_app().await;
    let before = s.access_requests().await;
    let out = s
        .engine
        .run(
            "request-five",
            &obj(json!({"app_id": app})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let error = out.error.unwrap_or_default();
    assert!(
        error.starts_with("step 'request': item 2 (\"no-such-app\"): "),
        "{error}"
    );
    assert_eq!(
        s.access_requests().await,
        before + 2,
        "nothing more is sent after the failure"
    );
    let steps = s
        .engine
        .run_detail(&out.run_id)
        .await
        .expect("detail")
        .steps;
    let request: Vec<_> = steps.iter().filter(|st| st.step_id == "request").collect();
    assert_eq!(request.iter().filter(|st| st.iteration >= 0).count(), 3);
    // The loop's summary says what happened to all five.
    let summary = request
        .iter()
        .find(|st| st.iteration == engine::executor::LOOP_SUMMARY)
        .and_then(|st| st.output.as_ref())
        .map(|o| o.0["loop"].clone());
    assert_eq!(
        summary,
        Some(json!({"items": 5, "skipped": 0, "completed": 2, "failed": 1, "not_run": 2}))
    );

    let out = s
        .engine
        .run(
            "request-five-all",
            &obj(json!({"app_id": app})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let error = out.error.unwrap_or_default();
    assert!(
        error.starts_with("step 'request': 1 of 5 items failed: item 2 (\"no-such-app\"): "),
        "{error}"
    );
    assert_eq!(
        s.access_requests().await,
        before + 6,
        "every item was tried"
    );
    s.sim.stop().await;
}
both!(
    a_loop_stops_at_its_first_failure,
    a_loop_stops_at_its_first_failure
);

/// Make the database refuse to store any run output, as a full disk would.
async fn refuse_outputs(db: &Db) {
    if db.is_sqlite() {
        db.exec(
            "CREATE TRIGGER full_disk BEFORE UPDATE OF output ON runs WHEN NEW.output IS NOT NULL \
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .await;
    } else {
        db.exec(
            "CREATE FUNCTION full_disk() RETURNS trigger AS $$ BEGIN \
             IF NEW.output IS NOT NULL THEN RAISE EXCEPTION 'could not extend file: No space left on device'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER full_disk BEFORE UPDATE ON runs FOR EACH ROW EXECUTE FUNCTION full_disk();",
        )
        .await;
    }
}

async fn a_run_whose_output_cannot_be_stored_still_ends(db: Db) {
    let s = setup_with(db, SimConfig::default()).await;
    refuse_outputs(&s._db).await;
    let out = s
        .engine
        .run(
            "list-lumos-users",
            &obj(json!({"size": 2})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let run = s.engine.run_detail(&out.run_id).await.expect("detail").run;
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.finished_at.is_some());
    let error = run.error.unwrap_or_default();
    assert!(
        error
            .starts_with("the run completed, but its output could not be stored: database error: ")
            && (error.contains("disk is full") || error.contains("No space left")),
        "{error}"
    );
    assert_eq!(
        s.engine.active_runs(),
        0,
        "the run is not left held by this process"
    );
    s.sim.stop().await;
}
both!(
    a_run_whose_output_cannot_be_stored_still_ends,
    a_run_whose_output_cannot_be_stored_still_ends
);

async fn bad_input_never_reaches_lumos(db: Db) {
    let s = setup_with(db, SimConfig::default()).await;
    let proxy = FaultProxy::start(&s.sim.base_url).await;
    engine::connections::connect(
        &s.store,
        "proxied",
        &proxy.base_url,
        lumos_sim::DEFAULT_TOKEN,
    )
    .await
    .expect("connect");
    let sent = proxy.requests();
    let req = || RunRequest {
        connection: Some("proxied".into()),
        ..RunRequest::default()
    };
    // A NUL character: refused before anything is recorded (PostgreSQL cannot store it).
    let e = s
        .engine
        .run(
            "list-lumos-users",
            &obj(json!({"search": "a\u{0}b"})),
            req(),
        )
        .await
        .expect_err("nul");
    assert_eq!(
        e.to_string(),
        "invalid inputs: input 'search' contains a NUL character"
    );
    // An oversized input: a clear error on the step, not a network failure retried.
    let out = s
        .engine
        .run(
            "list-lumos-users",
            &obj(json!({"search": "x".repeat(10_000)})),
            req(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let error = out.error.unwrap_or_default();
    assert!(
        error.contains("would be") && error.contains("bytes; the limit is 8192"),
        "{error}"
    );
    assert!(!error.contains("attempts"), "not retried: {error}");
    // A path parameter made of dots would address another resource.
    let out = s
        .engine
        .run("get-lumos-app", &obj(json!({"app_id": ".."})), req())
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    assert!(out.error.unwrap_or_default().contains("only of dots"));
    assert_eq!(proxy.requests(), sent, "nothing was sent to Lumos");
    s.sim.stop().await;
}
both!(bad_input_never_reaches_lumos, bad_input_never_reaches_lumos);

async fn old_runs_are_pruned_with_their_steps(db: Db) {
    let s = setup_with(db, SimConfig::default()).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let out = s
            .engine
            .run(
                "list-lumos-groups",
                &obj(json!({"size": 1})),
                RunRequest::default(),
            )
            .await
            .expect("run");
        ids.push(out.run_id);
    }
    // A run that has not ended is never pruned.
    let queued = s
        .engine
        .submit("list-lumos-groups", &obj(json!({})), RunRequest::default())
        .await
        .expect("submit");
    assert_eq!(
        s.engine
            .prune(Duration::from_secs(3600))
            .await
            .expect("prune"),
        0
    );
    assert_eq!(s.engine.prune(Duration::ZERO).await.expect("prune"), 3);
    for id in &ids {
        assert!(matches!(
            s.engine.run_detail(id).await,
            Err(engine::EngineError::RunNotFound(_))
        ));
        assert!(s.store.run_steps(id).await.expect("steps").is_empty());
    }
    assert_eq!(
        s.engine
            .run_detail(&queued.run_id)
            .await
            .expect("kept")
            .run
            .status,
        RunStatus::Queued
    );
    s.sim.stop().await;
}
both!(
    old_runs_are_pruned_with_their_steps,
    old_runs_are_pruned_with_their_steps
);

const HEAVY: &str = r#"
id: heavy
name: Heavy
steps:
  - id: spin
    for_each: "{{ range(40) | list }}"
    concurrency: 1
    transform: "{{ range(20000) | map('string') | join(',') | length }}"
output: "{{ steps.spin.output | length }}"
"#;

const HUGE: &str = r#"
id: huge
name: Huge
steps:
  - id: blow
    for_each: "{{ range(12) | list }}"
    concurrency: 1
    transform: "{{ 'x' * 1000000 }}"
output: "{{ steps.blow.output | length }}"
"#;

/// Few instructions, much work: a filter walking two lists of 1,000.
const WALKED: &str = r#"
id: walked
name: Walked
steps:
  - id: pairs
    transform: "{{ range(1000) | list | zip(range(1000) | list) | length }}"
"#;

/// A listing of every user: each item fetched is work.
const FETCHED: &str = r#"
id: fetched
name: Fetched
steps:
  - id: users
    call: listUsers
    params: { size: 100 }
    paginate: true
output: "{{ steps.users.output.total }}"
"#;

async fn a_run_has_a_budget(db: Db) {
    let s = setup_with(db, SimConfig::default()).await;
    let tight = engine::Engine::with_config(
        s.store.clone(),
        engine::EngineConfig {
            run_fuel: 1_000_000,
            run_max_bytes: 4 << 20,
            ..engine::EngineConfig::default()
        },
    );
    for yaml in [HEAVY, HUGE] {
        tight
            .create(yaml, &engine::Actor::operator())
            .await
            .expect("create");
    }
    let out = tight
        .run("heavy", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let error = out.error.unwrap_or_default();
    assert!(
        error.contains("the run used up its work budget") && error.contains("LUMOSFLOW_RUN_FUEL"),
        "{error}"
    );
    let out = tight
        .run("huge", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let error = out.error.unwrap_or_default();
    assert!(
        error.starts_with("step 'blow': item ")
            && error.contains("holds more than 4 MiB of step outputs"),
        "{error}"
    );
    // Work is what filters walk and what listings fetch, not only template instructions.
    let tiny = engine::Engine::with_config(
        s.store.clone(),
        engine::EngineConfig {
            run_fuel: 300,
            ..engine::EngineConfig::default()
        },
    );
    for yaml in [WALKED, FETCHED] {
        tiny.create(yaml, &engine::Actor::operator())
            .await
            .expect("create");
    }
    for (id, step) in [("walked", "pairs"), ("fetched", "users")] {
        let out = tiny
            .run(id, &obj(json!({})), RunRequest::default())
            .await
            .expect("run");
        let error = out.error.unwrap_or_default();
        assert!(
            out.status == RunStatus::Failed
                && error.starts_with(&format!("step '{step}': "))
                && error.contains("used up its work budget"),
            "{id}: {:?} {error}",
            out.status
        );
    }
    // The default budget lets them all through.
    for (id, want) in [("heavy", 40), ("huge", 12), ("walked", 1000)] {
        let out = s
            .engine
            .run(id, &obj(json!({})), RunRequest::default())
            .await
            .expect("run");
        assert_eq!(
            (out.status, out.output),
            (RunStatus::Completed, Some(json!(want))),
            "{id}"
        );
    }
    s.sim.stop().await;
}
both!(a_run_has_a_budget, a_run_has_a_budget);
