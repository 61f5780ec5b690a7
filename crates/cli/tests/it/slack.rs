//! `lumosflow slack` and Slack notices from the command line, against the Slack stand-in:
//! setup reads two lines from standard input, verifies the token and prints no secret;
//! status says what is set; a slack-app notification target needs a channel.

use std::io::Write;
use std::process::{Output, Stdio};

use crate::bin;

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn with_stdin(home: &std::path::Path, api: &str, args: &[&str], input: &str) -> Output {
    let mut child = bin()
        .env("LUMOSFLOW_HOME", home)
        .env("LUMOSFLOW_SLACK_API_URL", api)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lumosflow starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("ends")
}

#[tokio::test(flavor = "multi_thread")]
async fn slack_setup_and_status_from_the_command_line() {
    let standin = testkit::SlackStandIn::start(&[]).await;
    let home = tempfile::tempdir().expect("home");
    let signing = "8f742231b10e8888abcd99yyyzzz85a5";
    let api = standin.api_url.clone();
    let h = home.path().to_owned();
    let run = move |args: &'static [&'static str], input: String| {
        let (h, api) = (h.clone(), api.clone());
        tokio::task::spawn_blocking(move || with_stdin(&h, &api, args, &input))
    };

    let o = run(&["slack", "status"], String::new())
        .await
        .expect("status");
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(
        out.contains("Slack app: not set up (lumosflow slack setup)"),
        "{out}"
    );

    // One line only: says which is missing, keeps nothing.
    let o = run(&["slack", "setup"], format!("{signing}\n"))
        .await
        .expect("setup");
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("before the bot token (line 2)"), "{err}");
    // A token Slack refuses.
    let o = run(&["slack", "setup"], format!("{signing}\nxoxb-wrong\n"))
        .await
        .expect("setup");
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("Slack refused auth.test: invalid_auth"),
        "{err}"
    );
    assert!(!err.contains("xoxb-wrong"), "{err}");

    let o = run(
        &["slack", "setup"],
        format!("{signing}\n{}\n", standin.bot_token),
    )
    .await
    .expect("setup");
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("Slack app set up: bot lumosflow in workspace Example Corp"),
        "{out}"
    );
    assert!(out.contains("/slack/interactivity"), "{out}");
    assert!(
        !out.contains(signing) && !out.contains(&standin.bot_token),
        "{out}"
    );

    // A slack-app target wants a channel; then it is listed, and status names it.
    let o = run(
        &[
            "notifications",
            "add",
            "--name",
            "desk",
            "--format",
            "slack-app",
            "--events",
            "approval.requested",
        ],
        String::new(),
    )
    .await
    .expect("add");
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("give --channel C0123ABC"), "{err}");
    let o = run(
        &[
            "notifications",
            "add",
            "--name",
            "desk",
            "--format",
            "slack-app",
            "--channel",
            "C0123ABC",
            "--events",
            "approval.requested",
        ],
        String::new(),
    )
    .await
    .expect("add");
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(
        text(&o).0.trim(),
        "added desk: the Slack app posts to C0123ABC (needs `lumosflow slack setup`)"
    );
    let o = run(&["slack", "status"], String::new())
        .await
        .expect("status");
    let (out, _) = text(&o);
    assert!(out.contains("Slack app: set up"), "{out}");
    assert!(
        out.contains("Notices through the app (slack-app): desk"),
        "{out}"
    );
    assert!(
        !out.contains(signing) && !out.contains(&standin.bot_token),
        "{out}"
    );
    // Not among the secrets http steps use, and not removable as one.
    let o = run(&["secrets", "list"], String::new())
        .await
        .expect("list");
    assert!(!text(&o).0.contains("slack"), "{}", text(&o).0);
    let o = run(&["secrets", "remove", "slack:bot_token"], String::new())
        .await
        .expect("rm");
    assert!(!o.status.success());
    // The database holds neither in plain text.
    let mut raw = Vec::new();
    for f in ["lumosflow.db", "lumosflow.db-wal"] {
        raw.extend(std::fs::read(home.path().join(f)).unwrap_or_default());
    }
    let raw = String::from_utf8_lossy(&raw);
    assert!(!raw.contains(signing) && !raw.contains(&standin.bot_token));
}
