//! Accepting connections: HTTP/1.1 with a deadline for each request's headers (10 s by
//! default; it also closes keep-alive connections left idle that long), a cap on open
//! connections and on those from one address, and a graceful drain. A client that opens
//! connections and sends nothing (slowloris) ties up a connection for seconds, not forever,
//! and never more than its share. When every slot is taken, a few more connections are
//! still let in on a reserve that answers only `/healthz` and `/readyz`, so a load balancer
//! can still tell the server is alive.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How the server meets the network.
#[derive(Debug, Clone)]
pub struct NetOptions {
    /// A client must send a request's headers within this (and an idle keep-alive
    /// connection is closed after it).
    pub header_timeout: Duration,
    /// A request body must arrive within this.
    pub body_timeout: Duration,
    /// Connections open at once; further ones wait to be accepted.
    pub max_connections: usize,
    /// Connections open at once from one IP address; more from it are closed at once.
    pub max_per_ip: usize,
    /// Requests in flight at once that no one signed in to make (hooks, sign-in): more are
    /// answered 503 at once.
    pub max_unauthenticated: usize,
}

/// Connections let in beyond the cap, for health checks only.
const RESERVE: usize = 16;

impl Default for NetOptions {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_per_ip: 256,
            max_unauthenticated: 256,
        }
    }
}

/// Open connections by address, to cap what one address holds.
#[derive(Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

impl PerIp {
    /// Count a new connection from `ip`; `None` when it already holds `max`.
    fn enter(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut m = self.0.lock().ok()?;
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            ip,
            table: self.clone(),
        })
    }
}

/// One connection's place in its address's count, given back when it closes.
struct IpSlot {
    ip: IpAddr,
    table: Arc<PerIp>,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.table.0.lock()
            && let Some(n) = m.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Serve `router` on `listener` until `stop`, then let open connections finish (up to
/// `drain`). `health` answers on the reserve lane, when every slot is taken.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    health: Router,
    net: NetOptions,
    stop: CancellationToken,
    drain: Duration,
) {
    let slots = Arc::new(Semaphore::new(net.max_connections.max(1)));
    let reserve = Arc::new(Semaphore::new(RESERVE));
    let per_ip = Arc::new(PerIp::default());
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(ip_slot) = per_ip.enter(peer.ip(), net.max_per_ip.max(1)) else {
            tracing::debug!(peer = %peer.ip(), "too many connections from one address; closed");
            continue;
        };
        // A regular slot, else one of the reserve that answers only health checks, else
        // wait for a regular one as before.
        let (permit, service, header_timeout) = match slots.clone().try_acquire_owned() {
            Ok(p) => (p, router.clone(), net.header_timeout),
            Err(_) => match reserve.clone().try_acquire_owned() {
                Ok(p) => (
                    p,
                    health.clone(),
                    net.header_timeout.min(Duration::from_secs(2)),
                ),
                Err(_) => {
                    let p = tokio::select! {
                        () = stop.cancelled() => break,
                        p = slots.clone().acquire_owned() => match p {
                            Ok(p) => p,
                            Err(_) => break,
                        },
                    };
                    (p, router.clone(), net.header_timeout)
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
            drop(ip_slot);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::warn!("connections still open after the drain period; closing");
        }
    }
}
