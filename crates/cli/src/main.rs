//! `lumosflow`: argument parsing and output only; the work happens in the library crates.

mod api_cmd;
mod approvals_cmd;
mod audit_cmd;
mod backup_cmd;
mod connect_cmd;
mod eval_cmd;
mod notifications_cmd;
mod operation_help;
mod operator;
mod people_cmd;
mod print;
mod run_cmd;
mod runs_cmd;
mod schedules_cmd;
mod secrets_cmd;
mod serve_cmd;
mod sim_cmd;
mod slack_cmd;
mod triggers_cmd;
mod workflows_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "lumosflow",
    version,
    about = "Connect an IT service desk to Lumos and automate access work"
)]
struct Cli {
    /// Log filter (e.g. `info`, `lumos_api=debug`); logs go to stderr.
    #[arg(long, global = true, env = "LUMOSFLOW_LOG", default_value = "warn")]
    log: String,
    /// Log format on stderr: text or json.
    #[arg(long, global = true, env = "LUMOSFLOW_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Database: a SQLite file path (default: lumosflow.db in LUMOSFLOW_HOME or the data
    /// directory) or postgres://… for PostgreSQL.
    #[arg(long, global = true, env = "LUMOSFLOW_DATABASE_URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with the Lumos API directly: list operations, call any of them.
    #[command(subcommand)]
    Api(api_cmd::ApiCommand),
    /// Run the offline Lumos API simulator.
    Sim(sim_cmd::SimArgs),
    /// Connect Lumos: verify an API token and keep it encrypted (token from LUMOS_API_TOKEN,
    /// standard input, or a hidden prompt; never from the command line).
    Connect(connect_cmd::ConnectArgs),
    /// List, re-check or remove Lumos connections.
    #[command(subcommand)]
    Connections(connect_cmd::ConnectionsCommand),
    /// Install, write and inspect workflows.
    #[command(subcommand)]
    Workflows(workflows_cmd::WorkflowsCommand),
    /// Run an installed workflow.
    Run(run_cmd::RunArgs),
    /// Run history: list, show, output, cancel, approve, deny, prune.
    #[command(subcommand)]
    Runs(runs_cmd::RunsCommand),
    /// Runs waiting for approval (--mine: those you may decide on now).
    Approvals(approvals_cmd::ApprovalsArgs),
    /// Where notices about runs go (Slack, signed JSON webhooks) and what was delivered.
    #[command(subcommand)]
    Notifications(notifications_cmd::NotificationsCommand),
    /// Webhooks that start a workflow from a ticketing tool or a Slack slash command.
    #[command(subcommand)]
    Triggers(triggers_cmd::TriggersCommand),
    /// Scheduled workflows and when each fires next.
    #[command(subcommand)]
    Schedules(schedules_cmd::SchedulesCommand),
    /// Secrets for http steps ({{ secrets.NAME }}): set (from standard input), list, remove.
    #[command(subcommand)]
    Secrets(secrets_cmd::SecretsCommand),
    /// The Slack app: set up its signing secret and bot token, say what is set.
    #[command(subcommand)]
    Slack(slack_cmd::SlackCommand),
    /// Serve the HTTP API, health and metrics.
    Serve(serve_cmd::ServeArgs),
    /// API keys for the HTTP API.
    #[command(subcommand)]
    Keys(serve_cmd::KeysCommand),
    /// People: who signed in or owns a key, their roles; deactivate someone.
    #[command(subcommand)]
    People(people_cmd::PeopleCommand),
    /// Live console sessions: list, end one.
    #[command(subcommand)]
    Sessions(people_cmd::SessionsCommand),
    /// The audit trail: who did what, newest first.
    Audit(audit_cmd::AuditArgs),
    /// Copy the SQLite database to a new file while it is in use (PostgreSQL: pg_dump).
    Backup(backup_cmd::BackupArgs),
    /// Everything at once, nothing to configure: simulator, server, bundles, an admin key.
    Demo(serve_cmd::DemoArgs),
    /// Serve installed workflows as MCP tools over standard input/output.
    Mcp,
    /// Try an expression against JSON, as a workflow's templates would see it.
    Eval(eval_cmd::EvalArgs),
}

/// The engine over the configured store, with the settings of `LUMOSFLOW_*` variables and
/// the runs of dead processes on this host closed out first.
async fn engine(db: &Option<String>) -> anyhow::Result<engine::Engine> {
    let config = engine::EngineConfig::from_env()?;
    let store = connect_cmd::open_store(db).await?;
    let engine = engine::Engine::with_config(std::sync::Arc::new(store), config);
    engine.recover().await?;
    Ok(engine)
}

/// What to type next, for errors the CLI can help with (the libraries' messages say only
/// what is wrong; each interface words its own way out).
fn hint(e: &anyhow::Error) -> String {
    use engine::EngineError;
    use engine::connections::ConnectError;
    let connection = |c: &ConnectError| {
        matches!(c, ConnectError::NotFound(_)).then(|| {
            "; see `lumosflow connections list`, or connect one with `lumosflow connect`".to_owned()
        })
    };
    let found = e.chain().find_map(|cause| {
        if let Some(err) = cause.downcast_ref::<EngineError>() {
            return match err {
                EngineError::NotInstalled { id, bundled: true } => Some(format!(
                    "; install it with `lumosflow workflows install {id}`"
                )),
                EngineError::NotInstalled { bundled: false, .. } => {
                    Some(" (see `lumosflow workflows list`)".to_owned())
                }
                EngineError::Connection(c) => connection(c),
                EngineError::QueueFull { .. } => Some("".to_owned()),
                _ => None,
            };
        }
        if let Some(c) = cause.downcast_ref::<ConnectError>() {
            return connection(c);
        }
        match cause.downcast_ref::<lumos_api::Error>() {
            Some(lumos_api::Error::UnknownOperation { suggestions, .. })
                if suggestions.is_empty() =>
            {
                Some("; `lumosflow api operations` lists them".to_owned())
            }
            _ => None,
        }
    });
    found.unwrap_or_default()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut filter =
        tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into());
    // The certificate verifier logs its refusal as an error of its own; the command's error
    // already says it, with what to do. Shown when asked for by name.
    if !cli.log.contains("rustls")
        && let Ok(quiet) = "rustls_platform_verifier=off".parse()
    {
        filter = filter.add_directive(quiet);
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        operator::check()?;
        match cli.command {
            Command::Api(cmd) => api_cmd::run(&cli.database_url, cmd).await,
            Command::Sim(args) => sim_cmd::run(args).await,
            Command::Connect(args) => connect_cmd::connect(&cli.database_url, args).await,
            Command::Connections(cmd) => connect_cmd::connections(&cli.database_url, cmd).await,
            Command::Workflows(cmd) => {
                workflows_cmd::run(&engine(&cli.database_url).await?, cmd).await
            }
            Command::Run(args) => run_cmd::run(&engine(&cli.database_url).await?, args).await,
            Command::Runs(cmd) => runs_cmd::runs(&engine(&cli.database_url).await?, cmd).await,
            Command::Approvals(args) => {
                approvals_cmd::approvals(&engine(&cli.database_url).await?, args).await
            }
            Command::Notifications(cmd) => {
                notifications_cmd::notifications(&engine(&cli.database_url).await?, cmd).await
            }
            Command::Triggers(cmd) => {
                triggers_cmd::triggers(&engine(&cli.database_url).await?, cmd).await
            }
            Command::Schedules(cmd) => {
                schedules_cmd::schedules(&engine(&cli.database_url).await?, cmd).await
            }
            Command::Secrets(cmd) => {
                secrets_cmd::secrets(&engine(&cli.database_url).await?, cmd).await
            }
            Command::Slack(cmd) => slack_cmd::slack(&engine(&cli.database_url).await?, cmd).await,
            Command::Serve(args) => serve_cmd::serve(&cli.database_url, args).await,
            Command::Keys(cmd) => serve_cmd::keys(&engine(&cli.database_url).await?, cmd).await,
            Command::People(cmd) => {
                people_cmd::people(&engine(&cli.database_url).await?, cmd).await
            }
            Command::Sessions(cmd) => {
                people_cmd::sessions(&engine(&cli.database_url).await?, cmd).await
            }
            Command::Audit(args) => audit_cmd::audit(&engine(&cli.database_url).await?, args).await,
            Command::Backup(args) => {
                backup_cmd::backup(&engine(&cli.database_url).await?, args).await
            }
            Command::Demo(args) => serve_cmd::demo(args).await,
            Command::Eval(args) => eval_cmd::eval(args),
            Command::Mcp => {
                Ok(mcp::serve_stdio(std::sync::Arc::new(engine(&cli.database_url).await?)).await?)
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): what it wanted was printed; not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                    || c.downcast_ref::<serde_json::Error>()
                        .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}{}", hint(&e));
            ExitCode::FAILURE
        }
    }
}
