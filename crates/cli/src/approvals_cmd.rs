//! `lumosflow approvals`: held runs, and those the local operator may decide on now.

use std::io::Write;

use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use engine::Engine;
use engine::approval::Outcome;

#[derive(Args)]
pub struct ApprovalsArgs {
    /// Only runs you (the local operator, see LUMOSFLOW_ACTOR) may decide on now.
    #[arg(long)]
    mine: bool,
    #[arg(long)]
    json: bool,
}

/// What a counted approval means for the run, in words.
pub fn waiting(o: &Outcome) -> String {
    match o {
        Outcome::Counted {
            step,
            approvals,
            min,
        } => format!("approval counted at step '{step}' ({approvals} of {min}); still waiting"),
        Outcome::NextStep(step) => format!("approved; now waiting at step '{step}'"),
        Outcome::Opened => "approved".to_owned(),
        Outcome::Denied => "denied".to_owned(),
    }
}

pub async fn approvals(engine: &Engine, args: ApprovalsArgs) -> anyhow::Result<()> {
    let runs = if args.mine {
        engine.decidable_by(&crate::operator::me(), 200).await?
    } else {
        engine
            .runs(&engine::RunFilter {
                status: Some(engine::RunStatus::PendingApproval),
                limit: 200,
                ..Default::default()
            })
            .await?
    };
    let mut out = std::io::stdout().lock();
    let mut views = Vec::new();
    for r in &runs {
        views.push((r, engine.approval_view(r).await?));
    }
    if args.json {
        let list: Vec<serde_json::Value> = views
            .iter()
            .map(|(r, v)| {
                serde_json::json!({
                    "id": r.id, "workflow_id": r.workflow_id, "requested_by": r.requested_by,
                    "requested_for": r.requested_for, "inputs": r.inputs.0, "approval": v,
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &list)?;
        writeln!(out)?;
        return Ok(());
    }
    if views.is_empty() {
        writeln!(
            out,
            "no runs waiting for approval{}",
            if args.mine {
                " that you may decide on"
            } else {
                ""
            }
        )?;
        return Ok(());
    }
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "run",
        "workflow",
        "requested by",
        "for",
        "step",
        "who decides",
        "expires",
    ]);
    for (r, v) in views {
        let (step, who) = v
            .as_ref()
            .and_then(|v| v.step.and_then(|i| v.steps.get(i)))
            .map(|s| (format!("{} (min {})", s.name, s.min), s.who.clone()))
            .unwrap_or_default();
        table.add_row([
            r.id.clone(),
            r.workflow_id.clone(),
            r.requested_by.clone().unwrap_or_default(),
            r.requested_for.clone().unwrap_or_default(),
            step,
            who,
            v.and_then(|v| v.expires_at)
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
        ]);
    }
    writeln!(out, "{table}")?;
    Ok(())
}
