//! `lumosflow notifications`: where notices about runs go (Slack or signed JSON webhooks),
//! and what was delivered.

use std::io::{BufRead, Write};

use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use engine::Engine;
use engine::notify::NoticeFormat;

use crate::operator::me;

#[derive(Subcommand)]
pub enum NotificationsCommand {
    /// Send notices to a webhook (prints its signing secret once), or through the Slack
    /// app to a channel.
    Add {
        #[arg(long)]
        name: String,
        /// The webhook URL. Without it, read from standard input (a Slack webhook URL is a
        /// secret: keep it out of the command line).
        #[arg(long, conflicts_with = "channel")]
        url: Option<String>,
        /// For slack-app: the Slack channel (C0123ABC) or person (U0123ABC) the bot posts to.
        #[arg(long)]
        channel: Option<String>,
        /// slack (incoming-webhook messages), slack-app (the Slack app's bot, with Approve
        /// and Deny buttons; see `lumosflow slack setup`) or json (signed event bodies).
        #[arg(long, default_value = "json")]
        format: NoticeFormat,
        /// Comma-separated: approval.requested, approval.decided, run.failed, run.completed,
        /// audit (every audit event, for a SIEM; json only).
        #[arg(long, value_delimiter = ',', required = true)]
        events: Vec<String>,
        /// Only runs of this workflow.
        #[arg(long)]
        workflow: Option<String>,
        /// Print {"id", "name", "secret"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Targets (never their URL or secret).
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        name: String,
    },
    /// Recent deliveries, newest first.
    Deliveries {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

pub async fn notifications(engine: &Engine, cmd: NotificationsCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        NotificationsCommand::Add {
            name,
            url,
            channel,
            format,
            events,
            workflow,
            json,
        } => {
            let url = match (url, channel, format) {
                (_, Some(c), NoticeFormat::SlackApp) => c,
                (_, None, NoticeFormat::SlackApp) => {
                    anyhow::bail!("--format slack-app posts to a channel: give --channel C0123ABC")
                }
                (_, Some(_), _) => {
                    anyhow::bail!("--channel is for --format slack-app; webhooks take --url")
                }
                (Some(u), None, _) => u,
                (None, None, _) => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim().to_owned()
                }
            };
            let events: Vec<String> = events.iter().map(|e| e.trim().to_owned()).collect();
            let created = engine
                .add_notification_target(&name, &url, format, &events, workflow.as_deref(), &me())
                .await?;
            if json {
                serde_json::to_writer(&mut out, &created)?;
                writeln!(out)?;
            } else if format == NoticeFormat::SlackApp {
                // Posted by the bot: nothing for a receiver to check a signature with.
                writeln!(
                    out,
                    "added {}: the Slack app posts to {url} (needs `lumosflow slack setup`)",
                    created.name
                )?;
            } else {
                writeln!(out, "added {} — signing secret (shown once):", created.name)?;
                writeln!(out, "{}", created.secret)?;
            }
        }
        NotificationsCommand::List { json } => {
            let targets = engine.notification_targets().await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &targets)?;
                writeln!(out)?;
                return Ok(());
            }
            let mut table = Table::new();
            table
                .load_style(UTF8_FULL_CONDENSED)
                .set_header(["name", "format", "url", "events", "workflow"]);
            for t in targets {
                table.add_row([
                    t.name,
                    t.format,
                    t.url_hint,
                    t.events,
                    t.workflow_id.unwrap_or_else(|| "(all)".into()),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        NotificationsCommand::Remove { name } => {
            engine.remove_notification_target(&name, &me()).await?;
            writeln!(out, "removed {name}")?;
        }
        NotificationsCommand::Deliveries { limit, json } => {
            let list = engine.deliveries(limit).await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
                return Ok(());
            }
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED).set_header([
                "id",
                "event",
                "run",
                "status",
                "attempts",
                "last error",
                "created",
            ]);
            for d in list {
                table.add_row([
                    d.id.to_string(),
                    d.event,
                    d.run_id.unwrap_or_default(),
                    d.status,
                    d.attempts.to_string(),
                    d.last_error.unwrap_or_default(),
                    d.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                ]);
            }
            writeln!(out, "{table}")?;
        }
    }
    Ok(())
}
