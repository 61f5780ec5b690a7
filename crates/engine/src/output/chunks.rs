//! Storing a listing's items as they arrive: NDJSON lines gathered into chunks of about
//! 1 MiB, compressed with zstd (Lumos listings shrink about tenfold), one row each.

use std::sync::Arc;

use lumos_api::RawPage;
use serde_json::Value;
use store::{OutputChunk, Store};
use tokio::task::JoinHandle;

use super::OutputError;

/// NDJSON bytes per chunk: big enough to compress well and keep rows few, small enough
/// that paging to any item decompresses little.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;
/// zstd's fastest regular level: about 700 MB/s here, for most of the gain of the others.
const LEVEL: i32 = 1;

pub(crate) struct ChunkWriter {
    store: Arc<Store>,
    run_id: String,
    /// The chunk being stored while the next one fills (at most one at a time, so chunks
    /// land in order and memory stays at two chunks).
    storing: Option<JoinHandle<Result<(), OutputError>>>,
    buf: Vec<u8>,
    in_buf: u32,
    /// Items handed to the store (stored, or being stored).
    stored: u64,
    bytes: u64,
}

impl ChunkWriter {
    pub(crate) fn new(store: Arc<Store>, run_id: &str) -> ChunkWriter {
        ChunkWriter {
            store,
            run_id: run_id.to_owned(),
            storing: None,
            buf: Vec::new(),
            in_buf: 0,
            stored: 0,
            bytes: 0,
        }
    }

    /// Items written so far.
    pub(crate) fn items(&self) -> u64 {
        self.stored + u64::from(self.in_buf)
    }

    /// Bytes of NDJSON written so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    fn push(&mut self, item: &[u8]) {
        if self.buf.capacity() == 0 {
            self.buf.reserve(CHUNK_BYTES + (CHUNK_BYTES >> 3));
        }
        self.buf.extend_from_slice(item);
        self.buf.push(b'\n');
        self.in_buf += 1;
        self.bytes += item.len() as u64 + 1;
    }

    pub(crate) async fn page(&mut self, page: &RawPage) -> Result<(), OutputError> {
        for item in page.items() {
            self.push(item);
            if self.buf.len() >= CHUNK_BYTES {
                self.flush_soon().await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn values(&mut self, items: &[Value]) -> Result<(), OutputError> {
        let mut raw = Vec::new();
        for item in items {
            raw.clear();
            serde_json::to_writer(&mut raw, item)
                .map_err(|e| OutputError::Encode(e.to_string()))?;
            self.push(&raw);
            if self.buf.len() >= CHUNK_BYTES {
                self.flush_soon().await?;
            }
        }
        Ok(())
    }

    /// Hand what is gathered to the store (compressed off the async workers), after the
    /// previous chunk is stored.
    async fn flush_soon(&mut self) -> Result<(), OutputError> {
        if self.in_buf == 0 {
            return Ok(());
        }
        self.stored_previous().await?;
        let raw = std::mem::take(&mut self.buf);
        let chunk_first = self.stored;
        let items = self.in_buf;
        self.in_buf = 0;
        let (store, run_id) = (self.store.clone(), self.run_id.clone());
        self.storing = Some(tokio::spawn(async move {
            let raw_bytes = raw.len() as i64;
            let data = tokio::task::spawn_blocking(move || zstd::bulk::compress(&raw, LEVEL))
                .await
                .map_err(|e| OutputError::Encode(e.to_string()))?
                .map_err(|e| OutputError::Encode(e.to_string()))?;
            let chunk = OutputChunk {
                first_item: chunk_first as i64,
                items: items as i32,
                raw_bytes,
                data,
            };
            store.add_output_chunk(&run_id, &chunk).await?;
            Ok(())
        }));
        self.stored += u64::from(items);
        Ok(())
    }

    async fn stored_previous(&mut self) -> Result<(), OutputError> {
        match self.storing.take() {
            Some(h) => h.await.map_err(|e| OutputError::Encode(e.to_string()))?,
            None => Ok(()),
        }
    }

    /// Let a chunk being stored land (or fail) before the run's items are deleted: nothing
    /// may be written for a run after its output is given up.
    pub(crate) async fn settle(mut self) {
        let _ = self.stored_previous().await;
    }

    /// Store everything gathered, and wait until it is stored.
    pub(crate) async fn flush(&mut self) -> Result<(), OutputError> {
        self.flush_soon().await?;
        self.stored_previous().await
    }
}
