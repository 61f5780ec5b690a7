//! Custom workflows: chaining operations, acting with dry-run, cancellation, crashes, versions.

use engine::{ApproveThen, RunStatus};

use std::time::Duration;

use engine::RunRequest;
use lumos_sim::SimConfig;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::{obj, setup, setup_with};

/// The example of docs/workflows.md, run for real.
fn active_apps() -> String {
    crate::docs::doc_workflows()
        .into_iter()
        .find(|y| y.starts_with("id: active-apps-of-user"))
        .expect("documented example")
}

#[tokio::test]
async fn chained_custom_workflow_matches_direct_calls() {
    let s = setup().await;
    let (id, v) = s
        .engine
        .create(&active_apps(), &engine::Actor::operator())
        .await
        .expect("create");
    assert_eq!((id.as_str(), v), ("active-apps-of-user", 1));
    let user = s
        .api
        .call("listUsers", &obj(json!({"size": 1, "page": 4})), None)
        .await
        .expect("user")["items"][0]
        .clone();
    let out = s
        .engine
        .run(
            "active-apps-of-user",
            &obj(json!({"email": user["email"]})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    let accounts = s
        .api
        .call(
            "getUserAccounts",
            &obj(json!({"user_id": user["id"], "expand": ["app"], "size": 100})),
            None,
        )
        .await
        .expect("accounts");
    let want: Vec<Value> = accounts["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| a["status"] == "ACTIVE")
        .map(|a| a["app"]["user_friendly_label"].clone())
        .collect();
    assert_eq!(
        out.output.expect("output")["active_apps"],
        Value::Array(want)
    );

    let miss = s
        .engine
        .run(
            "active-apps-of-user",
            &obj(json!({"email": "nobody@example.com"})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(miss.status, RunStatus::Failed);
    assert_eq!(
        miss.error.as_deref(),
        Some("No Lumos user has the email nobody@example.com")
    );
    s.sim.stop().await;
}

const REQUEST_ACCESS: &str = r#"
id: request-app-access
name: Request app access
inputs:
  app_id: { type: text, required: true }
  reason: { type: textarea, default: "Needed for work" }
steps:
  - id: request
    call: createAccessRequest
    body: { app_id: "{{ inputs.app_id }}", business_justification: "{{ inputs.reason }}" }
  - id: created
    transform: "{{ steps.request.output }}"
output: "{{ steps.created.output }}"
"#;

#[tokio::test]
async fn access_request_in_dry_run_sends_no_post_then_for_real() {
    let s = setup().await;
    s.engine
        .create(REQUEST_ACCESS, &engine::Actor::operator())
        .await
        .expect("create");
    let app = s.store_app().await;
    let count = || s.access_requests();
    let before = count().await;
    let dry = s
        .engine
        .run(
            "request-app-access",
            &obj(json!({"app_id": app})),
            RunRequest {
                dry_run: true,
                ..RunRequest::default()
            },
        )
        .await
        .expect("dry run");
    assert_eq!(dry.status, RunStatus::Completed);
    // The same shape as for real (Lumos answers with a list of requests), saying what
    // would have been sent.
    let out = dry.output.expect("output");
    assert_eq!(out[0]["app_id"], app, "{out}");
    assert_eq!(out[0]["id"], Value::Null, "nothing made up");
    assert_eq!(out[0]["dry_run"], true);
    assert_eq!(out[0]["method"], "POST");
    assert_eq!(out[0]["path"], "/appstore/access_request");
    assert_eq!(out[0]["body"]["app_id"], app);
    assert_eq!(count().await, before, "a dry run must not create anything");
    let detail = s.engine.run_detail(&dry.run_id).await.expect("detail");
    assert!(detail.run.dry_run);
    assert_eq!(
        detail
            .steps
            .iter()
            .find(|st| st.step_id == "request")
            .map(|st| st.status.as_str()),
        Some("dry_run")
    );

    let real = s
        .engine
        .run(
            "request-app-access",
            &obj(json!({"app_id": app})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(real.status, RunStatus::Completed, "{:?}", real.error);
    assert_eq!(real.output.expect("output")[0]["app_id"], app);
    assert_eq!(count().await, before + 1);
    s.sim.stop().await;
}

#[tokio::test]
async fn cancellation_stops_the_run_and_records_it() {
    let s = setup_with(
        testkit::sqlite(),
        SimConfig {
            latency: Duration::from_millis(100),
            ..SimConfig::default()
        },
    )
    .await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        trigger.cancel();
    });
    let out = s
        .engine
        .run(
            "list-lumos-accounts",
            &obj(json!({"all": true})),
            RunRequest {
                cancel,
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Canceled);
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail");
    assert_eq!(detail.run.status, RunStatus::Canceled);
    assert!(detail.run.finished_at.is_some());
    s.sim.stop().await;
}

/// A `running` run held by `owner` whose lease ends in `lease_secs`; its id.
async fn running_run(store: &store::Store, owner: &str, lease_secs: i64) -> String {
    let id = engine::ids::new_run_id();
    let run = store::NewRun {
        id: &id,
        workflow_id: "list-lumos-users",
        workflow_version: 1,
        workflow_hash: "",
        status: RunStatus::Running,
        inputs: &json!({}),
        connection: Some("default"),
        requested_by: Some("cli"),
        requested_for: None,
        requester: &json!({"label": "cli", "role": "admin"}),
        event: None,
        dry_run: false,
        parent_run_id: None,
        owner,
        lease: chrono::Duration::seconds(lease_secs),
    };
    store.create_run(&run).await.expect("insert");
    id
}

/// A pid no process has: one that just exited.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().expect("spawn");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}

fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

#[tokio::test]
async fn runs_of_stopped_processes_are_failed_with_the_reason() {
    let s = setup().await;
    let store = &s.store;
    // Another host's process stopped renewing: its lease ran out.
    let expired = running_run(store, "web-2/4242/abc", -1).await;
    // A predecessor on this host died within its lease: failed at once all the same.
    let dead = format!("{}/{}/old", this_host(), dead_pid());
    let predecessor = running_run(store, &dead, 60).await;
    // A live process elsewhere, lease fresh: left alone.
    let live = running_run(store, "web-3/77/xyz", 60).await;
    let restarted = engine::Engine::new(store.clone());
    assert_eq!(restarted.recover().await.expect("recover"), 2);
    let run = |id: String| {
        let e = &restarted;
        async move { e.run_detail(&id).await.expect("detail").run }
    };
    let failed = run(expired).await;
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some(
            "the process running it stopped (host web-2, pid 4242) — not resumed: its Lumos calls may have had effects"
        )
    );
    let failed = run(predecessor).await;
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(
        failed
            .error
            .unwrap_or_default()
            .contains("the process running it stopped")
    );
    assert_eq!(run(live.clone()).await.status, RunStatus::Running);
    // It can still be canceled by hand; its holder never answers, so the cancel releases it.
    let canceled = restarted.cancel(&live, "test").await.expect("cancel");
    assert_eq!(canceled.status, RunStatus::Canceled);
    assert_eq!(canceled.canceled_by.as_deref(), Some("test"));
    assert!(canceled.canceled_at.is_some());
    assert!(matches!(
        restarted.cancel(&live, "test").await,
        Err(engine::EngineError::AlreadyFinished { .. })
    ));
    assert!(matches!(
        restarted.cancel("not-a-run", "test").await,
        Err(engine::EngineError::RunNotFound(_))
    ));
    s.sim.stop().await;
}

#[tokio::test]
async fn edits_are_versions_runs_record_theirs_and_reinstall_keeps_edits() {
    let s = setup().await;
    let (_, v1) = s.engine.show("list-lumos-users", None).await.expect("show");
    let edited = v1
        .yaml
        .replace("name: List Lumos Users", "name: List Lumos Users (desk)");
    assert_eq!(
        s.engine
            .edit("list-lumos-users", &edited, &engine::Actor::operator())
            .await
            .expect("edit"),
        2
    );
    let out = s
        .engine
        .run(
            "list-lumos-users",
            &obj(json!({"size": 1})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(
        s.engine
            .run_detail(&out.run_id)
            .await
            .expect("detail")
            .run
            .workflow_version,
        2
    );
    let kept = s
        .engine
        .install(
            &["directory-and-apps".into()],
            false,
            false,
            &engine::Actor::operator(),
        )
        .await
        .expect("install");
    assert_eq!(
        kept.iter()
            .find(|o| o.id == "list-lumos-users")
            .map(|o| o.result),
        Some(engine::InstallResult::Kept)
    );
    let listing = s.engine.list().await.expect("list");
    assert!(
        listing
            .iter()
            .any(|l| l.id == "list-lumos-users" && l.edited && l.version == Some(2))
    );
    let forced = s
        .engine
        .install(
            &["list-lumos-users".into()],
            false,
            true,
            &engine::Actor::operator(),
        )
        .await
        .expect("force");
    assert_eq!(
        (forced[0].result, forced[0].version),
        (engine::InstallResult::Reinstalled, 3)
    );
    assert!(s.engine.show("list-lumos-users", Some(1)).await.is_ok());
    let e = s
        .engine
        .edit(
            "list-lumos-users",
            &active_apps(),
            &engine::Actor::operator(),
        )
        .await
        .expect_err("id change");
    assert!(e.to_string().contains("ids cannot change"), "{e}");
    s.engine
        .uninstall("list-lumos-users", &engine::Actor::operator())
        .await
        .expect("uninstall");
    assert!(
        s.engine
            .run("list-lumos-users", &obj(json!({})), RunRequest::default())
            .await
            .is_err()
    );
    s.sim.stop().await;
}

/// An admin other than the one who asked.
fn boss() -> engine::Actor {
    engine::Actor::operator_named("key:boss")
}

const GATED: &str = r#"
id: request-with-approval
name: Request app access (approved first)
approval: An admin checks every access request filed by the service desk
inputs:
  app_id: { type: text, required: true }
steps:
  - id: request
    call: createAccessRequest
    body: { app_id: "{{ inputs.app_id }}", business_justification: "Approved by the desk" }
output: "{{ steps.request.output }}"
"#;

#[tokio::test]
async fn approval_gate_holds_runs_until_an_admin_decides() {
    let s = setup().await;
    s.engine
        .create(GATED, &engine::Actor::operator())
        .await
        .expect("create");
    let app = s.store_app().await;
    let count = || s.access_requests();
    let before = count().await;
    let held = s
        .engine
        .run(
            "request-with-approval",
            &obj(json!({"app_id": app})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(held.status, RunStatus::PendingApproval);
    assert_eq!(
        count().await,
        before,
        "nothing reaches Lumos before approval"
    );
    assert!(
        s.engine
            .run_detail(&held.run_id)
            .await
            .expect("detail")
            .steps
            .is_empty()
    );

    let done = s.approve_here(&held.run_id, &boss(), None).await;
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    assert_eq!(done.output.expect("output")[0]["app_id"], app);
    assert_eq!(count().await, before + 1);
    let e = s
        .engine
        .approve(
            &held.run_id,
            &boss(),
            None,
            ApproveThen::RunHere(engine::Attach::default()),
        )
        .await
        .expect_err("twice");
    assert!(e.to_string().contains("not waiting for approval"), "{e}");

    let other = s
        .engine
        .run(
            "request-with-approval",
            &obj(json!({"app_id": app})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    let denied = s
        .engine
        .deny(&other.run_id, &boss(), Some("not now"))
        .await
        .expect("deny");
    assert_eq!(
        (denied.status.as_str(), denied.error.as_deref()),
        ("denied", Some("denied by key:boss"))
    );
    assert!(
        s.engine
            .approve(
                &other.run_id,
                &boss(),
                None,
                ApproveThen::RunHere(engine::Attach::default())
            )
            .await
            .is_err()
    );
    assert_eq!(count().await, before + 1);

    // A dry run is held too: it makes the reads, and they are what the gate protects.
    let dry = s
        .engine
        .run(
            "request-with-approval",
            &obj(json!({"app_id": app})),
            RunRequest {
                dry_run: true,
                ..RunRequest::default()
            },
        )
        .await
        .expect("dry run");
    assert_eq!(dry.status, RunStatus::PendingApproval);
    assert!(
        s.engine
            .run_detail(&dry.run_id)
            .await
            .expect("detail")
            .steps
            .is_empty(),
        "nothing was sent"
    );
    s.sim.stop().await;
}

const SCHEDULED: &str = r#"
id: nightly-user-count
name: Nightly user count
schedule: { every: 1m, inputs: { size: 1 } }
inputs:
  size: { type: integer, default: 5 }
steps:
  - id: users
    call: listUsers
    params: { size: "{{ inputs.size }}" }
output: "{{ steps.users.output.total }}"
"#;

#[tokio::test]
async fn schedules_fire_once_per_interval_whoever_asks() {
    let s = setup().await;
    // Seen first without a schedule (the scheduler stops loading it), then edited to have
    // one: the edit is noticed.
    let unscheduled = SCHEDULED.replace("schedule: { every: 1m, inputs: { size: 1 } }\n", "");
    s.engine
        .create(&unscheduled, &engine::Actor::operator())
        .await
        .expect("create");
    let before = chrono::Utc::now() - chrono::Duration::hours(1);
    for _ in 0..2 {
        assert!(
            engine::schedule::submit_due(&s.engine, before)
                .await
                .expect("due")
                .submitted
                .is_empty()
        );
    }
    s.engine
        .edit("nightly-user-count", SCHEDULED, &engine::Actor::operator())
        .await
        .expect("edit");
    let now = chrono::Utc::now();
    let first = engine::schedule::submit_due(&s.engine, now)
        .await
        .expect("due")
        .submitted;
    assert_eq!(first.len(), 1, "never fired yet: due now");
    assert_eq!(first[0].status, RunStatus::Queued);
    // A second replica asking at the same moment gets nothing.
    let other = engine::Engine::new(s.store.clone());
    assert!(
        engine::schedule::submit_due(&other, now)
            .await
            .expect("due")
            .submitted
            .is_empty()
    );
    assert!(
        engine::schedule::submit_due(&s.engine, now + chrono::Duration::seconds(30))
            .await
            .expect("due")
            .submitted
            .is_empty()
    );
    // Due again, but the previous scheduled run has not ended: skipped.
    let skipped = engine::schedule::submit_due(&s.engine, now + chrono::Duration::seconds(61))
        .await
        .expect("due");
    assert!(skipped.submitted.is_empty());
    assert_eq!(skipped.skipped, ["nightly-user-count"]);
    let out = s
        .engine
        .execute_queued(&first[0].run_id)
        .await
        .expect("run")
        .expect("claimed");
    assert_eq!(
        (out.status, out.output),
        (RunStatus::Completed, Some(json!(500)))
    );
    assert!(
        other
            .execute_queued(&first[0].run_id)
            .await
            .expect("again")
            .is_none(),
        "a run is claimed once"
    );
    // A replica whose queue is full cannot start the next firing: the miss is in the audit
    // trail with why, and the occurrence is not fired again.
    let full = engine::Engine::with_config(
        s.store.clone(),
        engine::EngineConfig {
            queue_limit: 0,
            ..engine::EngineConfig::default()
        },
    );
    let missed = engine::schedule::submit_due(&full, now + chrono::Duration::seconds(122))
        .await
        .expect("due");
    assert!(missed.submitted.is_empty());
    assert_eq!(missed.missed, ["nightly-user-count"]);
    let missed = s
        .engine
        .audit_events(Some("schedule.miss"), 10)
        .await
        .expect("audit");
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0].target.as_deref(), Some("nightly-user-count"));
    let why = missed[0].details.as_ref().expect("details").0.to_string();
    assert!(
        why.contains("queue") && why.contains("\"retried\":false"),
        "{why}"
    );
    // The schedule's own history says so too.
    let view = s.engine.schedules().await.expect("schedules");
    let nightly = view
        .iter()
        .find(|v| v.workflow_id == "nightly-user-count")
        .expect("listed");
    assert_eq!(
        (
            nightly.skipped,
            nightly.missed,
            nightly.last_missed.is_some()
        ),
        (1, 1, true),
        "{nightly:?}"
    );
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail").run;
    assert_eq!(detail.requested_by.as_deref(), Some("schedule"));
    assert_eq!(detail.inputs.0["size"], 1);
    assert_eq!(
        engine::schedule::submit_due(&s.engine, now + chrono::Duration::seconds(183))
            .await
            .expect("due")
            .submitted
            .len(),
        1
    );
    s.sim.stop().await;
}

/// Saving the same file again makes no new version.
#[tokio::test]
async fn saving_the_same_file_again_is_the_same_version() {
    let s = setup().await;
    let yaml = "id: same-again\nname: Same again\nsteps:\n  - id: me\n    call: currentUser\n";
    let op = engine::Actor::operator();
    s.engine.create(yaml, &op).await.expect("create");
    assert_eq!(
        s.engine.edit("same-again", yaml, &op).await.expect("edit"),
        1
    );
    let changed = yaml.replace("Same again", "Same again, changed");
    assert_eq!(
        s.engine
            .edit("same-again", &changed, &op)
            .await
            .expect("edit"),
        2
    );
    assert_eq!(
        s.engine
            .edit("same-again", &changed, &op)
            .await
            .expect("edit"),
        2
    );
}

/// A run failed because its process is gone is as loud as any failed run: a run.failed
/// notice is queued, the metrics count it, and the audit trail says it was interrupted.
#[tokio::test]
async fn crash_failed_runs_are_told() {
    let s = setup().await;
    let store = &s.store;
    let op = engine::Actor::operator();
    s.engine
        .add_notification_target(
            "ops",
            "https://hooks.example-corp.com/lumosflow",
            engine::notify::NoticeFormat::Json,
            &["run.failed".to_owned()],
            None,
            &op,
        )
        .await
        .expect("target");
    let counted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = counted.clone();
    let restarted = engine::Engine::new(store.clone()).with_observers(engine::Observers {
        on_step: None,
        on_run: Some(std::sync::Arc::new(
            move |wf: &str, status: RunStatus, _| {
                seen.lock().expect("lock").push((wf.to_owned(), status));
            },
        )),
        on_request: None,
    });
    let expired = running_run(store, "web-2/4242/abc", -1).await;
    assert_eq!(restarted.sweep().await.expect("sweep"), 1);
    assert_eq!(
        *counted.lock().expect("lock"),
        vec![("list-lumos-users".to_owned(), RunStatus::Failed)]
    );
    let deliveries = restarted.deliveries(10).await.expect("deliveries");
    assert!(
        deliveries
            .iter()
            .any(|d| d.event == "run.failed" && d.run_id.as_deref() == Some(expired.as_str())),
        "{deliveries:?}"
    );
    let events = restarted
        .audit_events(Some("run.interrupted"), 10)
        .await
        .expect("audit");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].target.as_deref(), Some(expired.as_str()));
}
