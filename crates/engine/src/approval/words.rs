//! A held run's changes in words, as approvers read them: "Request Slack · Member · 7 days
//! for Grace Costa". Ids are named from what the run read before it stopped (the app,
//! user and permission objects its steps fetched), so naming costs no call to Lumos and
//! works for any workflow; an id nothing named stays as it is.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// How deep the reads are searched for named objects.
const DEPTH: usize = 16;

/// The names of the ids the `calls` send, found in the `steps` a run read.
pub fn names(calls: &Value, steps: &Value) -> BTreeMap<String, String> {
    let mut wanted = BTreeSet::new();
    for call in calls.as_array().into_iter().flatten() {
        for seg in call["path"]
            .as_str()
            .unwrap_or("")
            .split(['/', '?', '&', '='])
        {
            if looks_like_id(seg) {
                wanted.insert(seg.to_owned());
            }
        }
        strings(&call["body"], &mut wanted, 0);
    }
    let mut out = BTreeMap::new();
    if !wanted.is_empty() {
        find(steps, &wanted, &mut out, 0);
    }
    out
}

/// Why the requester asked: the run's `reason` input (or `justification`,
/// `business_justification`).
pub fn requester_reason(inputs: &Value) -> Option<String> {
    ["reason", "justification", "business_justification"]
        .iter()
        .find_map(|k| inputs[*k].as_str())
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
}

/// A held run's changes in words, from its resume point (the calls and what it read).
pub fn held_changes(resume: &Value) -> Vec<String> {
    let names = names(&resume["preview"], &resume["steps"]);
    describe(&resume["preview"], &names)
}

/// Each call in words, its ids named.
pub fn describe(calls: &Value, names: &BTreeMap<String, String>) -> Vec<String> {
    calls
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| call(c, names))
        .collect()
}

fn call(c: &Value, names: &BTreeMap<String, String>) -> String {
    let method = c["method"].as_str().unwrap_or("");
    let path = c["path"].as_str().unwrap_or("");
    let body = &c["body"];
    let named = |v: &Value| named(v, names);
    let request = lumos_api::Catalog::lumos().get("createAccessRequest");
    if request.is_some_and(|op| op.method.eq_ignore_ascii_case(method) && op.path == path) {
        let mut what = vec![named(&body["app_id"])];
        what.push(named(&body["requestable_permission_ids"]));
        what.push(
            match (&body["access_length"], &body["expiration_in_seconds"]) {
                (Value::String(l), _) if !l.is_empty() => l.clone(),
                (_, Value::Number(s)) => format!("{s} seconds"),
                _ => String::new(),
            },
        );
        what.retain(|w| !w.is_empty());
        let whom = named(&body["target_user_id"]);
        let whom = if whom.is_empty() {
            String::new()
        } else {
            format!(" for {whom}")
        };
        return format!("Request {}{whom}", what.join(" · "));
    }
    let path = path
        .split('/')
        .map(|seg| names.get(seg).map_or(seg, String::as_str))
        .collect::<Vec<_>>()
        .join("/");
    let fields: Vec<String> = body
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (label(k), named(v)))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    if fields.is_empty() {
        format!("{method} {path}")
    } else {
        format!("{method} {path} — {}", fields.join("; "))
    }
}

/// A value as words: an id by its name, a list joined, nothing for null.
fn named(v: &Value, names: &BTreeMap<String, String>) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => names.get(s).cloned().unwrap_or_else(|| s.clone()),
        Value::Array(a) => a
            .iter()
            .map(|x| named(x, names))
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// `target_user_id` → "Target user".
fn label(field: &str) -> String {
    let base = field
        .strip_suffix("_ids")
        .or_else(|| field.strip_suffix("_id"))
        .unwrap_or(field)
        .replace('_', " ");
    let mut chars = base.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => base,
    }
}

/// Ids as Lumos writes them (UUIDs, numbers, opaque keys): long enough, no spaces.
fn looks_like_id(s: &str) -> bool {
    s.len() >= 8
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn strings(v: &Value, out: &mut BTreeSet<String>, depth: usize) {
    if depth > DEPTH {
        return;
    }
    match v {
        Value::String(s) if looks_like_id(s) => {
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out, depth + 1)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out, depth + 1)),
        _ => {}
    }
}

fn find(v: &Value, wanted: &BTreeSet<String>, out: &mut BTreeMap<String, String>, depth: usize) {
    if depth > DEPTH || out.len() == wanted.len() {
        return;
    }
    match v {
        Value::Object(m) => {
            if let Some(Value::String(id)) = m.get("id")
                && wanted.contains(id)
                && !out.contains_key(id)
                && let Some(n) = crate::naming::name_of(m)
            {
                out.insert(id.clone(), n);
            }
            m.values().for_each(|x| find(x, wanted, out, depth + 1));
        }
        Value::Array(a) => a.iter().for_each(|x| find(x, wanted, out, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_access_request_reads_as_people_say_it() {
        let app = "2feb6e95-0002-4000-8000-000000000004";
        let user = "00000000-0001-4000-8000-000000000042";
        let perm = "77777777-0003-4000-8000-000000000001";
        let steps = json!({
            "users": {"output": {"items": [{"id": user, "given_name": "Grace", "family_name": "Costa", "email": "grace@x.io"}]}},
            "app": {"output": [{"id": app, "user_friendly_label": "Slack"}]},
            "permissions": {"output": {"items": [{"id": perm, "label": "Member"}]}},
        });
        let calls = json!([{"method": "POST", "path": "/appstore/access_request", "body": {
            "app_id": app, "target_user_id": user, "requestable_permission_ids": [perm],
            "access_length": "7 days", "business_justification": "on-call webinar host"}}]);
        let n = names(&calls, &steps);
        assert_eq!(
            describe(&calls, &n),
            ["Request Slack · Member · 7 days for Grace Costa"]
        );
        // Anything else: the call, its ids named, and its fields.
        let other = json!([{"method": "POST", "path": format!("/apps/{app}/sync"), "body": {"user_id": user, "note": null}}]);
        assert_eq!(
            describe(&other, &names(&other, &steps)),
            ["POST /apps/Slack/sync — User: Grace Costa"]
        );
        // An id the run never read stays an id.
        let unknown = json!([{"method": "DELETE", "path": "/groups/99999999-0000-4000-8000-000000000000", "body": null}]);
        assert_eq!(
            describe(&unknown, &names(&unknown, &steps)),
            ["DELETE /groups/99999999-0000-4000-8000-000000000000"]
        );
    }
}
