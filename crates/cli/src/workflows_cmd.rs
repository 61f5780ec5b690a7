//! `lumosflow workflows …`: list, install, show, validate, create, edit, uninstall.

use std::io::Write;

use anyhow::Context;
use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use engine::Engine;
use engine::InstallResult;

#[derive(Subcommand)]
pub enum WorkflowsCommand {
    /// Installed workflows and the installable bundles.
    List {
        /// Only what the bundles offer.
        #[arg(long, conflicts_with = "installed")]
        installable: bool,
        /// Only what is installed.
        #[arg(long)]
        installed: bool,
        #[arg(long)]
        json: bool,
    },
    /// Install bundles (appstore, directory-and-apps, access-requests, lumos-approvals,
    /// access-reviews) or single workflows.
    Install {
        targets: Vec<String>,
        #[arg(long)]
        all: bool,
        /// Overwrite installed copies that were edited.
        #[arg(long)]
        force: bool,
    },
    /// Print an installed workflow's YAML (current version, or --version N).
    Show {
        id: String,
        #[arg(long)]
        version: Option<i32>,
    },
    /// Check a workflow file without saving it.
    Validate { file: String },
    /// Run a workflow file without installing it, and print what each step gave. Nothing is
    /// recorded; with --dry-run no change reaches Lumos.
    Try {
        file: String,
        /// An input, `name=value` (repeatable).
        #[arg(short = 'i', long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// Stop after this step.
        #[arg(long, value_name = "ID")]
        step: Option<String>,
        #[arg(long, default_value = "default")]
        connection: String,
        /// Make the reads, only describe the changes.
        #[arg(long)]
        dry_run: bool,
    },
    /// Install a new workflow from a file.
    Create { file: String },
    /// Save a file as the next version of an installed workflow.
    Edit { id: String, file: String },
    /// Remove an installed workflow (its runs stay in the history).
    Uninstall { id: String },
    /// Print the JSON Schema of the workflow format (for editors: completion and checks).
    Schema,
}

fn read(file: &str) -> anyhow::Result<String> {
    if file == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))
}

pub async fn run(engine: &Engine, cmd: WorkflowsCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        WorkflowsCommand::List {
            installable,
            installed,
            json,
        } => {
            let all = engine.list().await?;
            let shown: Vec<_> = all
                .into_iter()
                .filter(|l| (!installable || l.installable) && (!installed || l.installed))
                .collect();
            if json {
                serde_json::to_writer_pretty(&mut out, &shown)?;
                writeln!(out)?;
                return Ok(());
            }
            let mut table = Table::new();
            table
                .load_style(UTF8_FULL_CONDENSED)
                .set_header(["id", "name", "bundle", "installed"]);
            for l in &shown {
                let state = match (l.installed, l.version, l.edited) {
                    (true, Some(v), true) => format!("v{v} (edited)"),
                    (true, Some(v), false) => format!("v{v}"),
                    _ => "no".to_owned(),
                };
                table.add_row([
                    l.id.clone(),
                    l.name.clone(),
                    l.bundle
                        .as_ref()
                        .map_or(String::new(), |b| b.name.to_owned()),
                    state,
                ]);
            }
            writeln!(out, "{table}")?;
        }
        WorkflowsCommand::Install {
            targets,
            all,
            force,
        } => {
            for o in engine
                .install(&targets, all, force, &crate::operator::me())
                .await?
            {
                let line = match o.result {
                    InstallResult::Installed => format!("installed {} (v{})", o.id, o.version),
                    InstallResult::Reinstalled => {
                        format!("reinstalled {} over the edited copy (v{})", o.id, o.version)
                    }
                    InstallResult::Unchanged => {
                        format!("{} is already installed (v{})", o.id, o.version)
                    }
                    InstallResult::Kept => format!(
                        "kept {}: the installed copy was edited (v{}); use --force to replace it",
                        o.id, o.version
                    ),
                };
                writeln!(out, "{line}")?;
            }
        }
        WorkflowsCommand::Show { id, version } => {
            let (_, v) = engine.show(&id, version).await?;
            write!(out, "{}", v.yaml)?;
            if !v.yaml.ends_with('\n') {
                writeln!(out)?;
            }
        }
        WorkflowsCommand::Schema => {
            serde_json::to_writer_pretty(&mut out, &engine::definition::json_schema())?;
            writeln!(out)?;
        }
        WorkflowsCommand::Validate { file } => {
            let text = read(&file)?;
            let wf = engine
                .validate(&text)
                .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
            writeln!(
                out,
                "{file}: valid workflow '{}' ({} step{})",
                wf.id(),
                wf.def.steps.len(),
                if wf.def.steps.len() == 1 { "" } else { "s" }
            )?;
        }
        WorkflowsCommand::Try {
            file,
            inputs,
            step,
            connection,
            dry_run,
        } => {
            let text = read(&file)?;
            let mut given = serde_json::Map::new();
            for raw in &inputs {
                let Some((k, v)) = raw.split_once('=') else {
                    anyhow::bail!("input '{raw}' must look like name=value");
                };
                given.insert(k.trim().to_owned(), serde_json::Value::String(v.to_owned()));
            }
            let trial = engine
                .try_workflow(
                    &text,
                    &given,
                    &connection,
                    dry_run,
                    step.as_deref(),
                    &crate::operator::me(),
                )
                .await
                .map_err(|e| match e {
                    // A try that may not send its changes: here, the way to try it is a flag.
                    engine::EngineError::Forbidden(m) if !dry_run => {
                        anyhow::anyhow!("{m} (workflows try --dry-run)")
                    }
                    e => e.into(),
                })?;
            for s in &trial.steps {
                let op = s
                    .operation
                    .as_deref()
                    .map(|o| format!(" {o}"))
                    .unwrap_or_default();
                let http = s
                    .http_status
                    .map(|h| format!(" HTTP {h}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "── {} #{} {}{op}{http} {} ms",
                    s.step_id,
                    crate::print::iteration(s.iteration),
                    s.status,
                    s.duration_ms
                )?;
                if let Some(e) = &s.error {
                    writeln!(out, "error: {e}")?;
                }
                if let Some(o) = &s.output {
                    writeln!(out, "{}", serde_json::to_string_pretty(o)?)?;
                }
            }
            match trial.result {
                Ok(v) => {
                    writeln!(out, "── output")?;
                    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                }
                Err(e) => anyhow::bail!("{file}: {e}"),
            }
        }
        WorkflowsCommand::Create { file } => {
            let text = read(&file)?;
            let (id, v) = engine.create(&text, &crate::operator::me()).await?;
            writeln!(out, "created {id} (v{v})")?;
        }
        WorkflowsCommand::Edit { id, file } => {
            let text = read(&file)?;
            let v = engine.edit(&id, &text, &crate::operator::me()).await?;
            writeln!(out, "saved {id} as v{v}")?;
        }
        WorkflowsCommand::Uninstall { id } => {
            engine.uninstall(&id, &crate::operator::me()).await?;
            writeln!(out, "uninstalled {id}")?;
        }
    }
    Ok(())
}
