use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::{Killed, bin, spawn_sim};

struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Self {
        Home(tempfile::tempdir().expect("tempdir"))
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.args(args)
            .env("LUMOSFLOW_HOME", self.0.path())
            .env_remove("LUMOSFLOW_DATABASE_URL")
            .env_remove("LUMOSFLOW_MASTER_KEY")
            .env_remove("LUMOS_API_TOKEN");
        c
    }
    fn with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    }
    fn list(&self) -> Vec<Value> {
        let out = self
            .cmd(&["connections", "list", "--json"])
            .output()
            .expect("list");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    }
    fn db_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for f in ["lumosflow.db", "lumosflow.db-wal"] {
            all.extend(std::fs::read(self.0.path().join(f)).unwrap_or_default());
        }
        all
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn connect_from_stdin_and_env_then_list_check_remove() {
    let (child, url, token) = spawn_sim(&[]);
    let _sim = Killed(child);
    let home = Home::new();
    let out = home.with_stdin(&["connect", "--base-url", &url], &format!("{token}\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.starts_with("Connected to Lumos as ")
            && line.contains("— connection 'default' (lsk_…0000)"),
        "{line}"
    );

    let out = home
        .cmd(&["connect", "--name", "second", "--base-url", &url])
        .env("LUMOS_API_TOKEN", lumos_sim::USER_TOKEN)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let list = home.list();
    assert_eq!(list.len(), 2);
    for c in &list {
        assert!(c.get("token").is_none());
        assert!(
            c["token_hint"]
                .as_str()
                .unwrap_or_default()
                .starts_with("lsk_…")
        );
        assert_eq!(c["last_check_status"], "ok");
    }
    let bytes = home.db_bytes();
    assert!(!bytes.is_empty());
    for t in [token.as_str(), lumos_sim::USER_TOKEN] {
        assert!(
            !bytes.windows(t.len()).any(|w| w == t.as_bytes()),
            "plain token in the database"
        );
    }
    let out = home
        .cmd(&["connections", "check", "second"])
        .output()
        .expect("check");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = home
        .cmd(&["connections", "remove", "second"])
        .output()
        .expect("remove");
    assert!(out.status.success());
    assert_eq!(home.list().len(), 1);
    let out = home
        .cmd(&["connections", "remove", "second"])
        .output()
        .expect("remove again");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no connection named 'second'"));
}

#[test]
fn every_failure_stores_nothing_and_says_why_in_one_line() {
    let (child, url, token) = spawn_sim(&[]);
    let _sim = Killed(child);
    let home = Home::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let dead = format!("http://127.0.0.1:{port}");
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["connect", "--base-url", &url],
            "not-a-token",
            "starts with 'lsk_'",
        ),
        (
            &["connect", "--base-url", &url],
            "lsk_valid_format_but_unknown",
            "Lumos rejected the token (401)",
        ),
        (
            &["connect", "--base-url", &dead],
            "lsk_valid_format_but_unknown",
            "cannot reach",
        ),
        (
            &["connect", "--base-url", "http://lumos.example.com"],
            "lsk_valid_format_but_unknown",
            "plain http",
        ),
        (
            &["connect", "--name", "bad name!", "--base-url", &url],
            token.as_str(),
            "invalid connection name",
        ),
    ];
    for (args, input, expect) in cases {
        let out = home.with_stdin(args, input);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            !err.contains("lsk_valid_format_but_unknown"),
            "token echoed: {err}"
        );
    }
    assert!(home.list().is_empty(), "a failed connect stored something");

    // A bad token does not replace a good one.
    let ok = home.with_stdin(&["connect", "--base-url", &url], &token);
    assert!(ok.status.success());
    let before = home.list();
    let bad = home.with_stdin(
        &["connect", "--base-url", &url],
        "lsk_valid_format_but_unknown",
    );
    assert!(!bad.status.success());
    let after = home.list();
    assert_eq!(before[0]["updated_at"], after[0]["updated_at"]);
    let check = home.cmd(&["connections", "check"]).output().expect("check");
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn wrong_master_key_is_a_clear_error() {
    let (child, url, token) = spawn_sim(&[]);
    let _sim = Killed(child);
    let home = Home::new();
    let out = home.with_stdin(&["connect", "--base-url", &url], &token);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = home
        .cmd(&["connections", "list"])
        .env("LUMOSFLOW_MASTER_KEY", store::generate_key_base64())
        .output()
        .expect("list");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("wrong master key"),
        "{}",
        stderr(&out)
    );
}

/// `secrets set` takes the value on standard input (never argv), lists names only, keeps
/// it sealed in the database, and refuses a bad name changing nothing.
#[test]
fn secrets_are_set_from_stdin_and_kept_sealed() {
    let home = Home::new();
    let value = "xoxb-secret-value-42";
    // Where it may go is part of setting it.
    let out = home.with_stdin(&["secrets", "set", "SLACK_TOKEN"], &format!("{value}\n"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--hosts"), "{}", stderr(&out));
    let out = home.with_stdin(
        &[
            "secrets",
            "set",
            "SLACK_TOKEN",
            "--hosts",
            "https://slack.com/api",
        ],
        &format!("{value}\n"),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not a host"), "{}", stderr(&out));
    let out = home.with_stdin(
        &["secrets", "set", "SLACK_TOKEN", "--hosts", "*.slack.com"],
        &format!("{value}\n"),
    );
    assert!(!out.status.success(), "no wildcard hosts");
    assert!(stderr(&out).contains("wildcard"), "{}", stderr(&out));
    let out = home.with_stdin(
        &[
            "secrets",
            "set",
            "SLACK_TOKEN",
            "--hosts",
            "slack.com,hooks.slack.com",
            "--workflows",
            "post-to-slack",
        ],
        &format!("{value}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("{{ secrets.SLACK_TOKEN }}")
            && said.contains("for slack.com, hooks.slack.com over https")
            && !said.contains(value),
        "{said}"
    );
    let out = home
        .cmd(&["secrets", "list", "--json"])
        .output()
        .expect("list");
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("SLACK_TOKEN") && !listed.contains(value),
        "{listed}"
    );
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("json");
    assert_eq!(listed[0]["hosts"], "slack.com,hooks.slack.com", "{listed}");
    assert_eq!(listed[0]["workflows"], "post-to-slack", "{listed}");
    assert_eq!(listed[0]["allow_http"], false, "{listed}");
    let db = home.db_bytes();
    assert!(
        !db.windows(value.len()).any(|w| w == value.as_bytes()),
        "the value is sealed at rest"
    );
    let out = home.with_stdin(
        &["secrets", "set", "9-bad name", "--hosts", "x.example.com"],
        "x\n",
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a secret name"),
        "{}",
        stderr(&out)
    );
    let out = home
        .cmd(&["secrets", "remove", "SLACK_TOKEN"])
        .output()
        .expect("rm");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = home
        .cmd(&["secrets", "remove", "SLACK_TOKEN"])
        .output()
        .expect("rm");
    assert!(!out.status.success(), "removing twice says there is none");
}
