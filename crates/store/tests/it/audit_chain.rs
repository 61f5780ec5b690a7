//! The audit trail is a hash chain: an event altered, deleted (in the middle or at the end)
//! or moved in the database is named by `verify_audit`, on SQLite and PostgreSQL, and
//! pruning leaves a checkpoint from which the rest still verifies.

use serde_json::json;
use testkit::{Db, both};

/// A store with six events (details with keys out of order, as a database may return them).
async fn six(db: &Db) -> store::Store {
    let s = db.open().await;
    for i in 1..=6 {
        s.audit(
            "ann@example-corp.com",
            "key.create",
            Some(&format!("key-{i}")),
            Some(&json!({"z": i, "a": {"y": [1, 2], "b": "two"}})),
        )
        .await
        .expect("audit");
    }
    let check = s.verify_audit().await.expect("verify");
    assert!(check.broken.is_none(), "{check:?}");
    assert_eq!((check.checked, check.head.seq), (6, 6));
    s
}

async fn broken(s: &store::Store) -> (i64, String) {
    let b = s
        .verify_audit()
        .await
        .expect("verify")
        .broken
        .expect("the chain must be broken");
    (b.seq, b.why)
}

async fn tampering_is_named(db: Db) {
    let s = six(&db).await;
    // Rewritten.
    db.exec("UPDATE audit_events SET actor = 'mallory@example.com' WHERE seq = 3")
        .await;
    let (seq, why) = broken(&s).await;
    assert_eq!(seq, 3, "{why}");
    assert!(why.contains("changed after it was written"), "{why}");
    drop(s);

    let db = db.fresh().await;
    let s = six(&db).await;
    // Deleted in the middle.
    db.exec("DELETE FROM audit_events WHERE seq = 4").await;
    let (seq, why) = broken(&s).await;
    assert_eq!(seq, 4, "{why}");
    assert!(why.contains("missing"), "{why}");
    drop(s);

    let db = db.fresh().await;
    let s = six(&db).await;
    // Deleted at the end.
    db.exec("DELETE FROM audit_events WHERE seq >= 5").await;
    let (seq, why) = broken(&s).await;
    assert_eq!(seq, 5, "{why}");
    assert!(why.contains("were deleted"), "{why}");
    drop(s);

    let db = db.fresh().await;
    let s = six(&db).await;
    // Reordered: events 2 and 4 swap places.
    db.exec(
        "UPDATE audit_events SET seq = -2 WHERE seq = 2; UPDATE audit_events SET seq = 2 WHERE seq = 4; \
         UPDATE audit_events SET seq = 4 WHERE seq = -2;",
    )
    .await;
    let (seq, why) = broken(&s).await;
    assert_eq!(seq, 2, "{why}");
    assert!(why.contains("does not follow"), "{why}");
    drop(s);

    // Pruned: the rest verifies from the checkpoint, and tampering with it is still found.
    let db = db.fresh().await;
    let s = six(&db).await;
    let events = s.audit_after(0, None, 10).await.expect("events");
    let cut = events[3].at; // before event 4
    assert_eq!(s.prune_audit(cut).await.expect("prune"), 3);
    let check = s.verify_audit().await.expect("verify");
    assert!(check.broken.is_none(), "{check:?}");
    assert_eq!((check.checked, check.head.checkpoint_seq), (3, 3));
    db.exec("UPDATE audit_events SET target = 'key-x' WHERE seq = 5")
        .await;
    let (seq, _) = broken(&s).await;
    assert_eq!(seq, 5);
}
both!(tampering_is_named, tampering_is_named);
