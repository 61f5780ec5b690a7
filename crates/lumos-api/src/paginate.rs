//! Every item of a paginated operation as one ordered stream, complete or failing.
//!
//! A walk ends only on its model's own stop rule; anything else that would end it early is an
//! error, never a shorter listing:
//! - page model: once the first page gives `pages` (or `total`), the rest are fetched with
//!   bounded concurrency and yielded in order; every page before the last must be full, and
//!   the items must add up to `total`. Without a count (`total: null`) it walks page by page
//!   until a short page.
//! - limit/offset: until `total` is reached (an empty or short page before it is an error),
//!   or without a total until a short page.
//! - cursor: until Lumos sends no next cursor; a cursor it already sent is an error (a server
//!   that repeats itself would otherwise be walked forever).
//!
//! The stream ends at the first error, after yielding it.

use std::collections::HashSet;

use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use serde_json::{Map, Value};

use crate::catalog::{Operation, Pagination};
use crate::client::Client;
use crate::error::Error;
use crate::listing::RawPage;

/// Page size used for `--all` walks when the caller did not choose one.
const WALK_SIZE: u64 = 100;

type ItemStream = BoxStream<'static, Result<Value, Error>>;
pub type PageStream = BoxStream<'static, Result<RawPage, Error>>;

/// One page of the page model, with its number.
struct Page {
    number: u64,
    raw: RawPage,
}

fn incomplete(op: &Operation, detail: String) -> Error {
    Error::IncompleteListing {
        operation: op.name().to_owned(),
        detail,
    }
}

/// What the first page promised, checked against every page after it.
struct Walk {
    op: &'static Operation,
    size: u64,
    /// The last page number, when Lumos gave `pages` or `total`.
    last: Option<u64>,
    /// Items still to come from the first page on, when Lumos gave `total`.
    expected: Option<u64>,
    seen: u64,
}

impl Walk {
    fn new(op: &'static Operation, start: u64, requested: u64, first: &RawPage) -> Walk {
        // Lumos may serve fewer per page than asked; its own `size` is what pages hold.
        let size = first.size.unwrap_or(requested).max(1);
        let last = first
            .pages
            .or_else(|| first.total.map(|t| t.div_ceil(size)));
        let expected = first
            .total
            .map(|t| t.saturating_sub((start - 1).saturating_mul(size)));
        Walk {
            op,
            size,
            last,
            expected,
            seen: 0,
        }
    }

    /// Check page `n`; `Ok(true)` when more pages follow.
    fn check(&mut self, page: &Page) -> Result<bool, Error> {
        let n = page.number;
        let got = page.raw.len() as u64;
        // What the page says it is must be what was asked for.
        if let Some(said) = page.raw.page
            && said != n
        {
            return Err(incomplete(
                self.op,
                format!(
                    "page {n} was asked for and the answer says it is page {said} (a stale or misrouted answer); nothing was kept from it"
                ),
            ));
        }

        self.seen += got;
        match self.last {
            Some(last) if n < last && got < self.size => Err(incomplete(
                self.op,
                format!(
                    "page {n} of {last} held {got} items where {} were due (the listing changed while it was read, or a page was cut short); nothing was left out silently: run it again",
                    self.size
                ),
            )),
            Some(last) if got == 0 && self.expected.is_some_and(|e| self.seen < e) => {
                Err(incomplete(
                    self.op,
                    format!(
                        "page {n} of {last} came back empty though Lumos reported {} items",
                        self.expected.unwrap_or_default()
                    ),
                ))
            }
            Some(last) => Ok(n < last),
            // No count: the page model's own rule, a short page is the last.
            None => Ok(got >= self.size),
        }
    }

    /// After the last page: every item Lumos announced has arrived.
    fn finish(&self) -> Result<(), Error> {
        match self.expected {
            Some(e) if self.seen < e => Err(incomplete(
                self.op,
                format!("{} of the {e} items Lumos reported arrived", self.seen),
            )),
            _ => Ok(()),
        }
    }
}

/// Check each page in order as it comes; after the last, check the tally.
fn checked(
    pages: impl Stream<Item = Result<Page, Error>> + Send + 'static,
    walk: Walk,
) -> PageStream {
    stream::unfold(
        (pages.boxed(), walk, false),
        |(mut pages, mut walk, done)| async move {
            if done {
                return None;
            }
            match pages.next().await {
                Some(Ok(page)) => match walk.check(&page) {
                    Ok(_) => Some((Ok(page.raw), (pages, walk, false))),
                    Err(e) => Some((Err(e), (pages, walk, true))),
                },
                Some(Err(e)) => Some((Err(e), (pages, walk, true))),
                None => walk.finish().err().map(|e| (Err(e), (pages, walk, true))),
            }
        },
    )
    .boxed()
}

impl Client {
    /// Stream every item of `name` (page, limit/offset or cursor pagination). For operations
    /// without pagination the stream yields the body's items (a list) or the body itself.
    pub fn paginate(&self, name: &str, params: &Map<String, Value>) -> ItemStream {
        let name = name.to_owned();
        self.pages(&name, params)
            .flat_map(move |page| {
                let items = page.and_then(|p| {
                    p.values().map_err(|e| Error::Decode {
                        operation: name.clone(),
                        reason: e.to_string(),
                    })
                });
                match items {
                    Ok(items) => stream::iter(items.into_iter().map(Ok).collect::<Vec<_>>()),
                    Err(e) => stream::iter(vec![Err(e)]),
                }
            })
            .boxed()
    }

    /// Every page of `name`, in order, its items as raw JSON: the walk [`Client::paginate`]
    /// makes, for callers that pass items on without looking into them. The stream ends at
    /// the first error, after yielding it.
    pub fn pages(&self, name: &str, params: &Map<String, Value>) -> PageStream {
        let op = match self.operation(name) {
            Ok(op) => op,
            Err(e) => return stream::once(async move { Err(e) }).boxed(),
        };
        // Validate once up front so a bad input fails before any request.
        if let Err(e) = self.prepare(name, params) {
            return stream::once(async move { Err(e) }).boxed();
        }
        let pages = match op.pagination {
            Pagination::Page => self.clone().page_walk(op, params.clone()),
            Pagination::LimitOffset => self.clone().offset_walk(op, params.clone()),
            Pagination::Cursor => self.clone().cursor_walk(op, params.clone()),
            Pagination::None => {
                let client = self.clone();
                let params = params.clone();
                stream::once(async move {
                    match client.call(op.name(), &params, None).await? {
                        Value::Array(items) => Ok(RawPage::from_values(&items)),
                        other => Ok(RawPage::from_values(std::slice::from_ref(&other))),
                    }
                })
                .boxed()
            }
        };
        stop_after_error(no_repeated_pages(op, pages))
    }

    /// One page of `op` with `params`, its next cursor read from `next_key`.
    async fn fetch_raw(
        &self,
        op: &'static Operation,
        params: &Map<String, Value>,
        next_key: Option<&str>,
    ) -> Result<RawPage, Error> {
        let (_, req) = self.prepare(op.name(), params)?;
        self.fetch_listing(op, &req, next_key).await
    }

    async fn fetch_page(
        &self,
        op: &'static Operation,
        params: &Map<String, Value>,
        number: u64,
        size: u64,
    ) -> Result<Page, Error> {
        let mut p = params.clone();
        p.insert("page".into(), number.into());
        p.insert("size".into(), size.into());
        let raw = self.fetch_raw(op, &p, None).await?;
        Ok(Page { number, raw })
    }

    fn page_walk(self, op: &'static Operation, params: Map<String, Value>) -> PageStream {
        let requested = params.get("size").and_then(as_u64).unwrap_or(WALK_SIZE);
        let start = params.get("page").and_then(as_u64).unwrap_or(1).max(1);
        let concurrency = self.page_concurrency();
        let client = self.clone();
        let first = async move {
            let first = client.fetch_page(op, &params, start, requested).await?;
            Ok::<_, Error>((first, params))
        };
        stream::once(first)
            .flat_map(move |first| {
                let (first, params) = match first {
                    Ok(f) => f,
                    Err(e) => return stream::iter(vec![Err(e)]).boxed(),
                };
                let walk = Walk::new(op, start, requested, &first.raw);
                let size = walk.size;
                let client = self.clone();
                let rest: BoxStream<'static, Result<Page, Error>> = match walk.last {
                    // Known page count: prefetch with bounded concurrency, yield in order.
                    Some(last) => stream::iter(start + 1..=last)
                        .map(move |n| {
                            let client = client.clone();
                            let params = params.clone();
                            async move { client.fetch_page(op, &params, n, size).await }
                        })
                        .buffered(concurrency)
                        .boxed(),
                    // Unknown count: one page at a time until a short one.
                    None => stream::unfold(
                        (first.raw.len() as u64 >= size).then_some(start + 1),
                        move |next| {
                            let client = client.clone();
                            let params = params.clone();
                            async move {
                                let n = next?;
                                let page = client.fetch_page(op, &params, n, size).await;
                                let more = matches!(&page, Ok(p) if p.raw.len() as u64 >= size);
                                Some((page, more.then_some(n + 1)))
                            }
                        },
                    )
                    .boxed(),
                };
                let more_after_first = walk.last.is_none_or(|l| start < l);
                let rest = if more_after_first {
                    rest
                } else {
                    stream::empty().boxed()
                };
                checked(stream::once(async { Ok(first) }).chain(rest), walk)
            })
            .boxed()
    }

    fn offset_walk(self, op: &'static Operation, params: Map<String, Value>) -> PageStream {
        let limit = params
            .get("limit")
            .and_then(as_u64)
            .unwrap_or(WALK_SIZE)
            .max(1);
        let start = params.get("offset").and_then(as_u64).unwrap_or(0);
        stream::unfold(Some(start), move |offset| {
            let client = self.clone();
            let mut p = params.clone();
            async move {
                let offset = offset?;
                p.insert("limit".into(), limit.into());
                p.insert("offset".into(), offset.into());
                let page = async {
                    let raw = client.fetch_raw(op, &p, None).await?;
                    // What the page says it is must be what was asked for.
                    if let Some(said) = raw.offset
                        && said != offset
                    {
                        return Err(incomplete(
                            op,
                            format!(
                                "offset {offset} was asked for and the answer says it starts at offset {said} (a stale or misrouted answer); nothing was kept from it"
                            ),
                        ));
                    }
                    let got = raw.len() as u64;
                    let next = offset + got;
                    // Lumos may serve fewer per page than asked; its own `limit` says.
                    let per_page = raw.limit.unwrap_or(limit).max(1);
                    let more = match raw.total {
                        Some(total) if next < total && got < per_page => {
                            return Err(incomplete(
                                op,
                                format!(
                                    "the page at offset {offset} held {got} items where {per_page} were due, with {total} reported"
                                ),
                            ));
                        }
                        Some(total) => next < total,
                        None => got >= per_page,
                    };
                    Ok((raw, more.then_some(next)))
                };
                match page.await {
                    Ok((raw, next)) => Some((Ok(raw), next)),
                    Err(e) => Some((Err(e), None)),
                }
            }
        })
        .boxed()
    }

    fn cursor_walk(self, op: &'static Operation, params: Map<String, Value>) -> PageStream {
        // Two cursor shapes exist: identity events and knowledge contexts.
        let (cursor_param, next_key) = if op.param("page_token").is_some() {
            ("page_token", "next_page_token")
        } else {
            ("cursor", "next_cursor")
        };
        let first = params.get(cursor_param).cloned().unwrap_or(Value::Null);
        stream::unfold(
            (Some(first), HashSet::<String>::new(), 0u64),
            move |(cursor, mut seen, count)| {
                let client = self.clone();
                let mut p = params.clone();
                async move {
                    let cursor = cursor?;
                    if !cursor.is_null() {
                        p.insert(cursor_param.into(), cursor);
                    }
                    let page = async {
                        let raw = client.fetch_raw(op, &p, Some(next_key)).await?;
                        if let Some(n) = &raw.next
                            && !seen.insert(n.clone())
                        {
                            return Err(incomplete(
                                op,
                                format!(
                                    "Lumos sent a {next_key} it had already sent, after {} items; stopping instead of walking in a circle",
                                    count + raw.len() as u64
                                ),
                            ));
                        }
                        Ok(raw)
                    };
                    match page.await {
                        Ok(raw) => {
                            let count = count + raw.len() as u64;
                            let next = raw.next.clone().map(Value::String);
                            Some((Ok(raw), (next, seen, count)))
                        }
                        Err(e) => Some((Err(e), (None, seen, count))),
                    }
                }
            },
        )
        .boxed()
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Whatever the pagination: a page that begins with the same item as an earlier page is
/// that page again (a stale cache, a misrouted answer, a cursor that did not move), so the
/// walk stops there saying so, instead of repeating items and missing others. Only each
/// page's first id is kept: a few bytes a page.
fn no_repeated_pages(op: &'static Operation, s: PageStream) -> PageStream {
    s.scan(
        (std::collections::HashMap::<String, u64>::new(), 0u64),
        move |(firsts, n), page| {
            *n += 1;
            let page = match page {
                Ok(p) => match p.first_id.clone() {
                    Some(id) => match firsts.insert(id.clone(), *n) {
                        Some(earlier) => Err(incomplete(
                            op,
                            format!("page {n} begins with the same item as page {earlier} ({id}): the same page came back twice, so items would repeat and others be missing"),
                        )),
                        None => Ok(p),
                    },
                    None => Ok(p),
                },
                Err(e) => Err(e),
            };
            std::future::ready(Some(page))
        },
    )
    .boxed()
}

/// Yield the first error, then end: a half-walked listing must not look complete.
fn stop_after_error(s: PageStream) -> PageStream {
    s.scan(false, |failed, page| {
        if *failed {
            return std::future::ready(None);
        }
        *failed = page.is_err();
        std::future::ready(Some(page))
    })
    .boxed()
}
