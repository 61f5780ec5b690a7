//! How the engine's database is doing, for health and readiness checks and metrics.

use store::{Connection, QueueStats};

use crate::engine::Engine;
use crate::error::Result;

/// Liveness: whether the database answers a read, and what the connections last said.
pub struct Health {
    pub backend: &'static str,
    /// `Err` with the reason when the database does not answer.
    pub database: std::result::Result<(), String>,
    pub connections: Vec<Connection>,
}

impl Engine {
    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// A cheap read of the database and the connections' last checks.
    pub async fn health(&self) -> Health {
        let database = self.store.ping().await.map_err(|e| e.to_string());
        let connections = self.store.connections().await.unwrap_or_default();
        Health {
            backend: self.store.backend(),
            database,
            connections,
        }
    }

    /// Whether the database answers a read; `Err` says why not.
    pub async fn database_answers(&self) -> std::result::Result<(), String> {
        self.store.ping().await.map_err(|e| e.to_string())
    }

    /// Readiness: the database takes a write; `Err` says why not.
    pub async fn ready(&self) -> std::result::Result<(), String> {
        self.store.check_writable().await.map_err(|e| e.to_string())
    }

    /// Approvals waiting, notice deliveries, the database's size: for metrics.
    pub async fn operator_stats(&self) -> Result<store::OperatorStats> {
        Ok(self.store.operator_stats().await?)
    }

    pub async fn queue_stats(&self) -> Result<QueueStats> {
        Ok(self.store.queue_stats().await?)
    }

    /// The installed set as `id@version,…`: changes when anything is installed, edited or
    /// uninstalled.
    pub async fn installed_fingerprint(&self) -> Result<String> {
        Ok(self
            .store
            .workflows()
            .await?
            .iter()
            .map(|r| format!("{}@{}", r.id, r.current_version))
            .collect::<Vec<_>>()
            .join(","))
    }
}
