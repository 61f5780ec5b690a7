//! One Lumos client per connection, so runs share keep-alive connections and rate-limit
//! pacing; rebuilt when the connection is saved again.

use crate::connections::{self, ConnectError};
use crate::engine::Engine;
use crate::error::Result;

impl Engine {
    /// A connection's row (none: there is no such connection), read at most every half
    /// second (see `ConnectionRows`).
    pub(crate) async fn connection_row(&self, name: &str) -> Result<Option<store::Connection>> {
        if let Some(row) = self.connection_rows.get(name) {
            return Ok(row);
        }
        let row = self.store.connection(name).await?;
        self.connection_rows.keep(name.to_owned(), row.clone());
        Ok(row)
    }

    /// The client of a saved connection.
    pub async fn client(&self, name: &str) -> Result<lumos_api::Client> {
        let conn = self
            .connection_row(name)
            .await?
            .ok_or_else(|| ConnectError::NotFound(name.to_owned()))?;
        let cached = self
            .clients
            .by_name
            .lock()
            .ok()
            .and_then(|m| m.get(name).cloned());
        if let Some((at, c)) = cached
            && at == conn.updated_at
        {
            return Ok(c);
        }
        let client = connections::client_for(
            &self.store,
            name,
            self.config.retry.clone(),
            self.config.lumos_timeout,
        )
        .await?;
        let client = match &self.observers.on_request {
            Some(w) => client.watched(w.clone()),
            None => client,
        };
        if let Ok(mut m) = self.clients.by_name.lock() {
            m.insert(name.to_owned(), (conn.updated_at, client.clone()));
        }
        Ok(client)
    }
}

impl Engine {
    /// Whether `actor` may run against connection `name`; a missing connection is left to
    /// the client lookup, which says so.
    pub(crate) async fn check_connection_use(
        &self,
        name: &str,
        actor: &crate::actor::Actor,
    ) -> Result<()> {
        let Some(conn) = self.connection_row(name).await? else {
            return Ok(());
        };
        let allowed = connections::allowed_roles(&conn);
        if allowed.contains(&actor.role) {
            return Ok(());
        }
        let list: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        Err(crate::error::EngineError::Forbidden(format!(
            "{} ({}) may not run against connection '{name}': it is open to {} (an admin can change that)",
            actor.label,
            actor.role,
            list.join(", ")
        )))
    }

    /// Set which roles may run against a connection; `None` restores the default rule.
    pub async fn set_connection_roles(
        &self,
        name: &str,
        roles: Option<&[workflow_lang::Role]>,
        by: &crate::actor::Actor,
    ) -> Result<store::Connection> {
        let text = roles.map(|r| r.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","));
        if !self
            .store
            .set_connection_roles(name, text.as_deref())
            .await
            .inspect(|_| self.connection_rows.forget())?
        {
            return Err(ConnectError::NotFound(name.to_owned()).into());
        }
        self.audit(
            by,
            "connection.roles",
            name,
            Some(serde_json::json!({"roles": text})),
        )
        .await;
        self.store
            .connection(name)
            .await?
            .ok_or_else(|| ConnectError::NotFound(name.to_owned()).into())
    }
}
