//! One run core: each rule holds however a run starts or resumes. Each test here is a
//! defect found at a door other than the HTTP API, and fails on the code before the run
//! core: an approved dry run changed Lumos, a try ignored the gate, a change moved into a
//! `workflow:` step escaped every control, requested_for bound only where a YAML checked
//! it, the queue lost the requester's role, a key minted by an admin approved their own
//! run, a held run ran a workflow installed again, a replica that lost its run kept calling.

use std::time::Duration;

use engine::{
    Actor, ApproveThen, Attach, Engine, EngineConfig, EngineError, Role, RunRequest, RunStatus,
};
use serde_json::{Value, json};
use testkit::FaultProxy;

use crate::{obj, setup};

/// A workflow that files an access request behind an approval gate.
const GATED: &str = r#"
id: gated-request
name: Gated request
inputs:
  app_id: { type: text, required: true }
approval:
  reason: Files an access request
steps:
  - id: request
    call: createAccessRequest
    body: { app_id: "{{ inputs.app_id }}", business_justification: "Run core" }
"#;

/// The same change, moved into a `workflow:` step.
const UNGATED_CHILD: &str = r#"
id: file-request
name: File a request
inputs:
  app_id: { type: text, required: true }
steps:
  - id: request
    call: createAccessRequest
    body: { app_id: "{{ inputs.app_id }}", business_justification: "Through a sub-run" }
"#;

const WRAPPER: &str = r#"
id: wrapper
name: Looks harmless
inputs:
  app_id: { type: text, required: true }
steps:
  - id: look
    call: getAppStoreApp
    params: { app_id: "{{ inputs.app_id }}" }
  - id: sub
    workflow: file-request
    inputs: { app_id: "{{ inputs.app_id }}" }
"#;

fn person(email: &str, role: Role) -> Actor {
    Actor::person(email, None, role, None)
}

async fn lumos_calls(s: &crate::Setup) -> Vec<Value> {
    s.engine
        .audit_events(Some("lumos.call"), 1000)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| serde_json::to_value(e).expect("json"))
        .collect()
}

#[tokio::test]
async fn an_approved_dry_run_stays_dry_and_is_recorded_as_its_requester() {
    let s = setup().await;
    let app_id = s.store_app().await.as_str().expect("app").to_owned();
    s.engine
        .create(GATED, &Actor::operator())
        .await
        .expect("create");
    let before = s.access_requests().await;
    let requester = person("req@example-corp.com", Role::Admin);
    let held = s
        .engine
        .run(
            "gated-request",
            &obj(json!({"app_id": app_id})),
            RunRequest {
                actor: requester.clone(),
                dry_run: true,
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    assert_eq!(held.status, RunStatus::PendingApproval);
    // Approved and run here, as `lumosflow runs approve` does: still a dry run.
    let approver = person("boss@example-corp.com", Role::Admin);
    let out = s.approve_here(&held.run_id, &approver, None).await;
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    assert_eq!(s.access_requests().await, before, "a dry run sent nothing");
    let detail = s.engine.run_detail(&held.run_id).await.expect("detail");
    assert!(detail.run.dry_run);
    assert_eq!(detail.steps[0].status, engine::StepStatus::DryRun);
    assert_eq!(
        detail.run.requested_by.as_deref(),
        Some("req@example-corp.com")
    );

    // The same for real: the change is audited as the requester, not as the approver.
    let held = s
        .engine
        .run(
            "gated-request",
            &obj(json!({"app_id": app_id})),
            RunRequest {
                actor: requester.clone(),
                origin: engine::Origin::Cli,
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    s.engine
        .approve(
            &held.run_id,
            &approver,
            None,
            ApproveThen::RunHere(Attach::default()),
        )
        .await
        .expect("approve");
    assert_eq!(s.access_requests().await, before + 1);
    let calls = lumos_calls(&s).await;
    let ours: Vec<&Value> = calls
        .iter()
        .filter(|e| e["details"]["run_id"] == held.run_id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "{calls:?}");
    assert_eq!(ours[0]["actor"], "req@example-corp.com");
    assert_eq!(ours[0]["details"]["origin"], "cli");
}

#[tokio::test]
async fn a_try_sends_no_change_behind_a_gate_nor_for_a_builder() {
    let s = setup().await;
    let app_id = s.store_app().await.as_str().expect("app").to_owned();
    let before = s.access_requests().await;
    let inputs = obj(json!({"app_id": app_id}));
    let admin = Actor::operator();
    let e = s
        .engine
        .try_workflow(GATED, &inputs, "default", false, None, &admin)
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("behind an approval gate"), "{e}");
    let builder = person("builder@example-corp.com", Role::Builder);
    let e = s
        .engine
        .try_workflow(UNGATED_CHILD, &inputs, "default", false, None, &builder)
        .await
        .expect_err("refused");
    assert!(
        matches!(&e, EngineError::Forbidden(m) if m.contains("needs the admin role")),
        "{e}"
    );
    assert_eq!(s.access_requests().await, before, "nothing was sent");
    // A dry try is fine for both, and is on the record.
    let t = s
        .engine
        .try_workflow(GATED, &inputs, "default", true, None, &builder)
        .await
        .expect("dry try");
    assert!(t.result.is_ok(), "{:?}", t.result);
    assert_eq!(s.access_requests().await, before);
    // An admin's real try of an ungated change: sent, and audited like a run's change.
    s.engine
        .try_workflow(UNGATED_CHILD, &inputs, "default", false, None, &admin)
        .await
        .expect("try");
    assert_eq!(s.access_requests().await, before + 1);
    let tries = s
        .engine
        .audit_events(Some("workflow.try"), 10)
        .await
        .expect("audit");
    assert_eq!(tries.len(), 2, "{tries:?}");
    let calls = lumos_calls(&s).await;
    assert!(
        calls
            .iter()
            .any(|e| e["details"]["origin"] == "try" && e["target"] == "createAccessRequest"),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_change_in_a_workflow_step_is_a_change_everywhere() {
    let s = setup().await;
    let app_id = s.store_app().await.as_str().expect("app").to_owned();
    s.engine
        .create(UNGATED_CHILD, &Actor::operator())
        .await
        .expect("child");
    // A builder may not save a workflow whose change hides in a sub-workflow.
    let builder = person("builder@example-corp.com", Role::Builder);
    let e = s
        .engine
        .create(WRAPPER, &builder)
        .await
        .expect_err("refused");
    assert!(
        e.to_string()
            .contains("createAccessRequest through workflow 'file-request' in step 'sub'"),
        "{e}"
    );
    // Saved by an admin, it says it changes Lumos, and a gate before changes holds before
    // the `workflow:` step (after the read).
    let gated = WRAPPER.replace(
        "steps:",
        "approval:\n  reason: Files a request through a sub-run\n  gate: before_changes\nsteps:",
    );
    s.engine
        .create(&gated, &Actor::operator())
        .await
        .expect("admin");
    let (wf, _) = s.engine.load("wrapper", None).await.expect("load");
    let changes = s.engine.changes(&wf).await.expect("changes");
    assert!(changes.any());
    assert_eq!(changes.first().map(|c| c.step.as_str()), Some("sub"));
    let before = s.access_requests().await;
    let held = s
        .engine
        .run(
            "wrapper",
            &obj(json!({"app_id": app_id})),
            RunRequest {
                actor: person("agent@example-corp.com", Role::Agent),
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    assert_eq!(held.status, RunStatus::PendingApproval);
    assert_eq!(
        s.access_requests().await,
        before,
        "held before the sub-run's change"
    );
    let detail = s.engine.run_detail(&held.run_id).await.expect("detail");
    let changes = detail.approval.and_then(|a| a.changes).expect("changes");
    assert_eq!(changes["before_step"], "sub");
}

#[tokio::test]
async fn requested_for_binds_at_the_core_and_requests_are_only_theirs() {
    let s = setup().await;
    let custom = r#"
id: whose-accounts
name: Accounts of a person
inputs:
  email: { type: text, required: true, for: requested_for }
steps:
  - id: user
    call: listUsers
    params: { search_term: "{{ inputs.email }}", exact_match: true, size: 1 }
"#;
    s.engine
        .create(custom, &Actor::operator())
        .await
        .expect("create");
    let for_noah = |email: Option<&str>| {
        let mut inputs = serde_json::Map::new();
        if let Some(e) = email {
            inputs.insert("email".into(), json!(e));
        }
        let engine = &s.engine;
        async move {
            engine
                .run(
                    "whose-accounts",
                    &inputs,
                    RunRequest {
                        actor: Actor::key("k1", "desk-bot", Role::Agent, None),
                        origin: engine::Origin::Mcp,
                        requested_for: Some("noah@example-corp.com".into()),
                        ..RunRequest::default()
                    },
                )
                .await
        }
    };
    let e = for_noah(Some("victor@example-corp.com"))
        .await
        .expect_err("refused");
    assert!(
        e.to_string().contains(
            "input 'email' is victor@example-corp.com, but this run is for noah@example-corp.com"
        ),
        "{e}"
    );
    // Left out: it is the person the run is for; the same in another case is fine.
    let out = for_noah(None).await.expect("run");
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    let run = s.engine.run_detail(&out.run_id).await.expect("detail");
    assert_eq!(run.run.inputs.0["email"], "noah@example-corp.com");
    assert!(for_noah(Some("Noah@Example-Corp.com")).await.is_ok());

    // cancel-lumos-access-request for someone else's request: refused before the cancel.
    let requests = s
        .api
        .call("getAccessRequests", &obj(json!({"size": 100})), None)
        .await
        .expect("requests");
    let req = requests["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| {
            r["target_user"]["email"].is_string()
                && r["status"]
                    .as_str()
                    .is_some_and(|st| st.starts_with("PENDING"))
        })
        .expect("a pending request")
        .clone();
    let id = req["id"].as_str().expect("id");
    let out = s
        .engine
        .run(
            "cancel-lumos-access-request",
            &obj(json!({"request_id": id, "reason": "not mine"})),
            RunRequest {
                requested_for: Some("nobody-here@example-corp.com".into()),
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let error = out.error.unwrap_or_default();
    assert!(
        error.contains("step 'before': this run is for nobody-here@example-corp.com"),
        "{error}"
    );
    let now = s
        .api
        .call("getAccessRequest", &obj(json!({"id": id})), None)
        .await
        .expect("request");
    assert_eq!(now["status"], req["status"], "not canceled");
    // For its target, it is canceled.
    let target = req["target_user"]["email"].as_str().expect("target");
    let out = s
        .engine
        .run(
            "cancel-lumos-access-request",
            &obj(json!({"request_id": id, "reason": "mine"})),
            RunRequest {
                requested_for: Some(target.to_uppercase()),
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
}

#[tokio::test]
async fn a_queued_run_keeps_its_requesters_role_through_sub_runs() {
    let s = setup().await;
    s.engine
        .set_connection_roles(
            "default",
            Some(&[Role::Builder, Role::Admin]),
            &Actor::operator(),
        )
        .await
        .expect("roles");
    let parent = r#"
id: users-through-a-sub-run
name: Users through a sub-run
steps:
  - id: users
    workflow: list-lumos-users
    inputs: { size: 1 }
"#;
    s.engine
        .create(parent, &Actor::operator())
        .await
        .expect("create");
    let builder = person("builder@example-corp.com", Role::Builder);
    let queued = s
        .engine
        .submit(
            "users-through-a-sub-run",
            &obj(json!({})),
            RunRequest {
                actor: builder.clone(),
                ..RunRequest::default()
            },
        )
        .await
        .expect("submit");
    let out = s
        .engine
        .execute_queued(&queued.run_id)
        .await
        .expect("execute")
        .expect("claimed");
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    // An agent is still refused, at the door and at once.
    let e = s
        .engine
        .submit(
            "users-through-a-sub-run",
            &obj(json!({})),
            RunRequest {
                actor: person("agent@example-corp.com", Role::Agent),
                ..RunRequest::default()
            },
        )
        .await
        .expect_err("refused");
    assert!(matches!(e, EngineError::Forbidden(_)), "{e}");
}

#[tokio::test]
async fn a_key_minted_by_an_admin_is_them_when_approving() {
    let s = setup().await;
    let app_id = s.store_app().await.as_str().expect("app").to_owned();
    s.engine
        .create(GATED, &Actor::operator())
        .await
        .expect("create");
    let admin = person("ada@example-corp.com", Role::Admin);
    let key = s
        .engine
        .create_key("ada-bot", Role::Admin, &admin)
        .await
        .expect("key");
    let bot = s
        .engine
        .authenticate_key(&key)
        .await
        .expect("auth")
        .expect("live");
    assert_eq!(bot.label, "key:ada-bot");
    // Asked by the person and approved by their key, or the other way round: refused.
    for (asker, approver) in [(&admin, &bot), (&bot, &admin)] {
        let held = s
            .engine
            .run(
                "gated-request",
                &obj(json!({"app_id": app_id})),
                RunRequest {
                    actor: asker.clone(),
                    ..RunRequest::default()
                },
            )
            .await
            .expect("run");
        let e = s
            .engine
            .approve(&held.run_id, approver, None, ApproveThen::Queue)
            .await
            .expect_err("refused");
        assert!(
            e.to_string().contains("cannot decide on it"),
            "{} approving {}: {e}",
            approver.label,
            asker.label
        );
    }
}

#[tokio::test]
async fn a_held_run_never_runs_a_workflow_installed_again() {
    let s = setup().await;
    let app_id = s.store_app().await.as_str().expect("app").to_owned();
    s.engine
        .create(GATED, &Actor::operator())
        .await
        .expect("create");
    let held = s
        .engine
        .run(
            "gated-request",
            &obj(json!({"app_id": app_id})),
            RunRequest {
                actor: person("req@example-corp.com", Role::Agent),
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    s.engine
        .uninstall("gated-request", &Actor::operator())
        .await
        .expect("uninstall");
    s.engine
        .create(GATED, &Actor::operator())
        .await
        .expect("same text again");
    let before = s.access_requests().await;
    let e = s
        .engine
        .approve(
            &held.run_id,
            &person("boss@example-corp.com", Role::Admin),
            None,
            ApproveThen::RunHere(Attach::default()),
        )
        .await
        .expect_err("refused");
    assert!(
        e.to_string().contains("uninstalled and installed again"),
        "{e}"
    );
    assert_eq!(s.access_requests().await, before);
}

/// A replica whose run was failed elsewhere stops calling Lumos within one call, even
/// though its own loop (a wait that polls) would go on for minutes.
#[tokio::test]
async fn a_replica_that_lost_its_run_stops_calling() {
    let s = setup().await;
    let proxy = FaultProxy::start(&s.sim.base_url).await;
    engine::connections::connect(
        &s.store,
        "proxied",
        &proxy.base_url,
        lumos_sim::DEFAULT_TOKEN,
    )
    .await
    .expect("connect");
    let polling = r#"
id: poll-forever
name: Poll forever
steps:
  - id: wait
    call: listUsers
    params: { size: 1 }
    wait_until: { condition: "{{ output.total < 0 }}", every: 1s, up_to: 10m }
"#;
    s.engine
        .create(polling, &Actor::operator())
        .await
        .expect("create");
    let replica = std::sync::Arc::new(Engine::with_config(
        s.store.clone(),
        EngineConfig {
            lease: Duration::from_secs(2),
            cancel_poll: Duration::from_millis(100),
            ..EngineConfig::default()
        },
    ));
    let started = replica
        .start(
            "poll-forever",
            &obj(json!({})),
            RunRequest {
                connection: Some("proxied".into()),
                ..RunRequest::default()
            },
        )
        .await
        .expect("start");
    let run_id = started.run_id.clone();
    let running = tokio::spawn({
        let replica = replica.clone();
        async move { replica.execute(started).await }
    });
    // Polling: at least two calls made.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while proxy.requests() < 2 {
        assert!(std::time::Instant::now() < deadline, "the run never polled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Another replica's sweep fails it (as it does a run whose lease ran out).
    let owner = s
        .store
        .run_owner(&run_id)
        .await
        .expect("owner")
        .expect("held");
    assert!(
        s.store
            .fail_orphaned_run(&run_id, Some(&owner), "its process stopped (test)", None)
            .await
            .expect("fail")
    );
    let at_failure = proxy.requests();
    let out = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the replica stopped")
        .expect("join")
        .expect("outcome");
    assert!(
        proxy.requests() <= at_failure + 1,
        "at most one call after the run was failed elsewhere: {} then {}",
        at_failure,
        proxy.requests()
    );
    assert_eq!(out.status, RunStatus::Failed);
    let run = s.engine.run_detail(&run_id).await.expect("detail");
    assert_eq!(run.run.error.as_deref(), Some("its process stopped (test)"));
}
