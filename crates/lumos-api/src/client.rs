//! The HTTP client: one place that sends requests to Lumos, classifies answers and retries.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable;
use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LOCATION};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::answer;
use crate::catalog::{Catalog, Operation};
use crate::error::{Error, ValidationDetail};
use crate::listing::{self, RawPage};
use crate::params::{self, PreparedRequest};
use crate::retry::{Pacer, RetryPolicy, retry_after};
use crate::token::ApiToken;

pub const DEFAULT_BASE_URL: &str = "https://api.lumos.com";
const SNIPPET_LEN: usize = 200;
/// Longest path and query sent: proxies and servers commonly refuse request lines past 8 KiB.
const MAX_TARGET: usize = 8 * 1024;
/// Largest JSON body sent.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// One request as every attempt sends it.
struct Exchange<'a> {
    op: &'a Operation,
    method: &'a Method,
    url: &'a str,
    target: &'a str,
    payload: &'a Payload,
}

/// A request body, encoded once.
enum Payload {
    None,
    Json(Vec<u8>),
    /// Multipart forms are rebuilt per attempt (a form cannot be cloned).
    Form(Value),
}

/// Per-call choices.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallOptions {
    /// Retry POST/PATCH on 5xx and timeouts too. Off by default: repeating e.g. an access
    /// request creation would file a duplicate.
    pub retry_non_idempotent: bool,
}

/// A Lumos answer: the HTTP status and the decoded body (`null` for an empty body, a string
/// for `text/plain`).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

pub struct ClientBuilder {
    base_url: String,
    token: Option<ApiToken>,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    page_concurrency: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            token: None,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            page_concurrency: 4,
        }
    }
}

impl ClientBuilder {
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }
    pub fn token(mut self, token: ApiToken) -> Self {
        self.token = Some(token);
        self
    }
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// Whole-request timeout (connect + send + read the body).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// How many pages [`Client::paginate`] fetches at once once it knows the page count.
    pub fn page_concurrency(mut self, n: usize) -> Self {
        self.page_concurrency = n.max(1);
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base = check_base_url(&self.base_url)?;
        let http = crate::http::client_builder()
            .user_agent(concat!("lumosflow/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            // The token must only ever reach its own host: never follow a redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            fence: None,
            watch: None,
            inner: Arc::new(Inner {
                http,
                base_url: base.as_str().trim_end_matches('/').to_owned(),
                token: self.token,
                timeout: self.timeout,
                retry: self.retry,
                page_concurrency: self.page_concurrency,
                pacer: Pacer::default(),
            }),
        })
    }
}

/// https anywhere; plain http only to this machine (the simulator).
fn check_base_url(raw: &str) -> Result<Url, Error> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("'{raw}' is not a valid URL: {e}")))?;
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(Error::Config(format!(
            "base URL '{raw}' must not carry credentials, a query or a fragment"
        )));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::Config(format!(
            "refusing plain http to {}: the token would travel unencrypted (http is allowed only to localhost)",
            url.host_str().unwrap_or("?")
        ))),
        other => Err(Error::Config(format!(
            "unsupported URL scheme '{other}' (use https)"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    token: Option<ApiToken>,
    timeout: Duration,
    retry: RetryPolicy,
    page_concurrency: usize,
    pacer: Pacer,
}

/// Asked before every request a client sends (each attempt, each page): an `Err` stops
/// the request from going out, with the reason. A run's lease is one: a process that no
/// longer holds a run makes no more calls for it.
pub trait Fence: Send + Sync {
    fn check(&self) -> Result<(), String>;
}

/// Told of every request a client sent (each attempt, each page, retries included): the
/// operation, the HTTP status (`None`: no answer) and how long it took. Metrics and health
/// count what went over the wire, not only what a step asked for.
pub trait Watch: Send + Sync {
    fn answered(&self, operation: &str, status: Option<u16>, elapsed: Duration);
}

/// A Lumos API client. Cheap to clone; clones share connections and rate-limit pacing.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    fence: Option<Arc<dyn Fence>>,
    watch: Option<Arc<dyn Watch>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("token", &self.inner.token)
            .finish()
    }
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// This client with `fence` asked before every request it sends (connections and
    /// pacing still shared).
    pub fn fenced(&self, fence: Arc<dyn Fence>) -> Client {
        Client {
            inner: self.inner.clone(),
            fence: Some(fence),
            watch: self.watch.clone(),
        }
    }

    /// This client with `watch` told of every request it sends.
    pub fn watched(&self, watch: Arc<dyn Watch>) -> Client {
        Client {
            inner: self.inner.clone(),
            fence: self.fence.clone(),
            watch: Some(watch),
        }
    }

    pub fn catalog(&self) -> &'static Catalog {
        Catalog::lumos()
    }

    pub(crate) fn page_concurrency(&self) -> usize {
        self.inner.page_concurrency
    }

    /// Look an operation up by the spec's id or its alias.
    pub fn operation(&self, name: &str) -> Result<&'static Operation, Error> {
        let catalog = self.catalog();
        catalog.get(name).ok_or_else(|| Error::UnknownOperation {
            name: name.to_owned(),
            suggestions: catalog
                .suggest(name)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// Validate parameters without sending anything (for dry runs and editors).
    pub fn prepare(
        &self,
        name: &str,
        params: &Map<String, Value>,
    ) -> Result<(&'static Operation, PreparedRequest), Error> {
        let op = self.operation(name)?;
        let req = params::prepare(op, params).map_err(|problems| Error::InvalidInput {
            operation: op.name().to_owned(),
            problems,
        })?;
        Ok((op, req))
    }

    /// Call any operation and return its decoded body.
    pub async fn call(
        &self,
        name: &str,
        params: &Map<String, Value>,
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        Ok(self
            .call_with(name, params, body, CallOptions::default())
            .await?
            .body)
    }

    /// Call any operation and decode the body into `T`.
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        name: &str,
        params: &Map<String, Value>,
    ) -> Result<T, Error> {
        let value = self.call(name, params, None).await?;
        decode(name, value)
    }

    /// The identity behind the token (`GET /users/current`): how a token is verified.
    pub async fn current_user(&self) -> Result<crate::models::User, Error> {
        self.call_as("currentUser", &Map::new()).await
    }

    pub async fn call_with(
        &self,
        name: &str,
        params: &Map<String, Value>,
        body: Option<&Value>,
        opts: CallOptions,
    ) -> Result<Response, Error> {
        let (op, req) = self.prepare(name, params)?;
        if body.is_none() && op.body.as_ref().is_some_and(|b| b.required) {
            return Err(Error::InvalidInput {
                operation: op.name().to_owned(),
                problems: vec![crate::params::ParamProblem {
                    param: "body".to_owned(),
                    location: "body",
                    kind: crate::params::ProblemKind::Missing,
                    message: format!(
                        "{} needs a JSON body ({})",
                        op.name(),
                        op.body
                            .as_ref()
                            .and_then(|b| b.schema.clone())
                            .unwrap_or_else(|| "object".to_owned())
                    ),
                }],
            });
        }
        self.execute(op, &req, body, opts).await
    }

    /// Send a prepared request with retries.
    pub async fn execute(
        &self,
        op: &Operation,
        req: &PreparedRequest,
        body: Option<&Value>,
        opts: CallOptions,
    ) -> Result<Response, Error> {
        self.send(op, req, body, opts, |x, status, headers, bytes| {
            answer::check(x.op, headers, &bytes)
                .map(|body| Response { status, body })
                .map_err(|m| self.mismatch(x, status, m))
        })
        .await
    }

    /// One page of a listing, its items kept as raw JSON (see [`RawPage`]).
    pub(crate) async fn fetch_listing(
        &self,
        op: &Operation,
        req: &PreparedRequest,
        next_key: Option<&str>,
    ) -> Result<RawPage, Error> {
        self.send(
            op,
            req,
            None,
            CallOptions::default(),
            |x, status, headers, bytes| {
                listing::parse(x.op, headers, bytes, next_key)
                    .map_err(|m| self.mismatch(x, status, m))
            },
        )
        .await
    }

    fn mismatch(&self, x: &Exchange<'_>, status: u16, m: answer::Mismatch) -> Error {
        Error::UnexpectedAnswer {
            status,
            method: x.op.method.clone(),
            target: x.target.to_owned(),
            found: self.redact(m.found),
            expected: x.op.response.describe(),
        }
    }

    /// Send with retries; `take` turns a success answer into what the caller wants (an
    /// answer it refuses is retried like a 5xx for reads).
    async fn send<T>(
        &self,
        op: &Operation,
        req: &PreparedRequest,
        body: Option<&Value>,
        opts: CallOptions,
        take: impl Fn(&Exchange<'_>, u16, &HeaderMap, Bytes) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let target = req.path_and_query();
        let payload = self.payload(op, &target, body)?;
        let url = format!("{}{}", self.inner.base_url, target);
        let method = Method::from_bytes(op.method.as_bytes())
            .map_err(|_| Error::Config(format!("bad method {} in catalog", op.method)))?;
        let repeatable = op.is_idempotent() || opts.retry_non_idempotent;
        let policy = &self.inner.retry;
        let started = Instant::now();
        let attempts = AtomicUsize::new(1);
        let exchange = Exchange {
            op,
            method: &method,
            url: &url,
            target: &target,
            payload: &payload,
        };
        let result = (|| self.attempt(&exchange, &take))
            .retry(policy.backoff())
            .sleep(tokio::time::sleep)
            // A 429 or a connection that was never made means Lumos did not act on the
            // request, so even a POST may be sent again; other failures only for reads.
            .when(|e| match e {
                Error::RateLimited { .. } | Error::Connect { .. } => true,
                e => repeatable && e.is_transient(),
            })
            .adjust(|e, next| match e {
                Error::RateLimited { retry_after: Some(wait) } => {
                    next.and_then(|_| (*wait <= policy.max_retry_after).then_some(*wait))
                }
                _ => next,
            })
            .notify(|e, wait| {
                attempts.fetch_add(1, Ordering::Relaxed);
                tracing::info!(operation = op.name(), error = %e, wait_ms = wait.as_millis() as u64, "retrying Lumos call");
            })
            .await;
        tracing::debug!(
            operation = op.name(),
            failed = result.as_ref().err().map(ToString::to_string),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Lumos call"
        );
        let attempts = attempts.into_inner();
        result.map_err(|last| {
            if attempts > 1 {
                Error::GaveUp {
                    attempts,
                    last: Box::new(last),
                }
            } else {
                last
            }
        })
    }

    /// The request body, encoded once for every attempt, and the size limits checked before
    /// anything is sent (an oversized request is bad input, not a network failure).
    fn payload(
        &self,
        op: &Operation,
        target: &str,
        body: Option<&Value>,
    ) -> Result<Payload, Error> {
        let too_large = |param: &str, message: String| Error::InvalidInput {
            operation: op.name().to_owned(),
            problems: vec![crate::params::ParamProblem {
                param: param.to_owned(),
                location: if param == "body" { "body" } else { "query" },
                kind: crate::params::ProblemKind::TooLarge,
                message,
            }],
        };
        if target.len() > MAX_TARGET {
            return Err(too_large(
                "query",
                format!(
                    "the request line for {} would be {} bytes; the limit is {MAX_TARGET} (shorten the parameters)",
                    op.name(),
                    target.len()
                ),
            ));
        }
        let Some(body) = body else {
            return Ok(Payload::None);
        };
        let json_ok = op
            .body
            .as_ref()
            .is_none_or(|b| b.content_types.iter().any(|c| c == "application/json"));
        if !json_ok {
            return Ok(Payload::Form(body.clone()));
        }
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Config(format!("cannot encode the request body: {e}")))?;
        if bytes.len() > MAX_BODY {
            return Err(too_large(
                "body",
                format!(
                    "the body for {} would be {} bytes; the limit is {MAX_BODY}",
                    op.name(),
                    bytes.len()
                ),
            ));
        }
        Ok(Payload::Json(bytes))
    }

    async fn attempt<T>(
        &self,
        x: &Exchange<'_>,
        take: &impl Fn(&Exchange<'_>, u16, &HeaderMap, Bytes) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.inner.pacer.wait().await;
        // Asked last, after any wait: the moment before the request goes out.
        if let Some(fence) = &self.fence {
            fence.check().map_err(|reason| Error::Fenced { reason })?;
        }
        let mut rb = self
            .inner
            .http
            .request(x.method.clone(), x.url)
            .header(ACCEPT, "application/json");
        if let Some(token) = &self.inner.token {
            rb = rb.bearer_auth(token.expose());
        }
        rb = match x.payload {
            Payload::None => rb,
            Payload::Json(bytes) => rb
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Payload::Form(v) => rb.multipart(to_multipart(v)),
        };
        let sent = Instant::now();
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => {
                self.tell(x, None, sent);
                return Err(self.transport_error(e));
            }
        };
        let status = resp.status().as_u16();
        self.tell(x, Some(status), sent);
        let headers = resp.headers().clone();
        self.inner.pacer.observe(&headers).await;
        if resp.status().is_redirection() {
            let location = headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?")
                .to_owned();
            return Err(Error::Redirect { location });
        }
        let bytes = resp.bytes().await.map_err(|e| self.transport_error(e))?;
        if (200..300).contains(&status) {
            return take(x, status, &headers, bytes);
        }
        Err(self.failure(status, &headers, &bytes).await)
    }

    fn tell(&self, x: &Exchange<'_>, status: Option<u16>, sent: Instant) {
        if let Some(w) = &self.watch {
            w.answered(x.op.name(), status, sent.elapsed());
        }
    }

    async fn failure(&self, status: u16, headers: &HeaderMap, bytes: &[u8]) -> Error {
        let detail = self.detail(bytes);
        let text = || detail.to_string();
        match status {
            401 => Error::Unauthorized { detail: text() },
            403 => Error::Forbidden { detail: text() },
            404 => Error::NotFound { detail: text() },
            409 => Error::Conflict { detail: text() },
            422 => Error::Unprocessable { detail },
            429 => {
                let wait = retry_after(headers);
                if let Some(w) = wait {
                    self.inner.pacer.hold_for(w).await;
                }
                Error::RateLimited { retry_after: wait }
            }
            500..=599 => Error::Server {
                status,
                detail: text(),
            },
            _ => Error::Http {
                status,
                detail: text(),
            },
        }
    }

    fn redact(&self, s: String) -> String {
        match &self.inner.token {
            Some(t) => t.redact(&s),
            None => s,
        }
    }

    /// FastAPI's `detail` (string or list), else the first bytes of the body.
    fn detail(&self, bytes: &[u8]) -> ValidationDetail {
        #[derive(serde::Deserialize)]
        struct Envelope {
            detail: ValidationDetail,
        }
        let redact = |s: String| self.redact(s);
        // Lumos may echo input back; an echoed token must not reach errors or logs.
        match serde_json::from_slice::<Envelope>(bytes) {
            Ok(Envelope {
                detail: ValidationDetail::Message(m),
            }) => ValidationDetail::Message(redact(m)),
            Ok(Envelope {
                detail: ValidationDetail::Fields(mut fields),
            }) => {
                for f in &mut fields {
                    f.msg = redact(std::mem::take(&mut f.msg));
                }
                ValidationDetail::Fields(fields)
            }
            Err(_) if bytes.is_empty() => ValidationDetail::Message("(no details)".to_owned()),
            Err(_) => ValidationDetail::Message(self.snippet(bytes)),
        }
    }

    fn snippet(&self, bytes: &[u8]) -> String {
        let text = String::from_utf8_lossy(bytes);
        let mut s: String = text.chars().take(SNIPPET_LEN).collect();
        if text.chars().count() > SNIPPET_LEN {
            s.push('…');
        }
        self.redact(s.replace(['\n', '\r'], " "))
    }

    fn transport_error(&self, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout(self.inner.timeout);
        }
        // The innermost cause ("Connection refused", "dns error") is what an admin can act on.
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            reason = s.to_string();
            source = s.source();
        }
        let url = self.inner.base_url.clone();
        let reason = self.redact(reason);
        if untrusted_certificate(&e) {
            let reason = format!(
                "its certificate is not trusted ({reason}); for a private CA, name its certificate in SSL_CERT_FILE"
            );
            return Error::Untrusted { url, reason };
        }
        if e.is_connect() {
            Error::Connect { url, reason }
        } else {
            Error::Interrupted { url, reason }
        }
    }
}

/// Whether the TLS handshake failed on the server's certificate.
fn untrusted_certificate(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if matches!(
            tls_error(s),
            Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
        ) {
            return true;
        }
        source = s.source();
    }
    false
}

/// rustls's error in `e`, which may be it or be wrapped in `io::Error`s (hyper's connector
/// wraps tokio-rustls's); an `io::Error`'s `source` skips what it wraps, so look inside.
fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    tls_error(inner)
}

/// Multipart endpoints (the Knowledge API) take form fields; arrays repeat the field.
fn to_multipart(body: &Value) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    if let Value::Object(map) = body {
        for (k, v) in map {
            let values = match v {
                Value::Array(items) => items.clone(),
                Value::Null => vec![],
                other => vec![other.clone()],
            };
            for item in values {
                let text = item
                    .as_str()
                    .map_or_else(|| item.to_string(), str::to_owned);
                form = form.text(k.clone(), text);
            }
        }
    }
    form
}

pub(crate) fn decode<T: DeserializeOwned>(operation: &str, value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| Error::Decode {
        operation: operation.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert!(check_base_url("https://api.lumos.com").is_ok());
        assert!(check_base_url("http://127.0.0.1:8080").is_ok());
        assert!(check_base_url("http://localhost:1").is_ok());
        assert!(check_base_url("http://[::1]:1").is_ok());
        let err = check_base_url("http://api.lumos.com")
            .expect_err("plain http")
            .to_string();
        assert!(err.contains("unencrypted"), "{err}");
        assert!(check_base_url("ftp://x").is_err());
        assert!(check_base_url("https://user:pw@x").is_err());
        assert!(check_base_url("not a url").is_err());
    }
}
