//! The SQLite file itself: created readable by its owner only (it holds sealed tokens and
//! the whole run history; SQLite gives its WAL and shared-memory files the same mode), and
//! a lock file that makes one process at a time create or migrate it.

use std::fs::File;
use std::path::Path;

use crate::StoreError;

fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Dir {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Create the database file with mode 0600 if it does not exist yet.
pub(crate) fn create_private(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(drop).map_err(|e| io_error(path, e))
}

/// An exclusive lock on `<db>.lock`, held until the returned file is dropped.
pub(crate) async fn migration_lock(db: &Path) -> Result<File, StoreError> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = std::path::PathBuf::from(name);
    tokio::task::spawn_blocking(move || {
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&lock_path).map_err(|e| io_error(&lock_path, e))?;
        file.lock().map_err(|e| io_error(&lock_path, e))?;
        Ok(file)
    })
    .await
    .map_err(|e| StoreError::Busy(format!("waiting for the migration lock: {e}")))?
}
