//! The audit trail: who did what to what, and when, as a hash chain. Each event carries its
//! place in the database's chain (`seq`, in the order events were written) and the hash of
//! the event before it; its own hash covers a canonical form of the event and that link. An
//! event rewritten, deleted or moved in the database no longer fits, and [`Store::verify_audit`]
//! names the first that does not. Appending takes the chain's head under the database's
//! lock, so concurrent writers (replicas too) form one chain. Each event is also queued, in
//! the same transaction, for every notification target that follows `audit` (a SIEM), so
//! none is written without being shipped.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use crate::from_row::from_row;
use crate::{Result, Store, with_pool};

/// Which audit events to show: each given field narrows the page.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilter<'a> {
    /// Actions holding this (any case): `lumos.call`, or `run.` for every run event.
    pub action: Option<&'a str>,
    /// Who did it: any part of the actor, any case.
    pub actor: Option<&'a str>,
    /// What it was done to: any part of the target, any case.
    pub target: Option<&'a str>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Older than this event (its `id`): the next page.
    pub before: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditEvent {
    pub id: i64,
    /// The event's place in the chain (1 is the first; pruning keeps the numbers).
    pub seq: Option<i64>,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    #[schemars(with = "Option<Value>")]
    pub details: Option<Json<Value>>,
    /// The hash of the event before (empty for the first).
    pub prev_hash: Option<String>,
    /// This event's hash: SHA-256 of its canonical form (see [`canonical`]).
    pub hash: Option<String>,
}

from_row!(AuditEvent {
    id,
    seq,
    at,
    actor,
    action,
    target,
    details,
    prev_hash,
    hash
});

/// How often an action was recorded for a target, and when last.
#[derive(Debug, Clone)]
pub struct AuditTally {
    pub action: String,
    pub target: String,
    pub count: i64,
    pub last: Option<DateTime<Utc>>,
}

from_row!(AuditTally {
    action,
    target,
    count,
    last
});

/// Where the chain stands: its last event, and what pruning left as its start.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
    /// Events up to this one were pruned; the chain goes on from its hash.
    pub checkpoint_seq: i64,
    pub checkpoint_hash: String,
}

from_row!(AuditHead {
    seq,
    hash,
    checkpoint_seq,
    checkpoint_hash
});

/// What checking the chain found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditCheck {
    /// Events checked.
    pub checked: u64,
    pub head: AuditHead,
    /// The first event that does not fit, and why; none when the chain is whole.
    pub broken: Option<Broken>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Broken {
    /// The place in the chain where it breaks.
    pub seq: i64,
    /// The row's id, when a row is there.
    pub id: Option<i64>,
    pub why: String,
}

/// JSON with every object's keys in order, so the same event hashes the same whatever
/// order a database gives its keys back in.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), sorted(x)))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The canonical form of an event, which its hash covers: one line of JSON with sorted
/// keys, the time in UTC to the microsecond, and the previous event's hash.
pub fn canonical(
    seq: i64,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    target: Option<&str>,
    details: Option<&Value>,
    prev_hash: &str,
) -> String {
    serde_json::json!({
        "seq": seq,
        "at": at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "actor": actor,
        "action": action,
        "target": target,
        "details": details.map(sorted),
        "prev_hash": prev_hash,
    })
    .to_string()
}

const EVENT_COLUMNS: &str = "id, seq, at, actor, action, target, details, prev_hash, hash";

impl Store {
    /// Append to the audit trail: the next link of the chain, queued for the targets that
    /// follow `audit` in the same transaction.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        details: Option<&serde_json::Value>,
    ) -> Result<()> {
        let details = details.map(crate::clean::json);
        let (actor, target) = (crate::clean::text(actor), crate::clean::opt_text(target));
        // Microseconds: what both databases keep, so the hash is over what is read back.
        let at = Utc::now().trunc_subsecs(6);
        with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            // Taking the head is a write: it holds the database's lock (SQLite) or the
            // row's (PostgreSQL) until commit, so links are made one at a time.
            let (seq, prev): (i64, String) = sqlx::query_as(
                "UPDATE audit_chain SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash",
            )
            .fetch_one(&mut *tx).await?;
            let line = canonical(seq, at, &actor, action, target.as_deref(), details.as_deref(), &prev);
            let hash = crate::workflows::content_hash(&line);
            sqlx::query(
                "INSERT INTO audit_events (at, actor, action, target, details, seq, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(at).bind(actor.as_ref()).bind(action).bind(target.as_deref())
            .bind(details.as_ref().map(|d| Json(d.as_ref())))
            .bind(seq).bind(&prev).bind(&hash)
            .execute(&mut *tx).await?;
            sqlx::query("UPDATE audit_chain SET hash = $1 WHERE id = 1")
                .bind(&hash).execute(&mut *tx).await?;
            let body = serde_json::json!({
                "event": "audit",
                "delivery_id": format!("audit-{seq}"),
                "audit": {"seq": seq, "at": at, "actor": actor.as_ref(), "action": action,
                          "target": target.as_deref(), "details": details.as_deref(),
                          "prev_hash": prev, "hash": hash},
            })
            .to_string();
            sqlx::query(
                "INSERT INTO notification_deliveries (target_id, event, run_id, body, status, attempts, next_at, created_at) \
                 SELECT id, 'audit', NULL, $1, 'pending', 0, $2, $2 FROM notification_targets \
                 WHERE (',' || events || ',') LIKE '%,audit,%'",
            )
            .bind(&body).bind(at)
            .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Newest first; `action` filters by action (e.g. `lumos.call`).
    pub async fn audit_events(&self, action: Option<&str>, limit: i64) -> Result<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE ($1 IS NULL OR action = $1) \
             ORDER BY id DESC LIMIT $2"
        );
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, AuditEvent>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(action).bind(limit).fetch_all(p).await)?,
        )
    }

    /// A page of the audit trail, newest first, narrowed by `f`.
    pub async fn audit_page(&self, f: &AuditFilter<'_>) -> Result<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE ($1 IS NULL OR LOWER(action) LIKE $1 ESCAPE '\\') \
             AND ($2 IS NULL OR LOWER(actor) LIKE $2 ESCAPE '\\') \
             AND ($3 IS NULL OR LOWER(COALESCE(target, '')) LIKE $3 ESCAPE '\\') \
             AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) AND ($6 IS NULL OR id < $6) \
             ORDER BY id DESC LIMIT $7"
        );
        let part = |s: Option<&str>| s.map(|s| crate::clean::contains(&s.to_lowercase()));
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, AuditEvent>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(part(f.action)).bind(part(f.actor)).bind(part(f.target)).bind(f.since).bind(f.until)
            .bind(f.before).bind(f.limit).fetch_all(p).await)?,
        )
    }

    /// How often each of `actions` was recorded for each target, and when last, in one read:
    /// the schedules' skips and misses for `schedules list`.
    pub async fn audit_tally(&self, actions: &[&str]) -> Result<Vec<AuditTally>> {
        let mut out = Vec::new();
        for action in actions {
            let rows: Vec<AuditTally> = with_pool!(&self.pool, p => sqlx::query_as(
                "SELECT action, target, COUNT(*) AS count, MAX(at) AS last FROM audit_events \
                 WHERE action = $1 AND target IS NOT NULL GROUP BY action, target",
            ).bind(action).fetch_all(p).await)?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Events in chain order after `after_seq`, from `since` on: for export and checking.
    pub async fn audit_after(
        &self,
        after_seq: i64,
        since: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > $1 AND ($2 IS NULL OR at >= $2) \
             ORDER BY seq LIMIT $3"
        );
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, AuditEvent>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(after_seq).bind(since).bind(limit).fetch_all(p).await)?,
        )
    }

    pub async fn audit_head(&self) -> Result<AuditHead> {
        Ok(with_pool!(&self.pool, p => sqlx::query_as::<_, AuditHead>(
            "SELECT seq, hash, checkpoint_seq, checkpoint_hash FROM audit_chain WHERE id = 1",
        ).fetch_one(p).await)?)
    }

    /// Walk the chain from its checkpoint to its head and name the first event that does
    /// not fit: one missing (deleted), one whose link to the one before is wrong (moved,
    /// or the one before was rewritten), one whose content does not give its hash
    /// (rewritten), or events missing after the last one (deleted at the end).
    pub async fn verify_audit(&self) -> Result<AuditCheck> {
        let head = self.audit_head().await?;
        let mut expect_seq = head.checkpoint_seq + 1;
        let mut expect_prev = head.checkpoint_hash.clone();
        let mut checked = 0u64;
        let broken = |seq: i64, id: Option<i64>, why: String| Some(Broken { seq, id, why });
        loop {
            let batch = self.audit_after(expect_seq - 1, None, 1000).await?;
            if batch.is_empty() {
                break;
            }
            for e in &batch {
                let seq = e.seq.unwrap_or_default();
                if seq != expect_seq {
                    return Ok(AuditCheck {
                        checked,
                        head,
                        broken: broken(
                            expect_seq,
                            None,
                            format!(
                                "event {expect_seq} is missing (deleted); the chain goes on at event {seq}"
                            ),
                        ),
                    });
                }
                let prev = e.prev_hash.clone().unwrap_or_default();
                if prev != expect_prev {
                    return Ok(AuditCheck {
                        checked,
                        head,
                        broken: broken(
                            seq,
                            Some(e.id),
                            format!(
                                "event {seq} does not follow event {}: the hash it names as the one before is not that event's (moved, or the one before was rewritten)",
                                seq - 1
                            ),
                        ),
                    });
                }
                let line = canonical(
                    seq,
                    e.at,
                    &e.actor,
                    &e.action,
                    e.target.as_deref(),
                    e.details.as_ref().map(|d| &d.0),
                    &prev,
                );
                let hash = crate::workflows::content_hash(&line);
                if Some(&hash) != e.hash.as_ref() {
                    return Ok(AuditCheck {
                        checked,
                        head,
                        broken: broken(
                            seq,
                            Some(e.id),
                            format!(
                                "event {seq} was changed after it was written: its content does not give its hash"
                            ),
                        ),
                    });
                }
                checked += 1;
                expect_seq += 1;
                expect_prev = hash;
            }
        }
        let last = expect_seq - 1;
        let broken = if last != head.seq || expect_prev != head.hash {
            broken(
                last + 1,
                None,
                format!(
                    "the chain ends at event {last}, but {} were written: the events after {last} were deleted",
                    head.seq
                ),
            )
        } else {
            None
        };
        Ok(AuditCheck {
            checked,
            head,
            broken,
        })
    }

    /// Delete the events written before `before`, leaving a checkpoint (the last deleted
    /// event's place and hash) from which what remains still verifies. How many went.
    pub async fn prune_audit(&self, before: DateTime<Utc>) -> Result<u64> {
        let n = with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            // The head first: the lock, so no event is appended meanwhile.
            sqlx::query("UPDATE audit_chain SET seq = seq WHERE id = 1").execute(&mut *tx).await?;
            let last: Option<(i64, Option<String>)> = sqlx::query_as(
                "SELECT seq, hash FROM audit_events WHERE seq IS NOT NULL AND at < $1 ORDER BY seq DESC LIMIT 1",
            ).bind(before).fetch_optional(&mut *tx).await?;
            let Some((seq, hash)) = last else {
                return Ok(0);
            };
            let n = sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
                .bind(seq).execute(&mut *tx).await?.rows_affected();
            sqlx::query("UPDATE audit_chain SET checkpoint_seq = $1, checkpoint_hash = $2 WHERE id = 1")
                .bind(seq).bind(hash.unwrap_or_default()).execute(&mut *tx).await?;
            tx.commit().await?;
            n
        });
        Ok(n)
    }

    /// Link events written before the chain existed (in the order they were written), once,
    /// at open.
    pub(crate) async fn chain_old_audit_events(&self) -> Result<()> {
        // Only the first open after the chain came has work; every other open reads one row.
        let unchained: Option<(i64,)> = with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT id FROM audit_events WHERE seq IS NULL LIMIT 1",
        ).fetch_optional(p).await)?;
        if unchained.is_none() {
            return Ok(());
        }
        with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let unchained: Vec<(i64,)> = sqlx::query_as(
                "SELECT id FROM audit_events WHERE seq IS NULL ORDER BY id LIMIT 1",
            ).fetch_all(&mut *tx).await?;
            if unchained.is_empty() {
                return Ok(());
            }
            let (mut seq, mut prev): (i64, String) = sqlx::query_as(
                "UPDATE audit_chain SET seq = seq WHERE id = 1 RETURNING seq, hash",
            ).fetch_one(&mut *tx).await?;
            let sql = format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq IS NULL ORDER BY id");
            let rows: Vec<AuditEvent> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .fetch_all(&mut *tx).await?;
            for AuditEvent { id, at, actor, action, target, details, .. } in rows {
                seq += 1;
                let at = at.trunc_subsecs(6);
                let line = canonical(seq, at, &actor, &action, target.as_deref(), details.as_ref().map(|d| &d.0), &prev);
                let hash = crate::workflows::content_hash(&line);
                sqlx::query("UPDATE audit_events SET seq = $2, prev_hash = $3, hash = $4, at = $5 WHERE id = $1")
                    .bind(id).bind(seq).bind(&prev).bind(&hash).bind(at)
                    .execute(&mut *tx).await?;
                prev = hash;
            }
            sqlx::query("UPDATE audit_chain SET seq = $1, hash = $2 WHERE id = 1")
                .bind(seq).bind(&prev).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
