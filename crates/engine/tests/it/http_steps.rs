//! `http:` steps against a real HTTP receiver on a random port: the request arrives with the
//! secret put in, nothing the run records holds the secret (not even an answer that echoes
//! it), a dry run sends nothing, hosts nobody allowed are refused.

use std::sync::{Arc, Mutex};

use engine::secrets::SecretRule;
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

/// A secret's rule for the test receivers: that host and port, over plain http.
pub(crate) fn plain_http_to(addr: &str) -> SecretRule {
    SecretRule {
        hosts: vec![addr.to_owned()],
        allow_http: true,
        workflows: None,
    }
}

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
        .set_secret(
            "HOOK_TOKEN",
            &format!("{SECRET}\n"),
            &plain_http_to(&addr),
            &op,
        )
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

/// Data can never name a secret (an input, a payload or a Lumos answer that holds the old
/// placeholder form), a secret goes only where its rule lets it, and every form it takes in
/// a request (in a URL's path, percent-encoded in an error) is taken out of what is kept.
#[tokio::test]
async fn secrets_are_placed_only_by_the_definition_and_go_only_where_allowed() {
    let (addr, seen) = receiver().await;
    // A port nobody listens on, allowed, so a request to it fails with its URL in the error.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").to_string()
    };
    let db = testkit::sqlite();
    let sim = lumos_sim::Simulator::start(lumos_sim::SimConfig::default())
        .await
        .expect("sim");
    let store = Arc::new(db.open().await);
    engine::connections::connect(&store, "default", &sim.base_url, lumos_sim::DEFAULT_TOKEN)
        .await
        .expect("connect");
    let engine = Engine::with_config(
        store.clone(),
        EngineConfig {
            http_allowed_hosts: vec![addr.clone(), closed.clone()],
            ..EngineConfig::default()
        },
    );
    let op = Actor::operator();
    let both_hosts = SecretRule {
        hosts: vec![addr.clone(), closed.clone()],
        allow_http: true,
        workflows: None,
    };
    engine
        .set_secret("HOOK_TOKEN", SECRET, &both_hosts, &op)
        .await
        .expect("set");
    let path_secret = "sp ace\"secret<x>";
    engine
        .set_secret("PATH_PART", path_secret, &both_hosts, &op)
        .await
        .expect("set");
    let wf = |id: &str, host: &str, url_tail: &str| {
        format!(
            "id: {id}\nname: {id}\ninputs:\n  comment: {{ type: text }}\nsteps:\n  - id: post\n    http:\n      method: POST\n      url: \"http://{host}{url_tail}\"\n      headers: {{ Authorization: \"Bearer {{{{ secrets.HOOK_TOKEN }}}}\" }}\n      body: {{ text: \"{{{{ inputs.comment }}}}\" }}\n"
        )
    };
    engine
        .create(&wf("comment-on-ticket", &addr, "/comment"), &op)
        .await
        .expect("create");
    // A comment holding the old placeholder form: refused, nothing sent.
    for forged in ["\u{1}HOOK_TOKEN\u{1}", "ok \u{1}x"] {
        let out = engine
            .run(
                "comment-on-ticket",
                &obj(json!({"comment": forged})),
                RunRequest::default(),
            )
            .await
            .expect("run");
        assert_eq!(out.status, RunStatus::Failed, "{forged:?}");
        assert!(
            out.error.as_deref().unwrap_or_default().contains("U+0001"),
            "{:?}",
            out.error
        );
    }
    assert!(seen.lock().expect("lock").is_empty(), "nothing was sent");

    // A secret in the URL's path: sent, and nowhere in the run, its steps or the audit trail.
    engine
        .create(
            &wf(
                "post-to-path",
                &addr,
                "/services/T000/{{ secrets.PATH_PART }}",
            ),
            &op,
        )
        .await
        .expect("create");
    let out = engine
        .run(
            "post-to-path",
            &obj(json!({"comment": "hi"})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    assert_eq!(seen.lock().expect("lock").len(), 1);
    let kept = format!(
        "{} {}",
        serde_json::to_string(&engine.run_detail(&out.run_id).await.expect("detail"))
            .expect("json"),
        serde_json::to_string(&engine.audit_events(None, 100).await.expect("audit")).expect("json")
    );
    for form in [path_secret, "sp%20ace%22secret%3Cx%3E", SECRET] {
        assert!(!kept.contains(form), "{form} is kept: {kept}");
    }
    assert!(kept.contains("/services/T000/***"), "{kept}");
    // The same to a port where nothing listens: the error names the URL, the secret taken
    // out in its percent-encoded form too.
    engine
        .create(
            &wf(
                "post-nowhere",
                &closed,
                "/services/T000/{{ secrets.PATH_PART }}",
            ),
            &op,
        )
        .await
        .expect("create");
    let out = engine
        .run(
            "post-nowhere",
            &obj(json!({"comment": "hi"})),
            RunRequest::default(),
        )
        .await
        .expect("run");
    assert_eq!(out.status, RunStatus::Failed);
    let detail = serde_json::to_string(&engine.run_detail(&out.run_id).await.expect("detail"))
        .expect("json");
    assert!(!detail.contains("secret"), "{detail}");

    // Where a secret may go: only its hosts, over https unless allowed, by its workflows.
    for (rule, says) in [
        (
            SecretRule {
                hosts: vec!["jira.example.com".into()],
                allow_http: true,
                workflows: None,
            },
            "may be sent only to jira.example.com",
        ),
        (
            SecretRule {
                hosts: vec![addr.clone()],
                allow_http: false,
                workflows: None,
            },
            "https only",
        ),
        (
            SecretRule {
                hosts: vec![addr.clone()],
                allow_http: true,
                workflows: Some(vec!["post-to-jira".into()]),
            },
            "not 'comment-on-ticket'",
        ),
    ] {
        engine
            .set_secret("HOOK_TOKEN", SECRET, &rule, &op)
            .await
            .expect("set");
        let out = engine
            .run(
                "comment-on-ticket",
                &obj(json!({"comment": "hi"})),
                RunRequest::default(),
            )
            .await
            .expect("run");
        assert_eq!(out.status, RunStatus::Failed, "{says}");
        let e = out.error.unwrap_or_default();
        assert!(e.contains(says), "{says}: {e}");
    }
    assert_eq!(seen.lock().expect("lock").len(), 1, "refused: nothing sent");
    // A secret must say where it may go.
    let e = engine
        .set_secret("NOWHERE", "value", &SecretRule::default(), &op)
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("--hosts"), "{e}");
}
