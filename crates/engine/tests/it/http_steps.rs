//! `http:` steps against a real HTTP receiver on a random port: the request arrives with the
//! secret put in, nothing the run records holds the secret (not even an answer that echoes
//! it), a dry run sends nothing, hosts nobody allowed are refused.

use std::sync::{Arc, Mutex};

use engine::{Actor, Engine, EngineConfig, RunRequest, RunStatus};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::obj;

/// What the receiver saw: (request line, headers, body).
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// An HTTP/1.1 receiver that answers each request with JSON echoing its Authorization.
pub(crate) async fn receiver() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let seen: Seen = Arc::default();
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then as many body bytes as Content-Length says.
                let (head, body_start) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&buf[..i]).into_owned(), i + 4);
                    }
                };
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < body_start + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[body_start..]).into_owned();
                let auth = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization")
                            .then(|| v.trim().to_owned())
                    })
                    .unwrap_or_default();
                let first = head.lines().next().unwrap_or_default().to_owned();
                keep.lock().expect("lock").push((first, head, body));
                let answer = json!({"ok": true, "you_sent": auth}).to_string();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    (addr, seen)
}

const SECRET: &str = "tok-7f3a9c1e5b";

fn post_answer(addr: &str) -> String {
    format!(
        r#"
id: post-answer
name: Post the answer
steps:
  - id: me
    call: currentUser
  - id: post
    http:
      method: POST
      url: "http://{addr}/hook?who={{{{ steps.me.output.email }}}}"
      headers: {{ Authorization: "Bearer {{{{ secrets.HOOK_TOKEN }}}}" }}
      body: {{ text: "Run by {{{{ steps.me.output.email }}}}" }}
output: "{{{{ steps.post.output }}}}"
"#
    )
}

#[tokio::test]
async fn http_steps_send_secrets_and_record_none() {
    let (addr, seen) = receiver().await;
    let db = testkit::sqlite();

    let sim = lumos_sim::Simulator::start(lumos_sim::SimConfig::default())
        .await
        .expect("sim");
    let store = Arc::new(db.open().await);
    engine::connections::connect(&store, "default", &sim.base_url, lumos_sim::DEFAULT_TOKEN)
        .await
        .expect("connect");
    let config = EngineConfig {
        http_allowed_hosts: vec![addr.clone()],
        ..EngineConfig::default()
    };
    let engine = Engine::with_config(store.clone(), config);
    let op = Actor::operator();
    engine
        .set_secret("HOOK_TOKEN", &format!("{SECRET}\n"), &op)
        .await
        .expect("set");
    engine
        .create(&post_answer(&addr), &op)
        .await
        .expect("create");

    let out = engine
        .run("post-answer", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    let got = seen.lock().expect("lock").clone();
    assert_eq!(got.len(), 1);
    let (line, head, body) = &got[0];
    assert!(line.starts_with("POST /hook?who="), "{line}");
    assert!(
        head.contains(&format!("Bearer {SECRET}")),
        "the secret went out: {head}"
    );
    let sent: Value = serde_json::from_str(body).expect("json body");
    assert!(
        sent["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Run by ")),
        "{sent}"
    );
    // The answer echoed the secret: what the run keeps has it taken out.
    let output = out.output.expect("output");
    assert_eq!(output["status"], 200);
    assert_eq!(output["body"]["you_sent"], "Bearer ***", "{output}");
    let detail = engine.run_detail(&out.run_id).await.expect("detail");
    let recorded = serde_json::to_string(&detail).expect("json");
    assert!(
        !recorded.contains(SECRET),
        "the run record holds the secret: {recorded}"
    );
    let step = detail
        .steps
        .iter()
        .find(|s| s.step_id == "post")
        .expect("post");
    assert_eq!(step.operation.as_deref(), Some("http POST 127.0.0.1"));
    // Nor does the database file, anywhere (sealed at rest).
    for file in db.sqlite_files() {
        let b = std::fs::read(&file).unwrap_or_default();
        assert!(
            !b.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the secret is in the database in plain text"
        );
    }

    // `workflows try` runs http steps too (nothing recorded): a dry try describes the post,
    // a real one sends it with the secret.
    let tried = engine
        .try_workflow(
            &post_answer(&addr),
            &obj(json!({})),
            "default",
            true,
            None,
            &op,
        )
        .await
        .expect("try");
    let said = tried.result.expect("ran");
    assert_eq!(said["dry_run"], true, "{said}");
    assert_eq!(
        seen.lock().expect("lock").len(),
        1,
        "a dry try sent nothing"
    );
    let tried = engine
        .try_workflow(
            &post_answer(&addr),
            &obj(json!({})),
            "default",
            false,
            None,
            &op,
        )
        .await
        .expect("try");
    assert_eq!(tried.result.expect("ran")["body"]["you_sent"], "Bearer ***");
    assert_eq!(seen.lock().expect("lock").len(), 2);
    seen.lock().expect("lock").pop();

    // A dry run describes the request and sends nothing.
    let dry = engine
        .run(
            "post-answer",
            &obj(json!({})),
            RunRequest {
                dry_run: true,
                ..RunRequest::default()
            },
        )
        .await
        .expect("dry run");
    assert_eq!(dry.status, RunStatus::Completed, "{:?}", dry.error);
    assert_eq!(dry.output.expect("output")["dry_run"], true);
    assert_eq!(
        seen.lock().expect("lock").len(),
        1,
        "a dry run sent nothing"
    );

    // A host nobody allowed, and a secret nobody set, are refused saying so.
    let elsewhere = post_answer(&addr)
        .replace("id: post-answer", "id: post-elsewhere")
        .replace(
            &format!("http://{addr}"),
            &format!("http://localhost:{}", addr.split(':').nth(1).unwrap_or("1")),
        );
    engine.create(&elsewhere, &op).await.expect("create");
    let refused = engine
        .run("post-elsewhere", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    assert_eq!(refused.status, RunStatus::Failed);
    let e = refused.error.unwrap_or_default();
    assert!(
        e.contains("localhost is not a host http steps may call"),
        "{e}"
    );
    let unset = post_answer(&addr)
        .replace("id: post-answer", "id: post-unset")
        .replace("HOOK_TOKEN", "NOT_SET_ANYWHERE");
    engine.create(&unset, &op).await.expect("create");
    let missing = engine
        .run("post-unset", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    let e = missing.error.unwrap_or_default();
    assert!(e.contains("no secret named 'NOT_SET_ANYWHERE'"), "{e}");
    assert_eq!(
        seen.lock().expect("lock").len(),
        1,
        "refused requests were not sent"
    );

    // Secrets are for admins, and listed by name only.
    let agent = Actor::person("desk@example-corp.com", None, engine::Role::Agent, None);
    assert!(engine.secrets(&agent).await.is_err());
    let listed = serde_json::to_string(&engine.secrets(&op).await.expect("list")).expect("json");
    assert!(
        listed.contains("HOOK_TOKEN") && !listed.contains(SECRET),
        "{listed}"
    );
    sim.stop().await;
}

/// Secrets only in http steps, only whole.
#[test]
fn secrets_are_written_whole_and_only_in_http_steps() {
    let yaml = r#"
id: secrets-checked
name: Secrets checked
steps:
  - id: leak
    transform: "{{ secrets.HOOK_TOKEN }}"
  - id: filtered
    http:
      method: POST
      url: "https://hooks.example.com/x"
      headers: { Authorization: "{{ secrets.HOOK_TOKEN | upper }}" }
"#;
    let problems = match engine::workflow::Workflow::load(yaml, &engine::template::Templates::new())
    {
        Ok(_) => panic!("should be invalid"),
        Err(e) => e.to_string(),
    };
    assert!(
        problems.contains("step 'leak' transform: unknown name 'secrets'"),
        "{problems}"
    );
    assert!(
        problems.contains("write secrets as {{ secrets.NAME }} on their own"),
        "{problems}"
    );
}
