//! A stored listing filtered and sorted on the server, at any size: one pass over the
//! stored chunks keeps the matching items' positions (and, to sort, one compact key each),
//! never the items; a page of the view then reads only the chunks its rows are in. Views are
//! kept a while (outputs never change once stored), so scrolling one costs no second pass.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::read::decode;
use super::{ItemsPage, OutputError, StoredOutput};

/// Views kept, most recent first: enough for a few people scrolling different listings.
const KEPT: usize = 6;
/// The longest filter accepted.
pub const MAX_FILTER: usize = 200;

/// What to show of a listing: the items whose values contain `filter` (any case, any part),
/// in `sort`'s order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ViewSpec {
    /// Lower-cased.
    pub filter: Option<String>,
    /// The fields the filter looks in (none: all of them).
    pub columns: Option<Vec<String>>,
    pub sort: Option<SortBy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortBy {
    pub field: String,
    pub descending: bool,
}

impl ViewSpec {
    /// From the query's words: `filter` text, `columns` comma-separated, `sort` a field or
    /// `-field` (descending). Fields must be the listing's columns when they are known.
    pub fn parse(
        filter: Option<&str>,
        columns: Option<&str>,
        sort: Option<&str>,
        known: Option<&[String]>,
    ) -> Result<ViewSpec, String> {
        let check = |field: &str, what: &str| match known {
            Some(k) if !k.iter().any(|c| c == field) => Err(format!(
                "{what}: the listing has no column '{field}'; its columns: {}",
                k.join(", ")
            )),
            _ => Ok(()),
        };
        let filter = filter.map(str::trim).filter(|f| !f.is_empty());
        if let Some(f) = filter
            && f.chars().count() > MAX_FILTER
        {
            return Err(format!("filter: at most {MAX_FILTER} characters"));
        }
        let columns = match columns.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => {
                let list: Vec<String> = c.split(',').map(|x| x.trim().to_owned()).collect();
                for f in &list {
                    if f.is_empty() {
                        return Err("columns: an empty name in the list".into());
                    }
                    check(f, "columns")?;
                }
                Some(list)
            }
        };
        let sort = match sort.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => {
                let (field, descending) = match s.strip_prefix('-') {
                    Some(f) => (f, true),
                    None => (s, false),
                };
                check(field, "sort")?;
                Some(SortBy {
                    field: field.to_owned(),
                    descending,
                })
            }
        };
        Ok(ViewSpec {
            filter: filter.map(str::to_lowercase),
            columns,
            sort,
        })
    }

    /// Whether this view is the listing as stored.
    pub fn is_plain(&self) -> bool {
        self.filter.is_none() && self.sort.is_none()
    }
}

/// A view computed: its run, what was asked, the positions of its items in order.
type Kept = (String, ViewSpec, Arc<Vec<u32>>);

/// The views computed lately.
#[derive(Default)]
pub struct ViewCache(Mutex<VecDeque<Kept>>);

impl ViewCache {
    fn get(&self, run: &str, spec: &ViewSpec) -> Option<Arc<Vec<u32>>> {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let at = kept.iter().position(|(r, s, _)| r == run && s == spec)?;
        let hit = kept.remove(at)?;
        let order = hit.2.clone();
        kept.push_front(hit);
        Some(order)
    }

    fn put(&self, run: &str, spec: &ViewSpec, order: Arc<Vec<u32>>) {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.push_front((run.to_owned(), spec.clone(), order));
        kept.truncate(KEPT);
    }
}

impl StoredOutput {
    /// Up to `limit` items of the view from `offset`, with how many items it has.
    pub async fn view_page(
        &self,
        spec: &ViewSpec,
        offset: u64,
        limit: u64,
        cache: &ViewCache,
    ) -> Result<ItemsPage, OutputError> {
        let order = match cache.get(&self.run.id, spec) {
            Some(o) => o,
            None => {
                let o = Arc::new(self.compute(spec).await?);
                cache.put(&self.run.id, spec, o.clone());
                o
            }
        };
        let matched = order.len() as u64;
        let from = offset.min(matched) as usize;
        let end = offset.saturating_add(limit).min(matched) as usize;
        let items = self.items_at(&order[from..end]).await?;
        Ok(ItemsPage {
            items,
            offset,
            count: self.info.items,
            matched: Some(matched),
            next_offset: ((end as u64) < matched).then_some(end as u64),
        })
    }

    /// The positions of the matching items, in order. The stored chunks are read here and
    /// looked at on a blocking thread, so a long pass never holds up other requests.
    async fn compute(&self, spec: &ViewSpec) -> Result<Vec<u32>, OutputError> {
        if self.info.items > u64::from(u32::MAX) {
            return Err(OutputError::Encode(format!(
                "{} items are more than a view can hold; export the output and filter it there",
                self.info.items
            )));
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<super::ItemBlock>(2);
        let spec2 = spec.clone();
        let worker = tokio::task::spawn_blocking(move || {
            let mut pass = Pass::new(spec2);
            for block in rx {
                for (k, raw) in block.items().enumerate() {
                    pass.item(block.first_item as u32 + k as u32, raw)?;
                }
            }
            pass.finish()
        });
        let mut reader = self.items(0);
        let read = async {
            while let Some(block) = reader.next_block().await? {
                if tx.send(block).is_err() {
                    break; // the worker stopped on an error: it says which
                }
            }
            Ok::<(), OutputError>(())
        }
        .await;
        drop(tx);
        let order = worker
            .await
            .map_err(|e| OutputError::Encode(format!("the view could not be made: {e}")))?;
        read?;
        order
    }

    /// The items at these positions, in this order, reading only the chunks they are in.
    async fn items_at(&self, positions: &[u32]) -> Result<Vec<Box<RawValue>>, OutputError> {
        let mut wanted: Vec<(u32, usize)> =
            positions.iter().enumerate().map(|(k, &i)| (i, k)).collect();
        wanted.sort_unstable();
        let mut out: Vec<Option<Box<RawValue>>> = vec![None; positions.len()];
        // The chunk read last: its first item and where each of its lines starts.
        let mut chunk: Option<(u64, Vec<u8>, Vec<usize>)> = None;
        for (i, k) in wanted {
            let i = u64::from(i);
            let covers = |c: &Option<(u64, Vec<u8>, Vec<usize>)>| {
                c.as_ref().is_some_and(|(first, _, starts)| {
                    i >= *first && i < first + starts.len() as u64 - 1
                })
            };
            if !covers(&chunk) {
                let found = self.store.output_chunks(&self.run.id, i, 1).await?;
                let c = found.into_iter().next().ok_or_else(|| {
                    OutputError::Corrupt(format!(
                        "item {i} of the output is missing from the store"
                    ))
                })?;
                let raw = decode(&c)?;
                let mut starts = vec![0];
                starts.extend(memchr::memchr_iter(b'\n', &raw).map(|p| p + 1));
                chunk = Some((c.first_item as u64, raw, starts));
                if !covers(&chunk) {
                    return Err(OutputError::Corrupt(format!(
                        "item {i} of the output is missing from the store"
                    )));
                }
            }
            if let Some((first, raw, starts)) = &chunk {
                let n = (i - first) as usize;
                let line = &raw[starts[n]..starts[n + 1] - 1];
                let text =
                    std::str::from_utf8(line).map_err(|e| OutputError::Corrupt(e.to_string()))?;
                out[k] = Some(
                    RawValue::from_string(text.to_owned())
                        .map_err(|e| OutputError::Corrupt(e.to_string()))?,
                );
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}

/// One pass over a listing's items: which match, and each one's sort key.
struct Pass {
    spec: ViewSpec,
    /// The filter, when a plain byte search of an ASCII line can rule an item out.
    quick: Option<memchr::memmem::Finder<'static>>,
    lowered: Vec<u8>,
    matched: Vec<u32>,
    keys: Vec<Key>,
    /// The sort keys of text values, one after another (see [`sort_key`]).
    text: Vec<u8>,
    /// The numbers sorted by.
    numbers: Vec<f64>,
}

/// An item's sort key: nothing (sorts last either way), a number (its place in
/// `Pass::numbers`), or text (its sort key's place in `Pass::text`). Twelve bytes: a
/// million of them are 12 MB.
#[derive(Clone, Copy)]
enum Key {
    Missing,
    Number(u32),
    Text { start: u32, len: u32 },
}

impl Pass {
    fn new(spec: ViewSpec) -> Pass {
        let quick = spec
            .filter
            .as_deref()
            .filter(|f| f.is_ascii() && !f.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20))
            .map(|f| memchr::memmem::Finder::new(f.as_bytes()).into_owned());
        Pass {
            spec,
            quick,
            lowered: Vec::new(),
            matched: Vec::new(),
            keys: Vec::new(),
            text: Vec::new(),
            numbers: Vec::new(),
        }
    }

    fn item(&mut self, index: u32, raw: &[u8]) -> Result<(), OutputError> {
        // An ASCII line without the filter's bytes (any case) cannot match: most items of a
        // narrow filter stop here, unparsed.
        if let Some(quick) = &self.quick
            && raw.is_ascii()
        {
            self.lowered.clear();
            self.lowered.extend(raw.iter().map(u8::to_ascii_lowercase));
            if quick.find(&self.lowered).is_none() {
                return Ok(());
            }
        }
        let wanted = Wanted {
            columns: self.spec.columns.as_deref(),
            sort: self.spec.sort.as_ref().map(|s| s.field.as_str()),
            filter: self.spec.filter.as_deref(),
        };
        let seen = Seen::read(raw, &wanted)?;
        if self.spec.filter.is_some() && !seen.matches {
            return Ok(());
        }
        self.matched.push(index);
        if self.spec.sort.is_some() {
            let key = match seen.sort {
                None => Key::Missing,
                Some(SortValue::Number(n)) => {
                    let at = u32::try_from(self.numbers.len()).map_err(|_| too_big())?;
                    self.numbers.push(n);
                    Key::Number(at)
                }
                Some(SortValue::Text(t)) => {
                    let start = u32::try_from(self.text.len()).map_err(|_| too_big())?;
                    sort_key(&t, &mut self.text);
                    let len = u32::try_from(self.text.len()).map_err(|_| too_big())? - start;
                    Key::Text { start, len }
                }
            };
            self.keys.push(key);
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<u32>, OutputError> {
        let Some(sort) = &self.spec.sort else {
            return Ok(self.matched);
        };
        let mut order: Vec<u32> = (0..self.matched.len() as u32).collect();
        let text = |start: u32, len: u32| &self.text[start as usize..(start + len) as usize];
        let cmp = |a: &u32, b: &u32| {
            let (ka, kb) = (self.keys[*a as usize], self.keys[*b as usize]);
            let by_key = match (ka, kb) {
                (Key::Missing, Key::Missing) => Ordering::Equal,
                // Items without a value go last, whichever way it is sorted.
                (Key::Missing, _) => return Ordering::Greater,
                (_, Key::Missing) => return Ordering::Less,
                (Key::Number(x), Key::Number(y)) => {
                    self.numbers[x as usize].total_cmp(&self.numbers[y as usize])
                }
                (Key::Number(_), Key::Text { .. }) => Ordering::Less,
                (Key::Text { .. }, Key::Number(_)) => Ordering::Greater,
                (Key::Text { start: s1, len: l1 }, Key::Text { start: s2, len: l2 }) => {
                    text(s1, l1).cmp(text(s2, l2))
                }
            };
            let by_key = if sort.descending {
                by_key.reverse()
            } else {
                by_key
            };
            // Equal keys keep the listing's order.
            by_key.then(a.cmp(b))
        };
        order.sort_unstable_by(cmp);
        Ok(order
            .into_iter()
            .map(|k| self.matched[k as usize])
            .collect())
    }
}

fn too_big() -> OutputError {
    OutputError::Encode(
        "the sort keys are more than 4 GiB of text; export the output and sort it there".into(),
    )
}

/// Text compared as people read it, in any case: runs of digits by their value ("item2"
/// before "item10"), the rest character by character.
pub fn natural(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    sort_key(a, &mut x);
    sort_key(b, &mut y);
    x.cmp(&y)
}

/// Append `text`'s sort key to `out`: bytes whose plain order is the natural order of the
/// lower-cased text, so a million keys sort by `memcmp`. A run of digits becomes `0` (it
/// sorts against other characters as any digit does), its length without leading zeros,
/// those digits, and its whole length ("2" before "02"); a length is one byte below 255,
/// else 255 and two more, which keeps the order. The length bytes are only ever compared
/// with another run's.
fn sort_key(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            let run = bytes[i..].iter().take_while(|d| d.is_ascii_digit()).count();
            let digits = strip_zeros(&bytes[i..i + run]);
            let len = |n: usize, out: &mut Vec<u8>| match u8::try_from(n) {
                Ok(n) if n < u8::MAX => out.push(n),
                _ => {
                    out.push(u8::MAX);
                    out.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
                }
            };
            out.push(b'0');
            len(digits.len(), out);
            out.extend_from_slice(digits);
            len(run, out);
            i += run;
        } else if b.is_ascii() {
            out.push(b.to_ascii_lowercase());
            i += 1;
        } else {
            // One character at a time, lower-cased (it may grow: 'İ' is two).
            let c = text[i..]
                .chars()
                .next()
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            let mut buf = [0u8; 4];
            for l in c.to_lowercase() {
                out.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
            }
            i += c.len_utf8();
        }
    }
}

/// Digits without their leading zeros (one zero stays of all-zero digits).
fn strip_zeros(d: &[u8]) -> &[u8] {
    let z = d.iter().take_while(|b| **b == b'0').count();
    &d[z.min(d.len().saturating_sub(1))..]
}

/// What one pass needs from an item.
struct Wanted<'a> {
    columns: Option<&'a [String]>,
    sort: Option<&'a str>,
    filter: Option<&'a str>,
}

enum SortValue<'a> {
    Number(f64),
    Text(Cow<'a, str>),
}

/// What was found in one item: whether a value contains the filter, and the sort value.
struct Seen<'a> {
    matches: bool,
    sort: Option<SortValue<'a>>,
}

impl<'a> Seen<'a> {
    fn read(raw: &'a [u8], wanted: &Wanted<'_>) -> Result<Seen<'a>, OutputError> {
        let corrupt = |e: serde_json::Error| OutputError::Corrupt(format!("a stored item: {e}"));
        let mut seen = Seen {
            matches: false,
            sort: None,
        };
        if raw.first() != Some(&b'{') {
            // An item that is not an object (a list of words): the item is its one value.
            let v: &'a RawValue = serde_json::from_slice(raw).map_err(corrupt)?;
            seen.look(v, true, wanted.filter, wanted.sort.is_some())?;
            return Ok(seen);
        }
        let mut de = serde_json::Deserializer::from_slice(raw);
        de::DeserializeSeed::deserialize(
            FieldsOf {
                wanted,
                seen: &mut seen,
            },
            &mut de,
        )
        .map_err(corrupt)?;
        Ok(seen)
    }

    /// Look at one value: for the filter (`filtered`), as the sort value (`sorted`).
    fn look(
        &mut self,
        v: &'a RawValue,
        filtered: bool,
        filter: Option<&str>,
        sorted: bool,
    ) -> Result<(), OutputError> {
        let text = v.get();
        let corrupt = |e: serde_json::Error| OutputError::Corrupt(format!("a stored item: {e}"));
        // Text without escapes is read in place; only escaped text is decoded.
        let value: Cow<'a, str> = if !text.starts_with('"') {
            Cow::Borrowed(text)
        } else if !text.contains('\\') {
            Cow::Borrowed(&text[1..text.len() - 1])
        } else {
            Cow::Owned(serde_json::from_str::<String>(text).map_err(corrupt)?)
        };
        if filtered
            && !self.matches
            && text != "null"
            && let Some(f) = filter
        {
            self.matches = if value.is_ascii() {
                memchr::memmem::find(value.to_ascii_lowercase().as_bytes(), f.as_bytes()).is_some()
            } else {
                value.to_lowercase().contains(f)
            };
        }
        if sorted && text != "null" {
            self.sort = Some(match text.parse::<f64>() {
                Ok(n) if !text.starts_with('"') => SortValue::Number(n),
                _ => SortValue::Text(value),
            });
        }
        Ok(())
    }
}

/// Reads an item's fields, looking only at those the pass needs.
struct FieldsOf<'a, 'b, 'de> {
    wanted: &'a Wanted<'a>,
    seen: &'b mut Seen<'de>,
}

impl<'de> de::DeserializeSeed<'de> for FieldsOf<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldsOf<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let filtered = self.wanted.filter.is_some()
                && self
                    .wanted
                    .columns
                    .is_none_or(|c| c.iter().any(|x| *x == *key));
            let sorted = self.wanted.sort == Some(&*key);
            if filtered || sorted {
                let v: &'de RawValue = map.next_value()?;
                self.seen
                    .look(v, filtered, self.wanted.filter, sorted)
                    .map_err(de::Error::custom)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_reads_numbers_as_numbers() {
        let mut v = vec!["item10", "item2", "Item1", "item02", "a", ""];
        v.sort_by(|a, b| natural(&a.to_lowercase(), &b.to_lowercase()));
        assert_eq!(v, ["", "a", "Item1", "item2", "item02", "item10"]);
    }

    fn run(spec: ViewSpec, items: &[&str]) -> Vec<u32> {
        let mut p = Pass::new(spec);
        for (i, it) in items.iter().enumerate() {
            p.item(i as u32, it.as_bytes()).unwrap();
        }
        p.finish().unwrap()
    }

    #[test]
    fn filters_values_not_keys_any_case_and_sorts_missing_last() {
        let items = [
            r#"{"email":"Ann@x.io","n":10}"#,
            r#"{"email":"bob@x.io","n":2}"#,
            r#"{"email":"zoë@x.io","n":null}"#,
            r#"{"email":"ANNE@y.io"}"#,
            r#"{"email":"c\"ann\"@x.io","n":1.5}"#,
        ];
        let spec = |f: Option<&str>, cols: Option<&str>, s: Option<&str>| {
            ViewSpec::parse(f, cols, s, None).unwrap()
        };
        assert_eq!(run(spec(Some("ANN"), None, None), &items), [0, 3, 4]);
        // Keys are not values: "email" is in every line, in no value.
        assert_eq!(
            run(spec(Some("email"), None, None), &items),
            Vec::<u32>::new()
        );
        assert_eq!(run(spec(Some("zoë"), None, None), &items), [2]);
        assert_eq!(run(spec(Some("\"ann\""), None, None), &items), [4]);
        assert_eq!(
            run(spec(Some("10"), Some("email"), None), &items),
            Vec::<u32>::new()
        );
        assert_eq!(run(spec(Some("10"), Some("n"), None), &items), [0]);
        assert_eq!(run(spec(None, None, Some("n")), &items), [4, 1, 0, 2, 3]);
        assert_eq!(run(spec(None, None, Some("-n")), &items), [0, 1, 4, 2, 3]);
        assert_eq!(
            run(spec(Some("x.io"), None, Some("-email")), &items),
            [2, 4, 1, 0]
        );
        let known = ["email".to_owned()];
        assert!(
            ViewSpec::parse(None, None, Some("mail"), Some(&known))
                .unwrap_err()
                .contains("no column 'mail'")
        );
    }
}
