//! What a change skipped by a dry run gives the steps after it: a placeholder shaped like
//! the operation's answer, so a workflow that reads `steps.request.output[0].id` or loops
//! over `steps.x.output.items` behaves in a dry run as it does for real.
//!
//! Every field of the answer's schema is there: the value the request sent for a field of
//! the same name, an empty list for lists, nested objects for objects (two levels deep), and
//! null for everything Lumos would make up (ids, statuses, times). `dry_run: true`, `method`,
//! `path` and `body` always say what would have been sent. An operation that answers with
//! a list of objects gets a list of one such object.

use lumos_api::{Operation, Schemas, Shape};
use serde_json::{Map, Value, json};

const DEPTH: usize = 2;

pub fn placeholder(op: &Operation, path: &str, body: Option<&Value>) -> Value {
    let sent = body.and_then(Value::as_object);
    let fields = |name: Option<&str>| name.map(|n| object(n, sent, DEPTH)).unwrap_or_default();
    let mut out = match op.response.shape {
        Shape::Object => fields(op.response.schema.as_deref()),
        Shape::Array => {
            let mut one = fields(op.response.item.as_deref());
            describe(&mut one, op, path, body);
            return Value::Array(vec![Value::Object(one)]);
        }
        Shape::Listing => {
            let mut m = Map::new();
            let key = op.response.items_key.as_deref().unwrap_or("items");
            m.insert(key.to_owned(), json!([]));
            m
        }
        Shape::Any | Shape::Empty | Shape::Text => Map::new(),
    };
    describe(&mut out, op, path, body);
    Value::Object(out)
}

fn describe(out: &mut Map<String, Value>, op: &Operation, path: &str, body: Option<&Value>) {
    out.insert("dry_run".into(), json!(true));
    out.insert("method".into(), json!(op.method));
    out.insert("path".into(), json!(path));
    out.insert("body".into(), body.cloned().unwrap_or(Value::Null));
}

/// The call a placeholder describes, `{dry_run, method, path, body}`: what approvers are
/// shown of a change a run will make.
pub fn call_of(placeholder: &Value) -> Value {
    let v = match placeholder {
        Value::Array(a) if a.len() == 1 => &a[0],
        other => other,
    };
    json!({"dry_run": true, "method": v["method"], "path": v["path"], "body": v["body"]})
}

/// The fields of schema `name`, filled from what was sent where the names match.
fn object(name: &str, sent: Option<&Map<String, Value>>, depth: usize) -> Map<String, Value> {
    let Some(props) = Schemas::lumos()
        .get(name)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return Map::new();
    };
    props
        .iter()
        .map(|(field, s)| {
            let v = match sent.and_then(|m| m.get(field)) {
                Some(v) => v.clone(),
                None => empty(s, depth),
            };
            (field.clone(), v)
        })
        .collect()
}

/// An empty value of a property's type: [] for a list, an object of empties for a
/// required object, null for anything else (nothing is made up).
fn empty(s: &Value, depth: usize) -> Value {
    if s.get("type").and_then(Value::as_str) == Some("array") {
        return json!([]);
    }
    let any = s.get("anyOf").and_then(Value::as_array);
    let nullable = any.is_some_and(|a| {
        a.iter()
            .any(|x| x.get("type").and_then(Value::as_str) == Some("null"))
    });
    let named = s
        .get("ref")
        .and_then(Value::as_str)
        .or_else(|| any.and_then(|a| a.iter().find_map(|x| x.get("ref").and_then(Value::as_str))));
    match named {
        Some(n)
            if depth > 0
                && !nullable
                && Schemas::lumos()
                    .get(n)
                    .is_some_and(|x| x.get("properties").is_some()) =>
        {
            Value::Object(object(n, None, depth - 1))
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str) -> &'static Operation {
        lumos_api::Catalog::lumos()
            .get(name)
            .unwrap_or_else(|| panic!("{name}"))
    }

    #[test]
    fn a_skipped_request_looks_like_the_request_lumos_would_make() {
        let body = json!({"app_id": "a1", "business_justification": "because"});
        let create = op("createAccessRequest");
        let list = placeholder(create, "/appstore/access_requests", Some(&body));
        // Lumos answers this one with a list of requests: so does the placeholder.
        let v = &list.as_array().expect("a list")[0];
        let m = v.as_object().expect("object");
        assert_eq!(v["dry_run"], true);
        assert_eq!(v["method"], "POST");
        assert_eq!(v["body"], body);
        // Every field of the answer is there; what was sent is echoed, the rest is empty.
        let item = create.response.item.as_deref().expect("item schema");
        for field in Schemas::lumos().properties(item) {
            assert!(m.contains_key(field), "{field} missing from {v}");
        }
        assert_eq!(v["app_id"], "a1");
        assert_eq!(v["id"], Value::Null, "ids are Lumos's to make");
        assert_eq!(
            call_of(&list),
            json!({"dry_run": true, "method": "POST", "path": "/appstore/access_requests", "body": body})
        );
    }

    #[test]
    fn an_object_answer_keeps_its_fields() {
        let update = op("updateAppSettings");
        let v = placeholder(update, "/apps/x/settings", Some(&json!({})));
        assert_eq!(v["dry_run"], true);
        let schema = update.response.schema.as_deref().expect("schema");
        for field in Schemas::lumos().properties(schema) {
            assert!(v.get(field).is_some(), "{field} missing from {v}");
        }
    }
}
