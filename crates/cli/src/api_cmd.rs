//! `lumosflow api operations` and `lumosflow api call`.

use std::io::Write;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use futures_util::StreamExt;
use lumos_api::{ApiToken, CallOptions, Catalog, Client};
use serde_json::{Map, Value, json};

#[derive(Subcommand)]
pub enum ApiCommand {
    /// List every Lumos API operation, or show one in full: parameters, body and response
    /// fields with their types.
    Operations {
        /// One operation to show in full (its name or the spec's id).
        name: Option<String>,
        /// JSON: the list, or the one operation's details.
        #[arg(long)]
        json: bool,
    },
    /// Call one operation through a stored connection (`default` unless --connection says
    /// otherwise), or with LUMOS_API_TOKEN and --base-url where that is set.
    Call(CallArgs),
}

#[derive(Args)]
pub struct CallArgs {
    /// Operation id or alias (see `lumosflow api operations`).
    operation: String,
    /// A parameter, `name=value`; repeat a name to send a list.
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Request body as JSON, or `@file` to read it from a file.
    #[arg(long)]
    body: Option<String>,
    /// Stream every item of every page as one JSON object per line.
    #[arg(long)]
    all: bool,
    /// The stored connection to call through (see `lumosflow connections list`).
    #[arg(long, default_value = "default")]
    connection: String,
    /// Lumos API base URL, with LUMOS_API_TOKEN (instead of a stored connection).
    #[arg(long, env = "LUMOS_BASE_URL", default_value = lumos_api::DEFAULT_BASE_URL)]
    base_url: String,
    /// Also retry POST/PATCH calls on server errors (they may then run twice).
    #[arg(long)]
    retry_unsafe: bool,
}

pub async fn run(db: &Option<String>, cmd: ApiCommand) -> anyhow::Result<()> {
    match cmd {
        ApiCommand::Operations {
            name: Some(name),
            json,
        } => crate::operation_help::print(&name, json),
        ApiCommand::Operations { name: None, json } => operations(json),
        ApiCommand::Call(args) => call(db, args).await,
    }
}

fn operations(as_json: bool) -> anyhow::Result<()> {
    let ops = Catalog::lumos().operations();
    let mut out = std::io::stdout().lock();
    if as_json {
        let list: Vec<Value> = ops
            .iter()
            .map(|op| {
                json!({
                    "operation_id": op.operation_id,
                    "alias": op.alias,
                    "name": op.name(),
                    "method": op.method,
                    "path": op.path,
                    "tag": op.tag,
                    "pagination": op.pagination.as_str(),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &list)?;
        writeln!(out)?;
        return Ok(());
    }
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "name",
        "method",
        "path",
        "tag",
        "pagination",
    ]);
    for op in ops {
        table.add_row([
            op.name(),
            &op.method,
            &op.path,
            &op.tag,
            op.pagination.as_str(),
        ]);
    }
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "{} operations; names in the spec's own form work too. `lumosflow api operations NAME` shows one in full.",
        ops.len()
    )?;
    Ok(())
}

/// `-p a=1 -p a=2 -p b=x` → `{"a": ["1","2"], "b": "x"}`.
pub fn parse_params(raw: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut map = Map::new();
    for item in raw {
        let Some((k, v)) = item.split_once('=') else {
            bail!("parameter '{item}' must look like name=value");
        };
        let k = k.trim().to_owned();
        let v = Value::String(v.to_owned());
        match map.get_mut(&k) {
            Some(Value::Array(list)) => list.push(v),
            Some(prev) => *prev = Value::Array(vec![prev.take(), v]),
            None => {
                map.insert(k, v);
            }
        }
    }
    Ok(map)
}

fn read_body(raw: &str) -> anyhow::Result<Value> {
    let text = match raw.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read body file {path}"))?,
        None => raw.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "--body is not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    })
}

/// The token from the environment, never from argv.
pub fn token_from_env() -> anyhow::Result<Option<ApiToken>> {
    match std::env::var("LUMOS_API_TOKEN") {
        Ok(raw) if !raw.trim().is_empty() => {
            Ok(Some(ApiToken::parse(&raw).context("LUMOS_API_TOKEN")?))
        }
        _ => Ok(None),
    }
}

/// Whether the operation needs a token (an unknown one is taken to).
fn needs_token(operation: &str) -> bool {
    Catalog::lumos().get(operation).is_none_or(|op| op.auth)
}

/// A client through the stored connection, unless LUMOS_API_TOKEN asks for a direct one.
async fn client(db: &Option<String>, args: &CallArgs) -> anyhow::Result<Client> {
    if let Some(t) = token_from_env()? {
        return Ok(Client::builder()
            .base_url(&args.base_url)
            .token(t)
            .build()?);
    }
    if !needs_token(&args.operation) {
        return Ok(Client::builder().base_url(&args.base_url).build()?);
    }
    let store = crate::connect_cmd::open_store(db).await?;
    let config = engine::EngineConfig::from_env()?;
    engine::connections::client_for(&store, &args.connection, config.retry, config.lumos_timeout)
        .await
        .with_context(|| cant_call(args))
}

fn cant_call(args: &CallArgs) -> String {
    format!(
        "cannot call {} through the connection '{}' (connect one with `lumosflow connect`, or set LUMOS_API_TOKEN and --base-url)",
        args.operation, args.connection
    )
}

async fn call(db: &Option<String>, args: CallArgs) -> anyhow::Result<()> {
    let params = parse_params(&args.params)?;
    let body = args.body.as_deref().map(read_body).transpose()?;
    let mut out = std::io::stdout().lock();
    // With LUMOS_API_TOKEN (or an operation that needs none) this is a plain Lumos client
    // that uses no lumosflow database.
    let plain = token_from_env()?.is_some() || !needs_token(&args.operation);
    if args.all {
        let client = client(db, &args).await?;
        // Items as Lumos wrote them, one per line, page by page as they arrive.
        let mut pages = client.pages(&args.operation, &params);
        while let Some(page) = pages.next().await {
            for item in page?.items() {
                out.write_all(item)?;
                out.write_all(b"\n")?;
            }
        }
        return Ok(());
    }
    let opts = CallOptions {
        retry_non_idempotent: args.retry_unsafe,
    };
    // Through a stored connection the call goes through lumosflow's one place for direct
    // calls (its role rule and audit trail), as it does from the HTTP API.
    let resp = if plain {
        client(db, &args)
            .await?
            .call_with(&args.operation, &params, body.as_ref(), opts)
            .await?
    } else {
        let engine = crate::engine(db).await?;
        engine
            .call_lumos(
                &crate::operator::me(),
                engine::direct_call::DirectCall {
                    connection: &args.connection,
                    operation: &args.operation,
                    params: &params,
                    body: body.as_ref(),
                    options: opts,
                    origin: engine::Origin::Cli,
                },
            )
            .await
            .map_err(|e| match e {
                // The connection itself: the same words as without a database.
                e @ engine::EngineError::Connection(_) => {
                    anyhow::Error::new(e).context(cant_call(&args))
                }
                e => e.into(),
            })??
    };
    match resp.body {
        Value::String(s) => writeln!(out, "{s}")?,
        Value::Null => writeln!(out, "(HTTP {}, no content)", resp.status)?,
        other => {
            serde_json::to_writer_pretty(&mut out, &other)?;
            writeln!(out)?;
        }
    }
    Ok(())
}
