//! The production files in `deploy/` are checked, not only read: the systemd unit verifies
//! and scores as hardened, the environment file starts a real server, every variable they set
//! is one lumosflow reads, and the proxy configurations validate where the proxy is installed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Killed, bin};

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(file)
}

fn read(file: &str) -> String {
    std::fs::read_to_string(deploy(file)).unwrap_or_else(|e| panic!("deploy/{file}: {e}"))
}

fn installed(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    if !installed("systemd-analyze") {
        eprintln!("NOTICE: systemd-analyze is not installed; the unit is not verified here");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // The unit as installed, but starting the binary under test.
    let unit = read("lumosflow.service")
        .replace("/usr/local/bin/lumosflow", env!("CARGO_BIN_EXE_lumosflow"));
    let path = dir.path().join("lumosflow.service");
    std::fs::write(&path, unit).expect("write");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("verify");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // systemd's own exposure score (0 best, 10 worst): "OK" is below 2.
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=15", "--no-pager"])
        .arg(&path)
        .output()
        .expect("security");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        said.lines().last().unwrap_or_default()
    );
    for needed in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "User=lumosflow",
    ] {
        assert!(read("lumosflow.service").contains(needed), "{needed}");
    }
}

/// Every `LUMOSFLOW_…` variable the deploy files set is read by the code.
#[test]
fn the_deploy_files_set_only_variables_lumosflow_reads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut sources = String::new();
    for dir in [
        "crates/cli/src",
        "crates/server/src",
        "crates/engine/src",
        "crates/store/src",
        "crates/mcp/src",
    ] {
        let Ok(entries) = walk(&root.join(dir)) else {
            continue;
        };
        for f in entries {
            sources.push_str(&std::fs::read_to_string(f).unwrap_or_default());
        }
    }
    let mut checked = 0;
    for file in ["lumosflow.service", "lumosflow.env.example"] {
        for var in read(file)
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("LUMOSFLOW_"))
        {
            assert!(
                sources.contains(&format!("\"{var}\"")),
                "deploy/{file} sets {var}, which lumosflow does not read"
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "{checked}");
}

fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            out.extend(walk(&p)?);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    Ok(out)
}

/// The environment file, with its placeholders filled in, starts a server that is ready.
#[test]
fn the_environment_file_starts_a_ready_server() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // A fresh PostgreSQL database when the suite has one; the file's SQLite otherwise.
    let pg = rt.block_on(testkit::postgres());
    let home = tempfile::tempdir().expect("tempdir");
    let mut c = bin();
    c.args(["serve", "--addr", "127.0.0.1:0"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LUMOSFLOW_HOME", home.path());
    for line in read("lumosflow.env.example").lines() {
        let Some((k, v)) = line.split_once('=').filter(|_| !line.starts_with('#')) else {
            continue;
        };
        let v = match k {
            "LUMOSFLOW_DATABASE_URL" => match &pg {
                Some(db) => db.url.clone(),
                None => continue,
            },
            "LUMOSFLOW_MASTER_KEY" => "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned(),
            _ => v.replace("CHANGE-ME", "metrics-token-0123456789"),
        };
        c.env(k, v);
    }
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let stdout = child.stdout.take().expect("stdout");
    let child = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let url = line
        .strip_prefix("lumosflow serving on ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("did not start: {line:?}"))
        .to_owned();
    rt.block_on(async {
        let http = lumos_api::http::client();
        let ready = http
            .get(format!("{url}/readyz"))
            .send()
            .await
            .expect("readyz");
        assert_eq!(ready.status(), 200);
        // The metrics token of the file guards /metrics.
        let open = http
            .get(format!("{url}/metrics"))
            .send()
            .await
            .expect("metrics");
        assert_eq!(open.status(), 401);
        let with = http
            .get(format!("{url}/metrics"))
            .bearer_auth("metrics-token-0123456789")
            .send()
            .await
            .expect("metrics");
        assert_eq!(with.status(), 200);
    });
    drop(child);
    drop(pg);
}

#[test]
fn the_proxy_configurations_validate_where_installed() {
    if installed("caddy") {
        let out = Command::new("caddy")
            .args(["validate", "--adapter", "caddyfile", "--config"])
            .arg(deploy("Caddyfile"))
            .output()
            .expect("caddy");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("NOTICE: caddy is not installed; deploy/Caddyfile is not validated here");
    }
    if installed("nginx") {
        // nginx -t wants the certificates to exist: a throwaway pair in a temp directory.
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=lumosflow.example.com",
                "-keyout",
            ])
            .arg(d.join("privkey.pem"))
            .arg("-out")
            .arg(d.join("fullchain.pem"))
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(made.success());
        let site = read("nginx.conf").replace("/etc/ssl/lumosflow", &d.display().to_string());
        std::fs::write(d.join("site.conf"), site).expect("site");
        let main = format!(
            "pid {0}/nginx.pid;\nerror_log {0}/error.log;\nevents {{}}\nhttp {{\n access_log off;\n include {0}/site.conf;\n}}\n",
            d.display()
        );
        std::fs::write(d.join("nginx.conf"), main).expect("main");
        let out = Command::new("nginx")
            .args(["-t", "-p"])
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .output()
            .expect("nginx");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("NOTICE: nginx is not installed; deploy/nginx.conf is not validated here");
    }
}
