//! A backup taken while runs wait never runs them again once restored, and a database written
//! by a newer version is refused in words.

use engine::{Actor, RunRequest, RunStatus};
use serde_json::Map;

use crate::setup;

#[tokio::test]
async fn a_restored_backup_never_replays_its_unfinished_runs() {
    let s = setup().await;
    let done = s
        .engine
        .start("list-lumos-apps", &Map::new(), RunRequest::default())
        .await
        .expect("start");
    let done = s.engine.execute(done).await.expect("run");
    assert_eq!(done.status, RunStatus::Completed);
    let waiting = s
        .engine
        .submit("list-lumos-apps", &Map::new(), RunRequest::default())
        .await
        .expect("queued");
    assert_eq!(waiting.status, RunStatus::Queued);

    let copy = s._db.dir.path().join("backup.db");
    let b = s
        .engine
        .backup(&copy, &Actor::operator())
        .await
        .expect("backup");
    assert_eq!(b.interrupted, 1);
    // The original keeps its queued run; the backup is in its audit trail.
    assert_eq!(
        s.engine
            .run_detail(&waiting.run_id)
            .await
            .expect("detail")
            .run
            .status,
        RunStatus::Queued
    );
    let events = s
        .engine
        .audit_events(Some("database.backup"), 5)
        .await
        .expect("audit");
    assert_eq!(events.len(), 1, "{events:?}");
    // Only the owner reads the copy.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).expect("copy").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    // A second backup never overwrites the first.
    let again = s
        .engine
        .backup(&copy, &Actor::operator())
        .await
        .expect_err("exists");
    assert!(again.to_string().contains("exists already"), "{again}");

    // Restored: the queued run is failed with why, nobody takes it, the finished run is there.
    let restored = std::sync::Arc::new(
        store::Store::open(&copy.display().to_string(), s._db.key_file())
            .await
            .expect("the copy opens"),
    );
    let other = engine::Engine::new(restored.clone());
    assert!(
        other
            .execute_queued(&waiting.run_id)
            .await
            .expect("claim")
            .is_none(),
        "a restored backup does not run its queued run again"
    );
    let run = other.run_detail(&waiting.run_id).await.expect("detail").run;
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.error
            .as_deref()
            .is_some_and(|e| e.contains("interrupted by a restore")),
        "{:?}",
        run.error
    );
    assert_eq!(
        other
            .run_detail(&done.run_id)
            .await
            .expect("detail")
            .run
            .status,
        RunStatus::Completed
    );
    restored.close().await;

    // A newer version migrated the copy: this version refuses it and says which wrote it.
    testkit::sqlite_exec(
        &copy,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', 1, X'00', 0); \
         UPDATE meta SET value = '9.9.9' WHERE key = 'written_by';",
    )
    .await;
    let refused = store::Store::open(&copy.display().to_string(), s._db.key_file())
        .await
        .expect_err("newer database");
    let says = refused.to_string();
    assert!(
        says.contains("written by lumosflow 9.9.9") && says.contains("this is lumosflow"),
        "{says}"
    );
    s.sim.stop().await;
}

#[tokio::test]
async fn postgres_is_backed_up_with_its_own_tools() {
    let Some(db) = testkit::postgres().await else {
        return;
    };
    let store = db.open().await;
    let dest = db.dir.path().join("never.db");
    let refused = store.backup_to(&dest).await.expect_err("postgres");
    assert!(refused.to_string().contains("pg_dump"), "{refused}");
    assert!(!dest.exists(), "nothing written");
}
