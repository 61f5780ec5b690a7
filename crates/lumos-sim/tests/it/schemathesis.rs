//! Schemathesis's four phases (examples, coverage, fuzzing, stateful) against the simulator,
//! with the official document amended only where Lumos behaves beyond it
//! (`tests/schemathesis/lumos_as_it_behaves.py`, each amendment with its evidence).
//!
//! Skipped with a notice when `schemathesis` is not installed, unless
//! `LUMOSFLOW_REQUIRE_SCHEMATHESIS` is set (`.ci/run` installs it and sets it).

use std::path::Path;
use std::process::Command;

use lumos_sim::{DEFAULT_TOKEN, SimConfig};

/// Fixed, so a run is the same run every time and a finding can be replayed.
const SEED: &str = "28";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_that_differs_from_lumos() {
    let required = std::env::var_os("LUMOSFLOW_REQUIRE_SCHEMATHESIS").is_some();
    if Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            !required,
            "LUMOSFLOW_REQUIRE_SCHEMATHESIS is set but `schemathesis` is not on PATH"
        );
        eprintln!("NOTICE: schemathesis is not installed; skipping (pip install schemathesis)");
        return;
    }
    if testkit::official_spec().is_none() {
        return;
    }
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/lumos/openapi.json");
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    let sim = crate::start(SimConfig {
        now: Some(crate::mess::NOW),
        ..SimConfig::default()
    })
    .await;
    let base = sim.base_url.clone();
    // Schemathesis writes its files where it runs: a scratch directory, not the repository.
    let scratch = tempfile::tempdir().expect("tempdir");
    let cwd = scratch.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("schemathesis")
            .current_dir(&cwd)
            .env("PYTHONPATH", &here)
            .env("NO_COLOR", "1")
            .arg("--config-file")
            .arg(here.join("schemathesis.toml"))
            .arg("run")
            .arg(&spec)
            .args(["--url", &base])
            .args(["-H", &format!("Authorization: Bearer {DEFAULT_TOKEN}")])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--seed", SEED, "--generation-deterministic"])
            .args(["--max-examples", "25", "--workers", "1"])
            .output()
            .expect("schemathesis runs")
    })
    .await
    .expect("schemathesis finishes");
    sim.stop().await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found answers that differ from the document as Lumos behaves:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A run that tested nothing would pass too: it must have reached every operation.
    assert!(
        text.contains("Tested: 86"),
        "schemathesis did not test all 86 operations:\n{text}"
    );
}
