//! Storing a listing's items as they arrive: NDJSON lines gathered into chunks of about
//! 1 MiB, compressed with zstd (Lumos listings shrink about tenfold), one row each.

use std::sync::Arc;

use lumos_api::RawPage;
use serde_json::Value;
use store::{OutputChunk, Store};

use super::OutputError;

/// NDJSON bytes per chunk: big enough to compress well and keep rows few, small enough
/// that paging to any item decompresses little.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;
/// zstd's fastest regular level: about 700 MB/s here, for most of the gain of the others.
const LEVEL: i32 = 1;

pub(crate) struct ChunkWriter {
    store: Arc<Store>,
    run_id: String,
    buf: Vec<u8>,
    in_buf: u32,
    /// Items already in the store.
    stored: u64,
    bytes: u64,
}

impl ChunkWriter {
    pub(crate) fn new(store: Arc<Store>, run_id: &str) -> ChunkWriter {
        ChunkWriter {
            store,
            run_id: run_id.to_owned(),
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
                self.flush().await?;
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
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Store what is gathered.
    pub(crate) async fn flush(&mut self) -> Result<(), OutputError> {
        if self.in_buf == 0 {
            return Ok(());
        }
        let raw = std::mem::take(&mut self.buf);
        let raw_bytes = raw.len() as i64;
        // Off the async workers: a chunk takes a millisecond or two to compress.
        let data = tokio::task::spawn_blocking(move || zstd::bulk::compress(&raw, LEVEL))
            .await
            .map_err(|e| OutputError::Encode(e.to_string()))?
            .map_err(|e| OutputError::Encode(e.to_string()))?;
        let chunk = OutputChunk {
            first_item: self.stored as i64,
            items: self.in_buf as i32,
            raw_bytes,
            data,
        };
        self.store.add_output_chunk(&self.run_id, &chunk).await?;
        self.stored += u64::from(self.in_buf);
        self.in_buf = 0;
        Ok(())
    }
}
