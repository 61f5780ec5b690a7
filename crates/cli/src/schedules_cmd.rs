//! `lumosflow schedules`: scheduled workflows and when each fires next.

use std::io::Write;

use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use engine::Engine;

#[derive(Subcommand)]
pub enum SchedulesCommand {
    /// Every scheduled workflow, its last and next firing (while `serve` runs).
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn schedules(engine: &Engine, cmd: SchedulesCommand) -> anyhow::Result<()> {
    let SchedulesCommand::List { json } = cmd;
    let list = engine.schedules().await?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &list)?;
        writeln!(out)?;
        return Ok(());
    }
    if list.is_empty() {
        writeln!(
            out,
            "no installed workflow has a schedule (give one `schedule: {{every: 15m}}` or `{{cron: \"0 9 * * MON-FRI\"}}`; see docs/workflows.md)"
        )?;
        return Ok(());
    }
    let t = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default()
    };
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "workflow",
        "schedule",
        "last fired",
        "next",
        "skipped",
        "missed",
    ]);
    for s in list {
        let missed = match s.last_missed {
            Some(at) => format!("{} (last {})", s.missed, t(Some(at))),
            None => s.missed.to_string(),
        };
        table.add_row([
            s.workflow_id,
            s.schedule,
            t(s.last_fired),
            t(s.next),
            s.skipped.to_string(),
            missed,
        ]);
    }
    writeln!(out, "{table}")?;
    Ok(())
}
