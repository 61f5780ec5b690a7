//! Step outputs at rest: JSON text when tiny, zstd-compressed JSON otherwise. A busy history
//! is mostly step outputs (86 of 136 MB after 10,000 small runs), and JSON shrinks severalfold.

use serde_json::Value;

use crate::{Result, StoreError};

/// Below this many bytes of JSON, compressing saves too little to be worth a blob.
const SMALLEST_COMPRESSED: usize = 256;
/// zstd's default level: a few microseconds for a step output, most of the gain.
const LEVEL: i32 = 3;

/// How one output is stored: its JSON compressed, or `None` when it is small enough to be
/// kept as JSON (exactly one of the two columns holds it).
pub(crate) fn pack(v: &Value) -> Result<Option<Vec<u8>>> {
    let text = serde_json::to_vec(v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if text.len() < SMALLEST_COMPRESSED {
        return Ok(None);
    }
    zstd::bulk::compress(&text, LEVEL)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("cannot compress a step output: {e}")))
}

/// The output back from either column.
pub(crate) fn unpack(json: Option<Value>, z: Option<&[u8]>) -> Result<Option<Value>> {
    let Some(z) = z else { return Ok(json) };
    let text = zstd::stream::decode_all(z)
        .map_err(|e| StoreError::Corrupt(format!("a compressed step output: {e}")))?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("a compressed step output: {e}")))
}
