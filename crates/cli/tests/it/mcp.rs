//! The MCP server with a real client: the official MCP Python SDK, over stdio and HTTP.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{Killed, bin, spawn_sim};

fn python_sdk() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import mcp"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install the MCP Python SDK (pip install mcp)"
        );
        eprintln!("NOTICE: the MCP Python SDK is not installed (pip install mcp); skipping");
    }
    ok
}

fn script() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/mcp/check_mcp.py")
        .display()
        .to_string()
}

/// A home with a connection to a simulator and every bundle installed; the simulator's URL
/// and token go to the Python check (LUMOS_URL, LUMOS_TOKEN) to compare answers with Lumos.
fn home() -> (tempfile::TempDir, Killed, [(&'static str, String); 2]) {
    // 1,250 users with an account in each of 4 apps: apps of 1,250 accounts to page through.
    let (child, url, token) = spawn_sim(&["--users", "1250", "--apps", "4"]);
    let home = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str], input: Option<&str>| {
        let mut c = bin()
            .args(args)
            .env("LUMOSFLOW_HOME", home.path())
            .env_remove("LUMOSFLOW_DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        if let Some(i) = input {
            c.stdin
                .take()
                .expect("stdin")
                .write_all(i.as_bytes())
                .expect("write");
        }
        drop(c.stdin.take());
        let out = c.wait_with_output().expect("wait");
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["connect", "--base-url", &url], Some(&token));
    run(&["workflows", "install", "--all"], None);
    // A gated workflow: its tool answers that the run waits, and for whom.
    let gated = home.path().join("gated.yaml");
    std::fs::write(
        &gated,
        "id: gated-lookup\nname: Gated lookup\napproval:\n  reason: Looks at an app\n  steps:\n    - name: IT security\n      approvers: { roles: [admin] }\nsteps:\n  - id: t\n    transform: \"{{ run.requested_for }}\"\n",
    )
    .expect("write");
    run(&["workflows", "create", &gated.display().to_string()], None);
    (
        home,
        Killed(child),
        [("LUMOS_URL", url), ("LUMOS_TOKEN", token)],
    )
}

#[test]
fn stdio_with_the_python_sdk() {
    if !python_sdk() {
        return;
    }
    let (home, _sim, lumos) = home();
    let out = Command::new("python3")
        .envs(lumos.clone())
        .args([
            &script(),
            "stdio",
            env!("CARGO_BIN_EXE_lumosflow"),
            &home.path().display().to_string(),
        ])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The calls were real, recorded runs.
    let runs = bin()
        .args(["runs", "list", "--json"])
        .env("LUMOSFLOW_HOME", home.path())
        .output()
        .expect("runs");
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).expect("json");
    assert!(
        runs.as_array()
            .expect("runs")
            .iter()
            .any(|r| r["workflow_id"] == "list-lumos-users" && r["requested_by"] == "mcp-stdio"),
        "{runs}"
    );
}

/// `serve` on a free port over `home`: the process and its base URL.
fn serve(home: &tempfile::TempDir) -> (Killed, String) {
    let mut server = bin()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("LUMOSFLOW_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("url")
        .to_owned();
    (Killed(server), base)
}

/// The check script in `mode` against `serve` on `home` as a new key of `role`: its stdout,
/// and the server (still serving) with its base URL.
fn check_over_http(
    home: &tempfile::TempDir,
    lumos: &[(&'static str, String); 2],
    mode: &str,
    key_name: &str,
    role: &str,
) -> (String, Killed, String) {
    let key_out = bin()
        .args(["keys", "create", "--name", key_name, "--role", role])
        .env("LUMOSFLOW_HOME", home.path())
        .output()
        .expect("key");
    let key = String::from_utf8_lossy(&key_out.stdout).trim().to_owned();
    let (server, base) = serve(home);
    let out = Command::new("python3")
        .envs(lumos.clone())
        .args([&script(), mode, &format!("{base}/mcp"), &key])
        .output()
        .expect("python");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "stdout: {said}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (said, server, base)
}

/// A builder's MCP client, with no model, goes from a broken file to a saved, working tool
/// using only the authoring tools and following the validator's messages; a change to Lumos
/// is not a builder's to save.
#[test]
fn a_scripted_client_writes_a_workflow_with_the_authoring_tools() {
    if !python_sdk() {
        return;
    }
    let (home, _sim, lumos) = home();
    let (said, _server, _) = check_over_http(&home, &lumos, "author", "author", "builder");
    let report: serde_json::Value =
        serde_json::from_str(said.lines().last().unwrap_or_default()).expect("report");
    assert!(
        report["problems"].as_u64().is_some_and(|n| n >= 1),
        "{report}"
    );
    // Saved as the builder, recorded in the audit trail.
    let audit = bin()
        .args(["audit", "--json"])
        .env("LUMOSFLOW_HOME", home.path())
        .output()
        .expect("audit");
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.contains("active-user-emails") && audit.contains("key:author"),
        "{audit}"
    );
}

#[test]
fn http_with_the_python_sdk_and_an_api_key() {
    if !python_sdk() {
        return;
    }
    let (home, _sim, lumos) = home();
    let (said, _server, base) = check_over_http(&home, &lumos, "http", "ai-agent", "agent");
    // The six messages were answered as Lumos answers them, every account of an app of
    // over 1,200 read through paging.
    let report: serde_json::Value = said
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no report in {said}"));
    assert!(
        report["every_account"].as_u64().is_some_and(|n| n >= 1200),
        "{report}"
    );
    // Without a key: 401.
    let status = Command::new("python3")
        .args(["-c", &format!("import urllib.request,sys\ntry:\n urllib.request.urlopen(urllib.request.Request('{base}/mcp', data=b'{{}}', headers={{'content-type':'application/json'}}))\nexcept Exception as e:\n print(getattr(e,'code',0))")])
        .output()
        .expect("python");
    assert_eq!(String::from_utf8_lossy(&status.stdout).trim(), "401");
    let runs = bin()
        .args(["runs", "list", "--json"])
        .env("LUMOSFLOW_HOME", home.path())
        .output()
        .expect("runs");
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).expect("json");
    assert!(
        runs.as_array()
            .expect("runs")
            .iter()
            .any(|r| r["requested_by"] == "key:ai-agent"),
        "{runs}"
    );
}
