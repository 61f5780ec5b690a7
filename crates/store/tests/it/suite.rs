use store::{NewConnection, Store, StoreError, generate_key_base64};

use testkit::{Db, both};

use crate::env_key;

const TOKEN: &str = "lsk_live_very_secret_token_value_9876";

fn new_conn<'a>(name: &'a str, token: &'a str) -> NewConnection<'a> {
    NewConnection {
        name,
        base_url: "https://api.lumos.com",
        token,
        token_hint: "lsk_…9876",
        lumos_user_id: "u-1",
        lumos_user_email: Some("ann@example.com"),
    }
}

async fn round_trip(db: Db) {
    let store = db.open().await;
    assert!(store.connections().await.expect("list").is_empty());
    let saved = store
        .save_connection(&new_conn("default", TOKEN))
        .await
        .expect("save");
    assert_eq!(saved.token_hint, "lsk_…9876");
    assert_eq!(saved.last_check_status.as_deref(), Some("ok"));
    assert_eq!(
        store
            .connection_token("default")
            .await
            .expect("token")
            .as_str(),
        TOKEN
    );
    // Reconnecting replaces the token and keeps the id.
    let again = store
        .save_connection(&new_conn("default", "lsk_second_token_value_0000"))
        .await
        .expect("save");
    assert_eq!(again.id, saved.id);
    assert_eq!(
        store
            .connection_token("default")
            .await
            .expect("token")
            .as_str(),
        "lsk_second_token_value_0000"
    );
    store
        .record_check("default", "unauthorized", None)
        .await
        .expect("check");
    let listed = store.connections().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_check_status.as_deref(), Some("unauthorized"));
    assert!(format!("{listed:?}").contains("lsk_…9876"));
    assert!(store.remove_connection("default").await.expect("remove"));
    assert!(
        !store
            .remove_connection("default")
            .await
            .expect("remove again")
    );
    assert!(matches!(
        store.connection_token("default").await,
        Err(StoreError::NotFound(_))
    ));
}
both!(connections_round_trip, round_trip);

async fn token_never_in_plain_text(db: Db) {
    let store = db.open().await;
    store
        .save_connection(&new_conn("default", TOKEN))
        .await
        .expect("save");
    if db.is_sqlite() {
        store.close().await;
        let files: Vec<_> = db
            .sqlite_files()
            .into_iter()
            .filter(|f| f.exists())
            .collect();
        assert!(
            files.iter().any(|f| f.ends_with("lumosflow.db")),
            "the database file itself is searched"
        );
        for f in files {
            if let Ok(bytes) = std::fs::read(&f) {
                assert!(
                    !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                    "token found in {}",
                    f.display()
                );
                assert!(
                    !bytes.windows(12).any(|w| w == &TOKEN.as_bytes()[4..16]),
                    "token fragment in {}",
                    f.display()
                );
            }
        }
    } else {
        let text: Vec<(String,)> = sqlx::query_as("SELECT row_to_json(c)::text FROM connections c")
            .fetch_all(
                &mut <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
                    .await
                    .expect("pg"),
            )
            .await
            .expect("rows");
        assert!(
            text.iter()
                .all(|(row,)| !row.contains(TOKEN) && !row.contains(&TOKEN[4..16])),
            "{text:?}"
        );
    }
}
both!(token_never_in_plain_text, token_never_in_plain_text);

async fn wrong_or_missing_key_is_a_clear_error(db: Db) {
    let key = generate_key_base64();
    let store = Store::open(&db.url, env_key(&key)).await.expect("open");
    store
        .save_connection(&new_conn("default", TOKEN))
        .await
        .expect("save");
    store.close().await;
    let err = Store::open(&db.url, env_key(&generate_key_base64()))
        .await
        .expect_err("wrong key");
    assert!(err.to_string().contains("wrong master key"), "{err}");
    // A key file that does not exist must not be created silently over sealed secrets.
    let err = Store::open(&db.url, db.key_file())
        .await
        .expect_err("missing key file");
    assert!(err.to_string().contains("is missing"), "{err}");
    assert!(!db.dir.path().join("master.key").exists());
    let err = Store::open(&db.url, env_key("not base64!"))
        .await
        .expect_err("garbage key");
    assert!(err.to_string().contains("not valid base64"), "{err}");
    let again = Store::open(&db.url, env_key(&key))
        .await
        .expect("right key");
    assert_eq!(
        again
            .connection_token("default")
            .await
            .expect("token")
            .as_str(),
        TOKEN
    );
}
both!(
    wrong_or_missing_key_is_a_clear_error,
    wrong_or_missing_key_is_a_clear_error
);

async fn key_file_is_private(db: Db) {
    let _store = db.open().await;
    let path = db.dir.path().join("master.key");
    let meta = std::fs::metadata(&path).expect("key file created");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let _ = meta;
    // Reopening reuses the same key.
    let store = db.open().await;
    store
        .save_connection(&new_conn("x", TOKEN))
        .await
        .expect("save");
    assert_eq!(
        db.open()
            .await
            .connection_token("x")
            .await
            .expect("token")
            .as_str(),
        TOKEN
    );
}
both!(key_file_is_private, key_file_is_private);

async fn concurrent_connects_leave_one_consistent_record(db: Db) {
    let store = std::sync::Arc::new(db.open().await);
    let tokens: Vec<String> = (0..8)
        .map(|i| format!("lsk_concurrent_token_{i:04}"))
        .collect();
    let mut handles = Vec::new();
    for t in tokens.clone() {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            store
                .save_connection(&new_conn("shared", &t))
                .await
                .map(|c| c.id)
        }));
    }
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.expect("join").expect("save"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one id for one name");
    assert_eq!(store.connections().await.expect("list").len(), 1);
    let token = store.connection_token("shared").await.expect("opens");
    assert!(tokens.iter().any(|t| t == token.as_str()));
}
both!(
    concurrent_connects_leave_one_consistent_record,
    concurrent_connects_leave_one_consistent_record
);

async fn migrations_twice_are_a_no_op(db: Db) {
    let store = db.open().await;
    store
        .save_connection(&new_conn("keep", TOKEN))
        .await
        .expect("save");
    store.migrate().await.expect("again");
    store.close().await;
    let reopened = db.open().await;
    reopened.ping().await.expect("ping");
    assert_eq!(reopened.connections().await.expect("list").len(), 1);
}
both!(migrations_twice_are_a_no_op, migrations_twice_are_a_no_op);

/// Sessions end when idle too long or past their lifetime, whoever is behind them, and a
/// pruned table keeps only live ones.
async fn sessions_expire_by_idle_time_and_lifetime(db: Db) {
    let store = db.open().await;
    let person = store
        .person_signed_in("p1", "ann@example-corp.com", Some("Ann"), "admin")
        .await
        .expect("person");
    let idle = chrono::Duration::hours(8);
    store
        .create_session("h-idle", None, Some(&person.id), chrono::Duration::days(7))
        .await
        .expect("session");
    store
        .create_session(
            "h-short",
            None,
            Some(&person.id),
            chrono::Duration::hours(1),
        )
        .await
        .expect("session");
    let now = chrono::Utc::now();
    let live = |h: &'static str, at: chrono::DateTime<chrono::Utc>| {
        let store = &store;
        async move {
            store
                .live_session(h, at, idle)
                .await
                .expect("live")
                .is_some()
        }
    };
    assert!(live("h-idle", now).await && live("h-short", now).await);
    // Two hours on: past the short one's lifetime, well inside the idle time.
    let later = now + chrono::Duration::hours(2);
    assert!(live("h-idle", later).await);
    assert!(!live("h-short", later).await, "past its lifetime");
    // Nine hours after it was last seen: idle too long.
    assert!(
        !live("h-idle", now + chrono::Duration::hours(11)).await,
        "idle too long"
    );
    assert_eq!(
        store
            .prune_sessions(now + chrono::Duration::hours(11), idle)
            .await
            .expect("prune"),
        2
    );
    assert!(store.sessions(now, idle).await.expect("list").is_empty());
}
both!(
    sessions_expire_by_idle_time_and_lifetime,
    sessions_expire_by_idle_time_and_lifetime
);

/// What `/metrics` reads at scrape time answers on both databases.
async fn operator_stats(db: Db) {
    let store = db.open().await;
    let stats = store.operator_stats().await.expect("stats");
    assert_eq!(stats.pending_approvals, 0);
    assert!(stats.oldest_pending_approval.is_none());
    assert!(stats.deliveries.is_empty(), "{:?}", stats.deliveries);
    assert!(stats.database_bytes > 0);
}

both!(operator_stats_answer, operator_stats);
