//! Documented Lumos behaviours, checked over HTTP.

use futures_util::StreamExt;
use lumos_api::Error;
use lumos_sim::{DEFAULT_TOKEN, OrgSize, SimConfig, USER_TOKEN};
use serde_json::{Value, json};

use crate::{admin, member, p, raw, sim, start};

#[tokio::test]
async fn page_model_bounds_and_past_the_end() {
    let sim = sim().await;
    let (s, h, body) = raw(&sim, "/users?page=1&size=7", Some(DEFAULT_TOKEN)).await;
    assert_eq!(s, 200);
    assert_eq!(h["x-cli-version"], "2.4.0");
    assert!(
        h.contains_key("x-ratelimit-limit")
            && h.contains_key("x-ratelimit-remaining")
            && h.contains_key("x-ratelimit-reset")
    );
    assert_eq!(body["items"].as_array().map(Vec::len), Some(7));
    let total = body["total"].as_u64().expect("total");
    assert_eq!(body["pages"].as_u64(), Some(total.div_ceil(7)));
    let (_, _, past) = raw(&sim, "/users?page=9999&size=7", Some(DEFAULT_TOKEN)).await;
    assert_eq!(past["items"], json!([]));
    assert_eq!(past["total"].as_u64(), Some(total));
    for bad in ["size=0", "size=101", "page=0", "size=abc"] {
        let (s, _, body) = raw(&sim, &format!("/users?{bad}"), Some(DEFAULT_TOKEN)).await;
        assert_eq!(s, 422, "{bad}");
        assert_eq!(body["detail"][0]["loc"][0], "query", "{bad}: {body}");
        assert!(body["detail"][0]["msg"].is_string() && body["detail"][0]["type"].is_string());
    }
    sim.stop().await;
}

#[tokio::test]
async fn auth_missing_unknown_and_non_admin() {
    let sim = sim().await;
    assert_eq!(raw(&sim, "/users", None).await.0, 401);
    assert_eq!(
        raw(&sim, "/users", Some("lsk_not_a_real_token_000"))
            .await
            .0,
        401
    );
    let (s, _, body) = raw(&sim, "/info", None).await;
    assert_eq!((s, body["revision"].is_string()), (200, true));
    let art = lumos_api::http::client()
        .get(format!("{}/art", sim.base_url))
        .send()
        .await
        .expect("art");
    assert!(
        art.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/plain")
    );
    // The built-in non-admin token is a real user, and admin-only calls answer 403.
    let me = member(&sim).current_user().await.expect("current user");
    let boss = admin(&sim).current_user().await.expect("admin user");
    assert_ne!(me.id, boss.id);
    let e = member(&sim)
        .call("listTasks", &p(json!({"show_all_tasks": true})), None)
        .await
        .expect_err("403");
    assert!(matches!(e, Error::Forbidden { .. }), "{e}");
    let e = member(&sim)
        .call(
            "getAppStoreApps",
            &p(json!({"all_visibilities": true})),
            None,
        )
        .await
        .expect_err("403");
    assert!(matches!(e, Error::Forbidden { .. }), "{e}");
    let (s, _, body) = raw(&sim, "/nope", Some(DEFAULT_TOKEN)).await;
    assert_eq!((s, body["detail"].as_str()), (404, Some("Not Found")));
    let _ = USER_TOKEN;
    sim.stop().await;
}

#[tokio::test]
async fn user_search_matches_name_and_email_and_exact_match() {
    let sim = sim().await;
    let c = admin(&sim);
    let first = c
        .call("listUsers", &p(json!({"size": 1})), None)
        .await
        .expect("users")["items"][0]
        .clone();
    let email = first["email"].as_str().expect("email");
    let by_email = c
        .call(
            "listUsers",
            &p(json!({"search_term": email, "exact_match": true})),
            None,
        )
        .await
        .expect("search");
    assert_eq!(by_email["total"], 1);
    assert_eq!(by_email["items"][0]["id"], first["id"]);
    let family = first["family_name"]
        .as_str()
        .expect("family")
        .to_uppercase();
    let by_name = c
        .call(
            "listUsers",
            &p(json!({"search_term": family, "size": 100})),
            None,
        )
        .await
        .expect("search");
    assert!(
        by_name["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|u| u["id"] == first["id"])
    );
    let named = by_name["items"].as_array().expect("items");
    assert!(!named.is_empty());
    assert!(named.iter().all(|u| u["custom_attributes"].is_null()));
    let expanded = c
        .call(
            "getUser",
            &p(json!({"user_id": first["id"], "expand": ["custom_attributes"]})),
            None,
        )
        .await
        .expect("user");
    assert_eq!(expanded["custom_attributes"]["Department"]["type"], "TEXT");
    sim.stop().await;
}

#[tokio::test]
async fn accounts_filter_by_status_list_app_and_expand() {
    let sim = sim().await;
    let c = admin(&sim);
    let mut all = c.paginate(
        "getAccounts",
        &p(json!({"status": ["SUSPENDED", "ARCHIVED"]})),
    );
    let mut n = 0;
    while let Some(a) = all.next().await {
        let a = a.expect("account");
        assert!(
            a["status"] == "SUSPENDED" || a["status"] == "ARCHIVED",
            "{a}"
        );
        assert!(a["app"].is_null());
        n += 1;
    }
    assert!(n > 0);
    // Every lifecycle status exists in the generated organization.
    for status in lumos_api::models::AccountLifecycleStatus::VALUES {
        let page = c
            .call(
                "getAccounts",
                &p(json!({"status": status, "size": 1})),
                None,
            )
            .await
            .expect("accounts");
        assert!(
            page["total"].as_u64().unwrap_or(0) > 0,
            "no {status} account"
        );
    }
    let app = c
        .call("listApps", &p(json!({"size": 1})), None)
        .await
        .expect("apps")["items"][0]["id"]
        .clone();
    let page = c
        .call(
            "getAccounts",
            &p(json!({"app_id": app, "expand": ["app"], "size": 5})),
            None,
        )
        .await
        .expect("accounts");
    for a in page["items"].as_array().expect("items") {
        assert_eq!(a["app_id"], app);
        assert_eq!(a["app"]["id"], app);
    }
    let ts = page["items"][0]["discovered_at"]
        .as_str()
        .expect("timestamp");
    assert_eq!(ts.len(), 19, "{ts}");
    assert!(chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S").is_ok());
    sim.stop().await;
}

#[tokio::test]
async fn groups_by_sourcing_app_and_name() {
    let sim = sim().await;
    let c = admin(&sim);
    let g = c
        .call("getGroups", &p(json!({"size": 1})), None)
        .await
        .expect("groups")["items"][0]
        .clone();
    let same_app = c
        .call(
            "getGroups",
            &p(json!({"app_id": g["app_id"], "size": 100})),
            None,
        )
        .await
        .expect("groups");
    let sourced = same_app["items"].as_array().expect("items");
    assert!(!sourced.is_empty(), "the group's own app sources it");
    assert!(sourced.iter().all(|x| x["app_id"] == g["app_id"]));
    let name = g["name"].as_str().expect("name");
    let exact = c
        .call(
            "getGroups",
            &p(json!({"name": name, "exact_match": true})),
            None,
        )
        .await
        .expect("groups");
    let matched = exact["items"].as_array().expect("items");
    assert!(!matched.is_empty(), "the exact name finds its group");
    assert!(matched.iter().all(|x| x["name"] == name));
    let members = c
        .call("getGroupMembership", &p(json!({"group_id": g["id"]})), None)
        .await
        .expect("members");
    assert!(members["total"].as_u64().unwrap_or(0) >= 3);
    sim.stop().await;
}

#[tokio::test]
async fn settings_twins_share_state_and_requestable_permissions_inherit() {
    let sim = sim().await;
    let c = admin(&sim);
    let app = crate::store_app(&c).await;
    c.call(
        "updateAppSettings",
        &p(json!({"app_id": app})),
        Some(&json!({"request_flow": {"require_manager_approval": true}})),
    )
    .await
    .expect("patch");
    let twin = c
        .call("getAppStoreAppSettings", &p(json!({"app_id": app})), None)
        .await
        .expect("settings");
    assert_eq!(twin["request_flow"]["require_manager_approval"], true);
    assert!(twin.get("in_app_store").is_none());
    let with = c
        .call("getAppSettings", &p(json!({"app_id": app})), None)
        .await
        .expect("settings");
    assert_eq!(with["in_app_store"], true);
    // A permission that says nothing of approvals takes them from the app.
    c.call(
        "createRequestablePermission",
        &p(json!({})),
        Some(&json!({"app_id": app, "label": "Inherits everything"})),
    )
    .await
    .expect("create");
    let perms = c
        .call(
            "listAppRequestablePermissions",
            &p(json!({"app_id": app, "size": 100})),
            None,
        )
        .await
        .expect("perms");
    let inherited = perms["items"].as_array().expect("items").iter().find(|p| {
        p["label"] == "Inherits everything"
            && p["request_config"]["request_approval_config"]["request_approval_config_override"]
                == false
    });
    let perm = inherited.expect("a permission that inherits the app's approval config");
    assert_eq!(
        perm["request_config"]["request_approval_config"]["manager_approval"],
        "INITIAL_APPROVAL"
    );
    assert!(perm["request_config"]["request_fulfillment_config"]["time_based_access"].is_array());
    let same = c
        .call(
            "listRequestablePermissions",
            &p(json!({"app_id": app})),
            None,
        )
        .await
        .expect("perms");
    assert_eq!(same["total"], perms["total"]);
    sim.stop().await;
}

#[tokio::test]
async fn big_organization_starts_and_pages() {
    let sim = start(SimConfig {
        size: OrgSize {
            users: 5000,
            apps: 60,
            groups: 500,
            accounts_per_user: 10,
        },
        ..SimConfig::default()
    })
    .await;
    let (s, _, body) = raw(&sim, "/accounts?size=100&page=500", Some(DEFAULT_TOKEN)).await;
    assert_eq!(s, 200);
    // 10 accounts each, plus those Lumos could not link to anyone: 2 % orphans, 1 % another
    // case of a user's email.
    assert_eq!(body["total"], 50_000 + 100 + 50);
    assert_eq!(body["items"].as_array().map(Vec::len), Some(100));
    let (_, _, users) = raw(&sim, "/users?size=1", Some(DEFAULT_TOKEN)).await;
    assert_eq!(users["total"], 5000);
    let _: Value = users;
    sim.stop().await;
}

#[tokio::test]
async fn same_seed_same_data_other_seed_other_data() {
    let a = sim().await;
    let b = sim().await;
    let other = start(SimConfig {
        seed: 7,
        ..SimConfig::default()
    })
    .await;
    let q = "/users?size=5";
    let (_, _, ua) = raw(&a, q, Some(DEFAULT_TOKEN)).await;
    let (_, _, ub) = raw(&b, q, Some(DEFAULT_TOKEN)).await;
    let (_, _, uo) = raw(&other, q, Some(DEFAULT_TOKEN)).await;
    assert_eq!(ua, ub);
    assert_ne!(ua, uo);
    a.stop().await;
    b.stop().await;
    other.stop().await;
}

/// A raw request with a JSON body, as the admin: (status, body).
async fn send(
    sim: &lumos_sim::Simulator,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let resp = lumos_api::http::client()
        .request(method, format!("{}{path}", sim.base_url))
        .bearer_auth(DEFAULT_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn bodies_are_checked_against_their_schema_like_fastapi() {
    let sim = sim().await;
    let (s, body) = send(
        &sim,
        reqwest::Method::POST,
        "/appstore/access_request",
        json!({"business_justification": 5}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    let detail = body["detail"].as_array().expect("detail");
    assert!(
        detail
            .iter()
            .any(|d| d["loc"] == json!(["body", "app_id"]) && d["type"] == "missing"),
        "{body}"
    );
    assert!(
        detail
            .iter()
            .any(|d| d["loc"] == json!(["body", "business_justification"])),
        "every problem at once: {body}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn upload_jobs_report_a_flow_state() {
    let sim = sim().await;
    let app = admin(&sim)
        .call("listApps", &p(json!({"size": 1})), None)
        .await
        .expect("apps")["items"][0]["id"]
        .clone();
    let (s, job) = send(
        &sim,
        reqwest::Method::POST,
        "/accounts/upload",
        json!({"app_id": app, "accounts": []}),
    )
    .await;
    assert_eq!(s, 200, "{job}");
    let states = lumos_api::Schemas::lumos().enum_values("FlowState");
    assert!(states.iter().any(|v| job["state"] == v.as_str()), "{job}");
    let id = job["job_id"].as_str().expect("id");
    let (_, _, polled) = raw(&sim, &format!("/accounts/upload/{id}"), Some(DEFAULT_TOKEN)).await;
    assert!(
        states.iter().any(|v| polled["state"] == v.as_str()),
        "{polled}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn vendor_custom_attributes_take_text_and_never_touch_the_agreement() {
    let sim = sim().await;
    let agreements = admin(&sim)
        .call("listVendorAgreements", &p(json!({"size": 1})), None)
        .await
        .expect("list");
    let a = agreements["items"][0].clone();
    let id = a["id"].as_str().expect("id");
    let (s, body) = send(
        &sim,
        reqwest::Method::PUT,
        &format!("/vendor_agreements/{id}/custom_attributes/currency"),
        json!({"value": false}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "value"]));
    let (s, attr) = send(
        &sim,
        reqwest::Method::PUT,
        &format!("/vendor_agreements/{id}/custom_attributes/currency"),
        json!({"value": "USD"}),
    )
    .await;
    assert_eq!((s, attr["value"].as_str()), (200, Some("USD")), "{attr}");
    let after = admin(&sim)
        .call("listVendorAgreements", &p(json!({"size": 1})), None)
        .await
        .expect("list");
    let b = &after["items"][0];
    for field in ["projected_annualized_cost", "opt_out_date", "currency"] {
        assert_eq!(b.get(field), a.get(field), "{field} is the agreement's own");
    }
    sim.stop().await;
}
