use serde_json::Value;

use crate::{Killed, bin, spawn_sim};

#[test]
fn operations_json_lists_all_86_with_spec_methods_and_paths() {
    let out = bin()
        .args(["api", "operations", "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let ops: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(ops.len(), 86);
    let users = ops
        .iter()
        .find(|o| o["operation_id"] == "listUsers")
        .expect("listUsers");
    assert_eq!(
        (
            users["method"].as_str(),
            users["path"].as_str(),
            users["pagination"].as_str()
        ),
        (Some("GET"), Some("/users"), Some("page"))
    );
    let art = ops
        .iter()
        .find(|o| o["operation_id"] == "Lumos Art.")
        .expect("art");
    assert_eq!(art["alias"], "getLumosArt");
    for o in &ops {
        for k in ["operation_id", "method", "path", "tag", "pagination"] {
            assert!(o[k].is_string(), "{k} missing in {o}");
        }
    }
}

#[test]
fn call_against_the_simulator_with_params_and_all() {
    let (child, url, token) = spawn_sim(&["--users", "120"]);
    let _guard = Killed(child);
    let out = bin()
        .args([
            "api",
            "call",
            "listUsers",
            "-p",
            "size=2",
            "--base-url",
            &url,
        ])
        .env("LUMOS_API_TOKEN", &token)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(page["total"], 120);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));

    let out = bin()
        .args([
            "api",
            "call",
            "listUsers",
            "--all",
            "-p",
            "size=50",
            "--base-url",
            &url,
        ])
        .env("LUMOS_API_TOKEN", &token)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let lines: Vec<&[u8]> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 120, "one JSON object per user");

    let out = bin()
        .args([
            "api",
            "call",
            "getAccounts",
            "-p",
            "status=DEACTIVATED",
            "--base-url",
            &url,
        ])
        .env("LUMOS_API_TOKEN", &token)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("'DEACTIVATED' is not a valid AccountLifecycleStatus"),
        "{err}"
    );
}

#[test]
fn token_problems_are_one_clear_line_and_never_echo_the_token() {
    // A home of its own: never the machine's real database (and its connections).
    let home = tempfile::tempdir().expect("home");
    let out = bin()
        .args(["api", "call", "listUsers"])
        .env_remove("LUMOS_API_TOKEN")
        .env("LUMOSFLOW_HOME", home.path())
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("set LUMOS_API_TOKEN"));
    let out = bin()
        .args(["api", "call", "listUsers"])
        .env("LUMOS_API_TOKEN", "sk_live_supersecret")
        .env("LUMOSFLOW_HOME", home.path())
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("starts with 'lsk_'"), "{err}");
    assert!(!err.contains("supersecret"));
    let (child, url, _) = spawn_sim(&[]);
    let _guard = Killed(child);
    let out = bin()
        .args(["api", "call", "listUsers", "--base-url", &url])
        .env("LUMOS_API_TOKEN", "lsk_wrong_token_1234567")
        .env("LUMOSFLOW_HOME", home.path())
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains("lsk_wrong_token_1234567"));
}

#[test]
fn eval_tries_an_expression_and_says_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data.json");
    std::fs::write(
        &data,
        r#"{"steps": {"a": {"output": [{"status": "ACTIVE", "x": 1}, {"status": "SUSPENDED", "x": 2}]}}}"#,
    )
    .expect("write");
    let run = |expr: &str| {
        bin()
            .args(["eval", expr, "--data", &data.display().to_string()])
            .output()
            .expect("eval")
    };
    let ok =
        run("steps.a.output | rejectattr('status', 'eq', 'SUSPENDED') | map(attribute='x') | list");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(v, serde_json::json!([1]));
    let typo = run("steps.a.output | rejectattr('stauts', 'eq', 'SUSPENDED') | list");
    assert!(!typo.status.success());
    let err = String::from_utf8_lossy(&typo.stderr);
    assert!(err.contains("has no field 'stauts'"), "{err}");
}

#[test]
fn one_operation_in_full_from_the_tool() {
    let out = bin()
        .args(["api", "operations", "getAccessRequests", "--json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (d["method"].as_str(), d["path"].as_str()),
        (Some("GET"), Some("/appstore/access_requests"))
    );
    let statuses = d["params"]
        .as_array()
        .expect("params")
        .iter()
        .find(|p| p["name"] == "statuses")
        .expect("statuses");
    assert!(
        statuses["values"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x == "PENDING"))
    );
    assert_eq!(
        d["response"]["fields"]["requester_user"]["fields"]["email"]["type"],
        "string or null"
    );
    let size = d["params"]
        .as_array()
        .expect("params")
        .iter()
        .find(|p| p["name"] == "size")
        .expect("size")
        .clone();
    assert_eq!(
        (size["minimum"].clone(), size["maximum"].clone()),
        (serde_json::json!(1), serde_json::json!(100))
    );
    let text = bin()
        .args(["api", "operations", "getAppStoreApps"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("user_friendly_label: string"), "{text}");
    let bad = bin()
        .args(["api", "operations", "getUsrs"])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(said.contains("unknown Lumos operation 'getUsrs'"), "{said}");
    assert!(said.contains("(did you mean getUser?)"), "{said}");
}
