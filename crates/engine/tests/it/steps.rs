//! Every step keeps what it gave, bounded, so a run can be debugged from its record.

use engine::RunRequest;
use serde_json::json;

use crate::{obj, setup};

const TWO_STEPS: &str = r#"
id: count-users
name: Count users
steps:
  - id: users
    call: listUsers
    params: { size: 100 }
  - id: count
    transform: "{{ steps.users.output['items'] | length }}"
"#;

#[tokio::test]
async fn every_step_keeps_what_it_gave_bounded() {
    let s = setup().await;
    s.engine
        .create(TWO_STEPS, &engine::Actor::operator())
        .await
        .expect("create");
    let out = s
        .engine
        .run("count-users", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail");
    let of = |id: &str| {
        detail
            .steps
            .iter()
            .find(|x| x.step_id == id)
            .and_then(|x| x.output.as_ref())
            .map(|o| o.0.clone())
            .unwrap_or_else(|| panic!("no output for {id}"))
    };
    // A page of 100 users is more than a record keeps whole: its count and first items.
    let users = of("users");
    assert_eq!(users["truncated"], true, "{users}");
    assert_eq!(users["items_count"], 100);
    assert_eq!(users["first_items"].as_array().map(Vec::len), Some(5));
    assert!(users["total"].as_u64().is_some_and(|t| t >= 100), "{users}");
    // A small output is kept whole.
    assert_eq!(of("count"), json!(100));
}

const RETRY_THEN_GO_ON: &str = r#"
id: retry-then-go-on
name: Retry, then go on
steps:
  - id: missing
    call: getApp
    params: { app_id: "00000000-0000-4000-8000-00000000dead" }
    retry: { attempts: 3, backoff: 10ms }
    continue_on_error: true
  - id: after
    transform: "{{ 'went on after: ' ~ steps.missing.output.error }}"
"#;

#[tokio::test]
async fn a_reading_step_is_tried_again_and_can_let_the_run_go_on() {
    let s = setup().await;
    s.engine
        .create(RETRY_THEN_GO_ON, &engine::Actor::operator())
        .await
        .expect("create");
    let out = s
        .engine
        .run("retry-then-go-on", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    assert_eq!(out.status, engine::RunStatus::Completed, "{:?}", out.error);
    let text = out.output.expect("output");
    let text = text.as_str().expect("text");
    assert!(text.starts_with("went on after: "), "{text}");
    assert!(
        text.contains("404") && text.ends_with("(tried 3 times)"),
        "{text}"
    );
    // Retrying a change is refused when the workflow is saved.
    let e = s
        .engine
        .create(
            "id: retry-change\nname: Retry a change\nsteps:\n  - id: r\n    call: createAccessRequest\n    body: { app_id: x }\n    retry: { attempts: 2 }\n",
            &engine::Actor::operator(),
        )
        .await
        .expect_err("retry of a change");
    assert!(
        e.to_string().contains("retry is for steps that only read"),
        "{e}"
    );
}

#[tokio::test]
async fn a_step_that_takes_too_long_fails_saying_so() {
    let s = crate::setup_with(
        testkit::sqlite(),
        lumos_sim::SimConfig {
            latency: std::time::Duration::from_millis(400),
            ..lumos_sim::SimConfig::default()
        },
    )
    .await;
    s.engine
        .create(
            "id: slow\nname: Slow\nsteps:\n  - id: me\n    call: currentUser\n    timeout: 100ms\n",
            &engine::Actor::operator(),
        )
        .await
        .expect("create");
    let out = s
        .engine
        .run("slow", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    assert_eq!(out.status, engine::RunStatus::Failed);
    assert!(
        out.error
            .as_deref()
            .is_some_and(|e| e.contains("step 'me': took longer than 100ms")),
        "{:?}",
        out.error
    );
}

const ONLY_ACTIVE: &str = r#"
id: only-active
name: Only active users
inputs:
  go: { type: boolean, default: true }
steps:
  - id: users
    call: listUsers
    params: { size: 20 }
  - id: active
    for_each: "{{ steps.users.output['items'] }}"
    as: user
    if: "{{ user.status == 'ACTIVE' and index < 10 }}"
    transform: "{{ user.email }}"
  - id: gated
    for_each: "{{ steps.users.output['items'] }}"
    if: "{{ inputs.go }}"
    transform: "{{ item.id }}"
output:
  active: "{{ steps.active.output }}"
  gated: "{{ steps.gated.output }}"
"#;

/// A per-element `if:` on a loop runs only the elements it picks; an `if:` that does not
/// name the element decides for the whole step.
#[tokio::test]
async fn a_loop_runs_only_the_elements_its_if_picks() {
    let s = setup().await;
    s.engine
        .create(ONLY_ACTIVE, &engine::Actor::operator())
        .await
        .expect("create");
    let users = s
        .api
        .call("listUsers", &obj(json!({"size": 20})), None)
        .await
        .expect("users");
    let expected: Vec<serde_json::Value> = users["items"]
        .as_array()
        .expect("items")
        .iter()
        .take(10)
        .filter(|u| u["status"] == "ACTIVE")
        .map(|u| u["email"].clone())
        .collect();
    assert!(
        expected.len() < 10,
        "the sample has inactive users to leave out"
    );
    for (go, gated) in [(true, json!(20)), (false, json!(null))] {
        let out = s
            .engine
            .run(
                "only-active",
                &obj(json!({"go": go})),
                RunRequest::default(),
            )
            .await
            .expect("run");
        let output = out.output.expect("output");
        assert_eq!(output["active"], json!(expected), "go={go}");
        assert_eq!(
            output["gated"]
                .as_array()
                .map(|a| json!(a.len()))
                .unwrap_or(json!(null)),
            gated,
            "go={go}: {output}"
        );
    }
}

const WAIT_FOR_A_REQUEST: &str = r#"
id: wait-for-request
name: Wait for a new access request
inputs:
  before: { type: integer, required: true }
steps:
  - id: requests
    call: getAccessRequests
    params: { size: 1 }
    wait_until:
      condition: "{{ output.total > inputs.before }}"
      every: 1s
      up_to: 20s
output: "{{ steps.requests.output.total }}"
"#;

/// `wait_until:` calls again until its condition on the answer holds, and fails saying it
/// waited when it never does.
#[tokio::test]
async fn a_step_waits_until_lumos_says_what_it_waits_for() {
    let s = setup().await;
    s.engine
        .create(WAIT_FOR_A_REQUEST, &engine::Actor::operator())
        .await
        .expect("create");
    let before = s.access_requests().await;
    let app = s.store_app().await;
    let api = s.api.clone();
    // Someone files a request a little later.
    let filer = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        api.call(
            "createAccessRequest",
            &obj(json!({})),
            Some(&json!({"app_id": app, "business_justification": "later"})),
        )
        .await
        .expect("create");
    });
    let out = s
        .engine
        .run(
            "wait-for-request",
            &obj(json!({"before": before})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    filer.await.expect("filer");
    assert_eq!(out.status, engine::RunStatus::Completed, "{:?}", out.error);
    assert_eq!(out.output, Some(json!(before + 1)));
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail");
    let took = detail.run.finished_at.expect("finished") - detail.run.started_at.expect("started");
    assert!(
        took.num_milliseconds() >= 1000,
        "it waited for the request: {took}"
    );

    let never = WAIT_FOR_A_REQUEST.replace("up_to: 20s", "up_to: 2s");
    let never = never.replace("id: wait-for-request", "id: wait-in-vain");
    s.engine
        .create(&never, &engine::Actor::operator())
        .await
        .expect("create");
    let out = s
        .engine
        .run(
            "wait-in-vain",
            &obj(json!({"before": before + 100})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, engine::RunStatus::Failed);
    let e = out.error.unwrap_or_default();
    assert!(e.contains("waited 2s and the condition never held"), "{e}");
}

const RESOLVE_USER: &str = r#"
id: resolve-user
name: Resolve a user
inputs:
  email: { type: text, required: true }
steps:
  - id: users
    call: listUsers
    params: { search_term: "{{ inputs.email }}", exact_match: true, size: 10 }
  - id: user
    transform: "{{ steps.users.output['items'] | selectattr('email', 'equalto', inputs.email | lower) | list }}"
  - id: one
    if: "{{ steps.user.output | length != 1 }}"
    fail: "{{ 'No Lumos user has the email ' ~ inputs.email }}"
output: "{{ steps.user.output[0] }}"
"#;

const ACCOUNTS_OF: &str = r#"
id: accounts-of
name: Accounts of a person
inputs:
  email: { type: text, required: true }
steps:
  - id: user
    workflow: resolve-user
    inputs: { email: "{{ inputs.email }}" }
  - id: accounts
    call: getUserAccounts
    params: { user_id: "{{ steps.user.output.id }}", size: 100 }
output:
  user_id: "{{ steps.user.output.id }}"
  accounts: "{{ steps.accounts.output['items'] | length }}"
"#;

/// A `workflow:` step runs another installed workflow as its own recorded run, linked to
/// the run that started it; its failure is the step's; loops of workflows end.
#[tokio::test]
async fn a_workflow_step_runs_another_workflow_as_a_linked_sub_run() {
    let s = setup().await;
    for yaml in [RESOLVE_USER, ACCOUNTS_OF] {
        s.engine
            .create(yaml, &engine::Actor::operator())
            .await
            .expect("create");
    }
    let users = s
        .api
        .call("listUsers", &obj(json!({"size": 5})), None)
        .await
        .expect("users");
    let user = &users["items"][2];
    let out = s
        .engine
        .run(
            "accounts-of",
            &obj(json!({"email": user["email"]})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, engine::RunStatus::Completed, "{:?}", out.error);
    let output = out.output.expect("output");
    assert_eq!(output["user_id"], user["id"]);
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail");
    let step = detail
        .steps
        .iter()
        .find(|x| x.step_id == "user")
        .expect("the workflow step");
    assert_eq!(step.operation.as_deref(), Some("workflow resolve-user"));
    let sub_id = step.params.as_ref().expect("params").0["run_id"]
        .as_str()
        .expect("the sub-run's id")
        .to_owned();
    let sub = s.engine.run_detail(&sub_id).await.expect("sub-run");
    assert_eq!(sub.run.workflow_id, "resolve-user");
    assert_eq!(sub.run.parent_run_id.as_deref(), Some(out.run_id.as_str()));
    assert_eq!(sub.run.status, engine::RunStatus::Completed);

    // The sub-run's failure is the step's, saying which run failed and why.
    let bad = s
        .engine
        .run(
            "accounts-of",
            &obj(json!({"email": "nobody.at.all@example-corp.com"})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(bad.status, engine::RunStatus::Failed);
    let e = bad.error.unwrap_or_default();
    assert!(
        e.contains("workflow 'resolve-user'") && e.contains("No Lumos user has the email"),
        "{e}"
    );

    // Two workflows running each other stop at the nesting limit.
    let ping = "id: ping\nname: Ping\nsteps:\n  - id: p\n    workflow: pong\n";
    let pong = "id: pong\nname: Pong\nsteps:\n  - id: p\n    workflow: ping\n";
    for yaml in [ping, pong] {
        s.engine
            .create(yaml, &engine::Actor::operator())
            .await
            .expect("create");
    }
    let looped = s
        .engine
        .run("ping", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    assert_eq!(looped.status, engine::RunStatus::Failed);
    let e = looped.error.unwrap_or_default();
    assert!(e.contains("at most 4 deep"), "{e}");
}

const KEEP_FIELDS: &str = r#"
id: keep-fields
name: Keep fields
steps:
  - id: one
    call: getApp
    params: { app_id: "{{ inputs.app_id }}" }
    fields: [user_friendly_label, id]
  - id: users
    call: listUsers
    params: { size: 100 }
    paginate: true
    fields: [id, email]
inputs:
  app_id: { type: text, required: true }
output: "{{ steps.users.output }}"
"#;

/// `fields:` keeps only what it names, in its order, of a listing's every item and of a
/// single answer; every user is still there.
#[tokio::test]
async fn a_call_keeps_only_the_fields_it_names() {
    let s = setup().await;
    s.engine
        .create(KEEP_FIELDS, &engine::Actor::operator())
        .await
        .expect("create");
    let app = s.store_app().await;
    let out = s
        .engine
        .run(
            "keep-fields",
            &obj(json!({"app_id": app})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    let output = out.output.unwrap_or_else(|| panic!("{:?}", out.error));
    let total = s
        .api
        .call("listUsers", &obj(json!({"size": 1})), None)
        .await
        .expect("direct")["total"]
        .clone();
    let items = output["items"].as_array().expect("items");
    assert_eq!(json!(items.len()), total);
    for item in items {
        let keys: Vec<&String> = item.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["id", "email"], "{item}");
    }
    // CSV columns are the fields kept, not the operation's item fields.
    let wf = engine::workflow::Workflow::load(KEEP_FIELDS, &engine::template::Templates::new())
        .expect("valid");
    assert_eq!(
        engine::output::planned_columns(&wf),
        Some(vec!["id".to_owned(), "email".to_owned()])
    );
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail");
    let one = detail
        .steps
        .iter()
        .find(|x| x.step_id == "one")
        .and_then(|x| x.output.as_ref())
        .map(|o| o.0.clone())
        .expect("one");
    let keys: Vec<&String> = one.as_object().expect("app").keys().collect();
    assert_eq!(keys, ["user_friendly_label", "id"]);
    // A field the items do not have is a problem when saving, with a hint.
    let typo = KEEP_FIELDS.replace("[id, email]", "[id, emial]");
    let e = s
        .engine
        .create(&typo, &engine::Actor::operator())
        .await
        .expect_err("typo");
    assert!(
        e.to_string()
            .contains("listUsers items have no field 'emial' (did you mean email?)"),
        "{e}"
    );
}

const BIG_LOOPS: &str = r#"
id: big-loops
name: Big loops
steps:
  - id: each
    for_each: "{{ range(3000) | list }}"
    concurrency: 8
    transform: "{{ item * 2 }}"
  - id: picky
    for_each: "{{ range(300) | list }}"
    if: "{{ item % 10 == 0 }}"
    fail_fast: false
    fail: "item {{ item }} is not welcome"
    continue_on_error: true
  - id: after
    transform: "{{ steps.each.output | length }}"
"#;

/// A loop is one summary record with its counts and a bounded sample of its items (the first
/// completed ones, the first failures), however many items it has; its output stays whole.
#[tokio::test]
async fn a_big_loop_is_one_summary_and_a_sample() {
    let s = setup().await;
    s.engine
        .create(BIG_LOOPS, &engine::Actor::operator())
        .await
        .expect("create");
    let out = s
        .engine
        .run("big-loops", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail");
    let of = |id: &str| -> Vec<&engine::StepRow> {
        detail.steps.iter().filter(|x| x.step_id == id).collect()
    };
    let summary = |id: &str| {
        of(id)
            .into_iter()
            .find(|x| x.iteration == engine::executor::LOOP_SUMMARY)
            .unwrap_or_else(|| panic!("no summary of {id}"))
            .clone()
    };
    // 3,000 items: the summary and the first 10, in order; the output has all 3,000.
    let each = summary("each");
    assert_eq!(each.status, engine::StepStatus::Completed);
    assert_eq!(
        each.output.as_ref().map(|o| o.0.clone()),
        Some(
            json!({"loop": {"items": 3000, "skipped": 0, "completed": 3000, "failed": 0, "not_run": 0}})
        )
    );
    assert_eq!(
        of("each").len(),
        1 + engine::executor::LOOP_SAMPLE_COMPLETED
    );
    assert_eq!(
        detail
            .steps
            .iter()
            .find(|x| x.step_id == "after")
            .and_then(|x| x.output.as_ref())
            .map(|o| o.0.clone()),
        Some(json!(3000))
    );
    // 30 chosen by `if:`, all failing and going on: every failure counted, 20 kept, the
    // error names them all.
    let picky = summary("picky");
    assert_eq!(picky.status, engine::StepStatus::Failed);
    assert_eq!(
        picky.output.as_ref().map(|o| o.0["loop"].clone()),
        Some(json!({"items": 300, "skipped": 270, "completed": 0, "failed": 30, "not_run": 0}))
    );
    let failed = of("picky");
    assert_eq!(failed.len(), 1 + engine::executor::LOOP_SAMPLE_FAILED);
    assert!(failed.iter().filter(|x| x.iteration >= 0).all(|x| {
        x.status == engine::StepStatus::Failed
            && x.error
                .as_deref()
                .is_some_and(|e| e.contains("is not welcome"))
    }));
    let error = picky.error.unwrap_or_default();
    assert!(
        error.contains("30 of 30 items failed") && error.contains("item 290"),
        "{error}"
    );
    // The step records of such a run are few, and their outputs are whole again when read
    // back, compressed or not.
    assert!(detail.steps.len() < 40, "{} records", detail.steps.len());
}

const READ_CHANGE_READ: &str = r#"
id: read-change-read
name: Read, change, read
inputs:
  app_id: { type: text, required: true }
steps:
  - id: before
    call: getApp
    params: { app_id: "{{ inputs.app_id }}" }
  - id: request
    call: createAccessRequest
    body: { app_id: "{{ inputs.app_id }}", business_justification: "steps test" }
  - id: after
    call: getApp
    params: { app_id: "{{ inputs.app_id }}" }
  - id: done
    transform: "{{ steps.after.output.id }}"
"#;

/// Records of steps that may change something are written at once (with those before
/// them), so a crash never hides a change; the others are written with the run's end. The
/// run reads back whole and in order either way, and one that changed nothing reads its
/// steps from its own record alone.
#[tokio::test]
async fn step_records_are_written_at_the_change_and_at_the_end_and_read_back_whole() {
    let s = setup().await;
    s.engine
        .create(READ_CHANGE_READ, &engine::Actor::operator())
        .await
        .expect("create");
    let app = s.store_app().await;
    let out = s
        .engine
        .run(
            "read-change-read",
            &obj(json!({"app_id": app})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, engine::RunStatus::Completed, "{:?}", out.error);
    let ids = |steps: &[engine::StepRow]| -> Vec<String> {
        steps.iter().map(|x| x.step_id.clone()).collect()
    };
    let apart = s.store.run_steps(&out.run_id).await.expect("apart");
    assert_eq!(ids(&apart), ["before", "request"], "written at the change");
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail");
    assert_eq!(ids(&detail.steps), ["before", "request", "after", "done"]);
    assert!(
        detail.steps.iter().all(|x| x.output.is_some()),
        "{:?}",
        detail.steps
    );

    // A run of reads only: nothing apart, all of it with its end.
    s.engine
        .create(
            "id: two-reads\nname: Two reads\nsteps:\n  - id: a\n    call: currentUser\n  - id: b\n    call: currentUser\n",
            &engine::Actor::operator(),
        )
        .await
        .expect("create");
    let out = s
        .engine
        .run("two-reads", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    assert!(
        s.store
            .run_steps(&out.run_id)
            .await
            .expect("apart")
            .is_empty()
    );
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail");
    assert_eq!(ids(&detail.steps), ["a", "b"]);
    s.sim.stop().await;
}
