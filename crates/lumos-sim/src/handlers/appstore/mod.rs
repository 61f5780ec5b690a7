//! AppStore: store apps and their settings, requestable permissions, pre-approval rules, and
//! access requests, one file each; the lookups they share are here.

mod apps;
mod permissions;
mod requests;
mod rules;
mod settings;

pub use apps::*;
pub use permissions::*;
pub use requests::*;
pub use rules::*;
pub use settings::*;

use serde_json::{Value, json};

use crate::handlers::find;
use crate::ids::Kind;
use crate::org::Org;
use crate::wire::{self, Result, SimError};

pub(super) fn app_idx(org: &Org, id: &str) -> Result<usize> {
    find(org, Kind::App, id, org.apps.len(), "App")
}

/// Settings of an app that is not in the AppStore: the schema's defaults.
pub(super) fn resolve_principals(org: &Org, v: &Value, field: &str) -> Result<Value> {
    let mut out = json!({"groups": [], "users": []});
    for (key, kind) in [("users", Kind::User), ("groups", Kind::Group)] {
        let mut list = Vec::new();
        for item in v.get(key).and_then(Value::as_array).into_iter().flatten() {
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
            let idx = org.ids.parse(kind, id).filter(|&i| {
                i < if kind == Kind::User {
                    org.users.len()
                } else {
                    org.groups.len()
                }
            });
            let Some(idx) = idx else {
                return Err(SimError::unknown_in_body(field, &key[..key.len() - 1], id));
            };
            list.push(if kind == Kind::User {
                org.user_json(idx)
            } else {
                org.group_json(idx)
            });
        }
        out[key] = Value::Array(list);
    }
    Ok(out)
}

/// `[{id}]` group references as full groups.
pub(super) fn resolve_groups(org: &Org, list: &Value, field: &str) -> Result<Value> {
    Ok(resolve_principals(org, &json!({ "groups": list }), field)?["groups"].take())
}

/// An `AllowedGroupsConfigInput` (`{type, groups: [{id}]}`) as its output shape.
pub(super) fn allowed_groups(org: &Org, v: &Value, field: &str) -> Result<Value> {
    let kind = v
        .get("type")
        .filter(|t| !t.is_null())
        .cloned()
        .unwrap_or_else(|| json!("ALL_GROUPS"));
    check_enum(&kind, &format!("{field}.type"), "AllowedGroupsConfigType")?;
    let groups = resolve_groups(org, v.get("groups").unwrap_or(&Value::Null), field)?;
    Ok(json!({"type": kind, "groups": groups}))
}

/// `v` must be a value of the spec's enum `name`.
pub(super) fn check_enum(v: &Value, field: &str, name: &str) -> Result<()> {
    let values: Vec<&str> = crate::names::spec_enum(name)
        .iter()
        .map(String::as_str)
        .collect();
    match v {
        // Whether null may be given is the document's to say, and the body was checked
        // against it before any handler runs.
        Value::Null => Ok(()),
        Value::String(s) if values.contains(&s.as_str()) => Ok(()),
        _ => Err(wire::enum_error(field, &values)),
    }
}
