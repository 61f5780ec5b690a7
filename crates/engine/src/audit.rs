//! The audit trail: who did what to what, kept as a hash chain in the database beside the
//! runs (see the store), checked on demand, exported for auditors and streamed to a SIEM.

use std::io::Write;

use serde_json::Value;
use store::{AuditCheck, AuditEvent};
use workflow_lang::Role;

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFormat {
    /// One JSON object per line, every field (the chain's too).
    Ndjson,
    /// A header, then a row per event; details as JSON; cells a spreadsheet would run as
    /// a formula defused.
    Csv,
}

impl std::str::FromStr for AuditFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "ndjson" => Ok(AuditFormat::Ndjson),
            "csv" => Ok(AuditFormat::Csv),
            other => Err(format!("unknown format '{other}' (ndjson, csv)")),
        }
    }
}

/// A time an auditor writes: RFC 3339, or a date (its start, UTC).
pub fn parse_since(s: &str) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("'{s}' is neither a date (YYYY-MM-DD) nor an RFC 3339 time"))
}

/// The end of a span an auditor writes: a time as given, a date through its last second.
pub fn parse_until(s: &str) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    let t = parse_since(s)?;
    Ok(
        if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
            t + chrono::Duration::days(1)
        } else {
            t
        },
    )
}

impl Engine {
    /// Append to the audit trail. A failure to write is logged, never hides the action's
    /// own outcome.
    pub async fn audit(&self, actor: &Actor, action: &str, target: &str, details: Option<Value>) {
        if let Err(e) = self
            .store
            .audit(&actor.label, action, Some(target), details.as_ref())
            .await
        {
            tracing::warn!(error = %e, action, "could not write an audit event");
        }
    }

    /// Whether `by` may read, check and export the audit trail: admins, and people with the
    /// auditor grant (through SSO or a key of their own, never a key scoped to workflows).
    pub async fn may_read_audit(&self, by: &Actor) -> Result<bool> {
        if by.may(Role::Admin) {
            return Ok(true);
        }
        let (Some(p), None) = (&by.person, &by.scope.workflows) else {
            return Ok(false);
        };
        Ok(self
            .store
            .person_by_email(&p.email)
            .await?
            .is_some_and(|p| p.auditor && p.status == store::PersonStatus::Active))
    }

    async fn need_audit(&self, by: &Actor, what: &str) -> Result<()> {
        if self.may_read_audit(by).await? {
            return Ok(());
        }
        Err(EngineError::Forbidden(format!(
            "{what} needs the admin role or the auditor grant (an admin gives it: lumosflow people set-auditor EMAIL yes); {} has neither",
            by.label
        )))
    }

    /// A page of the audit trail as `by` may read it, newest first.
    pub async fn audit_page(
        &self,
        by: &Actor,
        f: &store::AuditFilter<'_>,
    ) -> Result<Vec<AuditEvent>> {
        self.need_audit(by, "reading the audit trail").await?;
        let f = store::AuditFilter {
            limit: f.limit.clamp(1, 1000),
            ..*f
        };
        Ok(self.store.audit_page(&f).await?)
    }

    /// The audit trail, newest first, one action exactly, unchecked: for tests. (People and
    /// the CLI read it through `audit_page`.)
    pub async fn audit_events(&self, action: Option<&str>, limit: i64) -> Result<Vec<AuditEvent>> {
        Ok(self
            .store
            .audit_events(action, limit.clamp(1, 1000))
            .await?)
    }

    /// Check the whole chain; the first event that does not fit, if any.
    pub async fn verify_audit(&self, by: &Actor) -> Result<AuditCheck> {
        self.need_audit(by, "checking the audit trail").await?;
        Ok(self.store.verify_audit().await?)
    }

    /// Write every event from `since` on, in the order written, to `out`; how many.
    pub async fn export_audit<W: Write>(
        &self,
        by: &Actor,
        since: Option<chrono::DateTime<chrono::Utc>>,
        format: AuditFormat,
        out: &mut W,
    ) -> Result<u64> {
        self.need_audit(by, "exporting the audit trail").await?;
        let fail = |e: &dyn std::fmt::Display| {
            EngineError::Conflict(format!("cannot write the export: {e}"))
        };
        enum Sink<'a, W: Write> {
            Csv(Box<csv::Writer<&'a mut W>>),
            Ndjson(&'a mut W),
        }
        let mut sink = match format {
            AuditFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record([
                    "seq",
                    "at",
                    "actor",
                    "action",
                    "target",
                    "details",
                    "prev_hash",
                    "hash",
                ])
                .map_err(|e| fail(&e))?;
                Sink::Csv(Box::new(w))
            }
            AuditFormat::Ndjson => Sink::Ndjson(out),
        };
        let mut after = 0;
        let mut n = 0u64;
        let mut lines = Vec::new();
        loop {
            let batch = self.store.audit_after(after, since, 1000).await?;
            let Some(last) = batch.last() else { break };
            after = last.seq.unwrap_or(after + 1);
            for e in batch {
                n += 1;
                match &mut sink {
                    Sink::Ndjson(_) => {
                        serde_json::to_writer(&mut lines, &e).map_err(|e| fail(&e))?;
                        lines.push(b'\n');
                    }
                    Sink::Csv(w) => {
                        let cell = crate::output::defuse_cell;
                        w.write_record([
                            e.seq.map(|s| s.to_string()).unwrap_or_default(),
                            e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                            cell(&e.actor),
                            cell(&e.action),
                            cell(e.target.as_deref().unwrap_or_default()),
                            e.details
                                .as_ref()
                                .map(|d| cell(&d.0.to_string()))
                                .unwrap_or_default(),
                            e.prev_hash.unwrap_or_default(),
                            e.hash.unwrap_or_default(),
                        ])
                        .map_err(|e| fail(&e))?;
                    }
                }
            }
            if let Sink::Ndjson(out) = &mut sink {
                out.write_all(&lines).map_err(|e| fail(&e))?;
                lines.clear();
            }
        }
        match &mut sink {
            Sink::Csv(w) => w.flush().map_err(|e| fail(&e))?,
            Sink::Ndjson(out) => out.flush().map_err(|e| fail(&e))?,
        }
        Ok(n)
    }

    /// Delete the events written before `before`, leaving a checkpoint so what remains
    /// still verifies; the pruning is itself an event.
    pub async fn prune_audit(
        &self,
        by: &Actor,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64> {
        crate::access::need(by, Role::Admin, "pruning the audit trail")?;
        if before > chrono::Utc::now() {
            return Err(EngineError::Inputs(vec![format!(
                "{before} is in the future: pruning deletes events written before a time that has passed"
            )]));
        }
        // Never over a broken chain: pruning would hide where it breaks.
        if let Some(b) = self.store.verify_audit().await?.broken {
            return Err(EngineError::Conflict(format!(
                "the audit trail is broken at event {}: {}; pruning would hide it (export it and look into it first)",
                b.seq, b.why
            )));
        }
        let n = self.store.prune_audit(before).await?;
        self.audit(
            by,
            "audit.prune",
            "audit",
            Some(serde_json::json!({"before": before, "deleted": n})),
        )
        .await;
        Ok(n)
    }
}
