//! Telling other processes at once that something happened: PostgreSQL `LISTEN/NOTIFY`.
//! On SQLite there is no such channel; processes poll instead (the engine does both, so a
//! lost notification only costs a poll interval).

use sqlx::postgres::PgListener;

use crate::{Pool, Result, Store};

/// A run was canceled; the payload is its id.
pub const CANCEL: &str = "lumosflow_cancel";
/// A run was queued; the payload is its id.
pub const QUEUE: &str = "lumosflow_queue";
/// A run taken from the queue ended; the payload is its id.
pub const ENDED: &str = "lumosflow_ended";

/// Something another process did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    Canceled(String),
    Queued(String),
    Ended(String),
}

/// A subscription to [`Signal`]s (PostgreSQL only).
pub struct Signals {
    listener: PgListener,
}

impl Signals {
    /// The next signal; an error means the connection broke (it reconnects on the next call,
    /// and signals sent meanwhile are lost: pollers cover for them).
    pub async fn recv(&mut self) -> Result<Signal> {
        loop {
            let n = self.listener.recv().await?;
            let id = n.payload().to_owned();
            match n.channel() {
                CANCEL => return Ok(Signal::Canceled(id)),
                QUEUE => return Ok(Signal::Queued(id)),
                ENDED => return Ok(Signal::Ended(id)),
                _ => continue,
            }
        }
    }
}

impl Store {
    /// Send a signal to every listening process; best effort (a failure is only logged: the
    /// pollers will see the change).
    pub(crate) async fn signal(&self, channel: &str, payload: &str) {
        if let Pool::Postgres(p) = &self.pool
            && let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(channel)
                .bind(payload)
                .execute(p)
                .await
        {
            tracing::warn!(error = %e, channel, "could not send a notification");
        }
    }

    /// Tell other processes that a run was queued.
    pub async fn signal_queued(&self, run_id: &str) {
        self.signal(QUEUE, run_id).await;
    }

    /// Subscribe to signals; `None` on SQLite, which has none.
    pub async fn signals(&self) -> Result<Option<Signals>> {
        match &self.pool {
            Pool::Postgres(p) => {
                let mut listener = PgListener::connect_with(p).await?;
                listener.listen_all([CANCEL, QUEUE, ENDED]).await?;
                Ok(Some(Signals { listener }))
            }
            Pool::Sqlite(_) => Ok(None),
        }
    }
}
