//! `lumosflow run`: start a workflow here and print its output as it comes.

use std::io::{IsTerminal, Write};

use anyhow::bail;
use clap::Args;
use engine::output::{Format, Formatter};
use engine::{Engine, RunRequest, RunStatus, Started};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::print::{self, Style};

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
    /// The person (an email) you run it for, recorded on the run; templates see it as
    /// run.requested_for.
    #[arg(long = "for", value_name = "EMAIL")]
    for_whom: Option<String>,
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

impl RunArgs {
    fn style(&self) -> Style {
        if self.json {
            Style::Machine(Format::Json)
        } else if self.ndjson {
            Style::Machine(Format::Ndjson)
        } else if self.csv {
            Style::Machine(Format::Csv)
        } else {
            Style::Table
        }
    }
}

/// JSON ends with a newline like the line formats do, so what comes next (a shell prompt,
/// the run id on stderr) starts on its own line.
fn with_newline(format: Format, mut bytes: Vec<u8>) -> Vec<u8> {
    if format == Format::Json && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes
}

/// Ctrl-C, listened for from the moment this is called (`tokio::signal::ctrl_c` would only
/// start listening when first polled, and a Ctrl-C before that would kill the process with
/// the run left behind).
#[cfg(unix)]
fn interrupts() -> std::io::Result<impl std::future::Future<Output = ()>> {
    let mut sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(async move {
        sig.recv().await;
    })
}

#[cfg(not(unix))]
fn interrupts() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Execute a started run here; Ctrl-C, or stdout going away, cancels it (recorded as
/// canceled by the CLI) and waits for it to stop.
async fn run_until_done(
    engine: &Engine,
    started: Started,
    stdout_closed: &CancellationToken,
    ctrl_c: impl std::future::Future<Output = ()>,
) -> Result<engine::RunOutcome, engine::EngineError> {
    let run_id = started.run_id.clone();
    let execution = engine.execute(started);
    tokio::pin!(execution);
    let interrupted = tokio::select! {
        outcome = &mut execution => return outcome,
        () = ctrl_c => true,
        () = stdout_closed.cancelled() => false,
    };
    if interrupted {
        eprintln!("canceling…");
    }
    let me = crate::operator::me();
    let (canceled, outcome) = tokio::join!(engine.cancel(&run_id, &me.label), execution);
    if let Err(e) = canceled {
        eprintln!("warning: {e}");
    }
    outcome
}

/// A listing already streamed as JSON is closed as a whole document that says the run did not
/// complete (`"complete": false`, its status and error), so a reader never holds truncated
/// JSON; the exit code says it too. NDJSON and CSV lines already printed stay whole lines.
fn close_unfinished(
    style: Style,
    printed: &mut print::Printed,
    run_id: &str,
    status: RunStatus,
    error: Option<&str>,
) {
    if let (Style::Machine(Format::Json), Some(f)) = (style, printed.formatter.as_mut()) {
        f.end(Some(&serde_json::json!({
            "run_id": run_id,
            "status": status.as_str(),
            "error": error,
            "complete": false,
        })));
        print::emit(&f.take());
        printed.formatter = None;
    }
}

pub async fn run(engine: &Engine, args: RunArgs) -> anyhow::Result<()> {
    let inputs = parse_inputs(&args)?;
    let style = args.style();
    let bar = std::io::stderr().is_terminal().then(print::progress_bar);
    let req = RunRequest {
        connection: Some(args.connection.clone()),
        actor: crate::operator::me(),
        origin: engine::Origin::Cli,
        dry_run: args.dry_run,
        requested_for: args.for_whom.clone(),
        progress: bar.as_ref().map(|(_, report)| report.clone()),
        ..RunRequest::default()
    };
    // Listening before the run is recorded: a Ctrl-C from then on cancels it.
    let ctrl_c = interrupts()?;
    let mut started = engine.start(&args.workflow, &inputs, req).await?;
    let run_id = started.run_id.clone();
    let columns = started.columns();
    // The columns the workflow declares are what a person's table shows.
    let declared = engine
        .load(&args.workflow, None)
        .await
        .ok()
        .and_then(|(wf, _)| wf.def.columns.as_ref().map(|c| c.value.clone()));
    let stdout_closed = CancellationToken::new();
    let (tap, printer) = print::spawn(style, columns.clone(), stdout_closed.clone());
    started.set_tap(tap);
    let outcome = run_until_done(engine, started, &stdout_closed, ctrl_c).await;
    let mut printed = printer.await?;
    if let Some((bar, _)) = bar {
        bar.finish_and_clear();
    }
    if printed.closed {
        // The reader went away (`| head`): what it wanted was printed.
        outcome?;
        return Ok(());
    }
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let error = e.to_string();
            close_unfinished(
                style,
                &mut printed,
                &run_id,
                RunStatus::Failed,
                Some(&error),
            );
            return Err(e.into());
        }
    };
    if matches!(outcome.status, RunStatus::Canceled | RunStatus::Failed) {
        close_unfinished(
            style,
            &mut printed,
            &run_id,
            outcome.status,
            outcome.error.as_deref(),
        );
    }
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
                "run {} is waiting for approval{}: lumosflow runs approve {} (or deny)",
                outcome.run_id,
                if args.dry_run {
                    " (a dry run: approved, it still sends nothing)"
                } else {
                    ""
                },
                outcome.run_id
            );
            return Ok(());
        }
        RunStatus::Canceled => {
            eprintln!("run {} canceled", outcome.run_id);
            std::process::exit(130);
        }
        _ => {
            // What it changed, so whoever runs it knows whether to try again.
            let changed = engine
                .run_detail(&outcome.run_id)
                .await
                .ok()
                .and_then(|d| d.writes)
                .map(|w| format!("\n{}", w.said))
                .unwrap_or_default();
            bail!(
                "run {} failed: {}{changed}",
                outcome.run_id,
                outcome.error.unwrap_or_default()
            )
        }
    }
    if args.dry_run {
        // On stderr: stdout stays the output alone.
        eprintln!(
            "a dry run: the reads were made; each change was described (its steps show what would be sent), nothing was sent"
        );
    }
    let output = outcome.output.unwrap_or(Value::Null);
    match (style, outcome.items_apart) {
        (Style::Machine(format), true) => {
            if let Some(mut f) = printed.formatter {
                f.end(Some(&output));
                print::emit(&with_newline(format, f.take()));
            }
        }
        (Style::Machine(format), false) => {
            print::emit(&with_newline(
                format,
                Formatter::write_value(format, &output, columns),
            ));
        }
        (Style::Table, true) => {
            let mut out = std::io::stdout().lock();
            print::table(&mut out, &printed.rows, printed.items, declared.as_deref())?;
            if printed.items <= printed.rows.len() as u64 {
                writeln!(out, "{} items", printed.items)?;
            }
            if printed.items > printed.rows.len() as u64 {
                eprintln!(
                    "all of them: lumosflow runs output {} --csv (or --json, --ndjson)",
                    outcome.run_id
                );
            }
            eprintln!("run {}", outcome.run_id);
        }
        (Style::Table, false) => {
            print::output_table(&mut std::io::stdout().lock(), &output, declared.as_deref())?;
            eprintln!("run {}", outcome.run_id);
        }
    }
    Ok(())
}
