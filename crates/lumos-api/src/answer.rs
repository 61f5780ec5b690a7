//! A success answer checked against what its operation promises. A captive proxy's HTML
//! page, a load balancer's error page or JSON of the wrong shape with status 200 must never
//! pass for data: each is named, so that a read can be retried and a run can fail saying
//! what came back.

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::Value;

use crate::catalog::{Operation, Shape};
use crate::schemas::Schemas;

/// What came back instead of what was promised, in words ("an HTML page (text/html)").
#[derive(Debug)]
pub(crate) struct Mismatch {
    pub found: String,
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
}

fn media_type(headers: &HeaderMap) -> String {
    content_type(headers)
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Describe a JSON value by its kind, with the keys of an object (they tell a wrong answer
/// apart from a right one at a glance).
pub(crate) fn json_kind(v: &Value) -> String {
    match v {
        Value::Null => "JSON null".to_owned(),
        Value::Bool(_) => "a JSON boolean".to_owned(),
        Value::Number(_) => "a JSON number".to_owned(),
        Value::String(_) => "a JSON text value".to_owned(),
        Value::Array(_) => "a JSON list".to_owned(),
        Value::Object(m) if m.is_empty() => "an empty JSON object".to_owned(),
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().take(6).map(String::as_str).collect();
            let more = if m.len() > 6 { ", …" } else { "" };
            format!("a JSON object with keys {}{more}", keys.join(", "))
        }
    }
}

/// Whether a body is an HTML page (by its media type or its first characters).
pub(crate) fn looks_like_html(headers: &HeaderMap, bytes: &[u8]) -> bool {
    media_type(headers) == "text/html" || html_start(bytes)
}

/// A body that is not JSON, named by its media type, with its title or first characters.
pub(crate) fn not_json(headers: &HeaderMap, bytes: &[u8]) -> Mismatch {
    let media = media_type(headers);
    let found = if bytes.iter().all(u8::is_ascii_whitespace) {
        "an empty body".to_owned()
    } else if media == "text/html" || html_start(bytes) {
        let served = match media.as_str() {
            "text/html" => "text/html".to_owned(),
            "" => "no content type".to_owned(),
            other => format!("served as {other}"),
        };
        match html_title(bytes) {
            Some(t) => format!("an HTML page ({served}) titled \"{t}\""),
            None => format!("an HTML page ({served})"),
        }
    } else {
        let what = if media.is_empty() {
            "a body that is not JSON".to_owned()
        } else {
            format!("a body that is not JSON ({media})")
        };
        format!("{what}: {}", snippet(bytes, SNIPPET))
    };
    Mismatch { found }
}

const SNIPPET: usize = 60;

fn snippet(bytes: &[u8], len: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > len {
        format!("{}…", one_line.chars().take(len).collect::<String>())
    } else {
        one_line
    }
}

/// The `<title>` of a page, which usually says who answered ("Sign in to Zscaler").
fn html_title(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).into_owned();
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let title = snippet(text.get(start..end)?.as_bytes(), SNIPPET);
    (!title.is_empty()).then_some(title)
}

fn html_start(bytes: &[u8]) -> bool {
    let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(256)])
        .trim_start()
        .chars()
        .take(15)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// Decode and check a 2xx body for `op`.
pub(crate) fn check(op: &Operation, headers: &HeaderMap, bytes: &[u8]) -> Result<Value, Mismatch> {
    let empty = bytes.iter().all(u8::is_ascii_whitespace);
    let media = media_type(headers);
    match op.response.shape {
        Shape::Text => {
            if media == "text/html" || html_start(bytes) {
                return Err(not_json(headers, bytes));
            }
            return Ok(Value::String(String::from_utf8_lossy(bytes).into_owned()));
        }
        // No content promised: an empty body or JSON is fine; an HTML page means the
        // request never reached Lumos.
        Shape::Empty if empty => return Ok(Value::Null),
        Shape::Any if empty => return Ok(Value::Null),
        _ => {}
    }
    if media == "text/html" {
        return Err(not_json(headers, bytes));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|_| not_json(headers, bytes))?;
    let schemas = Schemas::lumos();
    let fits = match op.response.shape {
        Shape::Listing => {
            let key = op.response.items_key.as_deref().unwrap_or("items");
            match value.get(key) {
                Some(Value::Array(items)) => {
                    // The first item stands for the rest: cheap, and enough to tell a
                    // listing of something else.
                    if let (Some(first), Some(item)) = (items.first(), &op.response.item)
                        && let Some(why) = schemas.misfit(item, first)
                    {
                        return Err(Mismatch {
                            found: format!("a page whose items are JSON objects {why}"),
                        });
                    }
                    true
                }
                _ if value.is_object() => {
                    return Err(Mismatch {
                        found: format!("{} but no '{key}' list", json_kind(&value)),
                    });
                }
                _ => false,
            }
        }
        Shape::Object => {
            if let (true, Some(name)) = (value.is_object(), &op.response.schema)
                && let Some(why) = schemas.misfit(name, &value)
            {
                return Err(Mismatch {
                    found: format!("{} {why}", json_kind(&value)),
                });
            }
            value.is_object()
        }
        Shape::Array => value.is_array(),
        Shape::Any | Shape::Empty | Shape::Text => true,
    };
    if fits {
        Ok(value)
    } else {
        Err(Mismatch {
            found: json_kind(&value),
        })
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;
    use crate::Catalog;

    fn headers(ct: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        h
    }

    fn op(name: &str) -> &'static Operation {
        Catalog::lumos().get(name).expect("operation")
    }

    #[test]
    fn html_is_never_data() {
        let e = check(
            op("listUsers"),
            &headers("text/html; charset=utf-8"),
            b"<html><head><title>Sign in to the proxy</title></head></html>",
        )
        .expect_err("html");
        assert_eq!(
            e.found,
            "an HTML page (text/html) titled \"Sign in to the proxy\""
        );
        let e = check(
            op("getLumosArt"),
            &headers("text/html"),
            b"<!DOCTYPE html><p>",
        )
        .expect_err("html for text");
        assert!(e.found.starts_with("an HTML page"), "{}", e.found);
        let e = check(
            op("deleteAccessPolicy"),
            &headers("text/html"),
            b"<html></html>",
        )
        .expect_err("html for 204");
        assert!(e.found.starts_with("an HTML page"));
    }

    #[test]
    fn shapes_are_checked() {
        let json = headers("application/json");
        let e = check(op("listUsers"), &json, br#"{"data": []}"#).expect_err("no items");
        assert_eq!(e.found, "a JSON object with keys data but no 'items' list");
        let e = check(op("listUsers"), &json, b"[]").expect_err("list");
        assert_eq!(e.found, "a JSON list");
        let e = check(op("getApp"), &json, b"\"x\"").expect_err("text");
        assert_eq!(e.found, "a JSON text value");
        let e = check(op("getApp"), &json, br#"{"data": [], "message": "ok"}"#)
            .expect_err("other object");
        assert!(
            e.found
                .starts_with("a JSON object with keys data, message without the required id"),
            "{}",
            e.found
        );
        let e = check(op("listUsers"), &json, br#"{"items": [{"name": "x"}]}"#).expect_err("items");
        assert_eq!(
            e.found,
            "a page whose items are JSON objects without the required id"
        );
        let e = check(op("getApp"), &json, b"").expect_err("empty");
        assert_eq!(e.found, "an empty body");
        let e = check(op("getApp"), &json, b"{\"id\": tru").expect_err("cut");
        assert_eq!(
            e.found,
            "a body that is not JSON (application/json): {\"id\": tru"
        );
        assert!(check(op("getUser"), &json, br#"{"id": "1"}"#).is_ok());
        assert!(
            check(
                op("getIdentityEvents"),
                &json,
                br#"{"identity_events": []}"#
            )
            .is_ok()
        );
        assert!(check(op("getIdentityEvents"), &json, br#"{"items": []}"#).is_err());
        assert_eq!(
            check(op("deleteAccessPolicy"), &HeaderMap::new(), b"").expect("204"),
            Value::Null
        );
        assert!(check(op("getLumosArt"), &headers("text/plain"), b"*~*").is_ok());
    }
}
