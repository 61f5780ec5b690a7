//! The CLI's part in trustworthy runs: a new home opened by many commands at once, files
//! only their owner can read, database errors said once, and pruning.

use std::process::Output;

use crate::bin;

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn eight_commands_at_once_on_a_new_home_all_work() {
    let home = tempfile::tempdir().expect("tempdir");
    let children: Vec<_> = (0..8)
        .map(|_| {
            bin()
                .args(["workflows", "list"])
                .env("LUMOSFLOW_HOME", home.path())
                .env_remove("LUMOSFLOW_DATABASE_URL")
                .env_remove("LUMOSFLOW_MASTER_KEY")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        let (_, err) = text(&out);
        assert!(out.status.success(), "{err}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["lumosflow.db", "lumosflow.db-wal", "master.key"] {
            let path = home.path().join(f);
            if let Ok(meta) = std::fs::metadata(&path) {
                assert_eq!(
                    meta.permissions().mode() & 0o077,
                    0,
                    "{f} is readable by others"
                );
            } else {
                assert_ne!(f, "lumosflow.db", "the database exists");
            }
        }
    }
}

#[test]
fn a_database_error_is_said_once() {
    let out = bin()
        .args(["workflows", "list"])
        .env(
            "LUMOSFLOW_DATABASE_URL",
            "postgres://postgres:secret-pw@127.0.0.1:1/nowhere",
        )
        .output()
        .expect("run");
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(err.starts_with("error: cannot open the database postgres://postgres:***@127.0.0.1:1/nowhere: database error: "), "{err}");
    assert_eq!(err.matches("refused").count(), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("secret-pw"));
}

#[test]
fn runs_prune_says_what_it_deleted_and_refuses_nonsense() {
    let home = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        bin()
            .args(args)
            .env("LUMOSFLOW_HOME", home.path())
            .env_remove("LUMOSFLOW_DATABASE_URL")
            .output()
            .expect("run")
    };
    let out = run(&["runs", "prune", "--older-than", "30d"]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(text(&out).0, "deleted 0 finished runs older than 30days\n");
    let out = run(&["runs", "prune", "--older-than", "soon"]);
    assert!(!out.status.success());
    assert!(
        text(&out)
            .1
            .contains("'soon' is not a duration like 30s, 15m, 2h or 90d"),
        "{:?}",
        text(&out)
    );
    let out = bin()
        .args(["runs", "list"])
        .env("LUMOSFLOW_HOME", home.path())
        .env("LUMOSFLOW_RUN_LEASE", "forever")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = text(&out).1;
    assert!(
        err.starts_with(
            "error: LUMOSFLOW_RUN_LEASE: 'forever' is not a duration like 30s, 15m, 2h or 90d"
        ),
        "{err}"
    );
}
