//! `lumosflow people` from the command line: the auditor grant given and taken back, shown
//! by `show` and `list`, audited; bad input is a clear error that changes nothing.

use std::process::Output;

use crate::bin;

fn run(home: &std::path::Path, args: &[&str]) -> (Output, String, String) {
    let o = bin()
        .env("LUMOSFLOW_HOME", home)
        .env_remove("LUMOSFLOW_DATABASE_URL")
        .args(args)
        .output()
        .expect("lumosflow runs");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    (o, out, err)
}

#[test]
fn the_auditor_grant_from_the_command_line() {
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    let (o, _, err) = run(
        h,
        &[
            "keys",
            "create",
            "--name",
            "ida-laptop",
            "--role",
            "viewer",
            "--owner",
            "ida@example-corp.com",
        ],
    );
    assert!(o.status.success(), "{err}");

    let (o, out, err) = run(h, &["people", "set-auditor", "ida@example-corp.com", "yes"]);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        out.trim(),
        "ida@example-corp.com may now read, check and export the audit trail"
    );
    let (_, out, _) = run(h, &["people", "show", "ida@example-corp.com"]);
    assert!(out.contains("role: viewer (and auditor)"), "{out}");
    assert!(out.contains("last key use: "), "{out}");
    let (_, out, _) = run(h, &["people", "list"]);
    assert!(out.contains("auditor"), "{out}");
    let ida = out
        .lines()
        .find(|l| l.contains("ida@example-corp.com"))
        .expect("ida's row");
    assert!(ida.contains("yes"), "{ida}");
    let (_, out, _) = run(h, &["audit", "--action", "person.auditor", "--json"]);
    assert!(
        out.contains("ida@example-corp.com"),
        "the grant is audited: {out}"
    );
    // The action filter matches any part, in any case, as it does in the API and console.
    let (_, out, _) = run(h, &["audit", "--action", "PERSON.", "--json"]);
    assert!(out.contains("person.auditor"), "{out}");
    assert!(!out.contains("key.create"), "{out}");

    // Bad input: a clear error, nothing changed.
    let (o, _, err) = run(
        h,
        &["people", "set-auditor", "ida@example-corp.com", "maybe"],
    );
    assert!(!o.status.success());
    assert!(err.contains("invalid value 'maybe'"), "{err}");
    let (o, _, err) = run(
        h,
        &["people", "set-auditor", "nobody@example-corp.com", "yes"],
    );
    assert!(!o.status.success());
    assert!(err.contains("nobody@example-corp.com"), "{err}");
    let (_, out, _) = run(h, &["people", "show", "ida@example-corp.com"]);
    assert!(out.contains("(and auditor)"), "unchanged: {out}");

    let (o, out, err) = run(h, &["people", "set-auditor", "ida@example-corp.com", "no"]);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        out.trim(),
        "ida@example-corp.com no longer reads the audit trail"
    );
    let (_, out, _) = run(h, &["people", "show", "ida@example-corp.com"]);
    assert!(out.contains("role: viewer\n"), "{out}");
}
