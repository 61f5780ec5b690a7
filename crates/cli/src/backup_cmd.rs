//! `lumosflow backup FILE`: a consistent copy of the SQLite database, safe while a server runs.

use std::path::PathBuf;

use clap::Args;
use engine::Engine;

#[derive(Args)]
pub struct BackupArgs {
    /// Where to write the copy (a new file). Restore: stop every server, put the copy in the
    /// database's place (removing its -wal and -shm files), start again.
    file: PathBuf,
}

pub async fn backup(engine: &Engine, args: BackupArgs) -> anyhow::Result<()> {
    let b = engine.backup(&args.file, &crate::operator::me()).await?;
    println!("backed up to {}", args.file.display());
    if b.interrupted > 0 {
        println!(
            "{} run(s) had not ended: in the copy they are failed (\"interrupted by a restore\"), so a restore never runs them again",
            b.interrupted
        );
    }
    // The copy's secrets and token are encrypted with the master key, which is not in it.
    println!(
        "keep the master key with it (LUMOSFLOW_MASTER_KEY, or master.key beside the database): without it the copy's connections and secrets cannot be read"
    );
    Ok(())
}
