use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{Killed, bin, spawn_sim};

struct Desk {
    home: tempfile::TempDir,
    _sim: Killed,
}

impl Desk {
    /// A simulator, a connection and every bundle installed, in a fresh LUMOSFLOW_HOME.
    fn new(sim_args: &[&str]) -> Desk {
        let (child, url, token) = spawn_sim(sim_args);
        let desk = Desk {
            home: tempfile::tempdir().expect("tempdir"),
            _sim: Killed(child),
        };
        let mut c = desk
            .cmd(&["connect", "--base-url", &url])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("connect");
        c.stdin
            .take()
            .expect("stdin")
            .write_all(token.as_bytes())
            .expect("token");
        assert!(c.wait().expect("wait").success());
        let out = desk
            .cmd(&["workflows", "install", "--all"])
            .output()
            .expect("install");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        desk
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.args(args)
            .env("LUMOSFLOW_HOME", self.home.path())
            .env_remove("LUMOSFLOW_DATABASE_URL")
            .env_remove("LUMOSFLOW_MASTER_KEY");
        c
    }
    fn ok(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().expect("runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_slice(&self.ok(args).stdout).expect("json on stdout")
    }
}

#[test]
fn list_install_and_run_in_every_format() {
    let d = Desk::new(&["--users", "230"]);
    let list = d.json(&["workflows", "list", "--json"]);
    let items = list.as_array().expect("array");
    assert_eq!(items.len(), 22);
    for w in items {
        assert_eq!(w["installed"], true);
        assert!(
            w["bundle"]["id"].is_string() && w["bundle"]["name"].is_string(),
            "{w}"
        );
    }
    let users = items
        .iter()
        .find(|w| w["id"] == "list-lumos-users")
        .expect("users");
    assert_eq!(users["name"], "List Lumos Users");
    assert_eq!(users["bundle"]["name"], "Directory & Apps");

    let page = d.json(&[
        "run",
        "list-lumos-users",
        "-i",
        "size=7",
        "-i",
        "page=2",
        "--json",
    ]);
    assert_eq!(
        (
            page["total"].as_u64(),
            page["page"].as_u64(),
            page["next_page"].as_u64()
        ),
        (Some(230), Some(2), Some(3))
    );
    assert_eq!(page["items"].as_array().map(Vec::len), Some(7));

    let nd = d.ok(&["run", "list-lumos-users", "-i", "all=true", "--ndjson"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&nd.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 230);
    assert!(lines.iter().all(|u| u["id"].is_string()));

    let csv = d.ok(&[
        "run",
        "list-lumos-accounts",
        "-i",
        "status=SUSPENDED",
        "-i",
        "size=5",
        "--csv",
    ]);
    let text = String::from_utf8_lossy(&csv.stdout);
    assert!(
        text.lines().next().unwrap_or_default().starts_with("id,"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 6);
    assert!(text.lines().skip(1).all(|l| l.contains("SUSPENDED")));

    let table = d.ok(&["run", "list-lumos-groups", "-i", "size=3"]);
    let t = String::from_utf8_lossy(&table.stdout);
    assert!(
        t.contains("page 1 of") && t.contains("next: -i page=2"),
        "{t}"
    );

    let runs = d.json(&["runs", "list", "--json"]);
    assert_eq!(runs.as_array().map(Vec::len), Some(4));
    let id = runs[0]["id"].as_str().expect("id");
    let shown = d.json(&["runs", "show", id, "--json"]);
    assert_eq!(shown["status"], "completed");
    assert_eq!(shown["steps"][0]["operation"], "getGroups");
    assert_eq!(shown["steps"][0]["http_status"], 200);

    // A workflow's declared columns are what its table shows.
    let table = d.ok(&["run", "list-lumos-access-requests", "-i", "size=3"]);
    let t = String::from_utf8_lossy(&table.stdout);
    let header = t.lines().nth(1).unwrap_or_default();
    assert!(
        header.contains("app_name")
            && header.contains("requested_at")
            && !t.contains("custom_fields"),
        "{t}"
    );
    // People show as their email, as in the console, not as JSON.
    let rows: Vec<&str> = t.lines().skip(3).filter(|l| l.contains('│')).collect();
    assert!(
        !rows.is_empty() && rows.iter().all(|l| l.contains("@example-corp.com")),
        "{t}"
    );
    assert!(!t.contains("\"given_name\""), "{t}");
}

#[test]
fn bad_input_and_bad_files_say_why_and_change_nothing() {
    let d = Desk::new(&[]);
    let out = d
        .cmd(&[
            "run",
            "list-lumos-accounts",
            "-i",
            "status=DEACTIVATED",
            "--json",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("'DEACTIVATED' is not a Lumos AccountLifecycleStatus value"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let out = d.cmd(&["run", "no-such-workflow"]).output().expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not installed"));
    assert_eq!(
        d.json(&["runs", "list", "--json"]).as_array().map(Vec::len),
        Some(0)
    );

    let file = d.home.path().join("bad.yaml");
    std::fs::write(
        &file,
        "id: x\nname: X\nsteps:\n  - id: a\n    call: listUser\n",
    )
    .expect("write");
    let out = d
        .cmd(&["workflows", "validate", file.to_str().unwrap_or_default()])
        .output()
        .expect("validate");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 5, column 11") && err.contains("did you mean listUsers"),
        "{err}"
    );
    let out = d
        .cmd(&["workflows", "create", file.to_str().unwrap_or_default()])
        .output()
        .expect("create");
    assert!(!out.status.success());
    assert_eq!(
        d.json(&["workflows", "list", "--installed", "--json"])
            .as_array()
            .map(Vec::len),
        Some(22)
    );
}

#[test]
fn ctrl_c_cancels_and_records_the_run() {
    let d = Desk::new(&["--latency-ms", "150", "--users", "3000"]);
    let mut child = d
        .cmd(&["run", "list-lumos-accounts", "-i", "all=true", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    // The first items are on stdout (18,000 accounts at 150 ms a page take far longer): the
    // run is under way; interrupt it.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut printed = vec![0u8; 1];
    std::io::Read::read_exact(&mut stdout, &mut printed).expect("the run printed items");
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill")
            .success()
    );
    std::io::Read::read_to_end(&mut stdout, &mut printed).expect("rest of stdout");
    let out = child.wait_with_output().expect("exit");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // What was printed is one whole JSON document that says the run did not complete.
    let doc: Value = serde_json::from_slice(&printed).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}): …{}",
            String::from_utf8_lossy(&printed[printed.len().saturating_sub(200)..])
        )
    });
    assert_eq!(
        (&doc["status"], &doc["complete"]),
        (&Value::from("canceled"), &Value::from(false)),
        "{}",
        doc["status"]
    );
    let items = doc["items"].as_array().map_or(0, Vec::len);
    assert!(items > 0 && items < 18_000, "{items} items");
    let runs = d.json(&["runs", "list", "--json"]);
    assert_eq!(runs[0]["status"], "canceled");
    assert_eq!(runs[0]["id"], doc["run_id"]);
}

#[test]
fn csv_cells_that_look_like_formulas_are_defused() {
    let d = Desk::new(&[]);
    let file = d.home.path().join("formula.yaml");
    std::fs::write(
        &file,
        "id: formula\nname: Formula\nsteps:\n  - id: rows\n    transform: { items: [{ a: \"=HYPERLINK(1)\", b: -5, c: \"@SUM(A1)\", d: \"+1 555\", e: \"-3.5\" }] }\n",
    )
    .expect("yaml");
    d.ok(&["workflows", "create", file.to_str().expect("path")]);
    let out = d.ok(&["run", "formula", "--csv"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "a,b,c,d,e\n'=HYPERLINK(1),-5,'@SUM(A1),'+1 555,-3.5\n"
    );
}

/// The peak resident memory of a running child, sampled until it exits (`VmHWM` only grows,
/// so the last sample is the peak up to its last moments).
fn watch_peak_mib(pid: u32, done: &std::sync::atomic::AtomicBool) -> u64 {
    let mut peak_kib = 0;
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        if let Some(kib) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|k| k.parse::<u64>().ok())
            })
        {
            peak_kib = peak_kib.max(kib);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    peak_kib / 1024
}

#[derive(serde::Deserialize)]
struct Listing {
    items: Vec<Id>,
    total: u64,
}

#[derive(serde::Deserialize)]
struct Id {
    id: String,
}

/// Run an export and read what it prints as it comes; (ids in order, peak RSS in MiB).
fn export(
    d: &Desk,
    args: &[&str],
    read: impl FnOnce(std::process::ChildStdout) -> Vec<String>,
) -> (Vec<String>, u64) {
    let mut child = d
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("export starts");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let done = std::sync::atomic::AtomicBool::new(false);
    let (ids, peak) = std::thread::scope(|s| {
        let watcher = s.spawn(|| watch_peak_mib(pid, &done));
        let ids = read(stdout);
        let status = child.wait().expect("exit");
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        assert!(status.success(), "{args:?}: {err}");
        (ids, watcher.join().expect("watcher"))
    });
    (ids, peak)
}

#[test]
fn exports_print_every_item_in_flat_memory() {
    // 10 accounts each of 10,000 people, and 300 Lumos linked to nobody (orphans, another
    // case of an email).
    const ACCOUNTS: usize = 100_000 + 300;
    let d = Desk::new(&["--users", "10000", "--accounts-per-user", "10"]);
    let run = ["run", "list-lumos-accounts", "-i", "all=true"];
    let (ndjson, ndjson_peak) = export(&d, &[&run[..], &["--ndjson"]].concat(), |out| {
        std::io::BufRead::lines(std::io::BufReader::new(out))
            .map(|l| {
                let v: Value = serde_json::from_str(&l.expect("line")).expect("a JSON line");
                v["id"].as_str().expect("id").to_owned()
            })
            .collect()
    });
    assert_eq!(ndjson.len(), ACCOUNTS);
    assert_eq!(
        ndjson
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        ACCOUNTS,
        "every account once"
    );
    let (json, json_peak) = export(&d, &[&run[..], &["--json"]].concat(), |out| {
        let l: Listing =
            serde_json::from_reader(std::io::BufReader::new(out)).expect("one JSON document");
        assert_eq!(l.total, ACCOUNTS as u64);
        l.items.into_iter().map(|i| i.id).collect()
    });
    let (csv, csv_peak) = export(&d, &[&run[..], &["--csv"]].concat(), |out| {
        let mut r = csv::Reader::from_reader(out);
        assert_eq!(&r.headers().expect("header")[0], "id");
        r.records()
            .map(|row| row.expect("row")[0].to_owned())
            .collect()
    });
    assert!(
        json == ndjson,
        "JSON gives the same accounts in the same order"
    );
    assert!(
        csv == ndjson,
        "CSV gives the same accounts in the same order"
    );
    // The run's stored output, exported again later.
    let list = d.json(&["runs", "list", "--json", "--limit", "1"]);
    let id = list[0]["id"].as_str().expect("id");
    let (stored, stored_peak) = export(&d, &["runs", "output", id, "--csv"], |out| {
        let mut r = csv::Reader::from_reader(out);
        r.records()
            .map(|row| row.expect("row")[0].to_owned())
            .collect()
    });
    assert!(stored == ndjson, "the stored output is the printed one");
    // Holding 100,000 accounts as values would take hundreds of MiB.
    for (format, peak) in [
        ("ndjson", ndjson_peak),
        ("json", json_peak),
        ("csv", csv_peak),
        ("runs output", stored_peak),
    ] {
        assert!(peak > 0 && peak <= 64, "{format}: peak RSS {peak} MiB");
    }
}

#[test]
fn api_call_goes_through_the_stored_connection() {
    let d = Desk::new(&["--users", "30"]);
    // No LUMOS_API_TOKEN: the stored `default` connection is used.
    let page = d.json(&["api", "call", "listUsers", "-p", "size=2"]);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2), "{page}");
    let out = d
        .cmd(&["api", "call", "listUsers", "--connection", "nope"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("through the connection 'nope'"), "{err}");
}

#[test]
fn a_file_is_tried_step_by_step_without_installing_it() {
    let d = Desk::new(&["--users", "30"]);
    let file = d.home.path().join("try.yaml");
    std::fs::write(
        &file,
        "id: try-me\nname: Try me\ninputs:\n  n: { type: integer, default: 2 }\nsteps:\n  - id: users\n    call: listUsers\n    params: { size: \"{{ inputs.n }}\" }\n  - id: emails\n    transform: \"{{ steps.users.output['items'] | map(attribute='email') | list }}\"\n  - id: count\n    transform: \"{{ steps.emails.output | length }}\"\n",
    )
    .expect("write");
    let path = file.display().to_string();
    let out = d
        .cmd(&["workflows", "try", &path, "-i", "n=3"])
        .output()
        .expect("try");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("── users #0 completed listUsers HTTP 200"),
        "{text}"
    );
    assert!(text.contains("── emails #0 completed"), "{text}");
    assert!(text.trim_end().ends_with("── output\n3"), "{text}");
    // Up to a step; nothing installed, nothing recorded.
    let out = d
        .cmd(&["workflows", "try", &path, "--step", "emails"])
        .output()
        .expect("try");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("── count"), "{text}");
    let installed = d.json(&["workflows", "list", "--installed", "--json"]);
    assert!(!installed.to_string().contains("try-me"));
    // A typo says where.
    std::fs::write(
        &file,
        "id: try-me\nname: Try me\nsteps:\n  - id: users\n    call: listUsers\n  - id: emails\n    transform: \"{{ steps.users.output['items'] | map(attribute='emial') | list }}\"\n",
    )
    .expect("write");
    let out = d.cmd(&["workflows", "try", &path]).output().expect("try");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("step 'emails'") && err.contains("has no field 'emial'"),
        "{err}"
    );
}

#[test]
fn a_list_of_values_prints_as_a_column_and_json_ends_its_line() {
    let d = Desk::new(&["--users", "30"]);
    let file = d.home.path().join("emails.yaml");
    std::fs::write(
        &file,
        "id: emails\nname: Emails\nsteps:\n  - id: users\n    call: listUsers\n    params: { size: 3 }\n  - id: emails\n    transform: \"{{ steps.users.output['items'] | map(attribute='email') | list }}\"\n",
    )
    .expect("write");
    let out = d
        .cmd(&["workflows", "create", &file.display().to_string()])
        .output()
        .expect("create");
    assert!(out.status.success());
    let table = d.cmd(&["run", "emails"]).output().expect("run");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("│ value"), "{text}");
    assert_eq!(text.matches("@example-corp.com").count(), 3, "{text}");
    let json = d.cmd(&["run", "emails", "--json"]).output().expect("run");
    assert!(
        json.stdout.ends_with(b"]\n"),
        "{}",
        String::from_utf8_lossy(&json.stdout)
    );
}

/// The run core's rules through the CLI's doors: a held dry run approved from the CLI stays
/// dry and is recorded as its requester; `workflows try` does not send a gated change;
/// `api call` changes are audited like the API's.
#[test]
fn the_cli_doors_keep_the_run_cores_rules() {
    let d = Desk::new(&["--users", "30"]);
    let as_ = |who: &str, args: &[&str]| {
        let out = d
            .cmd(args)
            .env("LUMOSFLOW_ACTOR", who)
            .output()
            .expect("runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let total = || {
        d.json(&["api", "call", "getAccessRequests", "-p", "size=1"])["total"]
            .as_u64()
            .expect("total")
    };
    let apps = d.json(&["api", "call", "getAppStoreApps", "-p", "size=1"]);
    let app = apps["items"][0]["id"].as_str().expect("app").to_owned();
    let file = d.home.path().join("gated.yaml");
    std::fs::write(
        &file,
        "id: gated-request\nname: Gated request\ninputs:\n  app_id: { type: text, required: true }\napproval:\n  reason: Files an access request\nsteps:\n  - id: request\n    call: createAccessRequest\n    body: { app_id: \"{{ inputs.app_id }}\", business_justification: CLI }\n",
    )
    .expect("write");
    let path = file.display().to_string();
    d.ok(&["workflows", "create", &path]);
    let before = total();
    let input = format!("app_id={app}");

    // A dry run, held, approved by another person from the CLI: still dry.
    let (ok, _, err) = as_(
        "req@example-corp.com",
        &["run", "gated-request", "-i", &input, "--dry-run"],
    );
    assert!(ok, "{err}");
    let runs = d.json(&["runs", "list", "--json"]);
    let id = runs[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(runs[0]["status"], "pending_approval", "{runs}");
    let (ok, out, err) = as_("boss@example-corp.com", &["runs", "approve", &id]);
    assert!(ok, "{err}");
    assert!(out.contains("approved"), "{out}");
    let run = d.json(&["runs", "show", &id, "--json"]);
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["dry_run"], true);
    assert_eq!(run["requested_by"], "req@example-corp.com");
    assert_eq!(run["steps"][0]["status"], "dry_run", "{run}");
    assert_eq!(total(), before, "the approved dry run sent nothing");

    // The requester cannot approve their own run from the CLI either.
    let (ok, _, _) = as_(
        "req@example-corp.com",
        &["run", "gated-request", "-i", &input],
    );
    assert!(ok);
    let id = d.json(&["runs", "list", "--json"])[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (ok, _, err) = as_("req@example-corp.com", &["runs", "approve", &id]);
    assert!(!ok);
    assert!(err.contains("cannot decide on it"), "{err}");

    // A try of the gated file sends nothing without --dry-run, and says how.
    let (ok, _, err) = as_(
        "boss@example-corp.com",
        &["workflows", "try", &path, "-i", &input],
    );
    assert!(!ok);
    assert!(err.contains("behind an approval gate"), "{err}");
    assert!(err.contains("--dry-run"), "{err}");
    assert_eq!(total(), before);

    // A change made with `api call` is in the audit trail, as who made it, from the CLI.
    let body = format!("{{\"app_id\": \"{app}\", \"business_justification\": \"direct\"}}");
    let (ok, _, err) = as_(
        "boss@example-corp.com",
        &["api", "call", "createAccessRequest", "--body", &body],
    );
    assert!(ok, "{err}");
    assert_eq!(total(), before + 1);
    let events = d.json(&["audit", "--action", "lumos.call", "--json"]);
    let direct: Vec<&Value> = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["details"]["origin"] == "cli" && e["target"] == "createAccessRequest")
        .collect();
    assert_eq!(direct.len(), 1, "{events}");
    assert_eq!(direct[0]["actor"], "boss@example-corp.com");
}

/// The audit trail from the CLI: `verify` says it is whole and exits 0, `export` writes it
/// in order as NDJSON or CSV (the same events), `prune` leaves a checkpoint the rest verifies
/// from; a database edited behind lumosflow's back fails `verify` naming the event.
#[test]
fn the_audit_trail_verifies_exports_and_prunes() {
    let d = Desk::new(&["--users", "30"]);
    // A person's table stays readable: installing every bundle is one event with long
    // details, cut short with a pointer to the whole.
    let table = String::from_utf8_lossy(&d.ok(&["audit"]).stdout).into_owned();
    // Without USER and friends (cron, systemd-run), the operator is still named.
    let named = d.home.path().join("named.db");
    let backed = d
        .cmd(&["backup", named.to_str().unwrap_or_default()])
        .env_remove("USER")
        .env_remove("USERNAME")
        .env_remove("LOGNAME")
        .env_remove("LUMOSFLOW_ACTOR")
        .output()
        .expect("backup");
    assert!(backed.status.success());
    let last: serde_json::Value =
        serde_json::from_slice(&d.ok(&["audit", "--json", "--limit", "1"]).stdout).expect("json");
    let who = last[0]["actor"].as_str().unwrap_or_default().to_owned();
    assert!(
        who.starts_with("cli:") && who != "cli:unknown" && who.len() > 4,
        "{who}"
    );
    assert!(table.lines().all(|l| l.chars().count() < 260), "{table}");
    assert!(
        table.contains("workflows.install") && table.contains("audit --json shows them whole"),
        "{table}"
    );
    let out = d.ok(&["audit", "verify"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("the audit trail is whole: "), "{said}");
    let nd = d.ok(&["audit", "export", "--format", "ndjson"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&nd.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(lines.len() >= 2, "{lines:?}");
    for (i, e) in lines.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1, "in the order written");
        assert_eq!(e["hash"].as_str().map(str::len), Some(64));
    }
    let csv = d.ok(&[
        "audit",
        "export",
        "--format",
        "csv",
        "--since",
        "2020-01-01",
    ]);
    let text = String::from_utf8_lossy(&csv.stdout);
    let mut rows = text.lines();
    assert_eq!(
        rows.next(),
        Some("seq,at,actor,action,target,details,prev_hash,hash")
    );
    assert_eq!(rows.count(), lines.len());
    let bad = d
        .cmd(&["audit", "export", "--format", "xml"])
        .output()
        .expect("export");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown format 'xml'"));
    // Pruned: what remains (the pruning itself) verifies from the checkpoint.
    // Not into the future, which would delete what is written next.
    let out = d
        .cmd(&["audit", "prune", "--before", "2999-01-01"])
        .output()
        .expect("prune");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is in the future"));
    let now = chrono::Utc::now().to_rfc3339();
    let out = d.ok(&["audit", "prune", "--before", &now]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{} audit events", lines.len())),
        "{out:?}"
    );
    let out = d.ok(&["audit", "verify", "--json"]);
    let check: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(check["checked"], 1, "{check}");
    assert_eq!(
        check["head"]["checkpoint_seq"],
        lines.len() as u64,
        "{check}"
    );
    // Edited behind lumosflow's back: verify names the event and exits non-zero.
    let db = d.home.path().join("lumosflow.db");
    let have = std::process::Command::new("sqlite3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        have || std::env::var("CI").is_err(),
        "CI must install the sqlite3 shell (.ci/run does)"
    );
    assert!(db.exists(), "{}", db.display());
    if have {
        let edit = std::process::Command::new("sqlite3")
            .arg(&db)
            .arg("UPDATE audit_events SET actor = 'mallory' WHERE seq = (SELECT MAX(seq) FROM audit_events);")
            .output()
            .expect("sqlite3");
        assert!(edit.status.success(), "{edit:?}");
        let out = d.cmd(&["audit", "verify"]).output().expect("verify");
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("was changed after it was written"),
            "{out:?}"
        );
        // Pruning never hides a broken chain.
        let now = chrono::Utc::now().to_rfc3339();
        let out = d
            .cmd(&["audit", "prune", "--before", &now])
            .output()
            .expect("prune");
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("pruning would hide it"),
            "{out:?}"
        );
    }
}

#[test]
fn a_backup_restores_with_its_history_and_says_what_it_did() {
    let d = Desk::new(&["--users", "30"]);
    d.ok(&["run", "list-lumos-apps", "--json"]);
    let copy = d.home.path().join("copy.db");
    let copy_arg = copy.to_str().unwrap_or_default();
    let out = d.ok(&["backup", copy_arg]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("backed up to") && said.contains("master key"),
        "{said}"
    );
    // The copy is the database now: its runs are there, and it verifies.
    let runs: Value = serde_json::from_slice(
        &d.ok(&["--database-url", copy_arg, "runs", "list", "--json"])
            .stdout,
    )
    .expect("json");
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    assert_eq!(runs[0]["status"], "completed");
    let out = d.ok(&["--database-url", copy_arg, "audit", "verify"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("the audit trail is whole"));
    // No bundled workflow has a schedule: the list says so and how to add one.
    let none = String::from_utf8_lossy(&d.ok(&["schedules", "list"]).stdout).into_owned();
    assert!(
        none.starts_with("no installed workflow has a schedule"),
        "{none}"
    );
    // A place it cannot write says so, naming the file.
    let nowhere = d
        .cmd(&["backup", "/nonexistent-dir/copy.db"])
        .output()
        .expect("runs");
    assert!(!nowhere.status.success());
    let said = String::from_utf8_lossy(&nowhere.stderr);
    assert!(
        said.contains("cannot back up: cannot write /nonexistent-dir/copy.db"),
        "{said}"
    );
    // Never over an existing file.
    let again = d.cmd(&["backup", copy_arg]).output().expect("runs");
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists already"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// `runs show` prints a loop as one line with its counts and a sample of its items, not a
/// line per item.
#[test]
fn runs_show_sums_a_loop_up() {
    let d = Desk::new(&[]);
    let file = d.home.path().join("loop.yaml");
    std::fs::write(
        &file,
        "id: every-number\nname: Every number\nsteps:\n  - id: each\n    for_each: \"{{ range(300) | list }}\"\n    transform: \"{{ item * 2 }}\"\n  - id: picky\n    for_each: \"{{ range(30) | list }}\"\n    if: \"{{ item % 10 == 0 }}\"\n    fail: \"item {{ item }} is not welcome\"\n    continue_on_error: true\noutput: \"{{ steps.each.output | length }}\"\n",
    )
    .expect("write");
    d.ok(&["workflows", "create", file.to_str().expect("path")]);
    d.ok(&["run", "every-number"]);
    let runs = d.json(&["runs", "list", "--json"]);
    let id = runs[0]["id"].as_str().expect("id");
    let shown = d.ok(&["runs", "show", id]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("completed: 300 items, 300 completed"),
        "{text}"
    );
    assert!(
        text.contains("failed: 30 items, 1 failed, 27 left out by if, 2 not run"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.contains(" each ")).count(),
        11,
        "the loop's line and 10 items:\n{text}"
    );
    assert!(
        text.contains("each: 10 of the 300 items that ran are listed"),
        "{text}"
    );
}

/// A run that fails says, where it is run and in `runs show`, whether it changed anything:
/// here it failed on its read, so nothing was, and trying again is safe.
#[test]
fn a_failed_run_says_whether_trying_again_is_safe() {
    let d = Desk::new(&[]);
    let out = d
        .cmd(&[
            "run",
            "cancel-lumos-access-request",
            "-i",
            "request_id=00000000-0000-4000-8000-00000000dead",
            "-i",
            "reason=test",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Access request not found"), "{err}");
    assert!(
        err.contains("Nothing was changed: it is safe to try again."),
        "{err}"
    );
    let runs = d.json(&["runs", "list", "--json"]);
    let id = runs[0]["id"].as_str().expect("id");
    let shown = d.ok(&["runs", "show", id]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("changes: Nothing was changed: it is safe to try again."),
        "{text}"
    );
}
