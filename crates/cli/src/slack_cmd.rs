//! `lumosflow slack`: set up the Slack app (its signing secret and bot token, read from
//! standard input or hidden prompts, verified with Slack, kept sealed) and say what is set.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use clap::Subcommand;
use engine::Engine;
use zeroize::Zeroizing;

use crate::operator;

#[derive(Subcommand)]
pub enum SlackCommand {
    /// Keep the Slack app's signing secret and bot token: two lines on standard input
    /// (signing secret first), or hidden prompts. The token is checked with Slack first.
    Setup,
    /// What is set (never the values), and which notices and commands use the app.
    Status {
        #[arg(long)]
        json: bool,
    },
}

fn read_two() -> anyhow::Result<(Zeroizing<String>, Zeroizing<String>)> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut lines = stdin.lock().lines();
        let mut next = |what: &str| -> anyhow::Result<Zeroizing<String>> {
            Ok(Zeroizing::new(
                lines
                    .next()
                    .with_context(|| format!("standard input ended before the {what}"))?
                    .context("cannot read standard input")?
                    .trim()
                    .to_owned(),
            ))
        };
        let signing = next("signing secret (line 1)")?;
        let token = next("bot token (line 2)")?;
        return Ok((signing, token));
    }
    let signing = rpassword::prompt_password("Slack app signing secret (input hidden): ")
        .context("cannot read the signing secret")?;
    let token = rpassword::prompt_password("Slack bot token, xoxb-… (input hidden): ")
        .context("cannot read the bot token")?;
    Ok((Zeroizing::new(signing), Zeroizing::new(token)))
}

pub async fn slack(engine: &Engine, cmd: SlackCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        SlackCommand::Setup => {
            let (signing, token) = read_two()?;
            let v = engine
                .set_slack_app(&signing, &token, &operator::me())
                .await?;
            writeln!(
                out,
                "Slack app set up: bot {} in workspace {}. Point its interactivity at <public URL>/slack/interactivity and its select menus at <public URL>/slack/options (docs/slack.md).",
                v.bot, v.team
            )?;
        }
        SlackCommand::Status { json } => {
            let s = engine.slack_status().await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &s)?;
                writeln!(out)?;
                return Ok(());
            }
            if s.configured {
                writeln!(
                    out,
                    "Slack app: set up{}{} (signing secret and bot token kept sealed)",
                    s.set_at
                        .map(|t| format!(" {}", t.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default(),
                    s.set_by.map(|b| format!(" by {b}")).unwrap_or_default()
                )?;
            } else {
                writeln!(out, "Slack app: not set up (lumosflow slack setup)")?;
            }
            writeln!(out, "Web API: {}", s.api_url)?;
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none".to_owned()
                } else {
                    v.join(", ")
                }
            };
            writeln!(
                out,
                "Notices through the app (slack-app): {}",
                list(&s.channels)
            )?;
            writeln!(
                out,
                "Slash commands (slack triggers): {}",
                list(&s.commands)
            )?;
        }
    }
    Ok(())
}
