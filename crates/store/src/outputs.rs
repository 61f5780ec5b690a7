//! Run outputs at any size. A listing's items are stored as they arrive, in chunks the engine
//! encodes (the store keeps their bytes and where they start); the run row says what the
//! output is and, while it runs, how far it got.

use serde::{Deserialize, Serialize};

use crate::from_row::from_row;
use crate::{Result, Store, with_pool};

/// What a run's output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// One JSON value, kept whole in `output`.
    Value,
    /// An object whose `items` are in chunks; `output` keeps its other fields.
    Listing,
    /// A bare list whose items are in chunks.
    List,
}

/// The size and shape of a stored output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutputInfo {
    pub kind: OutputKind,
    /// Items stored in chunks (0 for a value).
    pub items: u64,
    /// Bytes of the output as JSON text (items as NDJSON for listings).
    pub bytes: u64,
    /// CSV columns decided when the run was planned (from the workflow or the operation's
    /// item schema); without them a reader takes them from the first items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
}

/// How far a run that walks pages got.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct RunProgress {
    pub items: u64,
    pub pages: u64,
    /// The number of items Lumos announced, when it did.
    pub total: Option<u64>,
}

/// Items `first_item .. first_item + items` of an output, encoded by the engine.
#[derive(Debug, Clone)]
pub struct OutputChunk {
    pub first_item: i64,
    pub items: i32,
    /// Their size before encoding.
    pub raw_bytes: i64,
    pub data: Vec<u8>,
}

from_row!(OutputChunk {
    first_item,
    items,
    raw_bytes,
    data
});

impl Store {
    pub async fn add_output_chunk(&self, run_id: &str, c: &OutputChunk) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO run_output_chunks (run_id, first_item, items, raw_bytes, data) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(run_id).bind(c.first_item).bind(c.items).bind(c.raw_bytes).bind(&c.data)
        .execute(p).await.map(|x| x.rows_affected()))?;
        Ok(())
    }

    /// Up to `limit` chunks in order, from the one that holds item `from`.
    pub async fn output_chunks(
        &self,
        run_id: &str,
        from: u64,
        limit: i64,
    ) -> Result<Vec<OutputChunk>> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        Ok(
            with_pool!(&self.pool, p => sqlx::query_as::<_, OutputChunk>(
            "SELECT first_item, items, raw_bytes, data FROM run_output_chunks WHERE run_id = $1 AND first_item >= \
             (SELECT COALESCE(MAX(first_item), 0) FROM run_output_chunks WHERE run_id = $1 AND first_item <= $2) \
             ORDER BY first_item LIMIT $3",
        ).bind(run_id).bind(from).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Forget a run's stored items (a run that did not complete has no output to give).
    pub async fn drop_output(&self, run_id: &str) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query("DELETE FROM run_output_chunks WHERE run_id = $1")
            .bind(run_id).execute(p).await.map(|x| x.rows_affected()))?;
        Ok(())
    }

    pub async fn set_progress(&self, run_id: &str, progress: &RunProgress) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query("UPDATE runs SET progress = $2 WHERE id = $1")
            .bind(run_id).bind(sqlx::types::Json(progress)).execute(p).await.map(|x| x.rows_affected()))?;
        Ok(())
    }
}
