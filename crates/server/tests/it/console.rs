//! The web console in a real browser (Debian's headless Chromium, driven by playwright-core).

use std::path::PathBuf;
use std::process::Command;

use server::Role;

use crate::Env;

pub fn tools() -> bool {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/console");
    let ok = dir.join("node_modules/playwright-core").exists()
        && PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
            .exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install chromium, node and tests/console's npm packages"
        );
        eprintln!(
            "NOTICE: chromium, node or playwright-core (npm ci --prefix tests/console) missing; skipping the browser test"
        );
    }
    ok
}

#[tokio::test]
async fn a_person_can_do_the_job_in_the_console() {
    if !tools() {
        return;
    }
    let env = Env::new(testkit::sqlite()).await;
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/console/console.test.mjs");
    let shot = std::env::var("LUMOSFLOW_SCREENSHOT").ok();
    let mut args = vec![
        script.display().to_string(),
        env.server.base_url.clone(),
        env.keys[&Role::Admin].clone(),
        env.sim.base_url.clone(),
        env.sim.token.clone(),
    ];
    args.extend(shot);
    let out = tokio::process::Command::new("node")
        .args(&args)
        .output()
        .await
        .expect("node");
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = env
        .server
        .engine
        .runs(&engine::RunFilter {
            workflow: Some("list-lumos-users"),
            ..Default::default()
        })
        .await
        .expect("runs");
    assert_eq!(runs[0].requested_by.as_deref(), Some("key:root"));
    env.stop().await;
}
