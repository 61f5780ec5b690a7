//! docs/cookbook.md, run: every recipe against the simulator, its answer checked against
//! direct Lumos API calls.

use std::collections::{BTreeSet, HashSet};

use engine::{Actor, Role, RunRequest, RunStatus};
use serde_json::{Value, json};

use crate::docs::workflows_in;
use crate::{Setup, obj, setup};

/// Every page of a listing, straight from Lumos.
async fn all(s: &Setup, op: &str, params: Value) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let mut p = params.clone();
        p["page"] = json!(page);
        p["size"] = json!(100);
        let got = s.api.call(op, &obj(p), None).await.expect(op);
        let items = got["items"].as_array().cloned().unwrap_or_default();
        let n = items.len();
        out.extend(items);
        if n < 100 {
            break;
        }
    }
    out
}

async fn installed() -> Setup {
    let s = setup().await;
    let recipes = workflows_in("docs/cookbook.md");
    assert!(recipes.len() >= 6, "the cookbook has its recipes");
    for yaml in recipes {
        s.engine
            .create(&yaml, &Actor::operator())
            .await
            .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    }
    s
}

async fn run(s: &Setup, id: &str, inputs: Value) -> Value {
    let out = s
        .engine
        .run(id, &obj(inputs), RunRequest::default())
        .await
        .expect(id);
    assert_eq!(out.status, RunStatus::Completed, "{id}: {:?}", out.error);
    out.output.expect("output")
}

fn ids(items: &[Value], key: &str) -> BTreeSet<String> {
    items
        .iter()
        .map(|x| x[key].as_str().expect(key).to_owned())
        .collect()
}

#[tokio::test]
async fn offboarding_check_lists_what_a_person_still_holds() {
    let s = installed().await;
    let users = all(&s, "listUsers", json!({})).await;
    let user = &users[3];
    let email = user["email"].as_str().expect("email");
    let out = run(
        &s,
        "offboarding-check",
        json!({"email": email.to_uppercase()}),
    )
    .await;
    let accounts = all(&s, "getUserAccounts", json!({"user_id": user["id"]})).await;
    let removed = [
        "DEPROVISIONED",
        "ACCESS_REMOVED",
        "MANUALLY_REMOVED",
        "ARCHIVED",
    ];
    let held: Vec<Value> = accounts
        .into_iter()
        .filter(|a| !removed.contains(&a["status"].as_str().unwrap_or_default()))
        .collect();
    assert!(!held.is_empty(), "the sample person holds something");
    assert_eq!(
        ids(out["items"].as_array().expect("items"), "id"),
        ids(&held, "id")
    );
    assert_eq!(out["still_held"], json!(held.len()));
    // A typo in the email is an error that says so, not an empty answer.
    let e = s
        .engine
        .run(
            "offboarding-check",
            &obj(json!({"email": "no.such.person@example-corp.com"})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(e.status, RunStatus::Failed);
    assert!(
        e.error
            .unwrap_or_default()
            .contains("No Lumos user has the email"),
        "fails saying why"
    );
}

#[tokio::test]
async fn who_approves_an_app_found_by_its_name() {
    let s = installed().await;
    let apps = all(&s, "getAppStoreApps", json!({"all_visibilities": true})).await;
    let labels: Vec<&str> = apps
        .iter()
        .filter_map(|a| a["user_friendly_label"].as_str())
        .collect();
    let unique = apps
        .iter()
        .find(|a| {
            let l = a["user_friendly_label"].as_str().unwrap_or_default();
            labels.iter().filter(|x| **x == l).count() == 1
        })
        .expect("an app with a unique name");
    let name = unique["user_friendly_label"].as_str().expect("label");
    let out = run(&s, "who-approves-app", json!({"app": name})).await;
    assert_eq!(out["app_id"], unique["id"]);
    // As people type it: any case, stray spaces.
    let typed = run(
        &s,
        "who-approves-app",
        json!({"app": format!(" {} ", name.to_lowercase())}),
    )
    .await;
    assert_eq!(typed["app_id"], unique["id"]);
    // The same answer as the bundled workflow for that app id.
    let bundled = run(
        &s,
        "get-lumos-app-approvers",
        json!({"app_id": unique["id"]}),
    )
    .await;
    assert_eq!(out["stage_1"], bundled["stage_1_approvers"]);
    assert_eq!(out["stage_2"], bundled["stage_2_approvers"]);
    let e = s
        .engine
        .run(
            "who-approves-app",
            &obj(json!({"app": "No Such App Anywhere"})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert!(
        e.error
            .unwrap_or_default()
            .contains("No AppStore app is named No Such App Anywhere")
    );
}

#[tokio::test]
async fn access_is_requested_once_it_approves_what_it_will_send() {
    let s = installed().await;
    let app = s.store_app().await;
    let before = s.access_requests().await;
    let requester = Actor::person("desk@example-corp.com", None, Role::Admin, None);
    // A dry run: not held, nothing sent, the same shape as for real.
    let dry = s
        .engine
        .run(
            "request-access-approved",
            &obj(json!({"app_id": app, "reason": "Onboarding"})),
            RunRequest {
                dry_run: true,
                actor: requester.clone(),
                ..RunRequest::default()
            },
        )
        .await
        .expect("dry run");
    assert_eq!(dry.status, RunStatus::Completed, "{:?}", dry.error);
    let out = dry.output.expect("output");
    assert_eq!(out["app_id"], app);
    assert_eq!(out["request_id"], Value::Null);
    assert_eq!(out["dry_run"], true);
    assert_eq!(s.access_requests().await, before);
    // For real: held with the exact request, sent once approved.
    let held = s
        .engine
        .run(
            "request-access-approved",
            &obj(json!({"app_id": app, "reason": "Onboarding"})),
            RunRequest {
                actor: requester,
                ..RunRequest::default()
            },
        )
        .await
        .expect("run");
    assert_eq!(held.status, RunStatus::PendingApproval);
    let detail = s.engine.run_detail(&held.run_id).await.expect("detail");
    let changes = detail.approval.expect("view").changes.expect("changes");
    assert_eq!(
        changes["calls"][0]["body"]["business_justification"],
        "Onboarding"
    );
    assert_eq!(s.access_requests().await, before);
    let done = s
        .approve_here(
            &held.run_id,
            &Actor::person("it@example-corp.com", None, Role::Admin, None),
            None,
        )
        .await;
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    let out = done.output.expect("output");
    assert_eq!(s.access_requests().await, before + 1);
    let id = out["request_id"].as_str().expect("a request id");
    let request = s
        .api
        .call("getAccessRequest", &obj(json!({"id": id})), None)
        .await
        .expect("the request exists");
    assert_eq!(request["app_id"], app);
}

#[tokio::test]
async fn largest_groups_of_an_app_by_members() {
    let s = installed().await;
    let groups = all(&s, "getGroups", json!({})).await;
    let app_id = groups
        .iter()
        .find_map(|g| g["app_id"].as_str())
        .expect("a group of an app")
        .to_owned();
    let out = run(&s, "largest-groups", json!({"app_id": app_id, "top": 3})).await;
    let mut sizes = Vec::new();
    for g in all(&s, "getGroups", json!({"app_id": app_id})).await {
        let members = all(&s, "getGroupMembership", json!({"group_id": g["id"]})).await;
        sizes.push(members.len());
    }
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.truncate(3);
    assert!(sizes[0] > 0, "groups with members: {sizes:?}");
    let got: Vec<usize> = out["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|g| g["members"].as_u64().expect("members") as usize)
        .collect();
    assert_eq!(got, sizes);
}

#[tokio::test]
async fn users_without_an_account_in_an_app() {
    let s = installed().await;
    let app = all(&s, "getAccounts", json!({})).await[0]["app_id"]
        .as_str()
        .expect("app")
        .to_owned();
    let out = run(&s, "users-without-app", json!({"app_id": app})).await;
    let holders: HashSet<String> = all(&s, "getAccounts", json!({"app_id": app}))
        .await
        .iter()
        .filter_map(|a| a["user_id"].as_str().map(str::to_owned))
        .collect();
    let expected: Vec<Value> = all(&s, "listUsers", json!({}))
        .await
        .into_iter()
        .filter(|u| {
            u["status"] == "ACTIVE" && !holders.contains(u["id"].as_str().unwrap_or_default())
        })
        .collect();
    assert!(!expected.is_empty() && !holders.is_empty(), "a real split");
    assert_eq!(
        ids(out["items"].as_array().expect("items"), "id"),
        ids(&expected, "id")
    );
}

#[tokio::test]
async fn stale_requests_are_posted_to_slack() {
    let s = installed().await;
    let (addr, seen) = crate::http_steps::receiver().await;
    // The same store, with the receiver standing in for hooks.slack.com.
    let engine = engine::Engine::with_config(
        s.store.clone(),
        engine::EngineConfig {
            http_allowed_hosts: vec![addr.clone()],
            ..engine::EngineConfig::default()
        },
    );
    let url = format!("http://{addr}/services/T000/B000/XXXX");
    engine
        .set_secret(
            "SLACK_WEBHOOK_URL",
            &url,
            &crate::http_steps::plain_http_to(&addr),
            &Actor::operator(),
        )
        .await
        .expect("secret");
    let stale = run(&s, "stale-access-requests", json!({"days": 3})).await;
    // A dry run says what it would post, posts nothing, and answers `posted: false`.
    let dry = engine
        .run(
            "post-stale-requests",
            &obj(json!({"days": 3})),
            RunRequest {
                dry_run: true,
                ..RunRequest::default()
            },
        )
        .await
        .expect("dry run");
    assert_eq!(dry.status, RunStatus::Completed, "{:?}", dry.error);
    assert_eq!(dry.output.expect("output")["posted"], false);
    assert!(seen.lock().expect("lock").is_empty(), "nothing posted");
    let out = engine
        .run(
            "post-stale-requests",
            &obj(json!({"days": 3})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    let output = out.output.expect("output");
    assert_eq!(output["count"], stale["count"]);
    assert_eq!(output["posted"], true);
    let got = seen.lock().expect("lock").clone();
    assert_eq!(got.len(), 1);
    let (line, _, body) = &got[0];
    assert!(line.starts_with("POST /services/T000/B000/XXXX"), "{line}");
    let sent: Value = serde_json::from_str(body).expect("json");
    assert_eq!(
        sent["text"],
        format!(
            "{} access requests wait for more than 3 days",
            stale["count"]
        )
    );
    // The webhook URL is a secret: the run's record does not hold it.
    let detail = engine.run_detail(&out.run_id).await.expect("detail");
    assert!(
        !serde_json::to_string(&detail)
            .expect("json")
            .contains("B000/XXXX")
    );
}

#[tokio::test]
async fn stale_access_requests_without_a_date_input() {
    let s = installed().await;
    let days = 3;
    let out = run(&s, "stale-access-requests", json!({"days": days})).await;
    let pending = all(
        &s,
        "getAccessRequests",
        json!({"statuses": ["PENDING", "PENDING_MANAGER_APPROVAL", "PENDING_APPROVAL"]}),
    )
    .await;
    let now = chrono::Utc::now();
    let all_pending = pending.len();
    let expected: Vec<Value> = pending
        .into_iter()
        .filter(|r| {
            let at = r["requested_at"].as_str().unwrap_or_default();
            let at = chrono::DateTime::parse_from_rfc3339(at)
                .map(|t| t.with_timezone(&chrono::Utc))
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f")
                        .map(|t| t.and_utc())
                })
                .expect("a time");
            (now - at).num_days() > days
        })
        .collect();
    // The seeded history is recent (the last 90 days), so "stale" is a real question: some
    // pending requests are, some are not.
    assert!(
        !expected.is_empty() && expected.len() < all_pending,
        "{} of {all_pending} pending requests are stale",
        expected.len()
    );
    assert_eq!(
        ids(out["items"].as_array().expect("items"), "id"),
        ids(&expected, "id")
    );
    assert_eq!(out["count"], json!(expected.len()));
}
