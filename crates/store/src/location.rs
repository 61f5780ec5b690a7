//! Where the database and key file live: `--database-url` / `LUMOSFLOW_DATABASE_URL`, else
//! `$LUMOSFLOW_HOME/lumosflow.db`, else the platform data directory.

use std::path::PathBuf;

use crate::StoreError;

/// `$LUMOSFLOW_HOME`, else the platform data directory (e.g. `~/.local/share/lumosflow`).
pub fn default_home() -> PathBuf {
    if let Some(home) = std::env::var_os("LUMOSFLOW_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    directories::ProjectDirs::from("com", "lumosflow", "lumosflow")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".lumosflow"))
}

pub fn default_database_url() -> String {
    default_home().join("lumosflow.db").display().to_string()
}

/// The file behind a SQLite URL or plain path.
pub(crate) fn sqlite_path(url: &str) -> Result<PathBuf, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let rest = rest.split('?').next().unwrap_or(rest);
    if rest.is_empty() || rest.contains("://") {
        return Err(StoreError::Url(url.to_owned()));
    }
    Ok(PathBuf::from(rest))
}

/// The master key for a database: `LUMOSFLOW_MASTER_KEY` when set, else `master.key` next to
/// a SQLite file (or in the data directory for PostgreSQL).
pub fn key_source_for(url: &str) -> crate::KeySource {
    if let Ok(k) = std::env::var("LUMOSFLOW_MASTER_KEY")
        && !k.trim().is_empty()
    {
        return crate::KeySource::Env(zeroize::Zeroizing::new(k));
    }
    let dir = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        default_home()
    } else {
        sqlite_path(url)
            .ok()
            .and_then(|p| p.parent().map(PathBuf::from))
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    };
    crate::KeySource::File(dir.join("master.key"))
}
