//! `lumosflow runs`: history, one run's detail and output, cancel, approve, deny, prune.

use std::io::Write;

use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use engine::output::Format;
use engine::{ApproveThen, Approved, Engine, RunStatus};
use futures_util::StreamExt;

#[derive(Subcommand)]
pub enum RunsCommand {
    /// Recent runs, newest first.
    List {
        #[arg(long)]
        workflow: Option<String>,
        /// queued, pending_approval, running, completed, failed, denied or canceled.
        #[arg(long)]
        status: Option<RunStatus>,
        /// Only runs requested by this (an email, or key:NAME).
        #[arg(long, value_name = "WHO")]
        by: Option<String>,
        /// Only runs requested on behalf of this person (an email).
        #[arg(long = "for", value_name = "EMAIL")]
        for_whom: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// One run with its steps.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        /// Also print what each step gave (bounded: a big listing shows its count and first
        /// items).
        #[arg(long)]
        steps: bool,
    },
    /// A completed run's whole output, streamed from the store (JSON unless told).
    Output {
        id: String,
        /// The output object (the default).
        #[arg(long, group = "format")]
        json: bool,
        /// One item per line.
        #[arg(long, group = "format")]
        ndjson: bool,
        /// One item per row, with a header.
        #[arg(long, group = "format")]
        csv: bool,
    },
    /// Cancel a run that has not finished.
    Cancel { id: String },
    /// Approve a held run at its current step (as the local operator); once every step is
    /// approved, run it now.
    Approve {
        id: String,
        /// Why (recorded with the decision).
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Deny a held run, saying why.
    Deny {
        id: String,
        #[arg(long)]
        comment: String,
    },
    /// Delete finished runs (with their steps) that ended longer ago than this.
    Prune {
        /// An age like 30d, 12h or 90m.
        #[arg(long, value_name = "AGE", value_parser = engine::config::parse_duration)]
        older_than: std::time::Duration,
    },
}

pub async fn runs(engine: &Engine, cmd: RunsCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        RunsCommand::List {
            workflow,
            status,
            by,
            for_whom,
            limit,
            json,
        } => {
            let runs = engine
                .runs(&store::RunFilter {
                    workflow: workflow.as_deref(),
                    status,
                    requested_by: by.as_deref(),
                    requested_for: for_whom.as_deref(),
                    limit,
                    ..Default::default()
                })
                .await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &runs)?;
                writeln!(out)?;
                return Ok(());
            }
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED).set_header([
                "id",
                "workflow",
                "version",
                "status",
                "requested by",
                "for",
                "created",
            ]);
            for r in runs {
                table.add_row([
                    r.id,
                    r.workflow_id,
                    format!("v{}", r.workflow_version),
                    r.status.to_string(),
                    r.requested_by.unwrap_or_default(),
                    r.requested_for.unwrap_or_default(),
                    r.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        RunsCommand::Show { id, json, steps } => {
            let d = engine.run_detail(&id).await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &d)?;
                writeln!(out)?;
                return Ok(());
            }
            writeln!(
                out,
                "run {} — {} v{} — {}",
                d.run.id, d.run.workflow_id, d.run.workflow_version, d.run.status
            )?;
            writeln!(out, "inputs: {}", d.run.inputs.0)?;
            if let Some(e) = &d.run.error {
                writeln!(out, "error: {e}")?;
            }
            if let Some(p) = d.run.progress.as_ref().map(|p| p.0)
                && !d.run.status.is_final()
            {
                let of = p.total.map(|t| format!(" of {t}")).unwrap_or_default();
                writeln!(out, "progress: {} items{of}, {} pages", p.items, p.pages)?;
            }
            match (&d.items, &d.run.output) {
                (Some(items), _) => writeln!(
                    out,
                    "output: {} items (lumosflow runs output {} --csv, --json or --ndjson)",
                    items.count, d.run.id
                )?,
                (None, Some(o)) => {
                    let text = o.0.to_string();
                    match text.char_indices().nth(500) {
                        Some((cut, _)) => writeln!(
                            out,
                            "output: {}… (runs output {} for all of it)",
                            &text[..cut],
                            d.run.id
                        )?,
                        None => writeln!(out, "output: {text}")?,
                    }
                }
                (None, None) => {}
            }
            // A trigger's answer (to Slack, to a ticket): whether it went out.
            if let Some(r) = &d.reply {
                let why = r
                    .last_error
                    .as_deref()
                    .map(|e| format!(" — {e}"))
                    .unwrap_or_default();
                writeln!(out, "reply: {}{why}", r.status)?;
            }
            // A run that stopped short: what it changed, and whether trying again is safe.
            if let Some(w) = &d.writes {
                writeln!(out, "changes: {}", w.said)?;
            }
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED).set_header([
                "step",
                "#",
                "status",
                "operation",
                "HTTP",
                "ms",
                "error",
            ]);
            for s in &d.steps {
                table.add_row([
                    s.step_id.clone(),
                    crate::print::iteration(s.iteration),
                    crate::print::step_status(s),
                    s.operation.clone().unwrap_or_default(),
                    s.http_status.map(|h| h.to_string()).unwrap_or_default(),
                    s.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
                    s.error.clone().unwrap_or_default(),
                ]);
            }
            writeln!(out, "{table}")?;
            // A loop keeps a sample of its items: say so where the table lists fewer.
            for s in d
                .steps
                .iter()
                .filter(|s| s.iteration == engine::executor::LOOP_SUMMARY)
            {
                let ran = s.output.as_ref().map_or(0, |o| {
                    let n = |k: &str| o.0["loop"][k].as_u64().unwrap_or(0);
                    n("completed") + n("failed")
                });
                let listed = d
                    .steps
                    .iter()
                    .filter(|x| x.step_id == s.step_id && x.iteration >= 0)
                    .count() as u64;
                if listed < ran {
                    writeln!(
                        out,
                        "{}: {listed} of the {ran} items that ran are listed (the first completed and the first failures are kept)",
                        s.step_id
                    )?;
                }
            }
            if steps {
                for s in &d.steps {
                    let what = s
                        .output
                        .as_ref()
                        .map(|o| serde_json::to_string_pretty(&o.0).unwrap_or_default())
                        .unwrap_or_else(|| "(none)".into());
                    writeln!(
                        out,
                        "── {} #{} ({}):\n{what}",
                        s.step_id,
                        crate::print::iteration(s.iteration),
                        s.status
                    )?;
                }
            }
        }
        RunsCommand::Output {
            id,
            json: _,
            ndjson,
            csv,
        } => {
            let format = if ndjson {
                Format::Ndjson
            } else if csv {
                Format::Csv
            } else {
                Format::Json
            };
            drop(out);
            let stored = engine.stored_output(&id).await?;
            let mut pieces = std::pin::pin!(stored.bytes(format));
            while let Some(piece) = pieces.next().await {
                if !crate::print::emit(&piece?) {
                    // The reader went away (`| head`).
                    return Ok(());
                }
            }
        }
        RunsCommand::Cancel { id } => {
            let r = engine.cancel_for(&id, &crate::operator::me()).await?;
            writeln!(out, "run {} is {}", r.id, r.status)?;
        }
        RunsCommand::Approve { id, comment, json } => {
            let approved = engine
                .approve(
                    &id,
                    &crate::operator::me(),
                    comment.as_deref(),
                    ApproveThen::RunHere(engine::Attach::default()),
                )
                .await?;
            let o = match approved {
                Approved::Ran(o) => o,
                Approved::Queued(id) => {
                    writeln!(out, "run {id} approved and queued")?;
                    return Ok(());
                }
                Approved::Waiting(w) => {
                    writeln!(out, "run {id}: {}", crate::approvals_cmd::waiting(&w))?;
                    return Ok(());
                }
            };
            if json {
                serde_json::to_writer(&mut out, &o)?;
                writeln!(out)?;
            } else {
                let dry = engine
                    .run_detail(&o.run_id)
                    .await
                    .is_ok_and(|d| d.run.dry_run);
                writeln!(
                    out,
                    "run {} approved and {}{}{}",
                    o.run_id,
                    o.status,
                    if dry {
                        " (a dry run: its changes were described, nothing was sent)"
                    } else {
                        ""
                    },
                    o.error.map(|e| format!(": {e}")).unwrap_or_default()
                )?;
                if let Some(output) = o.output.filter(|_| o.status == RunStatus::Completed) {
                    serde_json::to_writer_pretty(&mut out, &output)?;
                    writeln!(out)?;
                }
            }
        }
        RunsCommand::Deny { id, comment } => {
            let r = engine
                .deny(&id, &crate::operator::me(), Some(&comment))
                .await?;
            writeln!(out, "run {} is {}", r.id, r.status)?;
        }
        RunsCommand::Prune { older_than } => {
            let n = engine.prune(older_than).await?;
            writeln!(
                out,
                "deleted {n} finished run{} older than {}",
                if n == 1 { "" } else { "s" },
                humantime::format_duration(older_than)
            )?;
        }
    }
    Ok(())
}
