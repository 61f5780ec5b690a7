//! Test support: throwaway databases (a SQLite file in a temporary directory, or a fresh
//! database on the PostgreSQL server named by `LUMOSFLOW_TEST_PG_URL`), a fault proxy, and a
//! stand-in for Slack's Web API.

mod fault_proxy;
mod slack_standin;

pub use fault_proxy::{Fault, FaultProxy};
pub use slack_standin::{Message, SlackStandIn};

use std::path::PathBuf;

use sqlx::Connection as _;
use store::{KeySource, Store};
use tempfile::TempDir;

/// A test database; dropped (PostgreSQL) or deleted (SQLite) with the value.
pub struct Db {
    pub url: String,
    pub dir: TempDir,
    pg_admin: Option<(String, String)>,
}

impl Db {
    pub fn key_file(&self) -> KeySource {
        KeySource::File(self.dir.path().join("master.key"))
    }
    pub async fn open(&self) -> Store {
        Store::open(&self.url, self.key_file())
            .await
            .expect("store opens")
    }
    pub fn sqlite_files(&self) -> Vec<PathBuf> {
        ["lumosflow.db", "lumosflow.db-wal", "lumosflow.db-shm"]
            .iter()
            .map(|f| self.dir.path().join(f))
            .collect()
    }
    pub fn is_sqlite(&self) -> bool {
        self.pg_admin.is_none()
    }

    /// Another empty database of the same kind.
    pub async fn fresh(&self) -> Db {
        if self.is_sqlite() {
            sqlite()
        } else {
            postgres().await.expect("PostgreSQL was there a moment ago")
        }
    }

    /// Run SQL straight against the database, beside the store: how tests make a table
    /// refuse writes (a trigger) the way a full disk or a broken table would.
    pub async fn exec(&self, sql: &str) {
        if self.is_sqlite() {
            sqlite_exec(std::path::Path::new(&self.url), sql).await;
        } else {
            let mut c = sqlx::PgConnection::connect(&self.url).await.expect("pg");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut c)
                .await
                .expect("sql");
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_admin.take() {
            // Best effort, on a thread of its own: Drop may run inside a runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut c = sqlx::PgConnection::connect(&admin).await.ok()?;
                    // Pools of stopped servers close their connections in the background;
                    // dropping the database under them can stall for a minute, so wait
                    // (briefly) until they are gone.
                    for _ in 0..40 {
                        let open: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1",
                        )
                        .bind(&name)
                        .fetch_one(&mut c)
                        .await
                        .ok()?;
                        if open == 0 {
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    // Best effort, bounded: a drop that waits on another backend gives up and
                    // leaves the database to the throwaway server rather than stall the test.
                    sqlx::query("SET statement_timeout = '5s'")
                        .execute(&mut c)
                        .await
                        .ok()?;
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut c)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// Run SQL straight against a SQLite file (a backup, a copy), beside any store.
pub async fn sqlite_exec(path: &std::path::Path, sql: &str) {
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("sqlite");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut c)
        .await
        .expect("sql");
}

pub fn sqlite() -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = dir.path().join("lumosflow.db").display().to_string();
    Db {
        url,
        dir,
        pg_admin: None,
    }
}

/// A fresh database, or `None` with a notice when `LUMOSFLOW_TEST_PG_URL` is unset outside
/// CI. In CI (`CI` set) it must be set.
pub async fn postgres() -> Option<Db> {
    let Ok(admin) = std::env::var("LUMOSFLOW_TEST_PG_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "LUMOSFLOW_TEST_PG_URL must be set in CI"
        );
        eprintln!("NOTICE: LUMOSFLOW_TEST_PG_URL is unset; skipping the PostgreSQL run");
        return None;
    };
    let name = format!("lf_test_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL reachable");
    let sql = format!("CREATE DATABASE \"{name}\"");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .expect("create database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(Db {
        url: format!("{base}/{name}"),
        dir: tempfile::tempdir().expect("tempdir"),
        pg_admin: Some((admin.clone(), name)),
    })
}

/// The official Lumos OpenAPI document, read from `../shared/lumos/openapi.json` beside the
/// repository (it is reference data and never copied into it). `None` with a notice when it
/// is absent, unless `LUMOSFLOW_REQUIRE_SPEC` is set (`.ci/run` sets it when the file is
/// there), in which case a missing or unreadable document fails the test.
pub fn official_spec() -> Option<serde_json::Value> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/lumos/openapi.json");
    let required = std::env::var_os("LUMOSFLOW_REQUIRE_SPEC").is_some();
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("the official spec is JSON")),
        Err(e) => {
            assert!(
                !required,
                "LUMOSFLOW_REQUIRE_SPEC is set but {} cannot be read: {e}",
                path.display()
            );
            eprintln!(
                "NOTICE: {} is absent; skipping this spec conformance test",
                path.display()
            );
            None
        }
    }
}

/// Define `sqlite` and `postgres` tests in module `$name` that run `$body(Db)`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$body($crate::sqlite()).await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(db) = $crate::postgres().await {
                    super::$body(db).await;
                }
            }
        }
    };
}
