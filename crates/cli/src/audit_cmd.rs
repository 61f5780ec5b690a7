//! `lumosflow audit`: the audit trail, newest first; `verify` checks its hash chain,
//! `export` writes it for an auditor, `prune` deletes old events leaving a checkpoint.

use std::io::Write;

use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use engine::audit::{AuditFormat, parse_since};

use crate::operator;

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    cmd: Option<AuditCommand>,
    /// Only actions holding this, any case: lumos.call, run.approve, or run. for all of a run's.
    #[arg(long)]
    action: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: i64,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain: every event since the last checkpoint, in order; names the
    /// first one deleted, moved or changed. Exits non-zero when the chain is broken.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Every event (from --since on), in the order written, with its chain hashes.
    Export {
        /// RFC 3339 time or a date (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// ndjson or csv.
        #[arg(long, default_value = "ndjson")]
        format: String,
    },
    /// Delete events written before a time, leaving a checkpoint so the rest still verifies.
    Prune {
        /// RFC 3339 time or a date (YYYY-MM-DD).
        #[arg(long)]
        before: String,
    },
}

pub async fn audit(engine: &engine::Engine, args: AuditArgs) -> anyhow::Result<()> {
    let me = operator::me();
    let mut out = std::io::stdout().lock();
    match args.cmd {
        Some(AuditCommand::Verify { json }) => {
            let check = engine.verify_audit(&me).await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &check)?;
                writeln!(out)?;
            } else {
                match &check.broken {
                    None => writeln!(
                        out,
                        "the audit trail is whole: {} events checked, from event {} to {} (head hash {})",
                        check.checked,
                        check.head.checkpoint_seq + 1,
                        check.head.seq,
                        check.head.hash
                    )?,
                    Some(b) => writeln!(
                        out,
                        "the audit trail is broken at event {}: {}",
                        b.seq, b.why
                    )?,
                }
            }
            if let Some(b) = check.broken {
                anyhow::bail!("the audit trail is broken at event {}", b.seq);
            }
            return Ok(());
        }
        Some(AuditCommand::Export { since, format }) => {
            let format: AuditFormat = format.parse().map_err(anyhow::Error::msg)?;
            let since = since
                .as_deref()
                .map(parse_since)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--since: {e}"))?;
            let n = engine.export_audit(&me, since, format, &mut out).await?;
            eprintln!("{n} audit events exported");
            return Ok(());
        }
        Some(AuditCommand::Prune { before }) => {
            let before = parse_since(&before).map_err(|e| anyhow::anyhow!("--before: {e}"))?;
            let n = engine.prune_audit(&me, before).await?;
            writeln!(
                out,
                "{n} audit events before {before} pruned; the rest verifies from the checkpoint"
            )?;
            return Ok(());
        }
        None => {}
    }
    // The same page the API and the console read, by the same rule.
    let events = engine
        .audit_page(
            &me,
            &engine::AuditFilter {
                action: args.action.as_deref(),
                limit: args.limit,
                ..Default::default()
            },
        )
        .await?;
    if args.json {
        serde_json::to_writer_pretty(&mut out, &events)?;
        writeln!(out)?;
        return Ok(());
    }
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["at", "who", "action", "target", "details"]);
    let mut shortened = false;
    for e in events {
        let details = e.details.map(|d| d.0.to_string()).unwrap_or_default();
        let shown = crate::print::cell_text(details.clone());
        shortened |= shown != details;
        table.add_row([
            e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.actor,
            e.action,
            e.target.unwrap_or_default(),
            shown,
        ]);
    }
    writeln!(out, "{table}")?;
    if shortened {
        writeln!(
            out,
            "details cut short (…): lumosflow audit --json shows them whole"
        )?;
    }
    Ok(())
}
