//! Complete results at any size: a quarter of a million accounts, started through the API
//! (queued, like the console, MCP and schedules do), stored as they arrive and downloaded
//! whole in every format, from both stores, in flat memory.

use std::collections::HashSet;
use std::time::Duration;

use lumos_sim::{OrgSize, SimConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::Role;
use sha2::{Digest, Sha256};
use testkit::{Db, both};

use crate::Env;

/// The simulator's accounts: 10 each of 25,000 people, and 750 Lumos linked to nobody.
const ACCOUNTS: u64 = 250_000 + 750;

/// This process's peak resident memory (simulator, server and test together), in MiB.
fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

/// Every item's id in order: how many, whether each is there once, and a digest of the order.
struct Ids {
    count: u64,
    unique: HashSet<String>,
    order: Sha256,
    first: Option<String>,
    last: Option<String>,
}

impl Ids {
    fn new() -> Ids {
        Ids {
            count: 0,
            unique: HashSet::new(),
            order: Sha256::new(),
            first: None,
            last: None,
        }
    }
    fn add(&mut self, id: &str) {
        self.count += 1;
        self.unique.insert(id.to_owned());
        self.order.update(id.as_bytes());
        self.order.update(b"\n");
        if self.first.is_none() {
            self.first = Some(id.to_owned());
        }
        self.last = Some(id.to_owned());
    }
    fn digest(self) -> (u64, usize, Vec<u8>, Option<String>, Option<String>) {
        (
            self.count,
            self.unique.len(),
            self.order.finalize().to_vec(),
            self.first,
            self.last,
        )
    }
}

#[derive(serde::Deserialize)]
struct Listing {
    items: Vec<Item>,
    total: u64,
}

#[derive(serde::Deserialize)]
struct Item {
    id: String,
}

/// A response body in a temporary file, as a browser saves a download.
async fn to_file(mut resp: reqwest::Response) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        file.write_all(&chunk).expect("write");
    }
    file
}

/// Text as people sort it, written apart from the server's: runs of digits by value.
fn natural_key(s: &str) -> Vec<(String, u128)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = s
        .to_lowercase()
        .chars()
        .collect::<Vec<_>>()
        .into_iter()
        .peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut n = c.to_digit(10).unwrap_or(0) as u128;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n * 10 + d as u128;
                chars.next();
            }
            out.push((std::mem::take(&mut text), n));
        } else {
            text.push(c);
        }
    }
    out.push((text, 0));
    out
}

/// The listing filtered by part of an email in any case and sorted by email, on the server:
/// every page, followed by its `next` link, against the listing read whole.
async fn filtered_and_sorted_on_the_server(env: &Env, id: &str, emails: &[Option<String>]) {
    let some = emails.iter().flatten().nth(1234).expect("an email");
    let needle = some.split('@').next().expect("local part")[..4].to_uppercase();
    let expected = emails
        .iter()
        .flatten()
        .filter(|e| e.to_lowercase().contains(&needle.to_lowercase()))
        .count() as u64;
    assert!(expected > 1, "{needle} matches more than one account");
    let mut link =
        format!("/api/v1/runs/{id}/items?filter={needle}&columns=email&sort=-email&limit=50");
    let mut got: Vec<String> = Vec::new();
    loop {
        let (s, page) = env.call(Some(Role::Viewer), Method::GET, &link, None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(page["matched"], expected, "{link}");
        assert_eq!(page["count"], ACCOUNTS);
        for it in page["items"].as_array().expect("items") {
            got.push(it["email"].as_str().expect("an email").to_owned());
        }
        match page["next"].as_str() {
            Some(n) => link = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(got.len() as u64, expected);
    assert!(
        got.iter()
            .all(|e| e.to_lowercase().contains(&needle.to_lowercase()))
    );
    for pair in got.windows(2) {
        assert!(
            natural_key(&pair[0]) >= natural_key(&pair[1]),
            "descending by email: {} before {}",
            pair[0],
            pair[1]
        );
    }
    // A column the listing does not have: a clear error, no page.
    let (s, refused) = env
        .call(
            Some(Role::Viewer),
            Method::GET,
            &format!("/api/v1/runs/{id}/items?sort=mail"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("no column 'mail'"),
        "{refused}"
    );
}

async fn download(env: &Env, workflow: &str, run: &str, format: &str) -> reqwest::Response {
    let resp = env
        .http
        .get(format!(
            "{}/api/v1/runs/{run}/output?format={format}",
            env.server.base_url
        ))
        .bearer_auth(&env.keys[&Role::Viewer])
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), StatusCode::OK, "{format}");
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .expect("ascii");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{workflow}-{run}.{format}\"")
    );
    resp
}

async fn every_account_in_every_format(db: Db) {
    let size = OrgSize {
        users: 25_000,
        apps: 40,
        groups: 60,
        accounts_per_user: 10,
    };
    let env = Env::with_sim(
        db,
        SimConfig {
            size,
            ..SimConfig::default()
        },
    )
    .await;
    env.connect().await;
    let (s, out) = env
        .call(
            Some(Role::Builder),
            Method::POST,
            "/api/v1/workflows/install",
            Some(json!({"bundles": ["directory-and-apps"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");

    // Queued, as the console, MCP and schedules start runs: the output is stored in full.
    let (s, started) = env
        .run(
            Role::Agent,
            "list-lumos-accounts",
            Some(json!({"inputs": {"all": true}})),
            false,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let id = started["id"].as_str().expect("id").to_owned();
    let mut saw_progress = false;
    let detail = loop {
        let (s, d) = env
            .call(
                Some(Role::Viewer),
                Method::GET,
                &format!("/api/v1/runs/{id}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{d}");
        if d["status"] == "running" && d["progress"]["items"].as_u64().is_some_and(|n| n > 0) {
            assert_eq!(d["progress"]["total"], ACCOUNTS, "{}", d["progress"]);
            saw_progress = true;
        }
        if d["status"] != "running" && d["status"] != "queued" {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(detail["status"], "completed", "{}", detail["error"]);
    assert!(saw_progress, "the run showed its progress while it ran");
    assert_eq!(detail["items"], json!({"count": ACCOUNTS, "shown": 100}));
    assert_eq!(detail["output"]["total"], ACCOUNTS);
    assert_eq!(
        detail["output"]["items"].as_array().map(Vec::len),
        Some(100)
    );
    assert_eq!(detail["output_info"]["kind"], "listing");
    let next = detail["output_links"]["next_items"].as_str().expect("next");
    assert_eq!(
        next,
        format!("/api/v1/runs/{id}/items?offset=100&limit=100")
    );

    // Pages anywhere in the output, across chunk boundaries.
    let (_, first) = env
        .call(
            Some(Role::Viewer),
            Method::GET,
            &format!("/api/v1/runs/{id}/items?offset=0&limit=1000"),
            None,
        )
        .await;
    let first = first["items"].as_array().expect("items");
    assert_eq!(first.len(), 1000);
    assert_eq!(
        Some(&first[..100]),
        detail["output"]["items"].as_array().map(|a| &a[..])
    );
    let (s, tail) = env
        .call(
            Some(Role::Viewer),
            Method::GET,
            &format!(
                "/api/v1/runs/{id}/items?offset={}&limit=1000",
                ACCOUNTS - 10
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tail}");
    assert_eq!(tail["items"].as_array().map(Vec::len), Some(10));
    assert_eq!(tail["next"], Value::Null);
    assert_eq!(tail["count"], ACCOUNTS);
    let (s, refused) = env
        .call(
            Some(Role::Viewer),
            Method::GET,
            &format!("/api/v1/runs/{id}/items?limit=5000"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");

    // NDJSON, line by line.
    let mut ndjson = Ids::new();
    let mut emails: Vec<Option<String>> = Vec::new();
    let mut resp = download(&env, "list-lumos-accounts", &id, "ndjson").await;
    let mut rest = Vec::new();
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        rest.extend_from_slice(&chunk);
        let complete = rest.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        for line in rest[..complete]
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let item: Value = serde_json::from_slice(line).expect("a JSON line");
            ndjson.add(item["id"].as_str().expect("id"));
            emails.push(item["email"].as_str().map(str::to_owned));
        }
        rest.drain(..complete);
    }
    assert!(rest.is_empty(), "the last line ends");
    let (n, unique, order, first, last) = ndjson.digest();
    assert_eq!(
        (n, unique as u64),
        (ACCOUNTS, ACCOUNTS),
        "every account once"
    );

    filtered_and_sorted_on_the_server(&env, &id, &emails).await;
    drop(emails);

    // JSON: the output object, every item in `items` (read from a file, keeping only ids).
    let file = to_file(download(&env, "list-lumos-accounts", &id, "json").await).await;
    let whole: Listing =
        serde_json::from_reader(std::io::BufReader::new(file.reopen().expect("file")))
            .expect("one JSON document");
    assert_eq!(whole.total, ACCOUNTS);
    let mut json_ids = Ids::new();
    for item in &whole.items {
        json_ids.add(&item.id);
    }
    drop(whole);
    assert_eq!(
        json_ids.digest(),
        (n, unique, order.clone(), first.clone(), last.clone())
    );

    // CSV: a header from the item type's fields, then a row per account.
    let file = to_file(download(&env, "list-lumos-accounts", &id, "csv").await).await;
    let mut reader =
        csv::Reader::from_reader(std::io::BufReader::new(file.reopen().expect("file")));
    let header = reader.headers().expect("header").clone();
    assert_eq!(&header[0], "id");
    assert!(header.iter().any(|h| h == "sources"), "{header:?}");
    let mut csv_ids = Ids::new();
    for row in reader.records() {
        let row = row.expect("row");
        assert_eq!(row.len(), header.len());
        csv_ids.add(&row[0]);
    }

    assert_eq!(
        csv_ids.digest(),
        (n, unique, order, first.clone(), last.clone())
    );
    // The same accounts Lumos lists, first and last.
    assert_eq!(
        first.as_deref(),
        detail["output"]["items"][0]["id"].as_str()
    );
    assert_eq!(last.as_deref(), tail["items"][9]["id"].as_str());

    // Nothing above held the listing whole: 250,000 accounts as JSON values take well over
    // half a gigabyte; this process (simulator, server and test, and the other tests of
    // this binary, which run beside it in the same process) stays well below.
    let peak = peak_rss_mib();
    assert!(peak < 400, "peak RSS {peak} MiB");
    env.stop().await;
}

both!(every_account_in_every_format, every_account_in_every_format);

/// `?wait=true` on a listing answers with the first items and links, not the whole listing.
#[tokio::test]
async fn waiting_for_a_listing_gives_its_first_items_and_links() {
    let env = Env::new(testkit::sqlite()).await;
    env.connect().await;
    let (s, _) = env
        .call(
            Some(Role::Builder),
            Method::POST,
            "/api/v1/workflows/install",
            Some(json!({"bundles": ["directory-and-apps"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, run) = env
        .run(
            Role::Agent,
            "list-lumos-users",
            Some(json!({"inputs": {"all": true}})),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{run}");
    let id = run["id"].as_str().expect("id");
    assert_eq!(run["output"]["items"].as_array().map(Vec::len), Some(100));
    assert_eq!(run["output"]["total"], 500);
    assert_eq!(run["items"], json!({"count": 500, "shown": 100}));
    assert_eq!(
        run["output_links"],
        json!({
            "next_items": format!("/api/v1/runs/{id}/items?offset=100&limit=100"),
            "json": format!("/api/v1/runs/{id}/output?format=json"),
            "ndjson": format!("/api/v1/runs/{id}/output?format=ndjson"),
            "csv": format!("/api/v1/runs/{id}/output?format=csv"),
        })
    );
    // Following the links to the end gives every user once.
    let mut seen = HashSet::new();
    let mut next = run["output_links"]["next_items"]
        .as_str()
        .map(str::to_owned);
    for u in run["output"]["items"].as_array().expect("items") {
        seen.insert(u["id"].as_str().expect("id").to_owned());
    }
    while let Some(link) = next {
        let (s, page) = env.call(Some(Role::Viewer), Method::GET, &link, None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        for u in page["items"].as_array().expect("items") {
            assert!(
                seen.insert(u["id"].as_str().expect("id").to_owned()),
                "each once"
            );
        }
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 500);

    // A run that is no listing has no items to page, and says so; an unknown format is refused.
    let (_, app) = env
        .run(
            Role::Agent,
            "list-lumos-apps",
            Some(json!({"inputs": {"size": 1}})),
            true,
        )
        .await;
    let app_id = app["output"]["items"][0]["id"]
        .as_str()
        .expect("app id")
        .to_owned();
    let (s, one) = env
        .run(
            Role::Agent,
            "get-lumos-app",
            Some(json!({"inputs": {"app_id": app_id}})),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{one}");
    let one_id = one["id"].as_str().expect("id");
    assert_eq!(one["output"]["id"], app_id);
    assert!(one.get("items").is_none(), "{one}");
    let (s, refused) = env
        .call(
            Some(Role::Viewer),
            Method::GET,
            &format!("/api/v1/runs/{one_id}/items"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .expect("message")
            .contains("one value"),
        "{refused}"
    );
    let (s, refused) = env
        .call(
            Some(Role::Viewer),
            Method::GET,
            &format!("/api/v1/runs/{one_id}/output?format=xml"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    let resp = download(&env, "get-lumos-app", one_id, "json").await;
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v, one["output"]);

    // A run that has not completed has no output yet.
    let (_, held) = env
        .call(
            Some(Role::Viewer),
            Method::GET,
            "/api/v1/runs/00000000-0000-7000-8000-000000000000/output",
            None,
        )
        .await;
    assert_eq!(held["error"]["code"], "not_found", "{held}");
    env.stop().await;
}
