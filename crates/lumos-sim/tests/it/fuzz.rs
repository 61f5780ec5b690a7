//! Garbage in never gives a 5xx: every operation with random parameter values and bodies.

use lumos_api::Catalog;
use lumos_sim::DEFAULT_TOKEN;
use serde_json::{Value, json};

use crate::sim;

fn junk(rng: &mut fastrand::Rng) -> String {
    const PICKS: &[&str] = &[
        "",
        "-1",
        "0",
        "101",
        "abc",
        "true",
        "null",
        "%00",
        "ACTIVE",
        "💥",
        "1e309",
        "2026-13-45",
        "[]",
        "{}",
    ];
    let s = PICKS[rng.usize(..PICKS.len())];
    if rng.bool() {
        s.to_owned()
    } else {
        format!("{s}{}", rng.u32(..1000))
    }
}

fn junk_body(rng: &mut fastrand::Rng) -> Value {
    match rng.u8(..6) {
        0 => json!(null),
        1 => json!([1, 2, 3]),
        2 => json!("text"),
        3 => {
            json!({"app_id": 5, "name": [], "label": {}, "apps": "x", "comment": "", "records": 1})
        }
        4 => {
            json!({"request_flow": {"approvers": {"users": [{"id": "nope"}]}}, "sync_type": "half"})
        }
        _ => json!({}),
    }
}

#[tokio::test]
async fn random_inputs_never_produce_server_errors() {
    let sim = sim().await;
    let http = lumos_api::http::client();
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..4 {
        for op in Catalog::lumos().operations() {
            let mut path = op.path.clone();
            let mut query = Vec::new();
            for p in &op.params {
                let v = junk(&mut rng);
                if p.location == lumos_api::catalog::Location::Path {
                    path = path.replace(&format!("{{{}}}", p.name), &urlencode(&v));
                } else if rng.bool() {
                    query.push(format!("{}={}", p.name, urlencode(&v)));
                }
            }
            let url = format!("{}{}?{}", sim.base_url, path, query.join("&"));
            let method = reqwest::Method::from_bytes(op.method.as_bytes()).expect("method");
            let mut rb = http.request(method, &url).bearer_auth(DEFAULT_TOKEN);
            if op.body.is_some() {
                rb = if round == 3 {
                    rb.header("content-type", "application/json")
                        .body("{not json")
                } else {
                    rb.json(&junk_body(&mut rng))
                };
            }
            let status = rb.send().await.expect("request").status().as_u16();
            assert!(status < 500, "{} {url} gave {status}", op.method);
        }
    }
    sim.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
