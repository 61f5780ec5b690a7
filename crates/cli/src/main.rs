//! `lumosflow`: argument parsing and output only; the work happens in the library crates.

mod api_cmd;
mod sim_cmd;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
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
        match cli.command {
            Command::Api(cmd) => api_cmd::run(cmd).await,
            Command::Sim(args) => sim_cmd::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
