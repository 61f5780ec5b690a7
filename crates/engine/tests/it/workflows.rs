//! The eight bundled workflows return what the Lumos API returns.

use engine::RunStatus;

use engine::{EngineError, RunRequest};
use serde_json::{Value, json};

use crate::{Setup, obj, setup};

async fn run(s: &Setup, id: &str, inputs: Value) -> Value {
    let out = s
        .engine
        .run(id, &obj(inputs), RunRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(out.status, RunStatus::Completed, "{id}: {:?}", out.error);
    // What is stored is what the run produced (listings' items may have gone straight to
    // the store, leaving only their count in the outcome).
    let stored = s
        .engine
        .output_value(&out.run_id, 64 << 20)
        .await
        .unwrap_or_else(|e| panic!("{id}: stored output: {e}"));
    if !out.items_apart {
        assert_eq!(Some(&stored), out.output.as_ref(), "{id}: stored output");
    }
    stored
}

async fn api(s: &Setup, op: &str, params: Value) -> Value {
    s.api
        .call(op, &obj(params), None)
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"))
}

fn ids(v: &Value) -> Vec<Value> {
    v["items"]
        .as_array()
        .map(|a| a.iter().map(|i| i["id"].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn list_workflows_match_the_api_page_by_page_and_in_full() {
    let s = setup().await;
    let cases = [
        (
            "list-lumos-users",
            json!({"search": "an"}),
            "listUsers",
            json!({"search_term": "an"}),
        ),
        (
            "list-lumos-apps",
            json!({"name": "a"}),
            "listApps",
            json!({"name_search": "a"}),
        ),
        (
            "list-lumos-groups",
            json!({"name": "Team"}),
            "getGroups",
            json!({"name": "Team"}),
        ),
        (
            "list-lumos-accounts",
            json!({"status": "ACTIVE"}),
            "getAccounts",
            json!({"status": ["ACTIVE"]}),
        ),
        (
            "list-lumos-appstore-apps",
            json!({}),
            "getAppStoreApps",
            json!({}),
        ),
    ];
    for (wf, inputs, op, params) in cases {
        let mut page2 = inputs.clone();
        page2["page"] = json!(2);
        page2["size"] = json!(5);
        let got = run(&s, wf, page2).await;
        let mut p = params.clone();
        p["page"] = json!(2);
        p["size"] = json!(5);
        let want = api(&s, op, p).await;
        assert_eq!(ids(&got), ids(&want), "{wf} page 2");
        for k in ["total", "page", "size", "pages"] {
            assert_eq!(got[k], want[k], "{wf} {k}");
        }
        let pages = want["pages"].as_u64().unwrap_or(0);
        assert_eq!(
            got["next_page"],
            if pages > 2 { json!(3) } else { Value::Null },
            "{wf} next_page"
        );

        let mut all = inputs.clone();
        all["all"] = json!(true);
        let got = run(&s, wf, all).await;
        assert_eq!(got["total"], want["total"], "{wf} all total");
        assert_eq!(
            got["items"].as_array().map(Vec::len),
            want["total"].as_u64().map(|t| t as usize),
            "{wf} all items"
        );
        assert!(
            got.get("next_page").is_none(),
            "{wf}: all=true has no paging fields"
        );
    }
    s.sim.stop().await;
}

#[tokio::test]
async fn get_app_and_approvers_of_a_known_app() {
    let s = setup().await;
    let app = api(
        &s,
        "getAppStoreApps",
        json!({"all_visibilities": true, "size": 1}),
    )
    .await["items"][0]
        .clone();
    let got = run(&s, "get-lumos-app", json!({"app_id": app["id"]})).await;
    let want = api(
        &s,
        "getApp",
        json!({"app_id": app["id"], "expand": ["custom_attributes"]}),
    )
    .await;
    assert_eq!(got, want);

    let settings = api(&s, "getAppStoreAppSettings", json!({"app_id": app["id"]})).await;
    let flow = &settings["request_flow"];
    let got = run(&s, "get-lumos-app-approvers", json!({"app_id": app["id"]})).await;
    assert_eq!(got["app_id"], app["id"]);
    let stage1: Vec<Value> = got["stage_1_approvers"].as_array().expect("list").clone();
    let want_users: Vec<&Value> = flow["approvers"]["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| &u["id"])
        .collect();
    let got_users: Vec<&Value> = stage1
        .iter()
        .filter(|a| a["type"] == "USER")
        .map(|a| &a["id"])
        .collect();
    assert_eq!(got_users, want_users);
    for a in &stage1 {
        assert!(a["type"] == "USER" || a["type"] == "GROUP");
        assert!(a["name"].is_string());
        if a["type"] == "USER" {
            assert!(a["email"].as_str().is_some_and(|e| e.contains('@')));
        }
    }
    assert_eq!(
        got["manager_approval_required"],
        flow["require_manager_approval"]
    );
    assert_eq!(
        got["additional_approval_required"],
        flow["require_additional_approval"]
    );
    let admins: Vec<&Value> = got["admins"]
        .as_array()
        .expect("admins")
        .iter()
        .map(|a| &a["id"])
        .collect();
    let want_admins: Vec<&Value> = flow["admins"]["users"]
        .as_array()
        .expect("admins")
        .iter()
        .map(|u| &u["id"])
        .collect();
    assert_eq!(admins, want_admins);

    // By name, in any case, the same answer; a name no app has says so.
    let name = app["user_friendly_label"].as_str().expect("name");
    let same_name = api(
        &s,
        "getAppStoreApps",
        json!({"all_visibilities": true, "name_search": name, "size": 100}),
    )
    .await["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| {
            a["user_friendly_label"].as_str().map(str::to_lowercase) == Some(name.to_lowercase())
        })
        .count();
    if same_name == 1 {
        let by_name = run(
            &s,
            "get-lumos-app-approvers",
            json!({"app_id": name.to_uppercase()}),
        )
        .await;
        assert_eq!(by_name, got);
        assert_eq!(by_name["app_name"], app["user_friendly_label"]);
    } else {
        let out = s
            .engine
            .run(
                "get-lumos-app-approvers",
                &obj(json!({"app_id": name})),
                RunRequest::default(),
            )
            .await
            .expect("run");
        assert!(
            out.error
                .as_deref()
                .is_some_and(|e| e.contains(&format!("names {same_name} AppStore apps"))),
            "{:?}",
            out.error
        );
    }
    let none = s
        .engine
        .run(
            "get-lumos-app-approvers",
            &obj(json!({"app_id": "No Such App Anywhere"})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(none.status, RunStatus::Failed);
    assert!(
        none.error.as_deref().is_some_and(
            |e| e.contains("no AppStore app has the name or id 'No Such App Anywhere'")
        ),
        "{:?}",
        none.error
    );
    // A Lumos app outside the AppStore is named as such, not "no app".
    let store: Vec<Value> = api(
        &s,
        "getAppStoreApps",
        json!({"all_visibilities": true, "size": 100}),
    )
    .await["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    let outside = api(&s, "listApps", json!({"size": 100})).await["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| !store.contains(&a["id"]))
        .expect("an app outside the AppStore")
        .clone();
    let label = outside["user_friendly_label"].as_str().expect("label");
    let out = s
        .engine
        .run(
            "get-lumos-app-approvers",
            &obj(json!({"app_id": label.to_lowercase()})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert!(
        out.error.as_deref().is_some_and(
            |e| e.contains(&format!("{label} is a Lumos app but not in the AppStore"))
        ),
        "{:?}",
        out.error
    );
    s.sim.stop().await;
}

#[tokio::test]
async fn requestable_permissions_carry_visibility_and_staged_approvers() {
    let s = setup().await;
    let app = api(
        &s,
        "getAppStoreApps",
        json!({"all_visibilities": true, "size": 1}),
    )
    .await["items"][0]["id"]
        .clone();
    let want = api(&s, "listAppRequestablePermissions", json!({"app_id": app})).await;
    let got = run(
        &s,
        "list-lumos-app-requestable-permissions",
        json!({"app_id": app}),
    )
    .await;
    assert_eq!(got["total"], want["total"]);
    assert_eq!(ids(&got), ids(&want));
    for (g, w) in got["items"]
        .as_array()
        .expect("items")
        .iter()
        .zip(want["items"].as_array().expect("items"))
    {
        assert_eq!(g["label"], w["label"]);
        assert_eq!(
            g["appstore_visibility"],
            w["request_config"]["appstore_visibility"]
        );
        assert_eq!(
            g["manager_approval"],
            w["request_config"]["request_approval_config"]["manager_approval"]
        );
        let want_stage1 = w["request_config"]["request_approval_config"]["approvers"]["users"]
            .as_array()
            .map_or(0, Vec::len)
            + w["request_config"]["request_approval_config"]["approvers"]["groups"]
                .as_array()
                .map_or(0, Vec::len);
        let got_stage1 = g["approvers"]
            .as_array()
            .expect("approvers")
            .iter()
            .filter(|a| a["stage"] == 1)
            .count();
        assert_eq!(got_stage1, want_stage1);
    }
    // Searching by part of a label, in another case, finds just the permissions that have it.
    let word = want["items"][0]["label"]
        .as_str()
        .expect("a permission")
        .to_lowercase();
    let search = run(
        &s,
        "list-lumos-app-requestable-permissions",
        json!({"app_id": app, "search": word.to_uppercase()}),
    )
    .await;
    let found = search["items"].as_array().expect("items");
    assert!(!found.is_empty(), "the search finds something to check");
    assert!(found.iter().all(|p| {
        p["label"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains(&word)
    }));
    s.sim.stop().await;
}

#[tokio::test]
async fn bad_inputs_are_refused_before_any_run() {
    let s = setup().await;
    let cases = [
        (
            "get-lumos-app",
            json!({}),
            "missing required input 'app_id'",
        ),
        (
            "list-lumos-users",
            json!({"size": "lots"}),
            "input 'size' must be a whole number",
        ),
        ("list-lumos-users", json!({"size": 500}), "at most 100"),
        ("list-lumos-users", json!({"all": "maybe"}), "true or false"),
        (
            "list-lumos-users",
            json!({"colour": "red"}),
            "unknown input 'colour'",
        ),
        (
            "list-lumos-accounts",
            json!({"status": "DEACTIVATED"}),
            "'DEACTIVATED' is not a Lumos AccountLifecycleStatus value (valid: DISCOVERED, STAGED",
        ),
    ];
    for (wf, inputs, expect) in cases {
        let e = s
            .engine
            .run(wf, &obj(inputs), RunRequest::default())
            .await
            .expect_err("refused");
        assert!(matches!(e, EngineError::Inputs(_)), "{e}");
        assert!(e.to_string().contains(expect), "{wf}: {e}");
    }
    let e = s
        .engine
        .run("nope", &obj(json!({})), RunRequest::default())
        .await
        .expect_err("unknown");
    assert!(e.to_string().contains("not installed"), "{e}");
    assert!(
        s.engine
            .runs(&store::RunFilter::default())
            .await
            .expect("runs")
            .is_empty(),
        "no run may be stored for bad input"
    );
    s.sim.stop().await;
}

#[tokio::test]
async fn upstream_errors_fail_the_run_with_the_step_and_status() {
    let s = setup().await;
    let out = s
        .engine
        .run(
            "get-lumos-app",
            &obj(json!({"app_id": "no-such-app"})),
            RunRequest::default(),
        )
        .await
        .expect("recorded");
    assert_eq!(out.status, RunStatus::Failed);
    let err = out.error.expect("error");
    assert!(err.contains("step 'app'") && err.contains("404"), "{err}");
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail");
    assert_eq!(detail.run.status, RunStatus::Failed);
    assert_eq!(detail.steps[0].http_status, Some(404));
    assert_eq!(detail.steps[0].operation.as_deref(), Some("getApp"));
    s.sim.stop().await;
}

/// "What does Ann have?" and "is Ann's X account active?": a person's accounts by email, as
/// Lumos lists them, all or in one app (by name, any case, or id); an app no one has is a
/// clear zero, an app that does not exist an error.
#[tokio::test]
async fn a_persons_access_is_their_accounts_as_lumos_lists_them() {
    let s = setup().await;
    let account = api(&s, "getAccounts", json!({"size": 50})).await["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["user_id"].is_string())
        .expect("an account with a user")
        .clone();
    let user = api(&s, "getUser", json!({"user_id": account["user_id"]})).await;
    let email = user["email"].as_str().expect("email");
    let direct = api(
        &s,
        "getUserAccounts",
        json!({"user_id": user["id"], "expand": ["app"], "size": 100}),
    )
    .await;
    let got = run(
        &s,
        "list-lumos-user-access",
        json!({"user_email": email.to_uppercase()}),
    )
    .await;
    assert_eq!(got["user"], user["email"]);
    assert_eq!(got["count"], direct["total"], "{got}");
    let accounts: Vec<(Value, Value, Value)> = got["items"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| (a["app_id"].clone(), a["status"].clone(), a["app"].clone()))
        .collect();
    let want: Vec<(Value, Value, Value)> = direct["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["app_id"].clone(),
                a["status"].clone(),
                a["app"]["user_friendly_label"].clone(),
            )
        })
        .collect();
    assert_eq!(accounts, want);

    // One app, by its name in another case, and by id.
    let app_name = want[0].2.as_str().expect("app name");
    let in_app = run(
        &s,
        "list-lumos-user-access",
        json!({"user_email": email, "app": app_name.to_lowercase()}),
    )
    .await;
    let expected = want.iter().filter(|w| w.2 == want[0].2).count();
    assert_eq!(in_app["count"], json!(expected), "{in_app}");
    let by_id = run(
        &s,
        "list-lumos-user-access",
        json!({"user_email": email, "app": want[0].0}),
    )
    .await;
    assert!(by_id["count"].as_u64().is_some_and(|n| n >= 1), "{by_id}");

    // An app that does not exist is an error, not "no access".
    let typo = s
        .engine
        .run(
            "list-lumos-user-access",
            &obj(json!({"user_email": email, "app": "Salesforcee Typo"})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(typo.status, RunStatus::Failed);
    assert!(
        typo.error
            .as_deref()
            .is_some_and(|e| e.contains("no Lumos app is named 'Salesforcee Typo'")),
        "{:?}",
        typo.error
    );
    s.sim.stop().await;
}
