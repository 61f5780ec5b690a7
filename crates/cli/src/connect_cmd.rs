//! `lumosflow connect` and `lumosflow connections list|check|remove`.

use std::io::{IsTerminal, Read, Write};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use store::{Connection, Store};
use zeroize::Zeroizing;

/// The store the command line works on.
pub async fn open_store(url: &Option<String>) -> anyhow::Result<Store> {
    let url = url.clone().unwrap_or_else(store::default_database_url);
    Store::open(&url, store::key_source_for(&url))
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(&url)))
}

/// Hide a password in a database URL before showing it.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

#[derive(Args)]
pub struct ConnectArgs {
    /// Name of the connection.
    #[arg(long, default_value = "default")]
    name: String,
    /// Lumos API base URL (https; plain http only to this machine).
    #[arg(long, default_value = lumos_api::DEFAULT_BASE_URL)]
    base_url: String,
}

/// The token from LUMOS_API_TOKEN, else standard input when piped, else a hidden prompt.
fn read_token() -> anyhow::Result<Zeroizing<String>> {
    if let Ok(t) = std::env::var("LUMOS_API_TOKEN")
        && !t.trim().is_empty()
    {
        return Ok(Zeroizing::new(t));
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut t = String::new();
        stdin
            .lock()
            .read_to_string(&mut t)
            .context("cannot read the token from standard input")?;
        if t.trim().is_empty() {
            bail!("no token given: set LUMOS_API_TOKEN or pipe the token on standard input");
        }
        return Ok(Zeroizing::new(t));
    }
    let t = rpassword::prompt_password("Lumos API token (input hidden): ")
        .context("cannot read the token")?;
    Ok(Zeroizing::new(t))
}

pub async fn connect(db: &Option<String>, args: ConnectArgs) -> anyhow::Result<()> {
    let token = read_token()?;
    // Check the format before touching the database, so a typo changes nothing anywhere.
    lumos_api::ApiToken::parse(&token)
        .map_err(|e| anyhow::anyhow!("the token is malformed: {e}"))?;
    let engine = engine::Engine::new(std::sync::Arc::new(open_store(db).await?));
    let conn = engine
        .connect(&args.name, &args.base_url, &token, &crate::operator::me())
        .await?;
    let who = conn
        .lumos_user_email
        .clone()
        .or(conn.lumos_user_id.clone())
        .unwrap_or_default();
    println!(
        "Connected to Lumos as {who} — connection '{}' ({})",
        conn.name, conn.token_hint
    );
    Ok(())
}

#[derive(Subcommand)]
pub enum ConnectionsCommand {
    /// List connections (never their tokens).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Verify connections with Lumos now (all, or the one named).
    Check {
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove a connection and its sealed token.
    Remove { name: String },
    /// Choose which roles may run workflows against a connection (admins always may). By
    /// default `default` is open to every role that may run, others to builder and admin.
    Allow {
        name: String,
        /// Roles, comma-separated: agent, builder, admin.
        #[arg(long, value_delimiter = ',', required_unless_present = "default")]
        roles: Vec<engine::Role>,
        /// Back to the default rule.
        #[arg(long, conflicts_with = "roles")]
        default: bool,
    },
}

fn roles_of(c: &Connection) -> String {
    engine::connections::allowed_roles(c)
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn print(conns: &[Connection], json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, conns)?;
        writeln!(out)?;
        return Ok(());
    }
    if conns.is_empty() {
        writeln!(out, "No connections yet. Run `lumosflow connect`.")?;
        return Ok(());
    }
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "name",
        "base URL",
        "token",
        "Lumos user",
        "verified at",
        "last check",
        "may run",
    ]);
    for c in conns {
        table.add_row([
            c.name.clone(),
            c.base_url.clone(),
            c.token_hint.clone(),
            c.lumos_user_email.clone().unwrap_or_default(),
            c.verified_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default(),
            c.last_check_status.clone().unwrap_or_default(),
            roles_of(c),
        ]);
    }
    writeln!(out, "{table}")?;
    Ok(())
}

pub async fn connections(db: &Option<String>, cmd: ConnectionsCommand) -> anyhow::Result<()> {
    let engine = engine::Engine::new(std::sync::Arc::new(open_store(db).await?));
    let me = crate::operator::me();
    match cmd {
        ConnectionsCommand::List { json } => print(&engine.connections().await?, json),
        ConnectionsCommand::Check { name, json } => {
            let names: Vec<String> = match name {
                Some(n) => vec![n],
                None => engine
                    .connections()
                    .await?
                    .into_iter()
                    .map(|c| c.name)
                    .collect(),
            };
            let mut failures = Vec::new();
            for n in &names {
                if let Err(e) = engine.check_connection(n).await {
                    failures.push(format!("{n}: {e}"));
                }
            }
            let all = engine.connections().await?;
            let shown: Vec<Connection> = all
                .into_iter()
                .filter(|c| names.contains(&c.name))
                .collect();
            print(&shown, json)?;
            if !failures.is_empty() {
                bail!("{}", failures.join("; "));
            }
            Ok(())
        }
        ConnectionsCommand::Allow {
            name,
            roles,
            default,
        } => {
            let roles = (!default).then_some(roles.as_slice());
            let c = engine.set_connection_roles(&name, roles, &me).await?;
            println!("Connection '{name}' is open to {}.", roles_of(&c));
            Ok(())
        }
        ConnectionsCommand::Remove { name } => {
            engine.remove_connection(&name, &me).await?;
            println!("Removed connection '{name}'.");
            Ok(())
        }
    }
}
