//! Step outputs at rest: JSON text when tiny, zstd-compressed JSON otherwise; the step
//! records a run writes with its end, compressed together. A busy history is mostly step
//! outputs (86 of 136 MB after 10,000 small runs), and JSON shrinks severalfold.

use std::cell::RefCell;

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
    compress(&text).map(Some)
}

/// The output back from either column.
pub(crate) fn unpack(json: Option<Value>, z: Option<&[u8]>) -> Result<Option<Value>> {
    let Some(z) = z else { return Ok(json) };
    unpack_as(z).map(Some)
}

/// Any value as compressed JSON.
pub(crate) fn pack_as<T: serde::Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
    let text = serde_json::to_vec(v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    compress(&text)
}

/// A value back from compressed JSON.
pub(crate) fn unpack_as<T: serde::de::DeserializeOwned>(z: &[u8]) -> Result<T> {
    let text = decompress(z)?;
    serde_json::from_slice(&text)
        .map_err(|e| StoreError::Corrupt(format!("a compressed record: {e}")))
}

/// Largest record decompressed at once: anything claiming more is not ours.
const LARGEST: u64 = 256 << 20;

thread_local! {
    // One context per thread, kept: making one costs more than compressing a step's output.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

fn compress(text: &[u8]) -> Result<Vec<u8>> {
    let failed = |e: std::io::Error| StoreError::Corrupt(format!("cannot compress a record: {e}"));
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        let c = match &mut *c {
            Some(c) => c,
            empty => empty.insert(zstd::bulk::Compressor::new(LEVEL).map_err(failed)?),
        };
        c.compress(text).map_err(failed)
    })
}

fn decompress(z: &[u8]) -> Result<Vec<u8>> {
    let corrupt = |e: String| StoreError::Corrupt(format!("a compressed record: {e}"));
    // Our frames say their size; one that does not is read as a stream.
    let size = match zstd::zstd_safe::get_frame_content_size(z) {
        Ok(Some(n)) if n <= LARGEST => n as usize,
        Ok(Some(n)) => return Err(corrupt(format!("it claims {n} bytes"))),
        _ => return zstd::stream::decode_all(z).map_err(|e| corrupt(e.to_string())),
    };
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        let d = match &mut *d {
            Some(d) => d,
            empty => {
                empty.insert(zstd::bulk::Decompressor::new().map_err(|e| corrupt(e.to_string()))?)
            }
        };
        d.decompress(z, size).map_err(|e| corrupt(e.to_string()))
    })
}
