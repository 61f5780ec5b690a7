//! Reading a run's stored items back, chunk by chunk, from any item on. Every chunk is
//! checked against where it says it starts and how many items it holds: a gap or a short
//! chunk is an error, never a shorter output.

use std::collections::VecDeque;
use std::sync::Arc;

use store::{OutputChunk, Store};

use super::OutputError;

/// Chunks fetched per query (each about 100 KiB compressed).
const FETCH: i64 = 4;

/// Items `from .. end` of a run's output.
pub struct StoredItems {
    store: Arc<Store>,
    run_id: String,
    next: u64,
    end: u64,
    fetched: VecDeque<OutputChunk>,
}

/// Consecutive items as NDJSON (one per line, each line ending in `\n`).
pub struct ItemBlock {
    pub first_item: u64,
    ndjson: Vec<u8>,
}

impl ItemBlock {
    /// Each item's JSON text.
    pub fn items(&self) -> impl Iterator<Item = &[u8]> {
        self.ndjson
            .strip_suffix(b"\n")
            .unwrap_or(&self.ndjson)
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
    }
}

impl StoredItems {
    pub(crate) fn new(store: Arc<Store>, run_id: &str, from: u64, end: u64) -> StoredItems {
        StoredItems {
            store,
            run_id: run_id.to_owned(),
            next: from.min(end),
            end,
            fetched: VecDeque::new(),
        }
    }

    /// Items still to come.
    pub fn remaining(&self) -> u64 {
        self.end - self.next
    }

    /// The next items, or `None` after the last.
    pub async fn next_block(&mut self) -> Result<Option<ItemBlock>, OutputError> {
        if self.next >= self.end {
            return Ok(None);
        }
        if self.fetched.is_empty() {
            self.fetched = self
                .store
                .output_chunks(&self.run_id, self.next, FETCH)
                .await?
                .into();
        }
        let Some(chunk) = self.fetched.pop_front() else {
            return Err(OutputError::Corrupt(format!(
                "items {} to {} of the output are missing from the store",
                self.next, self.end
            )));
        };
        let first = chunk.first_item as u64;
        let count = chunk.items as u64;
        if first > self.next || first + count <= self.next {
            return Err(OutputError::Corrupt(format!(
                "the stored output jumps from item {} to a chunk holding items {first} to {}",
                self.next,
                first + count
            )));
        }
        let raw = decode(&chunk)?;
        let skip = self.next - first;
        let take = (count - skip).min(self.end - self.next);
        let block = if skip == 0 && take == count {
            raw
        } else {
            let start = nth_line_start(&raw, skip);
            let stop = nth_line_start(&raw, skip + take);
            raw[start..stop].to_vec()
        };
        let block = ItemBlock {
            first_item: self.next,
            ndjson: block,
        };
        self.next += take;
        Ok(Some(block))
    }
}

/// A chunk's items as NDJSON, checked to hold as many items as it says.
pub(super) fn decode(chunk: &OutputChunk) -> Result<Vec<u8>, OutputError> {
    let first = chunk.first_item;
    let raw = zstd::bulk::decompress(&chunk.data, chunk.raw_bytes as usize).map_err(|e| {
        OutputError::Corrupt(format!(
            "a chunk of items from {first} on cannot be read: {e}"
        ))
    })?;
    let lines = memchr::memchr_iter(b'\n', &raw).count() as u64;
    if lines != chunk.items as u64 {
        return Err(OutputError::Corrupt(format!(
            "the chunk of items from {first} on holds {lines} items where {} were stored",
            chunk.items
        )));
    }
    Ok(raw)
}

/// Where line `n` (from 0) starts; the end of the text past the last.
fn nth_line_start(text: &[u8], n: u64) -> usize {
    if n == 0 {
        return 0;
    }
    let mut seen = 0;
    for (i, b) in text.iter().enumerate() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return i + 1;
            }
        }
    }
    text.len()
}
