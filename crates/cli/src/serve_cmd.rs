//! `lumosflow serve`, `lumosflow keys …` and `lumosflow demo`.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use lumos_sim::{SimConfig, Simulator};
use server::{Role, Server};

use crate::connect_cmd::open_store;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "LUMOSFLOW_ADDR")]
    addr: String,
}

pub async fn serve(db: &Option<String>, args: ServeArgs) -> anyhow::Result<()> {
    let config = engine::EngineConfig::from_env()?;
    let options = server::ServerOptions::from_env().map_err(anyhow::Error::msg)?;
    let store = Arc::new(open_store(db).await?);
    let server = Server::start_with(store, &args.addr, config, options)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!(
        "lumosflow serving on {} (API: {}/api/v1, OpenAPI: {}/api/v1/openapi.json)",
        server.base_url, server.base_url, server.base_url
    );
    crate::sim_cmd::shutdown_signal().await;
    eprintln!("shutting down: letting in-flight runs finish…");
    server.stop().await;
    Ok(())
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create an API key and print it (only this once).
    Create {
        #[arg(long)]
        name: String,
        /// viewer, agent, builder or admin.
        #[arg(long)]
        role: String,
        /// The person (an email) the key acts as; never above their role. Without it, a
        /// service key (an integration).
        #[arg(long, value_name = "EMAIL")]
        owner: Option<String>,
        /// Only workflows that change nothing (reads).
        #[arg(long)]
        read_only: bool,
        /// Only these workflows, comma-separated (installed ids).
        #[arg(long, value_delimiter = ',')]
        workflows: Option<Vec<String>>,
    },
    /// List keys (never the keys themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by name.
    Revoke { name: String },
}

pub async fn keys(engine: &engine::Engine, cmd: KeysCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let me = crate::operator::me();
    match cmd {
        KeysCommand::Create {
            name,
            role,
            owner,
            read_only,
            workflows,
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let scope = engine::KeyScope {
                read_only,
                workflows,
            };
            let key = engine
                .create_scoped_key(&name, role, owner.as_deref(), &scope, &me)
                .await?;
            writeln!(out, "{key}")?;
        }
        KeysCommand::List { json } => {
            let keys = engine.keys().await?;
            if json {
                serde_json::to_writer_pretty(&mut out, &keys)?;
                writeln!(out)?;
            } else {
                let mut table = Table::new();
                table.load_style(UTF8_FULL_CONDENSED).set_header([
                    "name",
                    "role",
                    "owner",
                    "may run",
                    "key starts",
                    "created",
                    "last used",
                    "revoked",
                ]);
                for k in keys {
                    let t = |d: Option<chrono::DateTime<chrono::Utc>>| {
                        d.map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_default()
                    };
                    table.add_row([
                        k.name,
                        k.role,
                        k.owner.unwrap_or_else(|| "(service)".to_owned()),
                        format!(
                            "{}{}",
                            k.workflows
                                .map(|w| format!("only {w}"))
                                .unwrap_or_else(|| "any workflow".to_owned()),
                            if k.read_only { ", reads only" } else { "" }
                        ),
                        format!("{}…", k.prefix),
                        t(Some(k.created_at)),
                        t(k.last_used_at),
                        t(k.revoked_at),
                    ]);
                }
                writeln!(out, "{table}")?;
            }
        }
        KeysCommand::Revoke { name } => {
            engine.revoke_key(&name, &me).await?;
            writeln!(
                out,
                "revoked {name} (and ended the console sessions signed in with it)"
            )?;
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct DemoArgs {
    /// Address of the lumosflow server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
}

/// Simulator + server + a demo database with a connection, both bundles and an admin key.
pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let sim = Simulator::start(SimConfig::default())
        .await
        .context("cannot start the simulator")?;
    let home = store::default_home().join("demo");
    let url = home.join("lumosflow.db").display().to_string();
    let store = Arc::new(
        store::Store::open(&url, store::KeySource::File(home.join("master.key")))
            .await
            .with_context(|| format!("cannot open the demo database {url}"))?,
    );
    let engine = engine::Engine::new(store.clone());
    let me = engine::Actor {
        role: Role::Admin,
        ..engine::Actor::system("demo")
    };
    engine
        .connect("default", &sim.base_url, &sim.token, &me)
        .await
        .context("cannot connect to the simulator")?;
    engine.install(&[], true, true, &me).await?;
    // A fresh admin key each time: keys are shown only once.
    let _ = engine.revoke_key("demo-admin", &me).await;
    let key = engine.create_key("demo-admin", Role::Admin, &me).await?;
    drop(engine);
    let config = engine::EngineConfig::from_env()?;
    let options = server::ServerOptions::from_env().map_err(anyhow::Error::msg)?;
    let server = Server::start_with(store, &args.addr, config, options)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("lumosflow demo is running (Ctrl-C stops it)");
    println!("Console: {}/", server.base_url);
    println!(
        "API: {}/api/v1 (OpenAPI: {}/api/v1/openapi.json)",
        server.base_url, server.base_url
    );
    println!("Lumos simulator: {} (token {})", sim.base_url, sim.token);
    println!("Database: {url} (for the CLI: export LUMOSFLOW_DATABASE_URL={url})");
    println!("API key: {key}");
    println!(
        "Try: curl -s -X POST -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' -d '{{\"inputs\": {{\"search\": \"ann\"}}}}' '{}/api/v1/workflows/list-lumos-users/runs?wait=true'",
        server.base_url
    );
    crate::sim_cmd::shutdown_signal().await;
    server.stop().await;
    sim.stop().await;
    Ok(())
}
