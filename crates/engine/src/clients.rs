//! One Lumos client per connection, so runs share keep-alive connections and rate-limit
//! pacing; rebuilt when the connection is saved again.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::Engine;
use crate::connections::{self, ConnectError};
use crate::error::Result;

#[derive(Default)]
pub(crate) struct Clients {
    /// Each connection's client and the connection's `updated_at` it was built from.
    by_name: Mutex<HashMap<String, (DateTime<Utc>, lumos_api::Client)>>,
}

impl Engine {
    /// The client of a saved connection.
    pub async fn client(&self, name: &str) -> Result<lumos_api::Client> {
        let conn = self
            .store
            .connection(name)
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
        if let Ok(mut m) = self.clients.by_name.lock() {
            m.insert(name.to_owned(), (conn.updated_at, client.clone()));
        }
        Ok(client)
    }
}
