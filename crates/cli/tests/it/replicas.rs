//! Two `serve` processes on one database, as replicas run in production: a cancel sent to
//! one stops a run executing on the other within a second, with no Lumos call after the
//! answer; and when one is killed, the other fails its runs within lease + sweep.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{Db, FaultProxy, both};

use crate::{Killed, bin, spawn_sim};

const LEASE: &str = "2s";

/// A slow run: 60 Lumos calls one after another, each slowed by the simulator.
const SLOW_LOOP: &str = r#"
id: slow-loop
name: Slow loop
steps:
  - id: users
    call: listUsers
    params: { size: 60 }
  - id: each
    for_each: "{{ steps.users.output['items'] }}"
    concurrency: 1
    call: getUser
    params: { user_id: "{{ item.id }}" }
output: "{{ steps.each.output | length }}"
"#;

/// One deployment: a database, a simulator behind a request-counting proxy, a connection,
/// the slow workflow and an admin key.
struct Deployment {
    db: Db,
    _sim: Killed,
    proxy: FaultProxy,
    key: String,
}

impl Deployment {
    fn command(&self) -> Command {
        let mut c = bin();
        c.env("LUMOSFLOW_HOME", self.db.dir.path())
            .env("LUMOSFLOW_DATABASE_URL", &self.db.url)
            .env("LUMOSFLOW_RUN_LEASE", LEASE)
            .env_remove("LUMOSFLOW_MASTER_KEY");
        c
    }

    async fn new(db: Db) -> Deployment {
        let (sim, sim_url, token) = spawn_sim(&["--latency-ms", "40"]);
        let sim = Killed(sim);
        let proxy = FaultProxy::start(&sim_url).await;
        let mut me = Deployment {
            db,
            _sim: sim,
            proxy,
            key: String::new(),
        };
        let mut connect = me
            .command()
            .args(["connect", "--base-url", &me.proxy.base_url])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("connect");
        connect
            .stdin
            .take()
            .expect("stdin")
            .write_all(token.as_bytes())
            .expect("token");
        assert!(connect.wait().expect("wait").success(), "connect");
        let file = me.db.dir.path().join("slow-loop.yaml");
        std::fs::write(&file, SLOW_LOOP).expect("yaml");
        let created = me
            .command()
            .args(["workflows", "create"])
            .arg(&file)
            .output()
            .expect("create");
        assert!(created.status.success(), "{created:?}");
        let key = me
            .command()
            .args(["keys", "create", "--name", "ops", "--role", "admin"])
            .output()
            .expect("key");
        me.key = String::from_utf8_lossy(&key.stdout).trim().to_owned();
        assert!(me.key.starts_with("lfk_"), "{key:?}");
        me
    }

    /// `lumosflow serve` on a free port, with extra environment; returns it once it listens.
    fn serve(&self, env: &[(&str, &str)]) -> Replica {
        let mut c = self.command();
        c.args(["serve", "--addr", "127.0.0.1:0"]);
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let url = line
            .strip_prefix("lumosflow serving on ")
            .and_then(|r| r.split(' ').next())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))
            .to_owned();
        Replica {
            pid: child.id(),
            url,
            child: Some(child),
        }
    }

    async fn call(
        &self,
        r: &Replica,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = lumos_api::http::client()
            .request(method, format!("{}{path}", r.url))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn start_run(&self, r: &Replica) -> String {
        let (s, v) = self
            .call(
                r,
                Method::POST,
                "/api/v1/workflows/slow-loop/runs",
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        v["id"].as_str().expect("id").to_owned()
    }

    async fn run(&self, r: &Replica, id: &str) -> Value {
        self.call(r, Method::GET, &format!("/api/v1/runs/{id}"), None)
            .await
            .1
    }

    /// Runs executing in a replica's process, from its health check.
    async fn active(&self, r: &Replica) -> u64 {
        self.call(r, Method::GET, "/healthz", None).await.1["active_runs"]
            .as_u64()
            .unwrap_or(0)
    }
}

struct Replica {
    pid: u32,
    url: String,
    child: Option<Child>,
}

impl Replica {
    /// SIGKILL: no shutdown, no cleanup, as a crash or an OOM kill.
    fn kill_9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Polls until a deadline: `while poll.again().await { … }`.
struct Poll {
    deadline: Instant,
    first: bool,
}

impl Poll {
    fn within(d: Duration) -> Poll {
        Poll {
            deadline: Instant::now() + d,
            first: true,
        }
    }

    /// Whether to look again (after a short pause); false once the deadline passed.
    async fn again(&mut self) -> bool {
        if !std::mem::take(&mut self.first) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Instant::now() < self.deadline
    }
}

async fn cancel_reaches_the_replica_running_it(db: Db) {
    let d = Deployment::new(db).await;
    let a = d.serve(&[]);
    let b = d.serve(&[]);
    let id = d.start_run(&a).await;
    // Whichever replica took it, cancel through the other one.
    let mut holder = None;
    let mut poll = Poll::within(Duration::from_secs(10));
    while holder.is_none() && poll.again().await {
        if d.active(&a).await == 1 {
            holder = Some((&a, &b));
        } else if d.active(&b).await == 1 {
            holder = Some((&b, &a));
        }
    }
    let (runner, other) = holder.expect("a replica takes the run");
    // Let it make some calls first.
    let before = d.proxy.requests();
    let mut poll = Poll::within(Duration::from_secs(5));
    while d.proxy.requests() < before + 5 && poll.again().await {}
    assert!(d.proxy.requests() >= before + 5, "the run calls Lumos");
    let asked = Instant::now();
    let (s, canceled) = d
        .call(
            other,
            Method::POST,
            &format!("/api/v1/runs/{id}/cancel"),
            None,
        )
        .await;
    let took = asked.elapsed();
    assert_eq!(s, 200, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(canceled["canceled_by"], "key:ops");
    assert!(canceled["canceled_at"].is_string());
    assert!(took < Duration::from_secs(1), "the cancel took {took:?}");
    let at_answer = d.proxy.requests();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        d.proxy.requests(),
        at_answer,
        "no Lumos call after the cancel was answered"
    );
    assert_eq!(d.active(runner).await, 0, "the runner let go of it");
    let run = d.run(runner, &id).await;
    assert_eq!(run["status"], "canceled", "{run}");
    assert_eq!(run["error"], "canceled by key:ops");
}
both!(
    cancel_reaches_the_replica_running_it,
    cancel_reaches_the_replica_running_it
);

async fn a_killed_replicas_runs_are_failed_by_the_survivor(db: Db) {
    let d = Deployment::new(db).await;
    let mut a = d.serve(&[("LUMOSFLOW_MAX_CONCURRENT_RUNS", "2")]);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(d.start_run(&a).await);
    }
    let mut poll = Poll::within(Duration::from_secs(10));
    while d.active(&a).await < 2 && poll.again().await {}
    assert_eq!(
        d.active(&a).await,
        2,
        "the first replica runs two and queues the third"
    );
    let b = d.serve(&[]);
    let mut poll = Poll::within(Duration::from_secs(10));
    while d.active(&b).await < 1 && poll.again().await {}
    assert_eq!(
        d.active(&b).await,
        1,
        "the survivor takes the queued run: a queued run never waits on a replica"
    );
    let dead_pid = a.pid;
    a.kill_9();
    let killed = Instant::now();
    let mut failed = Vec::new();
    let mut poll = Poll::within(Duration::from_secs(10));
    while failed.len() < 2 && poll.again().await {
        failed.clear();
        for id in &ids {
            let run = d.run(&b, id).await;
            if run["status"] == "failed" {
                failed.push(run);
            }
        }
    }
    let took = killed.elapsed();
    assert_eq!(failed.len(), 2, "the dead replica's two runs are failed");
    // Lease (2 s) plus one sweep (a third of the lease), with room for a busy machine.
    assert!(took < Duration::from_secs(5), "failed after {took:?}");
    for run in &failed {
        let error = run["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("the process running it stopped (host ")
                && error.contains(&format!(", pid {dead_pid})"))
                && error.ends_with("not resumed: its Lumos calls may have had effects"),
            "{error}"
        );
    }
    let survivor_run = ids
        .iter()
        .find(|id| !failed.iter().any(|r| r["id"] == id.as_str()))
        .expect("the third run")
        .clone();
    let mut poll = Poll::within(Duration::from_secs(20));
    while d.run(&b, &survivor_run).await["status"] != "completed" && poll.again().await {}
    assert_eq!(
        d.run(&b, &survivor_run).await["status"],
        "completed",
        "the survivor's own run completes"
    );
    assert_eq!(d.run(&b, &survivor_run).await["output"], 60);
}
both!(
    a_killed_replicas_runs_are_failed_by_the_survivor,
    a_killed_replicas_runs_are_failed_by_the_survivor
);

/// What a SIEM received: (delivery id, the body's audit event), in arrival order.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>;

/// An HTTP receiver standing in for a SIEM. It answers 200, except that the first request it
/// gets is never answered (the sender is killed meanwhile).
async fn siem() -> (String, Received) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let got: Received = std::sync::Arc::default();
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head, start) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&buf[..i]).to_lowercase(), i + 4);
                    }
                };
                let field = |name: &str| {
                    head.lines().find_map(|l| {
                        l.strip_prefix(&format!("{name}:"))
                            .map(|v| v.trim().to_owned())
                    })
                };
                let len: usize = field("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < start + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body: Value =
                    serde_json::from_slice(&buf[start..start + len]).unwrap_or_default();
                let id = field("lumosflow-delivery").unwrap_or_default();
                let first = {
                    let mut g = keep.lock().expect("lock");
                    g.push((id, body["audit"].clone()));
                    g.len() == 1
                };
                if first {
                    // Never answered: the sender dies waiting.
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                }
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (addr, got)
}

/// The audit feed to a SIEM: every event is shipped, each with a delivery id of its own; a
/// server killed while sending comes back (another process on the host lets go of its
/// delivery at once) and sends it again with the same id, so the receiver has every event
/// exactly once by id; what it got is what `audit export` gives and the chain verifies.
async fn the_audit_feed_survives_a_kill_9(db: Db) {
    let d = Deployment::new(db).await;
    let (addr, got) = siem().await;
    let added = d
        .command()
        .args([
            "notifications",
            "add",
            "--name",
            "siem",
            "--url",
            &format!("http://{addr}/audit"),
            "--events",
            "audit",
            "--format",
            "json",
        ])
        .output()
        .expect("add");
    assert!(added.status.success(), "{added:?}");
    for i in 0..5 {
        let made = d
            .command()
            .args([
                "keys",
                "create",
                "--name",
                &format!("k{i}"),
                "--role",
                "viewer",
            ])
            .output()
            .expect("key");
        assert!(made.status.success(), "{made:?}");
    }
    let mut a = d.serve(&[]);
    let mut poll = Poll::within(Duration::from_secs(20));
    while got.lock().expect("lock").is_empty() {
        assert!(poll.again().await, "the first event was never sent");
    }
    a.kill_9();
    let b = d.serve(&[]);
    // Everything written so far, in the order written.
    let export = d
        .command()
        .args(["audit", "export", "--format", "ndjson"])
        .output()
        .expect("export");
    assert!(export.status.success(), "{export:?}");
    let events: Vec<Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let shipped: Vec<&Value> = events
        .iter()
        .skip_while(|e| e["action"] != "notification.add")
        .collect();
    assert_eq!(shipped.len(), 6, "{events:?}");
    let mut poll = Poll::within(Duration::from_secs(30));
    loop {
        let ids: std::collections::HashSet<String> = got
            .lock()
            .expect("lock")
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        if shipped
            .iter()
            .all(|e| ids.contains(&format!("audit-{}", e["seq"])))
        {
            break;
        }
        assert!(poll.again().await, "not every event arrived: {ids:?}");
    }
    let received = got.lock().expect("lock").clone();
    // The one the killed server was sending came twice, with the same id; each event's
    // copy carries the hash the database keeps.
    let first = &received[0].0;
    assert_eq!(
        received.iter().filter(|(id, _)| id == first).count(),
        2,
        "{received:?}"
    );
    for e in &shipped {
        let id = format!("audit-{}", e["seq"]);
        let copy = received
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, a)| a)
            .expect("received");
        assert_eq!(copy["hash"], e["hash"], "{id}");
    }
    let verify = d
        .command()
        .args(["audit", "verify"])
        .output()
        .expect("verify");
    assert!(verify.status.success(), "{verify:?}");
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("the audit trail is whole"),
        "{verify:?}"
    );
    drop(b);
}
both!(
    the_audit_feed_survives_a_kill_9,
    the_audit_feed_survives_a_kill_9
);
