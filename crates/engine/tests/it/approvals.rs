//! Approval policies against the simulator: ordered steps, approvers from Lumos (an app's
//! AppStore approvers, group members), people and roles, self-approval refused in every
//! form, min 2, denial needs a comment, racing approvals, expiry.

use engine::approval::Outcome;
use engine::{Actor, ApproveThen, Approved, EngineError, Role, RunRequest, RunStatus};
use serde_json::json;

use crate::{obj, setup};

const POLICY: &str = r#"
id: access-with-policy
name: Request access under a policy
inputs:
  app_id: { type: text, required: true }
approval:
  reason: Grants access to an app
  expires_after: 1h
  steps:
    - name: App approvers in Lumos
      approvers:
        lumos_app_approvers: "{{ inputs.app_id }}"
    - name: IT security
      min: 2
      approvers:
        people: [sec-lead@example-corp.com]
        lumos_groups: [GROUP]
        roles: [admin]
steps:
  - id: request
    call: createAccessRequest
    body: { app_id: "{{ inputs.app_id }}", business_justification: "Under a policy" }
"#;

fn person(email: &str, role: Role) -> Actor {
    Actor::person(email, None, role, None)
}

async fn forbidden(r: Result<Approved, EngineError>, says: &str) {
    match r {
        Err(EngineError::Forbidden(m)) => assert!(m.contains(says), "{m}"),
        Err(e) => panic!("expected a refusal saying '{says}', got {e}"),
        Ok(_) => panic!("expected a refusal saying '{says}', got an approval"),
    }
}

#[tokio::test]
async fn policies_route_to_the_right_people_in_order() {
    let s = setup().await;
    let app = s.store_app().await;
    let app_id = app.as_str().expect("app id").to_owned();
    // Who Lumos says approves the app, and a group with members.
    let settings = s
        .api
        .call(
            "getAppStoreAppSettings",
            &obj(json!({"app_id": app_id})),
            None,
        )
        .await
        .expect("settings");
    let app_approver = settings["request_flow"]["approvers"]["users"][0]["email"]
        .as_str()
        .expect("the simulator names stage-1 approvers")
        .to_owned();
    let groups = s
        .api
        .call("getGroups", &obj(json!({"size": 50})), None)
        .await
        .expect("groups");
    let mut group = None;
    for g in groups["items"].as_array().expect("items") {
        let members = s
            .api
            .call(
                "getGroupMembership",
                &obj(json!({"group_id": g["id"], "size": 1})),
                None,
            )
            .await
            .expect("members");
        if let Some(m) = members["items"][0]["email"].as_str() {
            group = Some((g["name"].as_str().expect("name").to_owned(), m.to_owned()));
            break;
        }
    }
    let (group_name, member) = group.expect("a group with members");
    let yaml = POLICY.replace("GROUP", &format!("\"{group_name}\""));
    s.engine
        .create(&yaml, &Actor::operator())
        .await
        .expect("create");
    let before = s.access_requests().await;

    let requester = person("req@example-corp.com", Role::Admin);
    let held = s
        .engine
        .run(
            "access-with-policy",
            &obj(json!({"app_id": app_id})),
            RunRequest {
                actor: requester.clone(),
                requested_for: Some("Zoe@example-corp.com".into()),
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    assert_eq!(held.status, RunStatus::PendingApproval);
    let id = held.run_id.clone();
    let approve = |by: Actor, comment: Option<&'static str>| {
        let engine = &s.engine;
        let id = id.clone();
        async move { engine.approve(&id, &by, comment, ApproveThen::Queue).await }
    };

    // Step 1 belongs to the app's approvers in Lumos: not the requester, not the person it
    // is for, not an admin who is not one of them, not someone else.
    forbidden(
        approve(requester.clone(), None).await,
        "cannot decide on it",
    )
    .await;
    forbidden(
        approve(person("zoe@example-corp.com", Role::Admin), None).await,
        "is for",
    )
    .await;
    forbidden(
        approve(person("boss@example-corp.com", Role::Admin), None).await,
        "may not decide at step 'App approvers in Lumos'",
    )
    .await;
    let detail = s.engine.run_detail(&id).await.expect("detail");
    let view = detail.approval.expect("approval view");
    assert_eq!(view.step, Some(0));
    assert!(view.steps[0].who.contains(&app_id), "{:?}", view.steps);

    // The app's approver (any role) moves it to step 2.
    let r = approve(person(&app_approver, Role::Viewer), Some("known team")).await;
    assert!(
        matches!(&r, Ok(Approved::Waiting(Outcome::NextStep(s))) if s == "IT security"),
        "{:?}",
        r.as_ref().err()
    );
    // Step 2: a denial needs a comment; someone not named may not decide.
    let e = s
        .engine
        .deny(&id, &person(&member, Role::Viewer), None)
        .await
        .expect_err("no comment");
    assert!(e.to_string().contains("needs a comment"), "{e}");
    forbidden(
        approve(person("nobody@example-corp.com", Role::Builder), None).await,
        "may not decide at step 'IT security'",
    )
    .await;
    // One approval of two; the same person cannot count twice.
    let r = approve(person("Sec-Lead@example-corp.com", Role::Viewer), None).await;
    assert!(
        matches!(
            &r,
            Ok(Approved::Waiting(Outcome::Counted {
                approvals: 1,
                min: 2,
                ..
            }))
        ),
        "{:?}",
        r.as_ref().err()
    );
    assert!(
        approve(person("sec-lead@example-corp.com", Role::Viewer), None)
            .await
            .is_err()
    );
    assert_eq!(s.access_requests().await, before, "nothing sent while held");

    // The last slot, raced by a group member and an admin: the gate opens exactly once.
    let (a, b) = tokio::join!(
        approve(person(&member, Role::Viewer), None),
        approve(person("boss@example-corp.com", Role::Admin), None),
    );
    let opened = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Ok(Approved::Queued(_))))
        .count();
    assert_eq!(opened, 1, "{:?} / {:?}", a.as_ref().err(), b.as_ref().err());
    let run = s.engine.run_detail(&id).await.expect("detail");
    assert_eq!(run.run.status, RunStatus::Queued);
    let decisions = run.approval.expect("view").decisions;
    assert_eq!(decisions.iter().filter(|d| d.approved).count(), 3);
    assert_eq!(decisions[0].comment.as_deref(), Some("known team"));

    // A run nobody decides on expires, and cannot be approved after.
    let late = s
        .engine
        .run(
            "access-with-policy",
            &obj(json!({"app_id": app_id})),
            RunRequest {
                actor: requester.clone(),
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    let expired = s
        .store
        .expire_approvals(chrono::Utc::now() + chrono::Duration::hours(2))
        .await
        .expect("expire");
    assert_eq!(expired, vec![late.run_id.clone()]);
    let e = s
        .engine
        .approve(
            &late.run_id,
            &person(&app_approver, Role::Viewer),
            None,
            ApproveThen::Queue,
        )
        .await
        .expect_err("expired");
    assert!(e.to_string().contains("expired"), "{e}");
}

#[tokio::test]
async fn policies_are_checked_when_saved() {
    let s = setup().await;
    let bad = r#"
id: bad-policy
name: Bad policy
approval:
  reason: ""
  expires_after: soon
  steps:
    - name: Nobody
      min: 0
      approvers: {}
    - name: Odd
      approvers:
        people: [not-an-email]
        lumos_app_approvers: { app_id: "x", stage: 3 }
steps:
  - id: t
    transform: "{{ 1 }}"
"#;
    let e = s
        .engine
        .create(bad, &Actor::operator())
        .await
        .expect_err("invalid");
    let text = e.to_string();
    let unknown_group = r#"
id: unknown-group
name: Unknown group
approval:
  reason: Checked by a group
  steps:
    - name: Security
      approvers: { lumos_groups: [No Such Group Anywhere] }
steps:
  - id: t
    transform: "{{ 1 }}"
"#;
    let e = s
        .engine
        .create(unknown_group, &Actor::operator())
        .await
        .expect_err("unknown group");
    assert!(
        e.to_string()
            .contains("Lumos has no group named (or with id) 'No Such Group Anywhere'"),
        "{e}"
    );
    for says in [
        "approval.reason must say",
        "expires_after",
        "min must be at least 1",
        "name at least one approver",
        "invalid email 'not-an-email'",
        "stage must be 1 or 2",
    ] {
        assert!(text.contains(says), "missing '{says}' in: {text}");
    }
}

const BEFORE_CHANGES: &str = r#"
id: request-after-looking
name: Request after looking
inputs:
  app_id: { type: text, required: true }
approval:
  reason: Files an access request
  gate: before_changes
steps:
  - id: app
    call: getAppStoreApp
    params: { app_id: "{{ inputs.app_id }}" }
  - id: request
    call: createAccessRequest
    body: { app_id: "{{ steps.app.output.id }}", business_justification: "Looked first" }
"#;

#[tokio::test]
async fn a_gate_before_changes_reads_first_and_sends_only_after_approval() {
    let s = setup().await;
    let app_id = s.store_app().await.as_str().expect("app").to_owned();
    s.engine
        .create(BEFORE_CHANGES, &Actor::operator())
        .await
        .expect("create");
    let before = s.access_requests().await;
    let requester = person("req@example-corp.com", Role::Agent);
    let held = s
        .engine
        .run(
            "request-after-looking",
            &obj(json!({"app_id": app_id})),
            RunRequest {
                actor: requester.clone(),
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    assert_eq!(held.status, RunStatus::PendingApproval, "{:?}", held.error);
    assert_eq!(
        s.access_requests().await,
        before,
        "nothing sent before approval"
    );
    let detail = s.engine.run_detail(&held.run_id).await.expect("detail");
    let read: Vec<&str> = detail.steps.iter().map(|x| x.step_id.as_str()).collect();
    assert_eq!(read, ["app"], "the reads ran, the change did not");
    let changes = detail
        .approval
        .expect("view")
        .changes
        .expect("what it will send");
    assert_eq!(changes["before_step"], "request");
    let call = &changes["calls"][0];
    assert_eq!(call["method"], "POST", "{changes}");
    assert_eq!(call["body"]["app_id"], app_id.as_str(), "{changes}");
    assert!(changes["reads_taken_at"].is_string(), "{changes}");

    // A dry run is not held: it describes the change and sends nothing.
    let dry = s
        .engine
        .run(
            "request-after-looking",
            &obj(json!({"app_id": app_id})),
            RunRequest {
                dry_run: true,
                ..RunRequest::default()
            },
        )
        .await
        .expect("dry run");
    assert_eq!(dry.status, RunStatus::Completed, "{:?}", dry.error);
    assert_eq!(s.access_requests().await, before);

    // Approved: it goes on from where it stopped, the reads not made again.
    let done = s
        .approve_here(
            &held.run_id,
            &person("boss@example-corp.com", Role::Admin),
            Some("looks right"),
        )
        .await;
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    assert_eq!(s.access_requests().await, before + 1);
    let detail = s.engine.run_detail(&held.run_id).await.expect("detail");
    let steps: Vec<&str> = detail.steps.iter().map(|x| x.step_id.as_str()).collect();
    assert_eq!(steps, ["app", "request"]);
    let output = done.output.expect("output");
    assert!(output.to_string().contains(&app_id), "{output}");
}

const TWO_STEPS: &str = r#"
id: two-steps
name: Two steps
approval:
  reason: Reads the directory
  steps:
    - name: Security
      approvers: { roles: [admin] }
    - name: Admins
      approvers: { roles: [admin] }
steps:
  - id: me
    call: currentUser
"#;

/// Separation of duties: whoever approved one step of a run does not approve the next.
#[tokio::test]
async fn one_person_does_not_approve_two_steps_of_a_run() {
    let s = setup().await;
    s.engine
        .create(TWO_STEPS, &Actor::operator())
        .await
        .expect("create");
    let held = s
        .engine
        .run(
            "two-steps",
            &obj(json!({})),
            RunRequest {
                actor: person("req@example-corp.com", Role::Agent),
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    let id = held.run_id;
    let lead = person("lead@example-corp.com", Role::Admin);
    let r = s.engine.approve(&id, &lead, None, ApproveThen::Queue).await;
    assert!(
        matches!(r, Ok(Approved::Waiting(Outcome::NextStep(_)))),
        "{:?}",
        r.err()
    );
    forbidden(
        s.engine.approve(&id, &lead, None, ApproveThen::Queue).await,
        "approved step 'Security' of run",
    )
    .await;
    let other = person("other-admin@example-corp.com", Role::Admin);
    let r = s
        .engine
        .approve(&id, &other, None, ApproveThen::Queue)
        .await;
    assert!(matches!(r, Ok(Approved::Queued(_))), "{:?}", r.err());
}

/// A builder cannot uninstall what only an admin may install.
#[tokio::test]
async fn builders_uninstall_only_what_they_could_install() {
    let s = setup().await;
    let builder = person("bill@example-corp.com", Role::Builder);
    let e = s
        .engine
        .uninstall("cancel-lumos-access-request", &builder)
        .await
        .expect_err("changes Lumos");
    assert!(
        e.to_string()
            .contains("uninstalling it needs the admin role"),
        "{e}"
    );
    s.engine
        .create(TWO_STEPS, &Actor::operator())
        .await
        .expect("create");
    let e = s
        .engine
        .uninstall("two-steps", &builder)
        .await
        .expect_err("gated");
    assert!(e.to_string().contains("approval gate"), "{e}");
    s.engine
        .uninstall("list-lumos-users", &builder)
        .await
        .expect("a reading workflow");
}
