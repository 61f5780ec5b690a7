use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{Killed, bin};

#[tokio::test]
async fn demo_serves_the_api_with_both_bundles_and_an_admin_key_then_stops_on_sigint() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut child = bin()
        .args(["demo", "--addr", "127.0.0.1:0"])
        .env("LUMOSFLOW_HOME", home.path())
        .env_remove("LUMOSFLOW_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut console, mut key) = (None, None);
    // The key line comes after the server is listening.
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(u) = line.strip_prefix("Console: ") {
            console = Some(u.trim_end_matches('/').to_owned());
        }
        if let Some(k) = line.strip_prefix("API key: ") {
            key = Some(k.to_owned());
            break;
        }
    }
    let pid = child.id();
    let mut guard = Killed(child);
    let (base, key) = (console.expect("console line"), key.expect("key line"));
    assert!(key.starts_with("lfk_"));
    let http = lumos_api::http::client();
    let list: Value = http
        .get(format!("{base}/api/v1/workflows"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(22));
    let run: Value = http
        .post(format!(
            "{base}/api/v1/workflows/list-lumos-users/runs?wait=true"
        ))
        .bearer_auth(&key)
        .json(&serde_json::json!({"inputs": {"search": "ann"}}))
        .send()
        .await
        .expect("run")
        .json()
        .await
        .expect("json");
    assert_eq!(run["status"], "completed", "{run}");
    assert!(
        Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .expect("kill")
            .success()
    );
    let status = guard.0.wait().expect("exits");
    assert!(status.success(), "{status:?}");
}

#[test]
fn keys_create_prints_the_key_alone_once_and_list_never_shows_it() {
    let home = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        bin()
            .args(args)
            .env("LUMOSFLOW_HOME", home.path())
            .env_remove("LUMOSFLOW_DATABASE_URL")
            .output()
            .expect("runs")
    };
    let out = run(&["keys", "create", "--name", "desk-bot", "--role", "agent"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(text.lines().count(), 1);
    let key = text.trim();
    assert!(key.starts_with("lfk_") && key.len() == 68, "{key}");
    let list = run(&["keys", "list", "--json"]);
    let shown = String::from_utf8_lossy(&list.stdout);
    assert!(shown.contains("desk-bot") && shown.contains("\"agent\""));
    assert!(!shown.contains(key), "the key itself must never be listed");
    let again = run(&["keys", "create", "--name", "desk-bot", "--role", "agent"]);
    assert!(!again.status.success());
    let bad = run(&["keys", "create", "--name", "x", "--role", "superuser"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("valid: viewer, agent, builder, admin"));
    assert!(run(&["keys", "revoke", "desk-bot"]).status.success());
    assert!(!run(&["keys", "revoke", "desk-bot"]).status.success());
}
