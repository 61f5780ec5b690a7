//! A fault proxy for tests: an HTTP/1.1 proxy in front of the simulator that, from the N-th
//! request on, answers the way broken networks and middleboxes do — a captive portal's HTML
//! page with status 200, JSON of the wrong shape, a body cut short, a reset connection, a
//! body that trickles in. The simulator itself cannot fail like that; this lets tests prove
//! that such answers fail a run with a clear message instead of completing it short.
//!
//! It speaks HTTP/1.1 over raw sockets on purpose: truncating a body or resetting a
//! connection needs control below what an HTTP library offers. It runs on a thread and
//! runtime of its own, so a test that blocks its own runtime (waiting for a child process)
//! cannot stall it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the proxy answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward faithfully.
    Pass,
    /// `200 text/html`: a captive portal's sign-in page.
    Html200,
    /// `200 application/json` whose shape fits no operation: `{"data": [], "message": "ok"}`.
    WrongShape,
    /// Lumos's status and headers, then half its body, then the connection closes.
    Truncate,
    /// The connection is reset without an answer.
    Reset,
    /// Lumos's answer, one byte at a time with this pause between bytes.
    SlowBody(Duration),
    /// The first answer this proxy forwarded for the same path (whatever the query asks):
    /// a stale cache answering page N with page 1.
    Stale,
    /// `502` from a gateway in front of Lumos, the request never reaching it.
    BadGateway,
    /// The request reaches Lumos (which does what it asks), then the gateway answers `502`:
    /// an answer lost after the work was done.
    BadGatewayAfter,
}

struct Rule {
    fault: Fault,
    /// Only requests with this method (and only they are counted for `from`/`count`).
    method: Option<String>,
    /// 1-based number of the first request it applies to.
    from: u64,
    /// How many requests it applies to (`u64::MAX`: all from `from` on).
    count: u64,
}

struct State {
    upstream: String,
    http: reqwest::Client,
    rule: Mutex<Rule>,
    requests: AtomicU64,
    /// The first answer forwarded for each path (no query), for `Stale`.
    first: Mutex<std::collections::HashMap<String, Upstream>>,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    pub base_url: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl FaultProxy {
    /// Listen on a free loopback port, forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("local addr");
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: lumos_api::http::client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            rule: Mutex::new(Rule {
                fault: Fault::Pass,
                method: None,
                from: 1,
                count: u64::MAX,
            }),
            requests: AtomicU64::new(0),
            first: Mutex::default(),
        });
        let st = state.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(listener) = TcpListener::from_std(std_listener) else {
                    return;
                };
                let accept = async {
                    while let Ok((sock, _)) = listener.accept().await {
                        tokio::spawn(serve(sock, st.clone()));
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
        });
        FaultProxy {
            base_url: format!("http://{addr}"),
            state,
            stop: Some(stop),
        }
    }

    /// Answer with `fault` from the `from`-th request on (counting from 1, all requests
    /// the proxy has seen), for good.
    pub fn fail_from(&self, from: u64, fault: Fault) {
        self.set(fault, from, u64::MAX);
    }

    /// Answer with `fault` for `count` requests starting with the `from`-th.
    pub fn fail_some(&self, from: u64, count: u64, fault: Fault) {
        self.set(fault, from, count);
    }

    /// Forward everything faithfully again.
    pub fn heal(&self) {
        self.set(Fault::Pass, 1, u64::MAX);
    }

    /// Answer the next request with `method` (GET, POST, …) with `fault`, once; every
    /// other request passes.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        let mut rule = self.state.rule.lock().unwrap_or_else(|e| e.into_inner());
        *rule = Rule {
            fault,
            method: Some(method.to_ascii_uppercase()),
            from: 1,
            count: 1,
        };
    }

    fn set(&self, fault: Fault, from: u64, count: u64) {
        let mut rule = self.state.rule.lock().unwrap_or_else(|e| e.into_inner());
        *rule = Rule {
            fault,
            method: None,
            from,
            count,
        };
    }

    /// Requests seen so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }
}

const HTML_PAGE: &str = "<!DOCTYPE html><html><head><title>Sign in to continue</title></head>\
<body><form action=\"/login\"><input name=\"user\"></form></body></html>";
const WRONG_SHAPE: &str = r#"{"data": [], "message": "ok"}"#;

/// One client connection: requests in turn, keep-alive, until a fault closes it.
async fn serve(mut sock: TcpStream, state: Arc<State>) {
    let mut buf = Vec::new();
    loop {
        let Some(req) = read_request(&mut sock, &mut buf).await else {
            return;
        };
        let n = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let fault = {
            let mut rule = state.rule.lock().unwrap_or_else(|e| e.into_inner());
            match rule.method.clone() {
                // A rule for one method counts only its requests, and is used up.
                Some(m) if m == req.method.to_ascii_uppercase() && rule.count > 0 => {
                    rule.count -= 1;
                    rule.fault
                }
                Some(_) => Fault::Pass,
                None => {
                    let applies = n >= rule.from && n - rule.from < rule.count;
                    if applies { rule.fault } else { Fault::Pass }
                }
            }
        };
        let keep_open = match fault {
            Fault::Reset => {
                // SO_LINGER 0: closing sends a reset instead of a clean end.
                let _ = sock.set_zero_linger();
                return;
            }
            Fault::BadGateway => {
                write_answer(&mut sock, 502, "text/plain", &[], b"bad gateway").await
            }
            Fault::BadGatewayAfter => {
                let _ = forward(&state, &req).await;
                write_answer(&mut sock, 502, "text/plain", &[], b"bad gateway").await
            }
            Fault::Html200 => {
                write_answer(
                    &mut sock,
                    200,
                    "text/html; charset=utf-8",
                    &[],
                    HTML_PAGE.as_bytes(),
                )
                .await
            }
            Fault::WrongShape => {
                write_answer(
                    &mut sock,
                    200,
                    "application/json",
                    &[],
                    WRONG_SHAPE.as_bytes(),
                )
                .await
            }
            Fault::Stale => {
                let path = req.target.split('?').next().unwrap_or_default().to_owned();
                let cached = state
                    .first
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&path)
                    .cloned();
                let up = match cached {
                    Some(up) => Some(up),
                    None => forward(&state, &req).await,
                };
                let Some(up) = up else {
                    let _ = write_answer(&mut sock, 502, "text/plain", &[], b"upstream down").await;
                    return;
                };
                write_answer(
                    &mut sock,
                    up.status,
                    &up.content_type,
                    &up.headers,
                    &up.body,
                )
                .await
            }
            Fault::Pass | Fault::Truncate | Fault::SlowBody(_) => {
                let Some(up) = forward(&state, &req).await else {
                    let _ = write_answer(&mut sock, 502, "text/plain", &[], b"upstream down").await;
                    return;
                };
                match fault {
                    Fault::Truncate => {
                        let head = head(up.status, &up.content_type, &up.headers, up.body.len());
                        let _ = sock.write_all(head.as_bytes()).await;
                        let _ = sock.write_all(&up.body[..up.body.len() / 2]).await;
                        let _ = sock.shutdown().await;
                        return;
                    }
                    Fault::SlowBody(pause) => {
                        let head = head(up.status, &up.content_type, &up.headers, up.body.len());
                        if sock.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        for b in &up.body {
                            tokio::time::sleep(pause).await;
                            if sock.write_all(&[*b]).await.is_err() {
                                return;
                            }
                        }
                        true
                    }
                    _ => {
                        write_answer(
                            &mut sock,
                            up.status,
                            &up.content_type,
                            &up.headers,
                            &up.body,
                        )
                        .await
                    }
                }
            }
        };
        if !keep_open {
            return;
        }
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Read one request (head and `Content-Length` body); `None` when the client is gone.
async fn read_request(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(head_len)) = parsed.parse(buf) {
            let method = parsed.method?.to_owned();
            let target = parsed.path?.to_owned();
            let headers: Vec<(String, String)> = parsed
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < head_len + len {
                let mut chunk = [0u8; 8192];
                let n = sock.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[head_len..head_len + len].to_vec();
            buf.drain(..head_len + len);
            return Some(Request {
                method,
                target,
                headers,
                body,
            });
        }
        let mut chunk = [0u8; 8192];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[derive(Clone)]
struct Upstream {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Headers that belong to one hop, not to the message.
fn hop_by_hop(name: &str) -> bool {
    [
        "host",
        "connection",
        "content-length",
        "transfer-encoding",
        "keep-alive",
        "content-type",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

async fn forward(state: &State, req: &Request) -> Option<Upstream> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).ok()?;
    let mut rb = state
        .http
        .request(method, format!("{}{}", state.upstream, req.target));
    for (k, v) in &req.headers {
        if !hop_by_hop(k) || k.eq_ignore_ascii_case("content-type") {
            rb = rb.header(k, v);
        }
    }
    let resp = rb.body(req.body.clone()).send().await.ok()?;
    let status = resp.status().as_u16();
    let mut content_type = String::new();
    let mut headers = Vec::new();
    for (k, v) in resp.headers() {
        let v = v.to_str().unwrap_or_default().to_owned();
        if k.as_str() == "content-type" {
            content_type = v;
        } else if !hop_by_hop(k.as_str()) {
            headers.push((k.as_str().to_owned(), v));
        }
    }
    let body = resp.bytes().await.ok()?.to_vec();
    let up = Upstream {
        status,
        content_type,
        headers,
        body,
    };
    if req.method == "GET" && up.status == 200 {
        let path = req.target.split('?').next().unwrap_or_default().to_owned();
        state
            .first
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(path)
            .or_insert_with(|| up.clone());
    }
    Some(up)
}

fn head(status: u16, content_type: &str, headers: &[(String, String)], len: usize) -> String {
    let mut h = format!("HTTP/1.1 {status} X\r\ncontent-length: {len}\r\n");
    if !content_type.is_empty() {
        h.push_str(&format!("content-type: {content_type}\r\n"));
    }
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

/// Write a whole answer; whether the connection can carry another request.
async fn write_answer(
    sock: &mut TcpStream,
    status: u16,
    content_type: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> bool {
    let head = head(status, content_type, headers, body.len());
    sock.write_all(head.as_bytes()).await.is_ok() && sock.write_all(body).await.is_ok()
}
