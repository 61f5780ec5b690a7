//! The Lumos Approvals and Access Reviews bundles against the simulator, each answer
//! compared with direct API calls: a person sees the tasks they may decide, an assignee (or a
//! member of an assigned group) decides and the request moves on, anyone else is refused with
//! nothing sent, reassigning hands a task over, an agent acts only as the person it acts
//! for, and reviews are created and extended with apps named as in Lumos.

use engine::{Actor, Role, RunRequest, RunStatus};
use serde_json::{Value, json};

use crate::{Setup, obj, setup};

fn person(email: &str) -> Actor {
    Actor::person(email, None, Role::Agent, None)
}

/// Every open approval task, with its assignees.
async fn open_tasks(s: &Setup) -> Vec<Value> {
    let page = s
        .api
        .call(
            "listTasks",
            &obj(json!({"show_all_tasks": true, "status": "PENDING", "expand": ["assignees"], "size": 100})),
            None,
        )
        .await
        .expect("tasks");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|t| t["task_category"] != "PROVISIONING" && t["access_request_id"].is_string())
        .cloned()
        .collect()
}

/// The emails that may decide `task`, read directly: its users and its groups' members.
async fn deciders(s: &Setup, task: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for a in task["assignees"].as_array().expect("assignees") {
        if a["type"] == "USER" {
            out.extend(a["email"].as_str().map(str::to_lowercase));
        } else {
            let members = s
                .api
                .call(
                    "getGroupMembership",
                    &obj(json!({"group_id": a["id"], "size": 100})),
                    None,
                )
                .await
                .expect("members");
            out.extend(
                members["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .filter_map(|m| m["email"].as_str().map(str::to_lowercase)),
            );
        }
    }
    out
}

async fn task(s: &Setup, id: &str) -> Value {
    s.api
        .call(
            "getTask",
            &obj(json!({"task_id": id, "expand": ["assignees", "comments"]})),
            None,
        )
        .await
        .expect("task")
}

async fn run_as(
    s: &Setup,
    workflow: &str,
    inputs: Value,
    actor: Actor,
    requested_for: Option<&str>,
) -> engine::RunOutcome {
    s.engine
        .run(
            workflow,
            &obj(inputs),
            RunRequest {
                actor,
                requested_for: requested_for.map(str::to_owned),
                ..RunRequest::default()
            },
        )
        .await
        .expect("run")
}

#[tokio::test]
async fn assignees_decide_lumos_requests_and_nobody_else() {
    let s = setup().await;
    let tasks = open_tasks(&s).await;
    let with_user = tasks
        .iter()
        .find(|t| {
            t["assignees"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["type"] == "USER"))
        })
        .expect("a task assigned to a person")
        .clone();
    let approver = with_user["assignees"]
        .as_array()
        .expect("assignees")
        .iter()
        .find(|x| x["type"] == "USER")
        .and_then(|x| x["email"].as_str())
        .expect("email")
        .to_owned();

    // Their list: exactly the open approval tasks they may decide, read directly.
    let listed = run_as(
        &s,
        "list-my-lumos-approval-tasks",
        json!({}),
        person(&approver),
        None,
    )
    .await;
    assert_eq!(listed.status, RunStatus::Completed, "{:?}", listed.error);
    let out = listed.output.expect("output");
    let mut want = Vec::new();
    for t in &tasks {
        let theirs = t["target_user"]["email"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case(&approver));
        if !theirs && deciders(&s, t).await.contains(&approver.to_lowercase()) {
            want.push(t["id"].as_str().expect("id").to_owned());
        }
    }
    let mut got: Vec<String> = out["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["task_id"].as_str().expect("task id").to_owned())
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let item = &out["items"][0];
    assert!(
        item["app"].is_string() && item["requester"].is_string(),
        "{item}"
    );

    // Someone who is not an assignee: refused, and the task is as it was.
    let all = deciders(&s, &with_user).await;
    let outsider = (1..)
        .map(|i| format!("outsider{i}@example-corp.com"))
        .find(|e| !all.contains(e))
        .expect("an outsider");
    let id = with_user["id"].as_str().expect("id");
    let refused = run_as(
        &s,
        "decide-lumos-access-request",
        json!({"task_id": id, "decision": "approve"}),
        person(&outsider),
        None,
    )
    .await;
    assert_eq!(refused.status, RunStatus::Failed);
    let e = refused.error.unwrap_or_default();
    assert!(
        e.contains("may not decide this task: it is assigned to"),
        "{e}"
    );
    assert_eq!(task(&s, id).await["status"], "PENDING", "nothing was sent");
    // Acting as someone else is refused by the run core before anything runs.
    let e = s
        .engine
        .run(
            "decide-lumos-access-request",
            &obj(json!({"task_id": id, "decision": "approve", "as_email": approver})),
            RunRequest {
                actor: person(&outsider),
                ..RunRequest::default()
            },
        )
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("it acts only as them"), "{e}");
    // A denial needs a comment.
    let no_comment = run_as(
        &s,
        "decide-lumos-access-request",
        json!({"task_id": id, "decision": "deny"}),
        person(&approver),
        None,
    )
    .await;
    assert!(
        no_comment
            .error
            .unwrap_or_default()
            .contains("needs a comment")
    );

    // The assignee approves: the task completes, the request moves on, the comment says who.
    let request_id = with_user["access_request_id"].as_str().expect("request");
    let decided = run_as(
        &s,
        "decide-lumos-access-request",
        json!({"request_id": request_id, "decision": "approve", "comment": "Checked with the team"}),
        person(&approver),
        None,
    )
    .await;
    assert_eq!(decided.status, RunStatus::Completed, "{:?}", decided.error);
    let now = task(&s, id).await;
    assert_eq!(now["status"], "COMPLETED");
    let comments = now["comments"].to_string();
    assert!(
        comments.contains(&format!(
            "Approved by {approver} through lumosflow: Checked with the team"
        )),
        "{comments}"
    );
    let request = s
        .api
        .call("getAccessRequest", &obj(json!({"id": request_id})), None)
        .await
        .expect("request");
    assert_eq!(decided.output.expect("output")["status"], request["status"]);
    assert_ne!(request["status"], with_user["status"]);

    // A member of an assigned group decides too; an agent only as the person it acts for.
    // A member of an assigned group who is not named on the task themself.
    let mut picked = None;
    for t in open_tasks(&s).await {
        let mut named: Vec<String> = t["assignees"]
            .as_array()
            .expect("assignees")
            .iter()
            .filter(|x| x["type"] == "USER")
            .filter_map(|x| x["email"].as_str().map(str::to_lowercase))
            .collect();
        // Nor the person the request is for: they never decide it.
        named.extend(t["target_user"]["email"].as_str().map(str::to_lowercase));
        if let Some(m) = deciders(&s, &t)
            .await
            .into_iter()
            .find(|e| !named.contains(e))
        {
            picked = Some((t, m));
            break;
        }
    }
    let (with_group, member) = picked.expect("a task with a group assignee");
    let gid = with_group["id"].as_str().expect("id");
    let bot = Actor::key("k9", "desk-bot", Role::Agent, None);
    let refused = run_as(
        &s,
        "decide-lumos-access-request",
        json!({"task_id": gid, "decision": "deny", "comment": "no"}),
        bot.clone(),
        Some(&outsider),
    )
    .await;
    assert_eq!(refused.status, RunStatus::Failed);
    assert_eq!(task(&s, gid).await["status"], "PENDING");
    let denied = run_as(
        &s,
        "decide-lumos-access-request",
        json!({"task_id": gid, "decision": "deny", "comment": "Not for contractors"}),
        bot,
        Some(&member),
    )
    .await;
    assert_eq!(denied.status, RunStatus::Completed, "{:?}", denied.error);
    assert_eq!(task(&s, gid).await["status"], "DISMISSED");
}

#[tokio::test]
async fn tasks_are_reassigned_and_commented_on() {
    let s = setup().await;
    let t = open_tasks(&s)
        .await
        .into_iter()
        .find(|t| {
            t["assignees"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["type"] == "USER"))
        })
        .expect("a task");
    let id = t["id"].as_str().expect("id");
    let assignee = t["assignees"]
        .as_array()
        .expect("assignees")
        .iter()
        .find(|x| x["type"] == "USER")
        .and_then(|x| x["email"].as_str())
        .expect("email")
        .to_owned();
    let users = s
        .api
        .call("listUsers", &obj(json!({"size": 50})), None)
        .await
        .expect("users");
    let target_email = t["target_user"]["email"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let other = users["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .find(|e| *e != assignee && *e != target_email)
        .expect("another person")
        .to_owned();
    // Not an assignee, not an admin: refused.
    let refused = run_as(
        &s,
        "reassign-lumos-approval-task",
        json!({"task_id": id, "to": other, "comment": "yours"}),
        person(&other),
        None,
    )
    .await;
    assert_eq!(refused.status, RunStatus::Failed);
    assert!(
        refused
            .error
            .unwrap_or_default()
            .contains("may not reassign")
    );
    // Never to the person the request is for: they would decide their own request.
    let target = t["target_user"]["email"]
        .as_str()
        .expect("target")
        .to_owned();
    let own = run_as(
        &s,
        "reassign-lumos-approval-task",
        json!({"task_id": id, "to": target, "comment": "you do it"}),
        person(&assignee),
        None,
    )
    .await;
    assert_eq!(own.status, RunStatus::Failed);
    assert!(
        own.error
            .unwrap_or_default()
            .contains("cannot be handed to them")
    );
    let done = run_as(
        &s,
        "reassign-lumos-approval-task",
        json!({"task_id": id, "to": other, "comment": "On leave this week"}),
        person(&assignee),
        None,
    )
    .await;
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    let now = task(&s, id).await;
    let emails: Vec<&str> = now["assignees"]
        .as_array()
        .expect("assignees")
        .iter()
        .filter_map(|a| a["email"].as_str())
        .collect();
    assert_eq!(emails, vec![other.as_str()], "{now}");
    // A comment on the request, saying who wrote it.
    let request_id = t["access_request_id"].as_str().expect("request");
    let said = run_as(
        &s,
        "comment-on-lumos-request",
        json!({"request_id": request_id, "comment": "Ticket IT-42"}),
        person(&other),
        None,
    )
    .await;
    assert_eq!(said.status, RunStatus::Completed, "{:?}", said.error);
    assert!(
        task(&s, id).await["comments"]
            .to_string()
            .contains(&format!("Ticket IT-42 ({other}, through lumosflow)"))
    );
}

#[tokio::test]
async fn access_reviews_are_created_with_apps_by_name() {
    let s = setup().await;
    let apps = s
        .api
        .call("listApps", &obj(json!({"size": 3})), None)
        .await
        .expect("apps");
    let names: Vec<String> = apps["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["user_friendly_label"].as_str().map(str::to_owned))
        .collect();
    let admin = Actor::person("ada@example-corp.com", None, Role::Admin, None);
    // App names and the deadline are checked before anyone is asked to approve.
    for (inputs, says) in [
        (
            json!({"name": "Q3 review", "apps": "No Such App", "deadline": "2099-12-31"}),
            "No Such App: no single Lumos app has that name",
        ),
        (
            json!({"name": "Q3 review", "apps": names[0], "deadline": "2020-01-01"}),
            "the deadline 2020-01-01 has passed",
        ),
    ] {
        let bad = run_as(
            &s,
            "create-lumos-access-review",
            inputs,
            admin.clone(),
            None,
        )
        .await;
        assert_eq!(bad.status, RunStatus::Failed);
        let e = bad.error.unwrap_or_default();
        assert!(e.contains(says), "{e}");
    }
    let held = run_as(
        &s,
        "create-lumos-access-review",
        json!({"name": "Q3 review", "apps": names[..2].join(","), "deadline": "2099-12-31", "account_status": "ACTIVE"}),
        admin,
        None,
    )
    .await;
    assert_eq!(held.status, RunStatus::PendingApproval);
    let boss = Actor::person("boss@example-corp.com", None, Role::Admin, None);
    let out = s.approve_here(&held.run_id, &boss, None).await;
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    let created = out.output.expect("output");
    assert_eq!(created["errors"], json!([]), "{created}");
    let review_id = created["review_id"].as_str().expect("id").to_owned();
    let listed = run_as(
        &s,
        "list-lumos-access-reviews",
        json!({"size": 100}),
        person("a@example-corp.com"),
        None,
    )
    .await;
    let found = listed.output.expect("output")["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|r| r["id"] == review_id.as_str() && r["name"] == "Q3 review");
    assert!(found, "listed");
    let got = run_as(
        &s,
        "get-lumos-access-review",
        json!({"review_id": review_id}),
        person("a@example-corp.com"),
        None,
    )
    .await;
    let got = got.output.expect("output");
    let direct = s
        .api
        .call(
            "getAccessReview",
            &obj(json!({"access_review_id": review_id})),
            None,
        )
        .await
        .expect("review");
    assert_eq!(got["name"], direct["name"]);
    assert_eq!(got["apps"], json!(names[..2]));
    // Scoped to active accounts, as Lumos keeps it.
    assert_eq!(
        direct["apps"][0]["scope_filters"][0]["value"], "ACTIVE",
        "{direct}"
    );
    // Adding an app, named, once approved.
    let held = run_as(
        &s,
        "add-apps-to-lumos-access-review",
        json!({"review_id": review_id, "apps": names[2]}),
        person("a@example-corp.com"),
        None,
    )
    .await;
    assert_eq!(held.status, RunStatus::PendingApproval);
    let out = s.approve_here(&held.run_id, &boss, None).await;
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    assert_eq!(out.output.expect("output")["apps"], json!(names));
}
