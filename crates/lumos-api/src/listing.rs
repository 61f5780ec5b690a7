//! One page of a listing as it came over the wire: the body kept whole, and where each item
//! lies in it. Items are handed on as raw JSON text — checked, never parsed into trees — so a
//! million accounts can flow from Lumos to a file or the database at the speed of the wire.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
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
    /// What the page says it is: its number, or its offset.
    pub page: Option<u64>,
    pub offset: Option<u64>,
    /// The first item's `id`, when it has one: a page that repeats another is told by it.
    pub first_id: Option<String>,
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

    /// Each item's JSON text (UTF-8, checked when the page was read), in order.
    pub fn items(&self) -> impl Iterator<Item = &[u8]> {
        self.items.iter().map(|r| &self.body[r.clone()])
    }

    /// The items parsed, for callers that work on values.
    pub fn values(&self) -> Result<Vec<Value>, serde_json::Error> {
        self.items().map(serde_json::from_slice).collect()
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
            page: None,
            offset: None,
            first_id: None,
            next: None,
        }
    }

    /// The bytes of the items (without the rest of the body).
    pub fn item_bytes(&self) -> usize {
        self.items.iter().map(|r| r.len()).sum()
    }
}

/// A listing body's fields, read in one pass: the items where they lie, the numbers, the
/// next cursor; everything else skipped without being kept.
struct Fields<'k> {
    items_key: &'k str,
    next_key: Option<&'k str>,
}

#[derive(Default)]
struct Found<'a> {
    items: Option<Vec<&'a RawValue>>,
    total: Option<u64>,
    pages: Option<u64>,
    size: Option<u64>,
    limit: Option<u64>,
    page: Option<u64>,
    offset: Option<u64>,
    next: Option<String>,
}

impl<'de> DeserializeSeed<'de> for Fields<'_> {
    type Value = Found<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Found<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a listing object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<'de>, A::Error> {
        let mut found = Found::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let key = key.as_ref();
            if key == self.items_key {
                found.items = map.next_value::<Option<Vec<&'de RawValue>>>()?;
            } else if Some(key) == self.next_key {
                found.next = map.next_value::<Option<String>>()?;
            } else {
                // A count that is not a whole number is no count: it is left out, not an error.
                let slot = match key {
                    "total" => &mut found.total,
                    "pages" => &mut found.pages,
                    "size" => &mut found.size,
                    "limit" => &mut found.limit,
                    "page" => &mut found.page,
                    "offset" => &mut found.offset,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                };
                *slot = map.next_value::<Value>()?.as_u64();
            }
        }
        Ok(found)
    }
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
    let fields = Fields {
        items_key: key,
        next_key,
    };
    let found = {
        let mut de = serde_json::Deserializer::from_slice(&body);
        match fields
            .deserialize(&mut de)
            .and_then(|f| de.end().map(|()| f))
        {
            Ok(f) => f,
            Err(_) => return Err(mismatch(&body)),
        }
    };
    let Some(list) = found.items else {
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
    let next = found.next.filter(|s| !s.is_empty());
    let (total, pages, size, limit) = (found.total, found.pages, found.size, found.limit);
    let first_id = list.first().and_then(|first| {
        #[derive(serde::Deserialize)]
        struct Id {
            id: Option<Value>,
        }
        serde_json::from_str::<Id>(first.get())
            .ok()
            .and_then(|i| i.id)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
    });
    let (page, offset) = (found.page, found.offset);
    drop(list);
    Ok(RawPage {
        body,
        items,
        total,
        pages,
        size,
        limit,
        page,
        offset,
        first_id,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    fn page(body: &'static str) -> Result<RawPage, Mismatch> {
        let op = Catalog::lumos().get("listUsers").expect("op");
        parse(
            op,
            &HeaderMap::new(),
            Bytes::from_static(body.as_bytes()),
            Some("next_cursor"),
        )
    }

    #[test]
    fn items_are_kept_where_they_lie() {
        let p = page(r#"{"total": 3, "pages": "2", "ignored": {"deep": [1, {"x": 2}]}, "items": [{"id":"a", "email": "a@x"} , {"id":"b\u00e9"}], "next_cursor": "c2", "size": 2}"#)
            .expect("a listing");
        let items: Vec<&[u8]> = p.items().collect();
        assert_eq!(
            items,
            [
                &br#"{"id":"a", "email": "a@x"}"#[..],
                br#"{"id":"b\u00e9"}"#
            ]
        );
        assert_eq!(
            (p.total, p.pages, p.size, p.limit),
            (Some(3), None, Some(2), None)
        );
        assert_eq!(p.next.as_deref(), Some("c2"));
        assert_eq!(p.values().expect("values")[1]["id"], "bé");
    }

    #[test]
    fn what_is_no_listing_says_what_it_is() {
        let m = |b| page(b).err().map(|m| m.found).unwrap_or_default();
        assert_eq!(
            m(r#"{"total": 1}"#),
            "a JSON object with keys total but no 'items' list"
        );
        assert!(
            m(r#"[1, 2]"#).starts_with("a JSON list"),
            "{}",
            m(r#"[1, 2]"#)
        );
        assert!(
            m(r#"{"items": [], "total": 0} trailing"#).contains("not JSON"),
            "{}",
            m(r#"{"items": []} x"#)
        );
        assert!(
            page(r#"{"items": [], "total": 0}"#)
                .expect("empty")
                .is_empty()
        );
    }
}
