//! One page of a listing as it came over the wire: the body kept whole, and where each item
//! lies in it. Items are handed on as raw JSON text — checked, never parsed into trees — so a
//! million accounts can flow from Lumos to a file or the database at the speed of the wire.

use std::collections::HashMap;
use std::ops::Range;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::answer::{self, Mismatch};
use crate::catalog::Operation;
use crate::schemas::Schemas;

#[derive(Debug, Clone)]
pub struct RawPage {
    body: Bytes,
    items: Vec<Range<usize>>,
    /// The listing's own numbers, as Lumos gave them.
    pub total: Option<u64>,
    pub pages: Option<u64>,
    pub size: Option<u64>,
    pub limit: Option<u64>,
    /// The cursor of the next page, for cursor listings.
    pub next: Option<String>,
}

impl RawPage {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Each item's JSON text, in order.
    pub fn items(&self) -> impl Iterator<Item = &str> {
        self.items
            .iter()
            .map(|r| std::str::from_utf8(&self.body[r.clone()]).unwrap_or("null"))
    }

    /// The items parsed, for callers that work on values.
    pub fn values(&self) -> Result<Vec<Value>, serde_json::Error> {
        self.items().map(serde_json::from_str).collect()
    }

    /// A page made of values already parsed (an operation that answers a plain list).
    pub fn from_values(values: &[Value]) -> RawPage {
        let mut body = Vec::new();
        let mut items = Vec::with_capacity(values.len());
        for v in values {
            let start = body.len();
            // Writing a `Value` to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut body, v);
            items.push(start..body.len());
            body.push(b'\n');
        }
        RawPage {
            body: Bytes::from(body),
            items,
            total: None,
            pages: None,
            size: None,
            limit: None,
            next: None,
        }
    }

    /// The bytes of the items (without the rest of the body).
    pub fn item_bytes(&self) -> usize {
        self.items.iter().map(|r| r.len()).sum()
    }
}

fn number(top: &HashMap<&str, &RawValue>, key: &str) -> Option<u64> {
    top.get(key)
        .and_then(|raw| serde_json::from_str::<Option<u64>>(raw.get()).ok())
        .flatten()
}

/// Take a listing body apart: its items where they lie, its numbers, its next cursor. A
/// body that is no listing of `op` is a [`Mismatch`] saying what it is.
pub(crate) fn parse(
    op: &Operation,
    headers: &HeaderMap,
    body: Bytes,
    next_key: Option<&str>,
) -> Result<RawPage, Mismatch> {
    if answer::looks_like_html(headers, &body) {
        return Err(answer::not_json(headers, &body));
    }
    let key = op.response.items_key.as_deref().unwrap_or("items");
    let mismatch = |body: &[u8]| match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Mismatch {
            found: format!("{} but no '{key}' list", answer::json_kind(&v)),
        },
        Ok(v) => Mismatch {
            found: answer::json_kind(&v),
        },
        Err(_) => answer::not_json(headers, body),
    };
    let (items, total, pages, size, limit, next) = {
        let Ok(top) = serde_json::from_slice::<HashMap<&str, &RawValue>>(&body) else {
            return Err(mismatch(&body));
        };
        let Some(Ok(list)) = top
            .get(key)
            .map(|raw| serde_json::from_str::<Vec<&RawValue>>(raw.get()))
        else {
            return Err(mismatch(&body));
        };
        let base = body.as_ptr() as usize;
        let items: Vec<Range<usize>> = list
            .iter()
            .map(|raw| {
                let start = raw.get().as_ptr() as usize - base;
                start..start + raw.get().len()
            })
            .collect();
        // The first item stands for the rest: cheap, and enough to tell a listing of
        // something else.
        if let (Some(first), Some(item)) = (list.first(), &op.response.item)
            && let Ok(v) = serde_json::from_str::<Value>(first.get())
            && let Some(why) = Schemas::lumos().misfit(item, &v)
        {
            return Err(Mismatch {
                found: format!("a page whose items are JSON objects {why}"),
            });
        }
        let next = next_key
            .and_then(|k| top.get(k))
            .and_then(|raw| serde_json::from_str::<Option<String>>(raw.get()).ok())
            .flatten()
            .filter(|s| !s.is_empty());
        (
            items,
            number(&top, "total"),
            number(&top, "pages"),
            number(&top, "size"),
            number(&top, "limit"),
            next,
        )
    };
    Ok(RawPage {
        body,
        items,
        total,
        pages,
        size,
        limit,
        next,
    })
}
