//! People over the API: keys that belong to someone, runs that say who asked and for whom,
//! the audit trail naming people, admins managing people and sessions.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::Role::{self, Admin, Agent, Viewer};
use testkit::{Db, both};

use crate::Env;

/// A request with a raw key.
async fn with_key(
    env: &Env,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = env
        .http
        .request(method, format!("{}{path}", env.server.base_url))
        .bearer_auth(key);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn keys_belong_to_people_and_runs_say_who(db: Db) {
    let env = Env::new(db).await;
    env.connect().await;
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/workflows/install",
            Some(json!({"all": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let engine = &env.server.engine;
    let op = engine::Actor::operator();

    // A key for someone new creates them with the key's role.
    let ann_key = engine
        .create_owned_key("ann-laptop", Admin, Some("Ann@Example-Corp.com"), &op)
        .await
        .expect("key");
    let ann = engine.person("ann@example-corp.com").await.expect("ann");
    assert_eq!(
        (ann.email.as_str(), ann.role.as_str()),
        ("Ann@Example-Corp.com", "admin")
    );
    // A key never has more than its owner's role.
    engine
        .create_owned_key("dan-bot", Agent, Some("dan@example-corp.com"), &op)
        .await
        .expect("dan");
    let err = engine
        .create_owned_key("dan-admin", Admin, Some("dan@example-corp.com"), &op)
        .await
        .expect_err("above the owner");
    assert!(err.to_string().contains("has the agent role"), "{err}");
    let err = engine
        .create_owned_key("x", Agent, Some("not-an-email"), &op)
        .await
        .expect_err("bad email");
    assert!(err.to_string().contains("invalid email"), "{err}");

    // Runs record the person behind the key and whom they act for; lists filter by both.
    let (s, run) = with_key(
        &env,
        &ann_key,
        Method::POST,
        "/api/v1/workflows/list-lumos-users/runs?wait=true",
        Some(json!({"inputs": {"search": "ann"}, "requested_for": "zoe@example-corp.com"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{run}");
    assert_eq!(run["requested_by"], "Ann@Example-Corp.com");
    assert_eq!(run["requested_for"], "zoe@example-corp.com");
    let (s, v) = env
        .run(
            Agent,
            "list-lumos-users",
            Some(json!({"requested_for": "no email"})),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("requested_for"), "{v}");
    let (_, runs) = env
        .call(
            Some(Viewer),
            Method::GET,
            "/api/v1/runs?requested_for=ZOE@example-corp.com",
            None,
        )
        .await;
    let runs = runs.as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["id"], run["id"]);
    // Something audited, done as Ann through her key: she signs in to the console.
    engine
        .sign_in_with_key(&ann_key)
        .await
        .expect("sign in")
        .expect("live key");
    let audit = engine
        .audit_events(Some("session.create"), 50)
        .await
        .expect("audit");
    assert!(
        audit.iter().any(|e| e.actor == "Ann@Example-Corp.com"),
        "the audit trail names the person"
    );

    // Lowering the owner's role lowers the key at once.
    let (s, v) = env
        .call(
            Some(Admin),
            Method::PUT,
            "/api/v1/people/ann@example-corp.com/role",
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(
        (s, v["role"].as_str()),
        (StatusCode::OK, Some("viewer")),
        "{v}"
    );
    let (s, _) = with_key(&env, &ann_key, Method::GET, "/api/v1/connections", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = with_key(&env, &ann_key, Method::GET, "/api/v1/runs", None).await;
    assert_eq!(s, StatusCode::OK);

    // Deactivating revokes their keys; they cannot get a new one.
    let (s, v) = env
        .call(
            Some(Admin),
            Method::POST,
            "/api/v1/people/ann@example-corp.com/deactivate",
            None,
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("deactivated")),
        "{v}"
    );
    let (s, _) = with_key(&env, &ann_key, Method::GET, "/api/v1/runs", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        engine
            .create_owned_key("ann-2", Viewer, Some("ann@example-corp.com"), &op)
            .await
            .is_err()
    );

    // Bad input at the door: clear 4xx, nothing changed.
    for (method, path, body, want) in [
        (
            Method::PUT,
            "/api/v1/people/nobody@example-corp.com/role",
            json!({"role": "agent"}),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            "/api/v1/people/dan@example-corp.com/role",
            json!({"role": "root"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/sessions/zzzz/revoke",
            json!({}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (s, v) = env.call(Some(Admin), method, path, Some(body)).await;
        assert_eq!(s, want, "{path}: {v}");
    }
    assert_eq!(
        engine
            .person("dan@example-corp.com")
            .await
            .expect("dan")
            .role,
        "agent"
    );
    // Only admins see people.
    let (s, _) = env
        .call(Some(Agent), Method::GET, "/api/v1/people", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, people) = env
        .call(Some(Admin), Method::GET, "/api/v1/people", None)
        .await;
    assert_eq!(people.as_array().map(Vec::len), Some(2), "{people}");
    env.stop().await;
}
both!(
    keys_belong_to_people_and_runs_say_who,
    keys_belong_to_people_and_runs_say_who
);

async fn admins_list_and_end_sessions_and_nobody_approves_for_themselves(db: Db) {
    let env = Env::new(db).await;
    env.connect().await;
    let engine = &env.server.engine;
    let op = engine::Actor::operator();
    let key = engine
        .create_owned_key("eve-key", Admin, Some("eve@example-corp.com"), &op)
        .await
        .expect("key");
    let (secret, _) = engine
        .sign_in_with_key(&key)
        .await
        .expect("sign in")
        .expect("live key");
    let (_, sessions) = env
        .call(Some(Admin), Method::GET, "/api/v1/sessions", None)
        .await;
    let list = sessions.as_array().expect("sessions");
    assert_eq!(list.len(), 1, "{sessions}");
    assert_eq!(list[0]["email"], "eve@example-corp.com");
    assert!(!sessions.to_string().contains(&secret), "never the secret");
    let id = list[0]["id"].as_str().expect("id").to_owned();
    let (s, _) = env
        .call(
            Some(Admin),
            Method::POST,
            &format!("/api/v1/sessions/{id}/revoke"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(engine.session(&secret).await.expect("session").is_none());

    // Eve's run, asked through her key, cannot be approved by Eve through SSO either.
    engine
        .create(
            "id: gated\nname: Gated\napproval: Check first\nsteps:\n  - id: t\n    transform: \"{{ 1 }}\"\n",
            &op,
        )
        .await
        .expect("create");
    let (s, run) = with_key(
        &env,
        &key,
        Method::POST,
        "/api/v1/workflows/gated/runs",
        None,
    )
    .await;
    assert_eq!(
        (s, run["status"].as_str()),
        (StatusCode::ACCEPTED, Some("pending_approval")),
        "{run}"
    );
    let (_, eve) = engine
        .sign_in_person(
            "EVE@example-corp.com",
            Some("Eve"),
            server::Role::Admin,
            "test",
        )
        .await
        .expect("sso");
    let err = engine
        .approve(
            run["id"].as_str().expect("id"),
            &eve,
            None,
            engine::ApproveThen::Queue,
        )
        .await
        .expect_err("own run");
    assert!(err.to_string().contains("cannot decide on it"), "{err}");
    env.stop().await;
}
both!(
    admins_list_and_end_sessions_and_nobody_approves_for_themselves,
    admins_list_and_end_sessions_and_nobody_approves_for_themselves
);

/// Keys over the API: created by an admin and shown once, listed by their first
/// characters only, acting as their owner, and dead the moment they are revoked.
async fn keys_through_the_api(db: Db) {
    let env = Env::new(db).await;
    let (s, created) = env
        .call(
            Some(Role::Admin),
            Method::POST,
            "/api/v1/keys",
            Some(json!({"name": "desk-laptop", "role": "agent", "owner": "Desk.Person@example-corp.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().expect("key").to_owned();
    assert!(key.starts_with("lfk_"));
    let (s, bad) = env
        .call(
            Some(Role::Admin),
            Method::POST,
            "/api/v1/keys",
            Some(json!({"name": "x", "role": "emperor"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    let (s, _) = env
        .call(Some(Role::Builder), Method::GET, "/api/v1/keys", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "keys are for admins");
    let (_, list) = env
        .call(Some(Role::Admin), Method::GET, "/api/v1/keys", None)
        .await;
    assert!(
        !list.to_string().contains(&key),
        "a key is never listed whole"
    );
    let row = list
        .as_array()
        .expect("list")
        .iter()
        .find(|k| k["name"] == "desk-laptop")
        .expect("listed")
        .clone();
    assert_eq!(row["owner"], "Desk.Person@example-corp.com");
    let me = |k: String| {
        let http = env.http.clone();
        let url = format!("{}/api/v1/runs", env.server.base_url);
        async move {
            http.get(url)
                .bearer_auth(k)
                .send()
                .await
                .expect("get")
                .status()
        }
    };
    assert_eq!(me(key.clone()).await, StatusCode::OK);
    let (s, _) = env
        .call(
            Some(Role::Admin),
            Method::POST,
            "/api/v1/keys/desk-laptop/revoke",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(me(key).await, StatusCode::UNAUTHORIZED);
    let (s, v) = env
        .call(
            Some(Role::Admin),
            Method::POST,
            "/api/v1/keys/no-such-key/revoke",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    env.stop().await;
}
both!(keys_api, keys_through_the_api);

/// An auditor reads, checks and exports the audit trail without being an admin; the grant
/// is an admin's to give, is itself audited, and goes when it is taken back. Filters narrow
/// the trail by who, what, about what and when.
async fn auditors_read_the_trail_without_being_admins(db: Db) {
    let env = Env::new(db).await;
    env.connect().await;
    let engine = &env.server.engine;
    let op = engine::Actor::operator();
    let ida = engine
        .create_owned_key(
            "ida-laptop",
            Viewer,
            Some("ida.audit@example-corp.com"),
            &op,
        )
        .await
        .expect("key");
    let desk = engine
        .create_owned_key("desk", Agent, Some("desk@example-corp.com"), &op)
        .await
        .expect("key");

    // A viewer without the grant: refused everywhere, with what would let them in.
    for path in [
        "/api/v1/audit",
        "/api/v1/audit/verify",
        "/api/v1/audit/export?format=csv",
    ] {
        let (s, v) = with_key(&env, &ida, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("auditor grant"),
            "{v}"
        );
    }
    // Only an admin gives it, and nobody can give it to someone unknown.
    let (s, _) = with_key(
        &env,
        &desk,
        Method::PUT,
        "/api/v1/people/ida.audit@example-corp.com/auditor",
        Some(json!({"auditor": true})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = env
        .call(
            Some(Admin),
            Method::PUT,
            "/api/v1/people/nobody@example-corp.com/auditor",
            Some(json!({"auditor": true})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = env
        .call(
            Some(Admin),
            Method::PUT,
            "/api/v1/people/ida.audit@example-corp.com/auditor",
            Some(json!({"auditor": "yes"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "not a boolean: {v}");
    let (s, p) = env
        .call(
            Some(Admin),
            Method::PUT,
            "/api/v1/people/ida.audit@example-corp.com/auditor",
            Some(json!({"auditor": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["auditor"], true);
    assert_eq!(p["role"], "viewer", "the grant is not a role");

    // Now she reads the trail, filtered.
    let (s, all) = with_key(&env, &ida, Method::GET, "/api/v1/audit?limit=1000", None).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    let all = all.as_array().expect("events").clone();
    assert!(
        all.iter()
            .any(|e| e["action"] == "person.auditor" && e["target"] == "ida.audit@example-corp.com"),
        "the grant is in the trail"
    );
    // Who gave it: found by part of their name, in any case.
    let giver = all
        .iter()
        .find(|e| e["action"] == "person.auditor")
        .and_then(|e| e["actor"].as_str())
        .expect("who gave the grant")
        .to_owned();
    let part = giver[1..giver.len() - 1].to_uppercase();
    let (_, theirs) = with_key(
        &env,
        &ida,
        Method::GET,
        &format!("/api/v1/audit?limit=1000&actor={part}"),
        None,
    )
    .await;
    let theirs = theirs.as_array().expect("events");
    assert!(!theirs.is_empty(), "the giver's own events");
    assert!(
        theirs.iter().all(|e| e["actor"] == giver.as_str()),
        "{theirs:?}"
    );
    assert!(theirs.len() < all.len(), "others' events are left out");
    let (_, about) = with_key(
        &env,
        &ida,
        Method::GET,
        "/api/v1/audit?target=ida.audit",
        None,
    )
    .await;
    let about = about.as_array().expect("events");
    assert!(about.iter().all(|e| {
        e["target"]
            .as_str()
            .is_some_and(|t| t.contains("ida.audit"))
    }));
    assert!(!about.is_empty());
    let (_, none) = with_key(
        &env,
        &ida,
        Method::GET,
        "/api/v1/audit?until=2000-01-01",
        None,
    )
    .await;
    assert_eq!(none, json!([]));
    let (_, today) = with_key(
        &env,
        &ida,
        Method::GET,
        &format!(
            "/api/v1/audit?limit=1000&since={}",
            chrono::Utc::now().format("%Y-%m-%d")
        ),
        None,
    )
    .await;
    assert_eq!(today.as_array().map(Vec::len), Some(all.len()));
    // Paging: the next page starts below the last event shown.
    let (_, first) = with_key(&env, &ida, Method::GET, "/api/v1/audit?limit=2", None).await;
    let last = first[1]["id"].as_i64().expect("id");
    let (_, next) = with_key(
        &env,
        &ida,
        Method::GET,
        &format!("/api/v1/audit?limit=2&before={last}"),
        None,
    )
    .await;
    assert_eq!(next[0]["id"], all[2]["id"]);
    let (s, v) = with_key(
        &env,
        &ida,
        Method::GET,
        "/api/v1/audit?since=yesterday",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // Checks the chain and exports it whole, in chain order.
    let (s, check) = with_key(&env, &ida, Method::GET, "/api/v1/audit/verify", None).await;
    assert_eq!(s, StatusCode::OK, "{check}");
    assert_eq!(check["broken"], Value::Null);
    let resp = env
        .http
        .get(format!(
            "{}/api/v1/audit/export?format=ndjson",
            env.server.base_url
        ))
        .bearer_auth(&ida)
        .send()
        .await
        .expect("export");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/x-ndjson",
        "{:?}",
        resp.headers()
    );
    let text = resp.text().await.expect("body");
    let seqs: Vec<i64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("a JSON line")["seq"]
                .as_i64()
                .expect("seq")
        })
        .collect();
    assert!(
        seqs.len() >= all.len(),
        "every event: {} of {}",
        seqs.len(),
        all.len()
    );
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in chain order");
    let (s, v) = with_key(
        &env,
        &ida,
        Method::GET,
        "/api/v1/audit/export?format=xml",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // Taken back: refused again at once.
    let (s, _) = env
        .call(
            Some(Admin),
            Method::PUT,
            "/api/v1/people/ida.audit@example-corp.com/auditor",
            Some(json!({"auditor": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = with_key(&env, &ida, Method::GET, "/api/v1/audit", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    env.stop().await;
}
both!(auditors, auditors_read_the_trail_without_being_admins);
