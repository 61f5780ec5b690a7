//! The Access Requests bundle against the simulator, checked against direct Lumos calls:
//! a request by app name with permissions, a duration and a reason; followed, listed and
//! canceled; bad names, permissions, durations and people refused before anything is sent.

use engine::{RunRequest, RunStatus};
use serde_json::{Value, json};

use crate::{obj, setup};

const LENGTHS: [(&str, i64); 11] = [
    ("2 hours", 7200),
    ("4 hours", 14_400),
    ("8 hours", 28_800),
    ("12 hours", 43_200),
    ("1 day", 86_400),
    ("2 days", 172_800),
    ("3 days", 259_200),
    ("7 days", 604_800),
    ("14 days", 1_209_600),
    ("30 days", 2_592_000),
    ("90 days", 7_776_000),
];

#[tokio::test]
async fn access_is_requested_by_name_followed_and_canceled() {
    let s = setup().await;
    let call = |op: &'static str, params: Value| {
        let api = s.api.clone();
        async move { api.call(op, &obj(params), None).await.expect(op) }
    };
    // An app whose name is unique, with requestable permissions and time-limited access.
    let apps = call("getAppStoreApps", json!({"size": 100})).await;
    let items = apps["items"].as_array().expect("apps");
    let label_count = |l: &str| {
        items
            .iter()
            .filter(|a| {
                a["user_friendly_label"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(l))
            })
            .count()
    };
    let mut chosen = None;
    for a in items {
        let label = a["user_friendly_label"].as_str().expect("label");
        if label_count(label) != 1 {
            continue;
        }
        // A permission the AppStore offers; its lengths are its own where it overrides the
        // app's, else the app's (the permission's request config says which apply).
        let perms = call(
            "listAppRequestablePermissions",
            json!({"app_id": a["id"], "in_app_store": true, "size": 100}),
        )
        .await;
        let Some(first) = perms["items"].as_array().and_then(|p| p.first()) else {
            continue;
        };
        let lengths =
            first["request_config"]["request_fulfillment_config"]["time_based_access"].clone();
        let length = lengths
            .as_array()
            .and_then(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .find(|l| *l != "Unlimited")
            })
            .map(str::to_owned);
        if let (Some(p), Some(length)) = (perms["items"].as_array().and_then(|p| p.first()), length)
        {
            chosen = Some((a.clone(), p.clone(), length, lengths));
            break;
        }
    }
    let (app, perm, length, lengths) = chosen.expect("an app the simulator seeds for this");
    let label = app["user_friendly_label"]
        .as_str()
        .expect("label")
        .to_owned();
    let users = call("listUsers", json!({"size": 1})).await;
    let email = users["items"][0]["email"]
        .as_str()
        .expect("email")
        .to_owned();
    let before = s.access_requests().await;
    let run = |id: &'static str, inputs: Value, requested_for: Option<&str>| {
        let engine = &s.engine;
        let requested_for = requested_for.map(str::to_owned);
        async move {
            engine
                .run(
                    id,
                    &obj(inputs),
                    RunRequest {
                        requested_for,
                        ..RunRequest::default()
                    },
                )
                .await
                .expect("run")
        }
    };

    // Refused before anything is sent, each saying what is valid.
    let base = json!({"user_email": email, "app": label, "permissions": perm["label"], "duration": length, "reason": "Quarterly audit"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (inputs, requested_for, says) in [
        (
            with("app", json!("No Such App Zzz")),
            None,
            "no AppStore app is named 'No Such App Zzz'".to_owned(),
        ),
        (
            with("permissions", json!("Nope")),
            None,
            format!("Nope cannot be requested for {label}; requestable: "),
        ),
        (
            with("duration", json!("13 days")),
            None,
            format!(
                "{label} ({}) does not offer '13 days'; allowed: ",
                perm["label"].as_str().unwrap_or_default()
            ),
        ),
        (
            with("user_email", json!("nobody@nowhere.example")),
            None,
            "no Lumos user has the email nobody@nowhere.example".to_owned(),
        ),
    ] {
        let out = run("request-lumos-app-access", inputs, requested_for).await;
        assert_eq!(out.status, RunStatus::Failed, "{says}");
        let error = out.error.unwrap_or_default();
        assert!(error.contains(&says), "expected '{says}' in: {error}");
    }
    // For someone else than the person the run is for: refused by the run core before
    // anything is recorded (the input is marked `for: requested_for`).
    let refused = s
        .engine
        .run(
            "request-lumos-app-access",
            &obj(base.clone()),
            RunRequest {
                requested_for: Some("someone.else@example-corp.com".into()),
                ..RunRequest::default()
            },
        )
        .await
        .expect_err("refused");
    assert!(
        refused.to_string().contains(&format!(
            "input 'user_email' is {email}, but this run is for someone.else@example-corp.com"
        )),
        "{refused}"
    );
    assert_eq!(s.access_requests().await, before, "nothing was sent");

    // A dry run sends nothing and says what it would file, in names.
    let dry = s
        .engine
        .run(
            "request-lumos-app-access",
            &obj(base.clone()),
            RunRequest {
                dry_run: true,
                ..RunRequest::default()
            },
        )
        .await
        .expect("dry run");
    assert_eq!(dry.status, RunStatus::Completed, "{:?}", dry.error);
    let said = dry.output.expect("output");
    assert_eq!(
        (
            &said["app"],
            &said["user"],
            &said["permissions"],
            &said["dry_run"],
            &said["request_id"]
        ),
        (
            &json!(label),
            &json!(email),
            &json!([perm["label"]]),
            &json!(true),
            &Value::Null
        ),
        "{said}"
    );
    assert_eq!(s.access_requests().await, before, "a dry run sends nothing");

    // The request, for the person the run is for, as Lumos records it.
    let made = run(
        "request-lumos-app-access",
        base.clone(),
        Some(&email.to_uppercase()),
    )
    .await;
    assert_eq!(made.status, RunStatus::Completed, "{:?}", made.error);
    let out = made.output.expect("output");
    let id = out["request_id"].as_str().expect("id").to_owned();
    let direct = call("getAccessRequest", json!({"id": id})).await;
    assert_eq!(direct["app_id"], app["id"]);
    assert_eq!(direct["target_user"]["email"], email.as_str());
    assert_eq!(direct["requestable_permissions"][0]["id"], perm["id"]);
    let seconds = LENGTHS.iter().find(|(l, _)| *l == length).map(|(_, s)| *s);
    assert_eq!(
        direct["expiration_in_seconds"].as_i64(),
        seconds,
        "{length} of {lengths}"
    );
    assert_eq!(out["status"], direct["status"]);
    assert_eq!(s.access_requests().await, before + 1);

    // Followed, listed, canceled.
    let got = run("get-lumos-access-request", json!({"request_id": id}), None).await;
    let got = got.output.expect("output");
    assert_eq!(
        (got["status"].clone(), got["user"].clone()),
        (direct["status"].clone(), json!(email))
    );
    // Who must approve now: the request's open approval tasks as Lumos lists them.
    let tasks = s
        .api
        .call(
            "listTasks",
            &crate::obj(json!({"show_all_tasks": true, "access_request_id": id, "status": "PENDING", "expand": ["assignees"], "size": 100})),
            None,
        )
        .await
        .expect("tasks");
    let open: Vec<Value> = tasks["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|t| t["task_category"] != "PROVISIONING")
        .map(|t| json!({"task_id": t["id"], "stage": t["task_category"], "approvers": t["assignees"]}))
        .collect();
    assert!(!open.is_empty(), "a new request waits for someone: {tasks}");
    assert_eq!(got["pending_approvals"], json!(open));
    assert!(
        got["pending_approvals"][0]["approvers"][0]["name"].is_string(),
        "{}",
        got["pending_approvals"]
    );
    let listed = run(
        "list-lumos-access-requests",
        json!({"user_email": email, "all": true}),
        None,
    )
    .await;
    assert_eq!(listed.status, RunStatus::Completed, "{:?}", listed.error);
    let listed = s
        .engine
        .stored_output(&listed.run_id)
        .await
        .expect("stored");
    let page = listed.page(0, 1000).await.expect("items");
    let ids: Vec<Value> = page
        .items
        .iter()
        .map(|r| serde_json::from_str::<Value>(r.get()).expect("item")["id"].clone())
        .collect();
    assert!(ids.contains(&json!(id)), "listed");
    let canceled = run(
        "cancel-lumos-access-request",
        json!({"request_id": id, "reason": "Not needed"}),
        None,
    )
    .await;
    assert_eq!(
        canceled.status,
        RunStatus::Completed,
        "{:?}",
        canceled.error
    );
    assert_eq!(canceled.output.expect("output")["status"], "CANCELLED");
    let direct = call("getAccessRequest", json!({"id": id})).await;
    assert_eq!(direct["status"], "CANCELLED");

    // The AppStore search shows what can be requested.
    let found = run("search-lumos-appstore", json!({"query": label}), None).await;
    assert_eq!(found.status, RunStatus::Completed, "{:?}", found.error);
    let found = found.output.expect("output");
    let hit = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["id"] == app["id"])
        .expect("the app")
        .clone();
    let offered = hit["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .find(|p| p["id"] == perm["id"])
        .unwrap_or_else(|| panic!("the permission in {hit}"))
        .clone();
    // The permission's own lengths where it overrides the app's.
    assert_eq!(offered["durations"], lengths);
    // Who approves, by name.
    assert!(
        hit["approvers"]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|p| p["name"].is_string())),
        "{hit}"
    );
}

/// A request whose answer is lost (a gateway's 502, after Lumos filed it or before it got
/// there) is checked with Lumos before the run says what happened: filed (the run goes
/// on with it), or not filed and safe to try again. A change with no check says it may
/// have been made; a refusal says nothing was changed.
#[tokio::test]
async fn a_lost_answer_is_checked_before_saying_what_happened() {
    use testkit::{Fault, FaultProxy};
    let s = crate::setup().await;
    let proxy = FaultProxy::start(&s.sim.base_url).await;
    engine::connections::connect(
        &s.store,
        "proxied",
        &proxy.base_url,
        lumos_sim::DEFAULT_TOKEN,
    )
    .await
    .expect("connect");
    let app = s.store_app().await;
    let users = s
        .api
        .call("listUsers", &obj(json!({"size": 1})), None)
        .await
        .expect("users");
    let email = users["items"][0]["email"]
        .as_str()
        .expect("email")
        .to_owned();
    let inputs = json!({"user_email": email, "app": app, "reason": "On call this week"});
    let proxied = || RunRequest {
        connection: Some("proxied".into()),
        ..RunRequest::default()
    };
    let detail = |id: String| {
        let engine = &s.engine;
        async move { engine.run_detail(&id).await.expect("detail") }
    };
    let before = s.access_requests().await;

    // The gateway fails before Lumos: checked, not filed, safe to try again.
    proxy.fail_next("POST", Fault::BadGateway);
    let out = s
        .engine
        .run("request-lumos-app-access", &obj(inputs.clone()), proxied())
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let error = out.error.clone().unwrap_or_default();
    assert!(
        error.contains("it was not made (checked with getAccessRequests): it is safe to try again"),
        "{error}"
    );
    assert_eq!(s.access_requests().await, before, "nothing was filed");
    let d = detail(out.run_id.clone()).await;
    let writes = serde_json::to_value(d.writes.expect("what it changed")).expect("json");
    assert_eq!(
        (&writes["state"], &writes["retry_safe"]),
        (&json!("nothing"), &json!(true)),
        "{writes}"
    );

    // Lumos files it, then the gateway answers 502: found, and the run goes on with it.
    proxy.fail_next("POST", Fault::BadGatewayAfter);
    let out = s
        .engine
        .run("request-lumos-app-access", &obj(inputs.clone()), proxied())
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    assert_eq!(s.access_requests().await, before + 1, "filed once");
    let said = out.output.expect("output");
    assert!(
        said["request_id"].as_str().is_some_and(|id| id.len() == 36),
        "{said}"
    );
    let d = detail(out.run_id.clone()).await;
    let step = d
        .steps
        .iter()
        .find(|r| r.step_id == "request")
        .expect("the request step");
    assert_eq!(step.status, store::StepStatus::Completed);
    assert!(
        step.error
            .as_deref()
            .is_some_and(|e| e.contains("then found made (checked with getAccessRequests)")),
        "{:?}",
        step.error
    );
    assert!(d.writes.is_none(), "a completed run");

    // Without a check, a lost answer is said to be unknown: look before trying again.
    let unchecked = r#"
id: file-unchecked
name: File unchecked
inputs:
  app_id: { type: text, required: true }
steps:
  - id: request
    call: createAccessRequest
    body: { app_id: "{{ inputs.app_id }}", business_justification: "unchecked" }
"#;
    s.engine
        .create(unchecked, &engine::Actor::operator())
        .await
        .expect("create");
    proxy.fail_next("POST", Fault::BadGatewayAfter);
    let out = s
        .engine
        .run("file-unchecked", &obj(json!({"app_id": app})), proxied())
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    assert!(
        out.error.as_deref().is_some_and(
            |e| e.contains("Lumos may have made this change anyway: look before trying again")
        ),
        "{:?}",
        out.error
    );
    let d = detail(out.run_id.clone()).await;
    let writes = serde_json::to_value(d.writes.expect("what it changed")).expect("json");
    assert_eq!(
        (&writes["state"], &writes["retry_safe"]),
        (&json!("unknown"), &json!(false)),
        "{writes}"
    );
    assert!(
        writes["said"]
            .as_str()
            .is_some_and(|w| w.contains("step 'request'")),
        "{writes}"
    );

    // Refused by Lumos (no such app): nothing was changed.
    let out = s
        .engine
        .run(
            "file-unchecked",
            &obj(json!({"app_id": "99999999-0000-4000-8000-000000000000"})),
            proxied(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let d = detail(out.run_id.clone()).await;
    let writes = serde_json::to_value(d.writes.expect("what it changed")).expect("json");
    assert_eq!(
        (&writes["state"], &writes["retry_safe"]),
        (&json!("nothing"), &json!(true)),
        "{writes} {:?}",
        out.error
    );
}

/// Lumos lets a requester pick several permissions only where the app allows it: the
/// bundled request says so before sending, and the simulator refuses such a request as
/// Lumos would; where the app allows it, both permissions are requested at once.
#[tokio::test]
async fn several_permissions_only_where_the_app_allows_them() {
    let s = setup().await;
    let call = |op: &'static str, params: Value| {
        let api = s.api.clone();
        async move { api.call(op, &obj(params), None).await }
    };
    let apps = call("getAppStoreApps", json!({"size": 100}))
        .await
        .expect("apps");
    let items = apps["items"].as_array().expect("apps").clone();
    let mut single = None;
    let mut several = None;
    for a in &items {
        let label = a["user_friendly_label"].as_str().expect("label");
        let unique = items
            .iter()
            .filter(|b| b["user_friendly_label"].as_str() == Some(label))
            .count()
            == 1;
        let perms = call(
            "listAppRequestablePermissions",
            json!({"app_id": a["id"], "in_app_store": true, "size": 100}),
        )
        .await
        .expect("permissions");
        let perms = perms["items"].as_array().cloned().unwrap_or_default();
        let settings = call("getAppStoreAppSettings", json!({"app_id": a["id"]}))
            .await
            .expect("settings");
        // Two permissions with a length they both offer, or none at all.
        let lengths = |p: &Value| {
            p["request_config"]["request_fulfillment_config"]["time_based_access"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        if !unique || perms.len() < 2 {
            continue;
        }
        let common = lengths(&perms[0])
            .into_iter()
            .find(|l| lengths(&perms[1]).contains(l));
        let Some(common) = common else { continue };
        let slot = if settings["provisioning"]["allow_multiple_permission_selection"] == true {
            &mut several
        } else {
            &mut single
        };
        slot.get_or_insert((a.clone(), perms[0].clone(), perms[1].clone(), common));
    }
    let users = call("listUsers", json!({"size": 1})).await.expect("users");
    let email = users["items"][0]["email"].as_str().expect("email");
    let inputs = |(app, p1, p2, length): &(Value, Value, Value, Value)| {
        json!({
            "user_email": email, "app": app["user_friendly_label"],
            "permissions": format!("{}, {}", p1["label"].as_str().unwrap_or_default(), p2["label"].as_str().unwrap_or_default()),
            "duration": length, "reason": "Two roles for the migration",
        })
    };

    let one = single.expect("a single-select app with two permissions");
    let before = s.access_requests().await;
    let out = s
        .engine
        .run(
            "request-lumos-app-access",
            &obj(inputs(&one)),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let error = out.error.unwrap_or_default();
    let label = one.0["user_friendly_label"].as_str().unwrap_or_default();
    assert!(
        error.contains(&format!(
            "{label} lets a requester pick one permission per request; request {}, {} separately",
            one.1["label"].as_str().unwrap_or_default(),
            one.2["label"].as_str().unwrap_or_default()
        )),
        "{error}"
    );
    assert_eq!(s.access_requests().await, before, "nothing was sent");
    let refused = s
        .api
        .call(
            "createAccessRequest",
            &obj(json!({})),
            Some(&json!({"app_id": one.0["id"], "requestable_permission_ids": [one.1["id"], one.2["id"]], "access_length": one.3})),
        )
        .await
        .expect_err("refused by Lumos");
    assert!(
        refused
            .to_string()
            .contains("lets a requester pick one permission per request; 2 were given"),
        "{refused}"
    );

    let many = several.expect("a multi-select app with two permissions");
    let made = s
        .engine
        .run(
            "request-lumos-app-access",
            &obj(inputs(&many)),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(made.status, RunStatus::Completed, "{:?}", made.error);
    let id = made.output.expect("output")["request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let filed = call("getAccessRequest", json!({"id": id}))
        .await
        .expect("request");
    let filed: Vec<&Value> = filed["requestable_permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert_eq!(filed, vec![&many.1["id"], &many.2["id"]]);
}
