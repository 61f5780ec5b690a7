//! An app's AppStore settings: who may see and request it, and how requests are approved.

use serde_json::{Map, Value, json};

use super::*;
use crate::handlers::{Ctx, find};
use crate::ids::Kind;
use crate::names;
use crate::org::Org;
use crate::wire::{Reply, Result, SimError, json, object, opt_bool};

pub(super) fn default_settings() -> Value {
    json!({
        "custom_request_instructions": "",
        "redirect_url": null,
        "request_flow": {
            "discoverability": "NONE", "custom_approval_message": "", "require_manager_approval": false,
            "require_additional_approval": false, "allowed_groups": {"type": "ALL_GROUPS", "groups": []},
            "approvers": {"groups": [], "users": []}, "approvers_stage_2": {"groups": [], "users": []},
            "response_describes_entire_approval_workflow": false, "admins": {"groups": [], "users": []},
            "request_validation_inline_webhook": null,
        },
        "provisioning": {
            "groups_provisioning": "DIRECT_TO_USER", "time_based_access": [], "allow_multiple_permission_selection": false,
            "manual_steps_needed": false, "custom_provisioning_instructions": null, "default_time_based_access_option": null,
            "default_permission": null, "provisioning_webhook": null, "access_removal_inline_webhook": null,
        },
    })
}

pub(super) fn settings_json(org: &Org, app: u32, with_in_store: bool) -> Value {
    let mut s = org
        .appstore
        .get(&app)
        .cloned()
        .unwrap_or_else(default_settings);
    if let Some(p) = s["provisioning"]["default_permission"]
        .as_str()
        .and_then(|id| org.ids.parse(Kind::Permission, id))
    {
        s["provisioning"]["default_permission"] = permission_json(org, p, true);
    }
    if with_in_store {
        s["in_app_store"] = Value::Bool(org.appstore.contains_key(&app));
    }
    s
}

pub fn get_settings(org: &Org, ctx: &Ctx, app_settings: bool) -> Result<Reply> {
    let a = app_idx(org, ctx.path("app_id"))? as u32;
    if !app_settings && !org.appstore.contains_key(&a) {
        return Err(SimError::not_found("AppStore app"));
    }
    Ok(json(200, &settings_json(org, a, app_settings)))
}

/// Turn `[{id}]` references into full users or groups; unknown ids are a 422 on `field`.
pub(super) fn merge_settings(
    org: &Org,
    current: &mut Value,
    body: &Map<String, Value>,
) -> Result<()> {
    if let Some(v) = body.get("custom_request_instructions") {
        current["custom_request_instructions"] = Value::from(v.as_str().unwrap_or_default());
    }
    if let Some(v) = body.get("redirect_url") {
        if v.as_str().is_some_and(|s| s.len() > 2048) {
            return Err(SimError::body_field(
                "redirect_url",
                "String should have at most 2048 characters",
                "string_too_long",
            ));
        }
        current["redirect_url"] = v.clone();
    }
    if let Some(flow) = body.get("request_flow").and_then(Value::as_object) {
        let cur = &mut current["request_flow"];
        for (k, v) in flow {
            match k.as_str() {
                "discoverability" => {
                    check_enum(v, "request_flow.discoverability", "AppStoreVisibility")?;
                    if !v.is_null() {
                        cur[k] = v.clone();
                    }
                }
                "approvers" | "approvers_stage_2" | "admins" => {
                    cur[k] = resolve_principals(org, v, k)?
                }
                "allowed_groups" => {
                    if v.is_null() {
                        cur[k] = json!({"type": "ALL_GROUPS", "groups": []});
                    } else {
                        cur[k] = allowed_groups(org, v, "request_flow.allowed_groups")?;
                    }
                }
                "require_manager_approval" | "require_additional_approval" => {
                    if !v.is_boolean() {
                        return Err(SimError::body_field(
                            k,
                            "Input should be a valid boolean",
                            "bool_type",
                        ));
                    }
                    cur[k] = v.clone();
                    if k == "require_additional_approval" && v == &Value::Bool(false) {
                        // Writing false folds stage-2 approvers into stage 1.
                        let mut merged = cur["approvers"].clone();
                        for key in ["users", "groups"] {
                            let extra = cur["approvers_stage_2"][key]
                                .as_array()
                                .cloned()
                                .unwrap_or_default();
                            if let Some(list) = merged[key].as_array_mut() {
                                list.extend(extra);
                            }
                        }
                        cur["approvers"] = merged;
                        cur["approvers_stage_2"] = json!({"groups": [], "users": []});
                    }
                }
                "request_validation_inline_webhook" => cur[k] = webhook_ref(org, v, k)?,
                "custom_approval_message" => cur[k] = Value::from(v.as_str().unwrap_or_default()),
                _ => {}
            }
        }
    }
    if let Some(prov) = body.get("provisioning").and_then(Value::as_object) {
        let cur = &mut current["provisioning"];
        for (k, v) in prov {
            match k.as_str() {
                "groups_provisioning" => {
                    check_enum(
                        v,
                        "provisioning.groups_provisioning",
                        "GroupProvisioningOption",
                    )?;
                    if !v.is_null() {
                        cur[k] = v.clone();
                    }
                }
                "time_based_access" => {
                    let list: Vec<&str> = v
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    if let Some(bad) = list.iter().find(|l| !names::ACCESS_LENGTHS.contains(l)) {
                        // The document types these as free strings, so an unknown label is a
                        // rule broken (400), not a malformed body (422).
                        return Err(SimError::Status(
                            400,
                            format!(
                                "'{bad}' in provisioning.time_based_access is not an access length Lumos offers ({})",
                                names::ACCESS_LENGTHS.join(", ")
                            ),
                        ));
                    }
                    cur[k] = json!(list);
                }
                "default_permission" => {
                    cur[k] = match v.get("id").and_then(Value::as_str) {
                        Some(id) => {
                            find(
                                org,
                                Kind::Permission,
                                id,
                                org.permissions.len(),
                                "Permission",
                            )?;
                            Value::from(id)
                        }
                        None => Value::Null,
                    }
                }
                "provisioning_webhook" | "access_removal_inline_webhook" => {
                    cur[k] = webhook_ref(org, v, k)?
                }
                "allow_multiple_permission_selection" | "manual_steps_needed" => {
                    cur[k] = Value::Bool(v.as_bool().unwrap_or(false))
                }
                "custom_provisioning_instructions" | "default_time_based_access_option" => {
                    cur[k] = v.clone()
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Keeps `app`'s AppStore settings, and the app's legacy mirror of its provisioning flag
/// (`allow_multiple_permission_selection` on the app itself) in step with them.
pub(super) fn keep_settings(org: &mut Org, app: u32, settings: Value) {
    org.apps[app as usize].allow_multi =
        settings["provisioning"]["allow_multiple_permission_selection"]
            .as_bool()
            .unwrap_or(false);
    org.appstore.insert(app, settings);
}

pub(super) fn webhook_ref(org: &Org, v: &Value, field: &str) -> Result<Value> {
    match v.get("id").and_then(Value::as_str) {
        None => Ok(Value::Null),
        Some(id) => org
            .inline_webhooks
            .iter()
            .find(|h| h["id"] == id)
            .cloned()
            .ok_or_else(|| SimError::unknown_in_body(field, "inline webhook", id)),
    }
}

pub fn update_settings(org: &mut Org, ctx: &Ctx, app_settings: bool) -> Result<Reply> {
    ctx.require_admin()?;
    let a = app_idx(org, ctx.path("app_id"))? as u32;
    let body = object(&ctx.body)?;
    if !app_settings && !org.appstore.contains_key(&a) {
        return Err(SimError::not_found("AppStore app"));
    }
    let mut current = org
        .appstore
        .get(&a)
        .cloned()
        .unwrap_or_else(default_settings);
    merge_settings(org, &mut current, body)?;
    let in_store = if app_settings {
        opt_bool(body, "in_app_store")?
    } else {
        None
    };
    match in_store {
        Some(false) => {
            org.appstore.remove(&a);
        }
        _ if org.appstore.contains_key(&a) || in_store == Some(true) => {
            keep_settings(org, a, current.clone());
        }
        _ => {}
    }
    let mut out = if org.appstore.contains_key(&a) {
        settings_json(org, a, false)
    } else {
        current
    };
    if app_settings {
        out["in_app_store"] = Value::Bool(org.appstore.contains_key(&a));
    }
    Ok(json(200, &out))
}
