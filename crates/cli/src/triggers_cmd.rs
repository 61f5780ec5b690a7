//! `lumosflow triggers`: webhooks that start a workflow from a ticketing tool or Slack.

use std::io::Write;

use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use engine::Engine;
use engine::triggers::{TriggerAuth, TriggerSecret};

use crate::operator::me;

#[derive(Subcommand)]
pub enum TriggersCommand {
    /// Add a trigger; prints its URL and secret (only this once).
    Add {
        #[arg(long)]
        name: String,
        /// The installed workflow it starts.
        #[arg(long)]
        workflow: String,
        /// hmac (signed like our notices), slack (Slack's request signing) or header (a
        /// shared secret in Lumosflow-Secret: weaker).
        #[arg(long, default_value = "hmac")]
        auth: TriggerAuth,
        /// A YAML file mapping the payload to inputs, requested_for and dedupe_key.
        #[arg(long, value_name = "FILE")]
        map: Option<String>,
        /// Read the secret from standard input (required for slack: your Slack app's
        /// signing secret); otherwise lumosflow makes one.
        #[arg(long)]
        secret_stdin: bool,
        /// Print {"id", "name", "url", "secret"} as JSON.
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        name: String,
    },
    /// A new secret (printed once); the old one stops working.
    RotateSecret {
        name: String,
        #[arg(long)]
        json: bool,
    },
    Disable {
        name: String,
    },
    Enable {
        name: String,
    },
    Remove {
        name: String,
    },
}

fn print_secret(out: &mut impl Write, s: &TriggerSecret, json: bool) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, s)?;
        writeln!(out)?;
    } else {
        writeln!(out, "trigger {} — send requests to:", s.name)?;
        writeln!(out, "{}", s.url)?;
        writeln!(out, "secret (shown once):")?;
        writeln!(out, "{}", s.secret)?;
    }
    Ok(())
}

pub async fn triggers(engine: &Engine, cmd: TriggersCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        TriggersCommand::Add {
            name,
            workflow,
            auth,
            map,
            secret_stdin,
            json,
        } => {
            let secret = if secret_stdin {
                let mut line = String::new();
                std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line)?;
                Some(line.trim().to_owned())
            } else {
                None
            };
            let mapping = match &map {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .map_err(|e| anyhow::anyhow!("cannot read the mapping {path}: {e}"))?,
                ),
                None => None,
            };
            let created = engine
                .add_trigger(
                    &name,
                    &workflow,
                    auth,
                    mapping.as_deref(),
                    secret.as_deref(),
                    &me(),
                )
                .await?;
            print_secret(&mut out, &created, json)?;
        }
        TriggersCommand::List { json } => {
            let list = engine.triggers().await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
                return Ok(());
            }
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED).set_header([
                "name",
                "workflow",
                "auth",
                "enabled",
                "last fired",
                "last error",
            ]);
            for t in list {
                table.add_row([
                    t.name,
                    t.workflow_id,
                    t.auth,
                    t.enabled.to_string(),
                    t.last_fired_at
                        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default(),
                    t.last_error.unwrap_or_default(),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        TriggersCommand::Show { name } => {
            let t = engine.trigger(&name).await?;
            serde_json::to_writer_pretty(&mut out, &t)?;
            writeln!(out)?;
        }
        TriggersCommand::RotateSecret { name, json } => {
            let s = engine.rotate_trigger_secret(&name, &me()).await?;
            print_secret(&mut out, &s, json)?;
        }
        TriggersCommand::Disable { name } => {
            engine.set_trigger_enabled(&name, false, &me()).await?;
            writeln!(out, "disabled {name}")?;
        }
        TriggersCommand::Enable { name } => {
            engine.set_trigger_enabled(&name, true, &me()).await?;
            writeln!(out, "enabled {name}")?;
        }
        TriggersCommand::Remove { name } => {
            engine.remove_trigger(&name, &me()).await?;
            writeln!(out, "removed {name}")?;
        }
    }
    Ok(())
}
