//! `lumosflow run` and `lumosflow runs list|show|cancel`.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::bail;
use clap::{Args, Subcommand};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use engine::{ApproveThen, Approved, Engine, RunRequest, RunStatus};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct RunArgs {
    /// Installed workflow id.
    workflow: String,
    /// An input, `name=value` (repeatable).
    #[arg(short = 'i', long = "input", value_name = "NAME=VALUE")]
    inputs: Vec<String>,
    /// Inputs as one JSON object (merged under -i values).
    #[arg(long, value_name = "JSON")]
    inputs_json: Option<String>,
    /// Lumos connection to use.
    #[arg(long, default_value = "default")]
    connection: String,
    /// Print the output object only, as JSON.
    #[arg(long, group = "format")]
    json: bool,
    /// Print items one JSON object per line, as they arrive.
    #[arg(long, group = "format")]
    ndjson: bool,
    /// Print items as CSV.
    #[arg(long, group = "format")]
    csv: bool,
    /// Make the reads, only describe the changes (no mutating call is sent).
    #[arg(long)]
    dry_run: bool,
}

fn parse_inputs(args: &RunArgs) -> anyhow::Result<Map<String, Value>> {
    let mut map = match &args.inputs_json {
        Some(j) => match serde_json::from_str::<Value>(j) {
            Ok(Value::Object(m)) => m,
            Ok(_) => bail!("--inputs-json must be a JSON object"),
            Err(e) => bail!("--inputs-json is not valid JSON: {e}"),
        },
        None => Map::new(),
    };
    for raw in &args.inputs {
        let Some((k, v)) = raw.split_once('=') else {
            bail!("input '{raw}' must look like name=value")
        };
        map.insert(k.trim().to_owned(), Value::String(v.to_owned()));
    }
    Ok(map)
}

/// Columns of a list of objects, in first-seen order, leaving out those empty everywhere.
fn columns(items: &[Value]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for item in items.iter().take(200) {
        if let Value::Object(m) = item {
            for (k, v) in m {
                if !v.is_null() && !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
    }
    cols
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn print_table(out: &mut impl Write, output: &Value) -> anyhow::Result<()> {
    let Some(items) = output.get("items").and_then(Value::as_array) else {
        serde_json::to_writer_pretty(&mut *out, output)?;
        writeln!(out)?;
        return Ok(());
    };
    if items.is_empty() {
        writeln!(out, "(no items)")?;
    } else {
        let cols = columns(items);
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(cols.clone());
        for item in items {
            table.add_row(cols.iter().map(|c| cell(item.get(c))).collect::<Vec<_>>());
        }
        writeln!(out, "{table}")?;
    }
    let total = output.get("total").and_then(Value::as_u64);
    match (
        output.get("page").and_then(Value::as_u64),
        output.get("pages").and_then(Value::as_u64),
    ) {
        (Some(p), Some(n)) => {
            let next = output
                .get("next_page")
                .and_then(Value::as_u64)
                .map(|n| format!("; next: -i page={n}"))
                .unwrap_or_default();
            writeln!(
                out,
                "page {p} of {n} ({} total){next}",
                total.unwrap_or(items.len() as u64)
            )?;
        }
        _ => writeln!(out, "{} items", total.unwrap_or(items.len() as u64))?,
    }
    Ok(())
}

/// A CSV cell. Text a spreadsheet would run as a formula (starting with =, +, -, @, a tab
/// or a carriage return) gets a leading quote, as OWASP recommends; numbers stay numbers.
fn csv_cell(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s))
            if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() =>
        {
            format!("'{s}")
        }
        other => cell(other),
    }
}

fn print_csv(out: &mut impl Write, items: &[Value]) -> anyhow::Result<()> {
    let cols = columns(items);
    let mut w = csv::Writer::from_writer(out);
    w.write_record(&cols)?;
    for item in items {
        w.write_record(cols.iter().map(|c| csv_cell(item.get(c))))?;
    }
    w.flush()?;
    Ok(())
}

/// Start and execute a run here; Ctrl-C cancels it (recorded as canceled by the CLI) and
/// waits for it to stop.
async fn run_until_done(
    engine: &Engine,
    workflow: &str,
    inputs: &Map<String, Value>,
    req: RunRequest,
) -> Result<engine::RunOutcome, engine::EngineError> {
    let started = engine.start(workflow, inputs, req).await?;
    let run_id = started.run_id.clone();
    let execution = engine.execute(started);
    tokio::pin!(execution);
    tokio::select! {
        outcome = &mut execution => outcome,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("canceling…");
            let (canceled, outcome) = tokio::join!(engine.cancel(&run_id, "cli"), execution);
            if let Err(e) = canceled {
                eprintln!("warning: {e}");
            }
            outcome
        }
    }
}

pub async fn run(engine: &Engine, args: RunArgs) -> anyhow::Result<()> {
    let inputs = parse_inputs(&args)?;
    let cancel = CancellationToken::new();
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar
    });
    let progress_fn: Option<engine::executor::Progress> = progress.clone().map(|bar| {
        let f: engine::executor::Progress =
            Arc::new(move |step: &str, n: u64| bar.set_message(format!("{step}: {n} items")));
        f
    });

    // --ndjson streams straight from the pages to stdout.
    let (stream_tx, printer) = if args.ndjson {
        let (tx, mut rx) = mpsc::channel::<Value>(256);
        let printer = tokio::spawn(async move {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            let mut n = 0u64;
            while let Some(v) = rx.recv().await {
                if serde_json::to_writer(&mut out, &v).is_err() || writeln!(out).is_err() {
                    break;
                }
                n += 1;
            }
            let _ = out.flush();
            n
        });
        (Some(tx), Some(printer))
    } else {
        (None, None)
    };
    let req = RunRequest {
        connection: Some(args.connection.clone()),
        actor: engine::Actor::operator(),
        dry_run: args.dry_run,
        cancel: cancel.clone(),
        stream: stream_tx,
        progress: progress_fn,
        version: None,
    };
    let outcome = run_until_done(engine, &args.workflow, &inputs, req).await;
    let streamed = match printer {
        Some(p) => p.await.unwrap_or(0),
        None => 0,
    };
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let outcome = outcome?;
    match outcome.status {
        RunStatus::Completed => {}
        RunStatus::PendingApproval => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"run_id": outcome.run_id, "status": "pending_approval"})
                );
            }
            eprintln!(
                "run {} is waiting for approval: lumosflow runs approve {} (or deny)",
                outcome.run_id, outcome.run_id
            );
            return Ok(());
        }
        RunStatus::Canceled => {
            eprintln!("run {} canceled", outcome.run_id);
            std::process::exit(130);
        }
        _ => bail!(
            "run {} failed: {}",
            outcome.run_id,
            outcome.error.unwrap_or_default()
        ),
    }
    let output = outcome.output.unwrap_or(Value::Null);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &output)?;
        writeln!(out)?;
    } else if args.ndjson {
        if streamed == 0 {
            match output.get("items").and_then(Value::as_array) {
                Some(items) => {
                    for i in items {
                        serde_json::to_writer(&mut out, i)?;
                        writeln!(out)?;
                    }
                }
                None => {
                    serde_json::to_writer(&mut out, &output)?;
                    writeln!(out)?;
                }
            }
        }
    } else if args.csv {
        let items = match output.get("items").and_then(Value::as_array) {
            Some(i) => i.clone(),
            None => vec![output.clone()],
        };
        print_csv(&mut out, &items)?;
    } else {
        print_table(&mut out, &output)?;
        eprintln!("run {}", outcome.run_id);
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum RunsCommand {
    /// Recent runs, newest first.
    List {
        #[arg(long)]
        workflow: Option<String>,
        /// queued, pending_approval, running, completed, failed, denied or canceled.
        #[arg(long)]
        status: Option<RunStatus>,
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
    },
    /// Cancel a run that has not finished.
    Cancel { id: String },
    /// Approve a run waiting for approval, and run it now.
    Approve {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Deny a run waiting for approval.
    Deny { id: String },
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
            limit,
            json,
        } => {
            let runs = engine
                .runs(&store::RunFilter {
                    workflow: workflow.as_deref(),
                    status,
                    started_by: None,
                    limit,
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
                "started by",
                "created",
            ]);
            for r in runs {
                table.add_row([
                    r.id,
                    r.workflow_id,
                    format!("v{}", r.workflow_version),
                    r.status.to_string(),
                    r.started_by.unwrap_or_default(),
                    r.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        RunsCommand::Show { id, json } => {
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
                    s.iteration.to_string(),
                    s.status.to_string(),
                    s.operation.clone().unwrap_or_default(),
                    s.http_status.map(|h| h.to_string()).unwrap_or_default(),
                    s.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
                    s.error.clone().unwrap_or_default(),
                ]);
            }
            writeln!(out, "{table}")?;
        }
        RunsCommand::Cancel { id } => {
            let r = engine.cancel(&id, "cli").await?;
            writeln!(out, "run {} is {}", r.id, r.status)?;
        }
        RunsCommand::Approve { id, json } => {
            let approved = engine
                .approve(
                    &id,
                    &engine::Actor::operator(),
                    ApproveThen::RunHere(RunRequest::default()),
                )
                .await?;
            let o = match approved {
                Approved::Ran(o) => o,
                Approved::Queued(id) => {
                    writeln!(out, "run {id} approved and queued")?;
                    return Ok(());
                }
            };
            if json {
                serde_json::to_writer(&mut out, &o)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "run {} approved and {}{}",
                    o.run_id,
                    o.status,
                    o.error.map(|e| format!(": {e}")).unwrap_or_default()
                )?;
            }
        }
        RunsCommand::Deny { id } => {
            let r = engine.deny(&id, &engine::Actor::operator()).await?;
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
