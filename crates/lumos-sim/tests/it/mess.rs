//! The seeded organization has a real one's mess, deterministic from the seed and the clock,
//! and the simulator keeps Lumos's rules where it used to be lax (durations, permissions of
//! apps granted whole, uploads, dates).

use std::collections::{HashMap, HashSet};

use lumos_api::Client;
use lumos_sim::{OrgSize, SimConfig, Simulator};
use serde_json::{Value, json};

use crate::{admin, p, start};

/// 2026-12-07T00:00:00Z.
pub const NOW: i64 = 1_796_601_600;
const DAY: i64 = 86_400;

async fn at_now() -> Simulator {
    start(SimConfig {
        now: Some(NOW),
        ..SimConfig::default()
    })
    .await
}

/// Every item of a listing.
async fn every(c: &Client, op: &str, params: Value) -> Vec<Value> {
    let mut items = Vec::new();
    for page in 1.. {
        let mut q = p(params.clone());
        q.insert("page".into(), json!(page));
        q.insert("size".into(), json!(100));
        let got = c.call(op, &q, None).await.expect(op);
        let batch = got["items"].as_array().cloned().unwrap_or_default();
        let total = got["total"].as_u64().unwrap_or(0) as usize;
        items.extend(batch);
        if items.len() >= total {
            break;
        }
    }
    items
}

fn epoch(ts: &Value) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(ts.as_str()?, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

#[tokio::test]
async fn the_seeded_organization_has_a_real_ones_mess() {
    let sim = at_now().await;
    let c = admin(&sim);
    let users = every(&c, "listUsers", json!({})).await;
    let emails: HashSet<String> = users
        .iter()
        .filter_map(|u| u["email"].as_str().map(str::to_owned))
        .collect();
    let lower: HashSet<String> = emails.iter().map(|e| e.to_lowercase()).collect();
    let accounts = every(&c, "getAccounts", json!({})).await;

    // Accounts Lumos could not link: emails nobody has, and users' emails in another case.
    let unlinked: Vec<&Value> = accounts.iter().filter(|a| a["user_id"].is_null()).collect();
    let orphans = unlinked
        .iter()
        .filter(|a| !lower.contains(&a["email"].as_str().unwrap_or_default().to_lowercase()))
        .count();
    let other_case = unlinked
        .iter()
        .filter(|a| {
            let e = a["email"].as_str().unwrap_or_default();
            lower.contains(&e.to_lowercase()) && !emails.contains(e)
        })
        .count();
    assert_eq!(
        (orphans, other_case),
        (10, 5),
        "2 % orphans, 1 % another case, at 500 users"
    );

    // People who left with accounts still active; accounts never used.
    let left: HashSet<&str> = users
        .iter()
        .filter(|u| matches!(u["status"].as_str(), Some("INACTIVE" | "SUSPENDED")))
        .filter_map(|u| u["id"].as_str())
        .collect();
    let leavers_active = accounts
        .iter()
        .filter(|a| {
            a["status"] == "ACTIVE" && a["user_id"].as_str().is_some_and(|u| left.contains(u))
        })
        .count();
    assert!(
        leavers_active >= 10,
        "{leavers_active} active accounts of people who left"
    );
    let never_used = accounts
        .iter()
        .filter(|a| a["last_activity"].is_null())
        .count();
    assert!(
        never_used * 10 > accounts.len(),
        "{never_used} of {} never used",
        accounts.len()
    );

    // Groups: empty ones, near-duplicate names, groups synced from another app.
    let groups = every(&c, "getGroups", json!({})).await;
    let names: Vec<&str> = groups.iter().filter_map(|g| g["name"].as_str()).collect();
    for n in ["Eng-Platform", "eng platform", "Engineering Platform"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    assert!(
        groups.iter().any(|g| g["source_app_id"] != g["app_id"]),
        "a group synced from another app"
    );
    let mut empty = 0;
    for g in &groups {
        let members = c
            .call(
                "getGroupMembership",
                &p(json!({"group_id": g["id"], "size": 1})),
                None,
            )
            .await
            .expect("members");
        empty += usize::from(members["total"] == 0);
    }
    assert_eq!(empty, 3, "one group in twenty is empty");

    // Access requests over the last 90 days: some stale and pending, some expiring soon.
    let requests = every(&c, "getAccessRequests", json!({})).await;
    let at: Vec<i64> = requests
        .iter()
        .filter_map(|r| epoch(&r["requested_at"]))
        .collect();
    assert_eq!(at.len(), requests.len());
    assert!(
        at.iter().all(|t| (NOW - 90 * DAY..=NOW).contains(t)),
        "within the last 90 days"
    );
    let stale = requests
        .iter()
        .filter(|r| {
            r["status"]
                .as_str()
                .is_some_and(|s| s.starts_with("PENDING"))
        })
        .filter(|r| epoch(&r["requested_at"]).is_some_and(|t| t < NOW - 7 * DAY))
        .count();
    let expiring = requests
        .iter()
        .filter_map(|r| epoch(&r["expires_at"]))
        .filter(|t| (NOW..NOW + 7 * DAY).contains(t))
        .count();
    assert!(
        stale >= 3 && expiring >= 1,
        "{stale} stale pending, {expiring} expiring within a week"
    );
    // A few requests are not routed yet: plain PENDING, with no task.
    let unrouted: Vec<&Value> = requests
        .iter()
        .filter(|r| r["status"] == "PENDING")
        .collect();
    assert!(
        (1..=requests.len() / 10).contains(&unrouted.len()),
        "{} plain PENDING of {}",
        unrouted.len(),
        requests.len()
    );
    let one = c
        .call(
            "getAccessRequest",
            &p(json!({"id": unrouted[0]["id"], "expand": ["tasks"]})),
            None,
        )
        .await
        .expect("a PENDING request");
    assert_eq!(one["tasks"], json!([]), "{one}");
    // Access whose time is over has ended.
    let over: Vec<&Value> = requests
        .iter()
        .filter(|r| epoch(&r["expires_at"]).is_some_and(|t| t <= NOW))
        .collect();
    assert!(!over.is_empty());
    assert!(
        over.iter().all(|r| !matches!(
            r["status"].as_str(),
            Some("COMPLETED" | "PROVISIONED" | "APPROVED")
        )),
        "granted access past its end is marked ended"
    );
    assert!(over.iter().any(|r| r["status"] == "TIME_BASED_EXPIRED"));

    // AppStore apps in every mode; permissions whose durations override their app's; an app
    // granted whole shows none of its permissions.
    let store = every(&c, "getAppStoreApps", json!({"all_visibilities": true})).await;
    let mut modes: HashMap<String, Vec<Value>> = HashMap::new();
    for a in &store {
        let s = c
            .call(
                "getAppStoreAppSettings",
                &p(json!({"app_id": a["id"]})),
                None,
            )
            .await
            .expect("settings");
        let mode = s["provisioning"]["groups_provisioning"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        modes.entry(mode).or_default().push(a["id"].clone());
    }
    let mut seen: Vec<&String> = modes.keys().collect();
    seen.sort();
    assert_eq!(
        seen,
        ["DIRECT_TO_USER", "GROUPS_AND_HIDDEN", "GROUPS_AND_VISIBLE"]
    );
    // Requesters pick permissions only in GROUPS_AND_VISIBLE, as Lumos's own CLI offers
    // them: granted whole (DIRECT_TO_USER) or at a permission Lumos chooses
    // (GROUPS_AND_HIDDEN), an app shows none in the AppStore.
    for app in modes["DIRECT_TO_USER"]
        .iter()
        .chain(&modes["GROUPS_AND_HIDDEN"])
    {
        let shown = c
            .call(
                "listAppRequestablePermissions",
                &p(json!({"app_id": app, "in_app_store": true})),
                None,
            )
            .await
            .expect("perms");
        assert_eq!(
            shown["total"], 0,
            "an app whose requesters do not pick shows no permission"
        );
    }
    for app in &modes["GROUPS_AND_VISIBLE"] {
        let shown = c
            .call(
                "listAppRequestablePermissions",
                &p(json!({"app_id": app, "in_app_store": true})),
                None,
            )
            .await
            .expect("perms");
        assert!(
            shown["total"].as_u64().is_some_and(|n| n >= 1),
            "GROUPS_AND_VISIBLE shows a permission"
        );
    }
    let perms = every(&c, "listRequestablePermissions", json!({})).await;
    assert!(perms.iter().any(
        |p| p["request_config"]["request_fulfillment_config"]["time_based_access_override"] == true
    ));
    sim.stop().await;
}

#[tokio::test]
async fn the_same_seed_and_clock_give_the_same_organization() {
    let (a, b) = (at_now().await, at_now().await);
    let later = start(SimConfig {
        now: Some(NOW + 30 * DAY),
        ..SimConfig::default()
    })
    .await;
    let q = json!({"size": 100});
    let (ca, cb, cl) = (admin(&a), admin(&b), admin(&later));
    for op in ["getAccounts", "getAccessRequests", "getGroups"] {
        let (x, y) = (
            ca.call(op, &p(q.clone()), None).await.expect(op),
            cb.call(op, &p(q.clone()), None).await.expect(op),
        );
        assert_eq!(x, y, "{op}");
    }
    // Another clock: the same organization, its history thirty days later.
    let (x, y) = (
        ca.call("getAccessRequests", &p(q.clone()), None)
            .await
            .expect("a"),
        cl.call("getAccessRequests", &p(q.clone()), None)
            .await
            .expect("later"),
    );
    let shift = epoch(&y["items"][0]["requested_at"]).unwrap_or_default()
        - epoch(&x["items"][0]["requested_at"]).unwrap_or_default();
    assert_eq!(shift, 30 * DAY);
    for s in [a, b, later] {
        s.stop().await;
    }
}

#[tokio::test]
async fn a_big_organization_has_the_same_share_of_mess() {
    let sim = start(SimConfig {
        now: Some(NOW),
        size: OrgSize {
            users: 100_000,
            apps: 200,
            groups: 1000,
            accounts_per_user: 6,
        },
        ..SimConfig::default()
    })
    .await;
    let c = admin(&sim);
    let accounts = c
        .call("getAccounts", &p(json!({"size": 1})), None)
        .await
        .expect("accounts");
    assert_eq!(
        accounts["total"],
        600_000 + 2_000 + 1_000,
        "2 % orphans and 1 % another case"
    );
    let requests = c
        .call(
            "getAccessRequests",
            &p(json!({"size": 1, "sort": "ASC"})),
            None,
        )
        .await
        .expect("requests");
    assert!(epoch(&requests["items"][0]["requested_at"]).is_some_and(|t| t >= NOW - 90 * DAY));
    sim.stop().await;
}

/// What Lumos refuses and the simulator used to take: durations a request may not have, and
/// dates no calendar has; and an upload that must show up.
#[tokio::test]
async fn requests_keep_to_the_durations_offered_and_uploads_appear() {
    let sim = at_now().await;
    let c = admin(&sim);
    let perms = every(&c, "listRequestablePermissions", json!({})).await;
    // A permission whose own lengths replace its app's: one of its own is taken, one of the
    // app's only is refused.
    let overriding = perms
        .iter()
        .find(|p| {
            p["request_config"]["request_fulfillment_config"]["time_based_access_override"] == true
        })
        .expect("an overriding permission");
    let app = overriding["app_id"].clone();
    let own: Vec<String> =
        overriding["request_config"]["request_fulfillment_config"]["time_based_access"]
            .as_array()
            .expect("lengths")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
    let settings = c
        .call("getAppStoreAppSettings", &p(json!({"app_id": app})), None)
        .await
        .expect("settings");
    let apps_only: Vec<String> = settings["provisioning"]["time_based_access"]
        .as_array()
        .expect("lengths")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .filter(|l| !own.contains(l))
        .collect();
    let request = |body: Value| {
        let c = c.clone();
        async move {
            c.call("createAccessRequest", &p(json!({})), Some(&body))
                .await
        }
    };
    let with = |length: &str| json!({"app_id": app, "requestable_permission_ids": [overriding["id"]], "access_length": length});
    assert!(
        request(with(&own[0])).await.is_ok(),
        "the permission's own length"
    );
    if let Some(l) = apps_only.first() {
        let e = request(with(l)).await.expect_err("the app's length only");
        assert!(
            e.to_string().contains("not offered for this request"),
            "{e}"
        );
    }
    // Seconds must be one of the lengths; no length at all only where permanent access is.
    let e = request(json!({"app_id": app, "requestable_permission_ids": [overriding["id"]], "expiration_in_seconds": 12345}))
        .await
        .expect_err("odd seconds");
    assert!(e.to_string().contains("none of the lengths offered"), "{e}");
    let seconds = if own[0].contains("hour") { 3600 } else { DAY }
        * own[0]
            .split(' ')
            .next()
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0);
    assert!(
        request(json!({"app_id": app, "requestable_permission_ids": [overriding["id"]], "expiration_in_seconds": seconds})).await.is_ok(),
        "the seconds of an offered length"
    );
    if !own.iter().any(|l| l == "Unlimited") {
        let e = request(json!({"app_id": app, "requestable_permission_ids": [overriding["id"]]}))
            .await
            .expect_err("no length");
        assert!(e.to_string().contains("needs an access length"), "{e}");
    }

    // Uploaded accounts appear in the app, linked to the user with that email in any case.
    let user = c
        .call("listUsers", &p(json!({"size": 1, "page": 4})), None)
        .await
        .expect("user")["items"][0]
        .clone();
    let shouting = user["email"].as_str().expect("email").to_uppercase();
    let before = c
        .call("getAccounts", &p(json!({"app_id": app, "size": 1})), None)
        .await
        .expect("before")["total"]
        .as_u64()
        .unwrap_or(0);
    let job = c
        .call(
            "postAccounts",
            &p(json!({})),
            Some(&json!({"app_id": app, "accounts": [
                {"unique_identifier": shouting, "email": shouting},
                {"unique_identifier": "svc-backup@vendor.example", "email": "svc-backup@vendor.example", "status": "SUSPENDED"}]})),
        )
        .await
        .expect("upload");
    assert_eq!(job["state"], "SUCCESS");
    let after = every(&c, "getAccounts", json!({"app_id": app})).await;
    assert_eq!(after.len() as u64, before + 2);
    assert!(
        after
            .iter()
            .any(|a| a["email"] == "svc-backup@vendor.example"
                && a["user_id"].is_null()
                && a["status"] == "SUSPENDED")
    );
    let theirs = every(&c, "getUserAccounts", json!({"user_id": user["id"]})).await;
    assert!(
        theirs.iter().any(|a| a["app_id"] == app),
        "the upload is the user's account"
    );

    // Dates from a calendar.
    let e = c
        .call(
            "createOrder",
            &p(json!({})),
            Some(&json!({"unique_identifier": "PO-1", "vendor": {"name": "Acme"}, "start_date": "2024-01-01",
                "end_date": "2024-13-01", "auto_renewal": false, "line_items": []})),
        )
        .await
        .expect_err("a thirteenth month");
    assert!(e.to_string().contains("end_date"), "{e}");
    sim.stop().await;
}

/// Edges schemathesis's coverage and stateful phases found: the knowledge API's 401s are
/// `ApiError`s, a 405 says which methods the path has, and an upload's `unique_identifier`
/// may be null (the email names the account).
#[tokio::test]
async fn error_shapes_and_edges_follow_the_document() {
    let sim = at_now().await;
    let (s, _, body) = crate::raw(&sim, "/v1/knowledge/context", None).await;
    assert_eq!(s, 401);
    assert_eq!(
        (
            body["type"].as_str(),
            body["code"].as_str(),
            body["detail"].is_string()
        ),
        (Some("authentication"), Some("not_authenticated"), true),
        "{body}"
    );
    let (s, _, body) = crate::raw(&sim, "/users/current", None).await;
    assert_eq!((s, body), (401, json!({"detail": "Not authenticated"})));
    let resp = lumos_api::http::client()
        .request(reqwest::Method::TRACE, format!("{}/info", sim.base_url))
        .send()
        .await
        .expect("trace");
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(
        resp.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET")
    );
    // The most specific path names the methods: `/apps/categories` is GET only, whatever
    // `/apps/{app_id}` allows; PUT there is `/apps/{app_id}` with an unknown id (Starlette).
    for (method, status, allow) in [
        (reqwest::Method::OPTIONS, 405, Some("GET")),
        (reqwest::Method::PUT, 404, None),
    ] {
        let resp = lumos_api::http::client()
            .request(method.clone(), format!("{}/apps/categories", sim.base_url))
            .bearer_auth(&sim.token)
            .send()
            .await
            .expect("categories");
        assert_eq!(resp.status().as_u16(), status, "{method}");
        assert_eq!(
            resp.headers().get("allow").and_then(|v| v.to_str().ok()),
            allow,
            "{method}"
        );
    }
    // `sort` is a free string in the document: DESC in any case is newest first, any other
    // value the default order, never a 422.
    let first = |sort: &'static str| {
        let sim = &sim;
        async move {
            let path = format!("/appstore/access_requests?size=1&sort={sort}");
            let (s, _, body) = crate::raw(sim, &path, Some(&sim.token)).await;
            assert_eq!(s, 200, "sort={sort}: {body}");
            body["items"][0]["id"].clone()
        }
    };
    assert_eq!(first("sideways").await, first("ASC").await);
    assert_eq!(first("desc").await, first("DESC").await);
    assert_ne!(first("desc").await, first("ASC").await);
    let c = admin(&sim);
    let app = c
        .call("listApps", &p(json!({"size": 1})), None)
        .await
        .expect("apps")["items"][0]["id"]
        .clone();
    let job = c
        .call(
            "postAccounts",
            &p(json!({})),
            Some(&json!({"app_id": app, "accounts": [{"unique_identifier": null, "email": "null.id@example.org"}]})),
        )
        .await
        .expect("a null unique_identifier is allowed");
    assert_eq!(job["state"], "SUCCESS");
    let listed = every(&c, "getAccounts", json!({"app_id": app})).await;
    assert!(listed.iter().any(|a| a["email"] == "null.id@example.org"));
    sim.stop().await;
}

async fn send(sim: &Simulator, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let resp = lumos_api::http::client()
        .request(method, format!("{}{path}", sim.base_url))
        .bearer_auth(&sim.token)
        .json(&body)
        .send()
        .await
        .expect("an answer, not a dropped connection");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// What schemathesis's four phases found after the edges above: an id with a multi-byte
/// character cut the connection (the handler panicked slicing it); dates and nested ids in
/// bodies were taken unchecked; an upload's accounts were not checked against their schema.
#[tokio::test]
async fn ids_dates_and_nested_references_are_checked_like_lumos() {
    let sim = at_now().await;
    let c = admin(&sim);
    // A multi-byte character anywhere in an id: an unknown id (404), never a crash.
    for path in [
        "/users/0000000%C3%A90001-4000-8000-000000000000",
        "/apps/2feb6e9%C3%A9-0002-4000-8000-000000000000",
        "/groups/2feb6e95-000%C3%A9-4000-8000-000000000000",
        "/access_reviews/2feb6e95-0002-4000-8000-0000000000%C3%A9",
    ] {
        let (s, _, body) = crate::raw(&sim, path, Some(&sim.token)).await;
        assert_eq!(s, 404, "{path}: {body}");
    }
    let app = c
        .call("listApps", &p(json!({"size": 1})), None)
        .await
        .expect("apps")["items"][0]["id"]
        .clone();
    let post = reqwest::Method::POST;
    // An upload's accounts are AccountInput: wrong types and statuses refused, and a list.
    let (s, body) = send(
        &sim,
        post.clone(),
        "/accounts/upload",
        json!({"app_id": app, "accounts": [{"unique_identifier": {}, "status": "AAA", "email": {}}]}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    let locs = body.to_string();
    assert!(
        locs.contains("unique_identifier") && locs.contains("status"),
        "{body}"
    );
    let (s, body) = send(
        &sim,
        post.clone(),
        "/accounts/upload",
        json!({"app_id": app, "accounts": null}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    // Dates are dates: an empty timestamp, a line item ending on "AAA".
    let (s, body) = send(
        &sim,
        post.clone(),
        "/activity_records",
        json!({"records": [{"account": {"email": "a@example.org"}, "event": {"type": "LOGIN"}, "timestamp": "", "source_app_id": app}]}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["body", "records", 0, "timestamp"]),
        "{body}"
    );
    // …while a naive time, as Lumos writes them, is a time.
    let (s, body) = send(
        &sim,
        post.clone(),
        "/activity_records",
        json!({"records": [{"account": {"email": "a@example.org"}, "event": {"type": "LOGIN"}, "timestamp": "2026-12-06T10:00:00", "source_app_id": app}]}),
    )
    .await;
    assert!(s < 300, "{s} {body}");
    // A requestable permission's webhook and stage approvers must exist; once they do, the
    // answer shows them whole.
    let (s, body) = send(
        &sim,
        post.clone(),
        "/appstore/requestable_permissions",
        json!({"app_id": app, "label": "p1", "request_config": {"request_fulfillment_config": {"provisioning_webhook": {"id": ""}}}}),
    )
    .await;
    // An unknown id inside a body is 400 whichever field holds it; a missing field is 422.
    assert_eq!(s, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Unknown inline webhook ''")),
        "{body}"
    );
    let (s, body) = send(
        &sim,
        post.clone(),
        "/appstore/requestable_permissions",
        json!({"app_id": app, "label": "p2", "request_config": {"request_approval_config": {"request_approval_stages": [{"approvers": [{}]}]}}}),
    )
    .await;
    // `type` is optional in the document, so an approver without one breaks a rule (400).
    assert_eq!(s, 400, "{body}");
    // An unknown type breaks the document's enum (422).
    let (s, body) = send(
        &sim,
        post.clone(),
        "/appstore/requestable_permissions",
        json!({"app_id": app, "label": "p2", "request_config": {"request_approval_config": {"request_approval_stages": [{"approvers": [{"type": "ROBOT"}]}]}}}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    let user = c
        .call("listUsers", &p(json!({"size": 1})), None)
        .await
        .expect("users")["items"][0]
        .clone();
    let (s, body) = send(
        &sim,
        post,
        "/appstore/requestable_permissions",
        json!({"app_id": app, "label": "p3", "request_config": {"request_approval_config": {"request_approval_stages": [{"approvers": [{"type": "USER", "user": {"id": user["id"]}}]}]}}}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let shown = &body["request_config"]["request_approval_config"]["request_approval_stages"][0]["approvers"]
        [0];
    assert_eq!(shown["type"], "USER", "{body}");
    assert_eq!(shown["user"]["email"], user["email"], "{body}");
    sim.stop().await;
}

/// A disconnected app is "not in a syncable state" (409), as the document says; an empty
/// cursor of identity events is the first page.
#[tokio::test]
async fn sync_states_and_empty_cursors_answer_as_documented() {
    let sim = at_now().await;
    let c = admin(&sim);
    let apps = every(&c, "listApps", json!({})).await;
    let disconnected = apps
        .iter()
        .find(|a| a["disconnected"] == true && a["sources"] != json!(["MANUAL"]))
        .expect("the seed has a disconnected app")["id"]
        .clone();
    let (s, body) = send(
        &sim,
        reqwest::Method::POST,
        &format!("/apps/{}/sync", disconnected.as_str().expect("id")),
        json!({"sync_type": "full_sync"}),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not in a syncable state"),
        "{body}"
    );
    let (s, _, body) = crate::raw(&sim, "/identity_events?cursor=", Some(&sim.token)).await;
    assert_eq!(s, 200, "{body}");
    sim.stop().await;
}

/// An app's own `allow_multiple_permission_selection` (a legacy mirror) follows its AppStore
/// settings, and a request names several permissions only while they allow it.
#[tokio::test]
async fn several_permissions_follow_the_apps_settings() {
    let sim = at_now().await;
    let c = admin(&sim);
    let perms = every(
        &c,
        "listRequestablePermissions",
        json!({"in_app_store": true}),
    )
    .await;
    // An app with two requestable permissions and a length the app offers to both.
    let (app, two) = perms
        .iter()
        .filter(|p| {
            p["request_config"]["request_fulfillment_config"]["time_based_access_override"] != true
        })
        .fold(
            std::collections::BTreeMap::<String, Vec<Value>>::new(),
            |mut m, p| {
                m.entry(p["app_id"].as_str().unwrap_or_default().to_owned())
                    .or_default()
                    .push(p["id"].clone());
                m
            },
        )
        .into_iter()
        .find(|(_, ids)| ids.len() >= 2)
        .expect("an app with two permissions");
    let settings =
        |multi: bool| json!({"provisioning": {"allow_multiple_permission_selection": multi}});
    let body = |length: &Value| json!({"app_id": app, "requestable_permission_ids": [two[0], two[1]], "access_length": length});
    let current = c
        .call(
            "updateAppStoreAppSettings",
            &p(json!({"app_id": app})),
            Some(&settings(false)),
        )
        .await
        .expect("settings");
    let length = current["provisioning"]["time_based_access"][0].clone();
    let shown = c
        .call("getAppStoreApp", &p(json!({"app_id": app})), None)
        .await
        .expect("app");
    assert_eq!(shown["allow_multiple_permission_selection"], false);
    let refused = c
        .call("createAccessRequest", &p(json!({})), Some(&body(&length)))
        .await
        .expect_err("one permission per request");
    assert!(
        refused
            .to_string()
            .contains("one permission per request; 2 were given"),
        "{refused}"
    );

    c.call(
        "updateAppStoreAppSettings",
        &p(json!({"app_id": app})),
        Some(&settings(true)),
    )
    .await
    .expect("settings");
    let shown = c
        .call("getAppStoreApp", &p(json!({"app_id": app})), None)
        .await
        .expect("app");
    assert_eq!(shown["allow_multiple_permission_selection"], true);
    let made = c
        .call("createAccessRequest", &p(json!({})), Some(&body(&length)))
        .await
        .expect("two permissions at once");
    // The answer is a list of the requests made (one here).
    assert_eq!(
        made[0]["requestable_permissions"].as_array().map(Vec::len),
        Some(2),
        "{made}"
    );
}
