//! Every item of a paginated operation as one ordered stream.
//!
//! Page model: after the first page gives `pages` (or `total`), the remaining pages are
//! fetched with bounded concurrency and yielded in order. Without a count (`total: null`) it
//! walks page by page until a short or empty page. Limit/offset and cursor models walk
//! sequentially. The stream ends at the first error, after yielding it.

use futures_util::stream::{self, BoxStream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::catalog::{Operation, Pagination};
use crate::client::{Client, decode};
use crate::error::Error;

/// Page size used for `--all` walks when the caller did not choose one.
const WALK_SIZE: u64 = 100;

struct PageInfo {
    items: Vec<Value>,
    total: Option<u64>,
    pages: Option<u64>,
    size: u64,
}

fn page_info(body: Value, requested_size: u64) -> PageInfo {
    let mut obj = match body {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    let items = match obj.remove("items") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let num = |k: &str| obj.get(k).and_then(Value::as_u64);
    PageInfo {
        total: num("total"),
        pages: num("pages"),
        size: num("size").unwrap_or(requested_size),
        items,
    }
}

type ItemStream = BoxStream<'static, Result<Value, Error>>;

impl Client {
    /// Stream every item of `name` (page, limit/offset or cursor pagination). For operations
    /// without pagination the stream yields the body's `items` or the body itself.
    pub fn paginate(&self, name: &str, params: &Map<String, Value>) -> ItemStream {
        let op = match self.operation(name) {
            Ok(op) => op,
            Err(e) => return stream::once(async move { Err(e) }).boxed(),
        };
        // Validate once up front so a bad input fails before any request.
        if let Err(e) = self.prepare(name, params) {
            return stream::once(async move { Err(e) }).boxed();
        }
        let stream = match op.pagination {
            Pagination::Page => self.clone().page_stream(op, params.clone()),
            Pagination::LimitOffset => self.clone().limit_offset_stream(op, params.clone()),
            Pagination::Cursor => self.clone().cursor_stream(op, params.clone()),
            Pagination::None => {
                let client = self.clone();
                let params = params.clone();
                stream::once(async move { client.call(op.name(), &params, None).await })
                    .flat_map(|r| match r {
                        Ok(Value::Array(items)) => {
                            stream::iter(items.into_iter().map(Ok).collect::<Vec<_>>())
                        }
                        Ok(other) => stream::iter(vec![Ok(other)]),
                        Err(e) => stream::iter(vec![Err(e)]),
                    })
                    .boxed()
            }
        };
        stop_after_error(stream)
    }

    /// [`Client::paginate`] decoded into `T`.
    pub fn paginate_as<T: DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
        params: &Map<String, Value>,
    ) -> BoxStream<'static, Result<T, Error>> {
        let op_name = name.to_owned();
        self.paginate(name, params)
            .map(move |r| r.and_then(|v| decode(&op_name, v)))
            .boxed()
    }

    async fn fetch_page(
        &self,
        op: &'static Operation,
        params: &Map<String, Value>,
        page: u64,
        size: u64,
    ) -> Result<PageInfo, Error> {
        let mut p = params.clone();
        p.insert("page".into(), page.into());
        p.insert("size".into(), size.into());
        let body = self.call(op.name(), &p, None).await?;
        Ok(page_info(body, size))
    }

    fn page_stream(self, op: &'static Operation, params: Map<String, Value>) -> ItemStream {
        let size = params.get("size").and_then(as_u64).unwrap_or(WALK_SIZE);
        let start = params.get("page").and_then(as_u64).unwrap_or(1);
        let concurrency = self.page_concurrency();
        let first = {
            let client = self.clone();
            let params = params.clone();
            async move { client.fetch_page(op, &params, start, size).await }
        };
        stream::once(first)
            .flat_map(move |first| {
                let first = match first {
                    Ok(f) => f,
                    Err(e) => return stream::iter(vec![Err(e)]).boxed(),
                };
                let size = first.size.max(1);
                let last = first
                    .pages
                    .or_else(|| first.total.map(|t| t.div_ceil(size)));
                let done = first.items.is_empty()
                    || last.is_some_and(|l| start >= l)
                    || first.total.is_some_and(|t| start * size >= t)
                    || (last.is_none() && (first.items.len() as u64) < size);
                let head = stream::iter(first.items.into_iter().map(Ok).collect::<Vec<_>>());
                if done {
                    return head.boxed();
                }
                let client = self.clone();
                let params = params.clone();
                let rest: ItemStream = match last {
                    // Known page count: prefetch with bounded concurrency, yield in order.
                    Some(last) => stream::iter(start + 1..=last)
                        .map(move |n| {
                            let client = client.clone();
                            let params = params.clone();
                            async move { client.fetch_page(op, &params, n, size).await }
                        })
                        .buffered(concurrency)
                        .take_while(|r| {
                            std::future::ready(!matches!(r, Ok(p) if p.items.is_empty()))
                        })
                        .flat_map(page_items)
                        .boxed(),
                    // Unknown count: one page at a time until a short or empty one.
                    None => stream::unfold(Some(start + 1), move |next| {
                        let client = client.clone();
                        let params = params.clone();
                        async move {
                            let n = next?;
                            let r = client.fetch_page(op, &params, n, size).await;
                            let more = matches!(&r, Ok(p) if p.items.len() as u64 >= size);
                            let stop = matches!(&r, Ok(p) if p.items.is_empty());
                            if stop {
                                return None;
                            }
                            Some((r, more.then_some(n + 1)))
                        }
                    })
                    .flat_map(page_items)
                    .boxed(),
                };
                head.chain(rest).boxed()
            })
            .boxed()
    }

    fn limit_offset_stream(self, op: &'static Operation, params: Map<String, Value>) -> ItemStream {
        let limit = params.get("limit").and_then(as_u64).unwrap_or(WALK_SIZE);
        let start = params.get("offset").and_then(as_u64).unwrap_or(0);
        stream::unfold(Some(start), move |offset| {
            let client = self.clone();
            let mut p = params.clone();
            async move {
                let offset = offset?;
                p.insert("limit".into(), limit.into());
                p.insert("offset".into(), offset.into());
                match client.call(op.name(), &p, None).await {
                    Err(e) => Some((Err(e), None)),
                    Ok(body) => {
                        let total = body.get("total").and_then(Value::as_u64);
                        let info = page_info(body, limit);
                        let n = info.items.len() as u64;
                        let next = offset + n;
                        let more = n > 0
                            && total.is_none_or(|t| next < t)
                            && (total.is_some() || n >= limit);
                        if n == 0 {
                            return None;
                        }
                        Some((Ok(info), more.then_some(next)))
                    }
                }
            }
        })
        .flat_map(page_items)
        .boxed()
    }

    fn cursor_stream(self, op: &'static Operation, params: Map<String, Value>) -> ItemStream {
        // Two cursor shapes exist: identity events and knowledge contexts.
        let (cursor_param, next_key, items_key) = if op.param("page_token").is_some() {
            ("page_token", "next_page_token", "knowledge_context")
        } else {
            ("cursor", "next_cursor", "identity_events")
        };
        stream::unfold(
            Some(params.get(cursor_param).cloned().unwrap_or(Value::Null)),
            move |cursor| {
                let client = self.clone();
                let mut p = params.clone();
                async move {
                    let cursor = cursor?;
                    if !cursor.is_null() {
                        p.insert(cursor_param.into(), cursor);
                    }
                    match client.call(op.name(), &p, None).await {
                        Err(e) => Some((Err(e), None)),
                        Ok(mut body) => {
                            let next = body
                                .get(next_key)
                                .cloned()
                                .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()));
                            let items = match body.get_mut(items_key).map(Value::take) {
                                Some(Value::Array(a)) => a,
                                _ => Vec::new(),
                            };
                            let info = PageInfo {
                                items,
                                total: None,
                                pages: None,
                                size: 0,
                            };
                            Some((Ok(info), next))
                        }
                    }
                }
            },
        )
        .flat_map(page_items)
        .boxed()
    }
}

fn page_items(
    r: Result<PageInfo, Error>,
) -> stream::Iter<std::vec::IntoIter<Result<Value, Error>>> {
    match r {
        Ok(p) => stream::iter(p.items.into_iter().map(Ok).collect::<Vec<_>>()),
        Err(e) => stream::iter(vec![Err(e)]),
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Yield the first error, then end: a half-walked listing must not look complete.
fn stop_after_error(s: ItemStream) -> ItemStream {
    s.scan(false, |failed, item| {
        if *failed {
            return std::future::ready(None);
        }
        *failed = item.is_err();
        std::future::ready(Some(item))
    })
    .boxed()
}
