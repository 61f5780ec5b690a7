//! `lumosflow secrets`: named secrets for `http:` steps (`{{ secrets.NAME }}`), stored
//! sealed; the value comes from standard input or a hidden prompt, never the command line.

use std::io::{IsTerminal, Read, Write};

use anyhow::Context;
use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use engine::Engine;
use engine::secrets::SecretRule;
use zeroize::Zeroizing;

use crate::operator;

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Set (or replace) a secret and where it may be sent; its value is read from standard
    /// input or a hidden prompt.
    Set {
        name: String,
        /// The hosts http steps may send it to: `jira.example.com,hooks.slack.com`
        /// (`host:port` for another port). Required.
        #[arg(long, value_delimiter = ',', required = true)]
        hosts: Vec<String>,
        /// Also over plain http (https only otherwise).
        #[arg(long)]
        allow_http: bool,
        /// Only these workflows may use it (any, when not given).
        #[arg(long, value_delimiter = ',')]
        workflows: Option<Vec<String>>,
    },
    /// Secrets by name (never their values).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a secret: http steps that use it fail saying so.
    Remove { name: String },
}

fn read_value(name: &str) -> anyhow::Result<Zeroizing<String>> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut v = Zeroizing::new(String::new());
        stdin
            .lock()
            .read_to_string(&mut v)
            .context("cannot read the secret from standard input")?;
        return Ok(v);
    }
    let v = rpassword::prompt_password(format!("Value of {name} (input hidden): "))
        .context("cannot read the secret")?;
    Ok(Zeroizing::new(v))
}

pub async fn secrets(engine: &Engine, cmd: SecretsCommand) -> anyhow::Result<()> {
    let me = operator::me();
    let mut out = std::io::stdout().lock();
    match cmd {
        SecretsCommand::Set {
            name,
            hosts,
            allow_http,
            workflows,
        } => {
            let rule = SecretRule {
                hosts: hosts.iter().map(|h| h.trim().to_owned()).collect(),
                allow_http,
                workflows,
            };
            let value = read_value(&name)?;
            engine.set_secret(&name, &value, &rule, &me).await?;
            writeln!(
                out,
                "secret '{name}' set, for {}{} (use it as {{{{ secrets.{name} }}}} in http steps)",
                rule.hosts.join(", "),
                if rule.allow_http {
                    " over http or https"
                } else {
                    " over https"
                }
            )?;
        }
        SecretsCommand::List { json } => {
            let list = engine.secrets(&me).await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
                return Ok(());
            }
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED).set_header([
                "name",
                "hosts",
                "workflows",
                "set at",
                "by",
            ]);
            for s in list {
                let hosts = if s.hosts.is_empty() {
                    "(none: set it again with --hosts)".to_owned()
                } else if s.allow_http {
                    format!("{} (http too)", s.hosts)
                } else {
                    s.hosts
                };
                table.add_row([
                    s.name,
                    hosts,
                    s.workflows.unwrap_or_else(|| "any".to_owned()),
                    s.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    s.created_by,
                ]);
            }
            writeln!(out, "{table}")?;
        }
        SecretsCommand::Remove { name } => {
            engine.remove_secret(&name, &me).await?;
            writeln!(out, "secret '{name}' removed")?;
        }
    }
    Ok(())
}
