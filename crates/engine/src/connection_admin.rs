//! Connections as the interfaces see them: connect, list, check, remove — each an engine
//! method, audited where it changes something.

use store::Connection;

use crate::actor::Actor;
use crate::connections::{self, ConnectError};
use crate::engine::Engine;
use crate::error::Result;

impl Engine {
    /// Verify `token` with Lumos at `base_url` and keep it sealed as connection `name`.
    /// Nothing is stored unless Lumos accepted it.
    pub async fn connect(
        &self,
        name: &str,
        base_url: &str,
        token: &str,
        by: &Actor,
    ) -> Result<Connection> {
        let conn = connections::connect(&self.store, name, base_url, token).await?;
        self.connection_rows.forget();
        self.audit(
            by,
            "connection.save",
            &conn.name,
            Some(serde_json::json!({"base_url": conn.base_url, "token": conn.token_hint})),
        )
        .await;
        Ok(conn)
    }

    /// Every connection (token hints only).
    pub async fn connections(&self) -> Result<Vec<Connection>> {
        Ok(self.store.connections().await?)
    }

    /// Verify a connection with Lumos now and record the outcome.
    pub async fn check_connection(&self, name: &str) -> Result<Connection> {
        let checked = connections::check(&self.store, name).await;
        self.connection_rows.forget();
        Ok(checked?)
    }

    /// Remove a connection and its sealed token.
    pub async fn remove_connection(&self, name: &str, by: &Actor) -> Result<()> {
        let removed = self.store.remove_connection(name).await;
        self.connection_rows.forget();
        if !removed? {
            return Err(ConnectError::NotFound(name.to_owned()).into());
        }
        self.audit(by, "connection.remove", name, None).await;
        Ok(())
    }
}
