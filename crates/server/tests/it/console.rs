//! The web console in a real browser (Debian's headless Chromium, driven by playwright-core):
//! tests/console/console.test.mjs walks it as an admin, a requester, an approver, a viewer
//! and on a phone, audits every view with axe-core and takes the screenshots the docs use
//! (into LUMOSFLOW_SCREENSHOTS, e.g. `docs/screenshots`, or a temporary directory).

use std::path::PathBuf;
use std::process::Command;

use lumos_sim::{OrgSize, SimConfig};
use server::Role;

use crate::Env;

pub fn tools() -> bool {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/console");
    let ok = dir.join("node_modules/playwright-core").exists()
        && dir.join("node_modules/axe-core").exists()
        && PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
            .exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install chromium, node and tests/console's npm packages"
        );
        eprintln!(
            "NOTICE: chromium, node, playwright-core or axe-core (npm ci --prefix tests/console) missing; skipping the browser test"
        );
    }
    ok
}

/// A browser script to its end, or killed after 5 minutes with what it said so far: a
/// browser that hangs on a loaded machine fails the test instead of hanging the suite.
pub async fn browser_run(cmd: &mut tokio::process::Command) -> std::process::Output {
    let child = cmd
        .kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node");
    match tokio::time::timeout(
        std::time::Duration::from_secs(300),
        child.wait_with_output(),
    )
    .await
    {
        Ok(out) => out.expect("node"),
        Err(_) => panic!("the browser script did not end within 5 minutes"),
    }
}

#[tokio::test]
async fn a_service_desk_can_do_the_job_in_the_console() {
    if !tools() {
        return;
    }
    // 3,000 people with 10 accounts each: a listing far bigger than a page can hold.
    let size = OrgSize {
        users: 3_000,
        apps: 30,
        groups: 40,
        accounts_per_user: 10,
    };
    let env = Env::with_sim(
        testkit::sqlite(),
        SimConfig {
            size,
            ..SimConfig::default()
        },
    )
    .await;
    let engine = &env.server.engine;
    let operator = engine::Actor::operator();
    let requester = engine
        .create_owned_key(
            "ann-laptop",
            Role::Agent,
            Some("ann.requester@example-corp.com"),
            &operator,
        )
        .await
        .expect("requester key");
    let approver = engine
        .create_owned_key(
            "sec-laptop",
            Role::Admin,
            Some("sec.lead@example-corp.com"),
            &operator,
        )
        .await
        .expect("approver key");
    // Someone Lumos names on an open approval task: their tasks show on the Approvals page.
    let tasks: serde_json::Value = env
        .http
        .get(format!(
            "{}/tasks?show_all_tasks=true&status=PENDING&expand=assignees&size=100",
            env.sim.base_url
        ))
        .bearer_auth(&env.sim.token)
        .send()
        .await
        .expect("tasks")
        .json()
        .await
        .expect("json");
    let lumos_approver = tasks["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|t| t["task_category"] != "PROVISIONING")
        .flat_map(|t| t["assignees"].as_array().cloned().unwrap_or_default())
        .find_map(|a| {
            (a["type"] == "USER")
                .then(|| a["email"].as_str().map(str::to_owned))
                .flatten()
        })
        .expect("a person named on a Lumos task");
    let lumos_key = engine
        .create_owned_key(
            "lumos-approver",
            Role::Agent,
            Some(&lumos_approver),
            &operator,
        )
        .await
        .expect("lumos approver key");
    // An auditor: a viewer whom the admin gives the auditor grant in the console.
    let auditor_key = engine
        .create_owned_key(
            "ida-laptop",
            Role::Viewer,
            Some("ida.audit@example-corp.com"),
            &operator,
        )
        .await
        .expect("auditor key");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/console/console.test.mjs");
    let tmp = tempfile::tempdir().expect("tempdir");
    let shots = std::env::var("LUMOSFLOW_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| tmp.path().to_path_buf());
    // Keys go in the environment, never in argv (where `ps` shows them).
    let out = browser_run(
        tokio::process::Command::new("node")
            .arg(&script)
            .arg(&env.server.base_url)
            .arg(&env.sim.base_url)
            .arg(&env.sim.token)
            .arg(&shots)
            .env("LF_ADMIN_KEY", &env.keys[&Role::Admin])
            .env("LF_REQUESTER_KEY", &requester)
            .env("LF_APPROVER_KEY", &approver)
            .env("LF_LUMOS_APPROVER_KEY", &lumos_key)
            .env("LF_LUMOS_APPROVER", &lumos_approver)
            .env("LF_VIEWER_KEY", &env.keys[&Role::Viewer])
            .env("LF_AUDITOR_KEY", &auditor_key),
    )
    .await;
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // What the browser did is what the store recorded.
    let runs = engine
        .runs(&engine::RunFilter {
            workflow: Some("app-lookup-approved"),
            ..Default::default()
        })
        .await
        .expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].requested_by.as_deref(),
        Some("ann.requester@example-corp.com")
    );
    assert_eq!(
        runs[0].requested_for.as_deref(),
        Some("bo.staff@example-corp.com")
    );
    assert_eq!(runs[0].status, engine::RunStatus::Completed);
    env.stop().await;
}
