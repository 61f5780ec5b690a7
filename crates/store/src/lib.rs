//! Persistence for lumosflow: the only place that speaks SQL.
//!
//! SQLite (a file, WAL mode) by default, PostgreSQL when the URL says `postgres://`. Both
//! run their own embedded migrations at open and share one Rust interface; queries are
//! written once in the SQL both dialects accept.

mod approvals;
mod audit;
mod backup;
mod clean;
mod compressed;
mod connections;
mod crypto;
mod from_row;
mod hook_replies;
mod keys;
mod leases;
mod location;
mod migrations;
mod notifications;
mod operator_stats;
mod outputs;
mod people;
mod queue;
mod retention;
mod runs;
mod secrets;
mod sessions;
mod signals;
mod slack;
mod sqlite_file;
mod status;
mod triggers;
mod workflows;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use approvals::{AfterApproval, Decided, Decision, NewDecision};
pub use audit::{AuditCheck, AuditEvent, AuditFilter, AuditHead, AuditTally, Broken};
pub use backup::Backup;
pub use connections::{Connection, NewConnection};
pub use crypto::{KeySource, generate_key_base64};
pub use hook_replies::DueReply;
pub use keys::{ApiKey, NewApiKey};
pub use leases::{CancelOutcome, HeldRun};
pub use location::{default_database_url, default_home, key_source_for};
pub use notifications::{Delivery, DueDelivery, NewTarget, NotificationTarget, OpenTarget};
pub use operator_stats::{DeliveryCount, OperatorStats};
pub use outputs::{OutputChunk, OutputInfo, OutputKind, RunProgress};
pub use people::{Person, email_key};
pub use queue::{Claimed, QueueStats};
pub use runs::{Finished, NewRun, Run, RunFilter, StepRow, in_step_order};
pub use secrets::{SecretInfo, SecretScope};
pub use sessions::{LiveSession, SessionRow};
pub use signals::{Signal, Signals};
pub use slack::{SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, is_slack_secret};
pub use sqlx::types::Json;
pub use status::{PersonStatus, RunStatus, StepStatus};
pub use triggers::{NewTrigger, Receipt, Trigger};
pub use workflows::{SaveWorkflow, WorkflowRow, WorkflowVersion, content_hash};

use crypto::MasterKey;

/// What went wrong in the store. The database's own error is part of the message, not a
/// separate cause, so it is printed once.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    #[error("the database is busy: {0}")]
    Busy(String),
    #[error("{0}")]
    Key(String),
    #[error("invalid database URL '{0}': use a file path, sqlite://PATH or postgres://…")]
    Url(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("this database was written by lumosflow {written_by} (schema {schema}); this is lumosflow {this}, which does not know that schema: run lumosflow {written_by} or newer, or restore a backup taken before the upgrade", this = env!("CARGO_PKG_VERSION"))]
    Newer { written_by: String, schema: i64 },
    #[error("cannot back up: {0}")]
    Backup(String),
    #[error("cannot create the data directory {path}: {reason}")]
    Dir { path: String, reason: String },
    #[error("a stored record is damaged: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Run the same query code against whichever backend is open. Both dialects accept `$1`
/// placeholders, `RETURNING` and `ON CONFLICT`.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use with_pool;

pub struct Store {
    pub(crate) pool: Pool,
    pub(crate) key: MasterKey,
    backend: &'static str,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Open (creating a SQLite file if needed), migrate, and load the master key.
    pub async fn open(url: &str, key: KeySource) -> Result<Store> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = sqlx::postgres::PgConnectOptions::from_str(url)
                .map_err(|_| StoreError::Url(url.to_owned()))?;
            // One direct connection first: the pool would report a refused or rejected
            // connection only as "timed out", hiding what an operator must fix.
            {
                use sqlx::ConnectOptions;
                let conn = tokio::time::timeout(Duration::from_secs(10), opts.connect())
                    .await
                    .map_err(|_| {
                        StoreError::Busy("no answer from PostgreSQL within 10 s".to_owned())
                    })??;
                sqlx::Connection::close(conn).await?;
            }
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(10))
                // A ping before every statement would double its round trips: only a
                // connection idle for a second or more is checked before it is used.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= Duration::from_secs(1) {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(opts)
                .await?;
            let migrated = migrations::postgres().run(&pool).await;
            let pool = Pool::Postgres(pool);
            Self::refuse_newer(&pool, migrated).await?;
            pool
        } else {
            let path = location::sqlite_path(url)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir {
                    path: dir.display().to_string(),
                    reason: e.to_string(),
                })?;
            }
            // Several commands started at once on a new home would otherwise race to create
            // the tables; the first migrates, the others wait for it.
            let _lock = sqlite_file::migration_lock(&path).await?;
            sqlite_file::create_private(&path)?;
            let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
                .map_err(|_| StoreError::Url(url.to_owned()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // With WAL, NORMAL loses nothing on an application crash and skips an fsync
                // per commit (at most the last commits on a power cut).
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                // A connection to a file does not go stale; a ping before each statement
                // would be one more hand-off to its thread and back.
                .test_before_acquire(false)
                .connect_with(opts)
                .await?;
            let migrated = migrations::sqlite().run(&pool).await;
            let pool = Pool::Sqlite(pool);
            Self::refuse_newer(&pool, migrated).await?;
            pool
        };
        let backend = match pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        };
        // Who wrote it last, for the refusal above when an older version opens it later
        // (written only when it changes: most opens take no write lock).
        let this = env!("CARGO_PKG_VERSION");
        if Self::meta(&pool, "written_by").await?.as_deref() != Some(this) {
            with_pool!(&pool, p => sqlx::query("INSERT INTO meta (key, value) VALUES ('written_by', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(this).execute(p).await.map(|r| r.rows_affected()))?;
        }
        let key = Self::load_key(&pool, &key).await?;
        let store = Store { pool, key, backend };
        store.upgrade_version_hashes().await?;
        store.chain_old_audit_events().await?;
        Ok(store)
    }

    /// A database migrated by a newer version (a schema this one does not know) is refused in
    /// words that say which version wrote it, not as sqlx's "migration N is missing".
    async fn refuse_newer(
        pool: &Pool,
        migrated: std::result::Result<(), sqlx::migrate::MigrateError>,
    ) -> Result<()> {
        match migrated {
            Err(sqlx::migrate::MigrateError::VersionMissing(schema)) => {
                let written_by = Self::meta(pool, "written_by")
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "a newer version".to_owned());
                Err(StoreError::Newer { written_by, schema })
            }
            other => Ok(other?),
        }
    }

    async fn load_key(pool: &Pool, source: &KeySource) -> Result<MasterKey> {
        let existing = Self::meta(pool, "key_check").await?;
        let key = MasterKey::load(source, existing.is_none())?;
        match existing {
            Some(check) => key.verify(&check)?,
            None => {
                let check = key.check_value()?;
                with_pool!(pool, p => sqlx::query("INSERT INTO meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) DO NOTHING")
                    .bind(&check).execute(p).await.map(|r| r.rows_affected()))?;
                // Two first starts at once: whichever check landed must be ours.
                if let Some(stored) = Self::meta(pool, "key_check").await? {
                    key.verify(&stored)?;
                }
            }
        }
        Ok(key)
    }

    async fn meta(pool: &Pool, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = with_pool!(pool, p => sqlx::query_as("SELECT value FROM meta WHERE key = $1").bind(key).fetch_optional(p).await)?;
        Ok(row.map(|r| r.0))
    }

    /// Move a `meta` value from `old` (absent for `None`) to `new`; false when another process
    /// changed it first. Scheduled runs use it so that one replica fires each tick.
    pub async fn meta_compare_and_set(
        &self,
        key: &str,
        old: Option<&str>,
        new: &str,
    ) -> Result<bool> {
        let n = match old {
            None => {
                with_pool!(&self.pool, p => sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key).bind(new).execute(p).await.map(|r| r.rows_affected()))?
            }
            Some(old) => {
                with_pool!(&self.pool, p => sqlx::query("UPDATE meta SET value = $3 WHERE key = $1 AND value = $2")
                .bind(key).bind(old).bind(new).execute(p).await.map(|r| r.rows_affected()))?
            }
        };
        Ok(n > 0)
    }

    pub async fn meta_value(&self, key: &str) -> Result<Option<String>> {
        Self::meta(&self.pool, key).await
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query("SELECT 1").execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Prove the database takes writes: a committed transaction that changes nothing. A
    /// read-only mount, a full disk or a broken table fail it where a read would pass.
    pub async fn check_writable(&self) -> Result<()> {
        with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE meta SET value = value WHERE key = 'key_check'").execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Run migrations again (a no-op when up to date).
    pub async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => migrations::sqlite().run(p).await?,
            Pool::Postgres(p) => migrations::postgres().run(p).await?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(&self.pool, p => p.close().await);
    }
}
