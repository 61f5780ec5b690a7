use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{client, params};

fn page(
    ids: std::ops::Range<u32>,
    total: Value,
    page: u32,
    size: u32,
    pages: Value,
) -> ResponseTemplate {
    let items: Vec<Value> = ids.map(|i| json!({"id": format!("u{i}")})).collect();
    ResponseTemplate::new(200).set_body_json(
        json!({"items": items, "total": total, "page": page, "size": size, "pages": pages}),
    )
}

async fn ids(server: &MockServer, p: Value) -> Vec<String> {
    let items: Vec<_> = client(server)
        .paginate("listUsers", &params(p))
        .collect()
        .await;
    items
        .into_iter()
        .map(|r| {
            r.expect("item")["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn mount_page(server: &MockServer, n: u32, t: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("page", n.to_string()))
        .respond_with(t)
        .mount(server)
        .await;
}

#[tokio::test]
async fn prefetched_pages_come_out_in_order() {
    let server = MockServer::start().await;
    mount_page(&server, 1, page(0..2, json!(7), 1, 2, json!(4))).await;
    // Page 2 is the slowest, so an unordered walk would yield pages 3 and 4 first.
    mount_page(
        &server,
        2,
        page(2..4, json!(7), 2, 2, json!(4)).set_delay(Duration::from_millis(300)),
    )
    .await;
    mount_page(&server, 3, page(4..6, json!(7), 3, 2, json!(4))).await;
    mount_page(&server, 4, page(6..7, json!(7), 4, 2, json!(4))).await;
    let got = ids(&server, json!({"size": 2})).await;
    assert_eq!(got, (0..7).map(|i| format!("u{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn stops_at_pages() {
    let server = MockServer::start().await;
    mount_page(&server, 1, page(0..2, json!(4), 1, 2, json!(2))).await;
    mount_page(&server, 2, page(2..4, json!(4), 2, 2, json!(2))).await;
    // Lumos would never send this; it proves the walk stops at `pages`.
    mount_page(&server, 3, page(9..10, json!(4), 3, 2, json!(2))).await;
    assert_eq!(
        ids(&server, json!({"size": 2})).await,
        ["u0", "u1", "u2", "u3"]
    );
}

#[tokio::test]
async fn stops_at_total_when_pages_is_missing() {
    let server = MockServer::start().await;
    mount_page(&server, 1, page(0..2, json!(3), 1, 2, Value::Null)).await;
    mount_page(&server, 2, page(2..3, json!(3), 2, 2, Value::Null)).await;
    mount_page(&server, 3, page(9..10, json!(3), 3, 2, Value::Null)).await;
    assert_eq!(ids(&server, json!({"size": 2})).await, ["u0", "u1", "u2"]);
}

/// An identity event with its required fields.
fn event(id: &str) -> Value {
    json!({"id": id, "user_id": "u1", "detected_time": "2026-01-01T00:00:00", "changed_field": "status"})
}

/// An activity log entry with its required fields; `event_hash` tells them apart.
fn log(i: u32) -> Value {
    json!({"event_hash": i.to_string(), "event_type": "login", "event_type_user_friendly": "Login",
           "outcome": "success", "targets": [], "actor": {}, "event_metadata": {}})
}

/// Every item until the walk fails, and the error's text.
async fn walk_until_error(server: &MockServer, name: &str, p: Value) -> (Vec<Value>, String) {
    let got: Vec<_> = client(server).paginate(name, &params(p)).collect().await;
    let mut items = Vec::new();
    for r in got {
        match r {
            Ok(v) => items.push(v),
            Err(e) => return (items, e.to_string()),
        }
    }
    panic!("the walk completed with {} items", items.len());
}

#[tokio::test]
async fn an_empty_page_before_the_last_is_an_error() {
    let server = MockServer::start().await;
    mount_page(&server, 1, page(0..2, json!(10), 1, 2, json!(5))).await;
    mount_page(&server, 2, page(0..0, json!(10), 2, 2, json!(5))).await;
    mount_page(&server, 3, page(5..7, json!(10), 3, 2, json!(5))).await;
    mount_page(&server, 4, page(7..9, json!(10), 4, 2, json!(5))).await;
    mount_page(&server, 5, page(9..10, json!(10), 5, 2, json!(5))).await;
    let (items, err) = walk_until_error(&server, "listUsers", json!({"size": 2})).await;
    assert_eq!(items.len(), 2);
    assert!(
        err.contains("page 2 of 5 held 0 items where 2 were due"),
        "{err}"
    );
}

#[tokio::test]
async fn a_short_last_page_against_the_total_is_an_error() {
    let server = MockServer::start().await;
    mount_page(&server, 1, page(0..2, json!(5), 1, 2, json!(3))).await;
    mount_page(&server, 2, page(2..4, json!(5), 2, 2, json!(3))).await;
    mount_page(&server, 3, page(4..4, json!(5), 3, 2, json!(3))).await;
    let (items, err) = walk_until_error(&server, "listUsers", json!({"size": 2})).await;
    assert_eq!(items.len(), 4);
    assert!(
        err.contains("page 3 of 3 came back empty though Lumos reported 5 items"),
        "{err}"
    );
}

#[tokio::test]
async fn an_html_page_mid_walk_fails_the_walk_after_retries() {
    let server = MockServer::start().await;
    mount_page(&server, 1, page(0..2, json!(6), 1, 2, json!(3))).await;
    mount_page(
        &server,
        2,
        ResponseTemplate::new(200).set_body_raw("<html><title>Proxy</title></html>", "text/html"),
    )
    .await;
    mount_page(&server, 3, page(4..6, json!(6), 3, 2, json!(3))).await;
    let (items, err) = walk_until_error(&server, "listUsers", json!({"size": 2})).await;
    assert_eq!(items.len(), 2);
    assert!(
        err.starts_with("Lumos answered 200 with an HTML page (text/html) titled \"Proxy\" for GET /users?page=2&size=2; expected a page of users"),
        "{err}"
    );
    assert!(err.ends_with("(gave up after 3 attempts)"), "{err}");
}

#[tokio::test]
async fn a_page_without_items_is_an_error_not_an_empty_page() {
    let server = MockServer::start().await;
    mount_page(&server, 1, page(0..2, json!(4), 1, 2, json!(2))).await;
    mount_page(
        &server,
        2,
        ResponseTemplate::new(200).set_body_json(json!({"data": [], "total": 4})),
    )
    .await;
    let (items, err) = walk_until_error(&server, "listUsers", json!({"size": 2})).await;
    assert_eq!(items.len(), 2);
    assert!(
        err.contains("with a JSON object with keys data, total but no 'items' list"),
        "{err}"
    );
}

#[tokio::test]
async fn a_repeated_cursor_ends_with_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/identity_events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"identity_events": [event("e1")], "next_cursor": "same", "total_count": 9}),
        ))
        .mount(&server)
        .await;
    let (items, err) = walk_until_error(&server, "getIdentityEvents", json!({})).await;
    assert_eq!(items.len(), 1);
    assert!(
        err.contains("a next_cursor it had already sent, after 2 items"),
        "{err}"
    );
}

#[tokio::test]
async fn a_short_offset_page_before_the_total_is_an_error() {
    let server = MockServer::start().await;
    for (offset, range) in [(0u32, 0..2u32), (2, 2..3)] {
        let items: Vec<Value> = range.map(log).collect();
        Mock::given(method("GET"))
            .and(path("/activity_logs"))
            .and(query_param("offset", offset.to_string()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    json!({"items": items, "total": 9, "limit": 2, "offset": offset}),
                ),
            )
            .mount(&server)
            .await;
    }
    let (items, err) = walk_until_error(&server, "getActivityLogs", json!({"limit": 2})).await;
    assert_eq!(items.len(), 2);
    assert!(
        err.contains("the page at offset 2 held 1 items where 2 were due, with 9 reported"),
        "{err}"
    );
}

#[tokio::test]
async fn an_offset_page_that_says_it_is_another_is_an_error() {
    let server = MockServer::start().await;
    // The second request is answered with the first page again, which says so.
    for offset in [0u32, 2] {
        let items: Vec<Value> = (0..2u32).map(log).collect();
        Mock::given(method("GET"))
            .and(path("/activity_logs"))
            .and(query_param("offset", offset.to_string()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"items": items, "total": 9, "limit": 2, "offset": 0})),
            )
            .mount(&server)
            .await;
    }
    let (items, err) = walk_until_error(&server, "getActivityLogs", json!({"limit": 2})).await;
    assert_eq!(items.len(), 2, "only the first page is kept");
    assert!(
        err.contains("offset 2 was asked for and the answer says it starts at offset 0"),
        "{err}"
    );
}

#[tokio::test]
async fn survives_null_total_by_walking_until_a_short_page() {
    let server = MockServer::start().await;
    mount_page(&server, 1, page(0..2, Value::Null, 1, 2, Value::Null)).await;
    mount_page(&server, 2, page(2..4, Value::Null, 2, 2, Value::Null)).await;
    mount_page(&server, 3, page(4..5, Value::Null, 3, 2, Value::Null)).await;
    assert_eq!(
        ids(&server, json!({"size": 2})).await,
        ["u0", "u1", "u2", "u3", "u4"]
    );
}

#[tokio::test]
async fn an_error_ends_the_stream_after_being_yielded() {
    let server = MockServer::start().await;
    mount_page(&server, 1, page(0..2, json!(6), 1, 2, json!(3))).await;
    mount_page(
        &server,
        2,
        ResponseTemplate::new(404).set_body_json(json!({"detail": "gone"})),
    )
    .await;
    mount_page(&server, 3, page(4..6, json!(6), 3, 2, json!(3))).await;
    let items: Vec<_> = client(&server)
        .paginate("listUsers", &params(json!({"size": 2})))
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(items[2].is_err());
}

#[tokio::test]
async fn limit_offset_and_cursor_walks() {
    let server = MockServer::start().await;
    for (offset, range) in [(0u32, 0..2u32), (2, 2..3)] {
        let items: Vec<Value> = range.map(log).collect();
        Mock::given(method("GET"))
            .and(path("/activity_logs"))
            .and(query_param("offset", offset.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"items": items, "total": 3, "limit": 2, "offset": offset, "links": {"first": null, "last": null, "self": null, "next": null, "prev": null}}),
            ))
            .mount(&server)
            .await;
    }
    let got: Vec<_> = client(&server)
        .paginate("getActivityLogs", &params(json!({"limit": 2})))
        .collect()
        .await;
    assert_eq!(got.len(), 3);

    Mock::given(method("GET"))
        .and(path("/identity_events"))
        .and(query_param("cursor", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"identity_events": [event("e2")], "next_cursor": null, "total_count": 2}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/identity_events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"identity_events": [event("e1")], "next_cursor": "c2", "total_count": 2}),
        ))
        .mount(&server)
        .await;
    let got: Vec<_> = client(&server)
        .paginate("getIdentityEvents", &params(json!({})))
        .collect()
        .await;
    let ids: Vec<Value> = got
        .into_iter()
        .map(|r| r.expect("event")["id"].clone())
        .collect();
    assert_eq!(ids, [json!("e1"), json!("e2")]);
}

/// A stale answer (page N served with page 1's body) never makes a listing: the page says
/// it is another, or begins like an earlier one, and the walk stops saying so.
#[tokio::test]
async fn a_page_that_is_another_page_is_refused() {
    let server = MockServer::start().await;
    mount_page(&server, 1, page(0..2, json!(6), 1, 2, json!(3))).await;
    // Page 2 is page 1 again, as a stale cache would serve it.
    mount_page(&server, 2, page(0..2, json!(6), 1, 2, json!(3))).await;
    mount_page(&server, 3, page(4..6, json!(6), 3, 2, json!(3))).await;
    let got: Vec<_> = client(&server)
        .paginate("listUsers", &params(json!({"size": 2})))
        .collect()
        .await;
    let err = got
        .into_iter()
        .find_map(Result::err)
        .expect("refused")
        .to_string();
    assert!(
        err.contains("page 2 was asked for and the answer says it is page 1"),
        "{err}"
    );
    // The same without the page number: it begins like page 1.
    let server = MockServer::start().await;
    let unnumbered = |ids: std::ops::Range<u32>| {
        let items: Vec<Value> = ids.map(|i| json!({"id": format!("u{i}")})).collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"items": items, "total": 6, "size": 2, "pages": 3}))
    };
    mount_page(&server, 1, unnumbered(0..2)).await;
    mount_page(&server, 2, unnumbered(0..2)).await;
    mount_page(&server, 3, unnumbered(4..6)).await;
    let got: Vec<_> = client(&server)
        .paginate("listUsers", &params(json!({"size": 2})))
        .collect()
        .await;
    let err = got
        .into_iter()
        .find_map(Result::err)
        .expect("refused")
        .to_string();
    assert!(
        err.contains("page 2 begins with the same item as page 1 (u0)"),
        "{err}"
    );
}
