//! AppStore: store apps and their settings, requestable permissions, pre-approval rules, and
//! access requests.

use serde_json::{Map, Value, json};

use super::{Ctx, find};
use crate::ids::Kind;
use crate::lifecycle;
use crate::names;
use crate::org::{Assignee, Org, Permission};
use crate::render;
use crate::time::{now, ts};
use crate::wire::{
    self, PageOut, Reply, Result, SimError, json, matches, object, opt_bool, opt_int, opt_str,
    req_str, window,
};

fn app_idx(org: &Org, id: &str) -> Result<usize> {
    find(org, Kind::App, id, org.apps.len(), "App")
}

/// Settings of an app that is not in the AppStore: the schema's defaults.
fn default_settings() -> Value {
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

fn settings_json(org: &Org, app: u32, with_in_store: bool) -> Value {
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
fn resolve_principals(org: &Org, v: &Value, field: &str) -> Result<Value> {
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
                return Err(SimError::body_field(
                    field,
                    &format!("Unknown {} id '{id}'", &key[..key.len() - 1]),
                    "value_error",
                ));
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
fn resolve_groups(org: &Org, list: &Value, field: &str) -> Result<Value> {
    Ok(resolve_principals(org, &json!({ "groups": list }), field)?["groups"].take())
}

/// An `AllowedGroupsConfigInput` (`{type, groups: [{id}]}`) as its output shape.
fn allowed_groups(org: &Org, v: &Value, field: &str) -> Result<Value> {
    let kind = v
        .get("type")
        .cloned()
        .unwrap_or_else(|| json!("ALL_GROUPS"));
    check_enum(
        &kind,
        &format!("{field}.type"),
        &["ALL_GROUPS", "SPECIFIED_GROUPS"],
    )?;
    let groups = resolve_groups(org, v.get("groups").unwrap_or(&Value::Null), field)?;
    Ok(json!({"type": kind, "groups": groups}))
}

fn check_enum(v: &Value, field: &str, values: &[&str]) -> Result<()> {
    match v.as_str() {
        Some(s) if values.contains(&s) => Ok(()),
        _ => Err(wire::enum_error(field, values)),
    }
}

/// Apply an `AppStoreAppSettingsInput`-shaped patch onto stored settings.
fn merge_settings(org: &Org, current: &mut Value, body: &Map<String, Value>) -> Result<()> {
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
                    check_enum(
                        v,
                        "request_flow.discoverability",
                        &["FULL", "LIMITED", "NONE"],
                    )?;
                    cur[k] = v.clone();
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
                        &["DIRECT_TO_USER", "GROUPS_AND_HIDDEN", "GROUPS_AND_VISIBLE"],
                    )?;
                    cur[k] = v.clone();
                }
                "time_based_access" => {
                    let list: Vec<&str> = v
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    if let Some(bad) = list.iter().find(|l| !names::ACCESS_LENGTHS.contains(l)) {
                        return Err(SimError::body_field(
                            "provisioning.time_based_access",
                            &format!("'{bad}' is not one of {}", names::ACCESS_LENGTHS.join(", ")),
                            "enum",
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

fn webhook_ref(org: &Org, v: &Value, field: &str) -> Result<Value> {
    match v.get("id").and_then(Value::as_str) {
        None => Ok(Value::Null),
        Some(id) => org
            .inline_webhooks
            .iter()
            .find(|h| h["id"] == id)
            .cloned()
            .ok_or_else(|| {
                SimError::body_field(
                    field,
                    &format!("Unknown inline webhook '{id}'"),
                    "value_error",
                )
            }),
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
            org.appstore.insert(a, current.clone());
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

pub fn add_to_store(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let body = object(&ctx.body)?;
    let a = app_idx(org, req_str(body, "app_id")?)? as u32;
    let mut current = org
        .appstore
        .get(&a)
        .cloned()
        .unwrap_or_else(default_settings);
    merge_settings(org, &mut current, body)?;
    org.appstore.insert(a, current);
    Ok(json(200, &settings_json(org, a, false)))
}

pub fn remove_from_store(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let a = app_idx(org, ctx.path("app_id"))? as u32;
    if org.appstore.remove(&a).is_none() {
        return Err(SimError::not_found("AppStore app"));
    }
    Ok(json(
        200,
        &json!({"id": org.apps[a as usize].id, "in_app_store": false}),
    ))
}

/// Can `user` see this store app without `all_visibilities`?
fn visible_to(org: &Org, app: u32, user: u32) -> bool {
    let flow = &org.appstore[&app]["request_flow"];
    match flow["discoverability"].as_str() {
        Some("FULL") => true,
        Some("LIMITED") => flow["allowed_groups"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|g| {
                g["id"]
                    .as_str()
                    .and_then(|id| org.ids.parse(Kind::Group, id))
                    .is_some_and(|gi| org.user_in_group(user, &org.groups[gi]))
            }),
        _ => false,
    }
}

pub fn list_store_apps(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let all = q.bool("all_visibilities").unwrap_or(false);
    if all {
        ctx.require_admin()?;
    }
    let (page, size) = q.page();
    let exact = q.bool("exact_match").unwrap_or(false);
    let only = q.str("app_id").map(|id| org.ids.parse(Kind::App, id));
    let hits: Vec<u32> = org
        .appstore
        .keys()
        .copied()
        .filter(|&a| only.is_none_or(|o| o == Some(a as usize)))
        .filter(|&a| all || visible_to(org, a, ctx.user()))
        .filter(|&a| {
            let app = &org.apps[a as usize];
            q.str("name_search").is_none_or(|n| {
                matches(&app.label, n, exact)
                    || matches(&app.instance_id, n, exact)
                    || matches(&app.class_id, n, exact)
            })
        })
        .collect();
    let attrs = Some(q.has("expand", "custom_attributes"));
    let w = window(hits.len(), page, size);
    let items: Vec<_> = hits[w]
        .iter()
        .map(|&a| render::app(ctx.base_url, &org.apps[a as usize], attrs))
        .collect();
    Ok(json(200, &PageOut::new(items, hits.len(), page, size)))
}

pub fn get_store_app(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let a = app_idx(org, ctx.path("app_id"))?;
    if !org.appstore.contains_key(&(a as u32)) {
        return Err(SimError::not_found("AppStore app"));
    }
    Ok(json(
        200,
        &render::app(
            ctx.base_url,
            &org.apps[a],
            Some(ctx.query.has("expand", "custom_attributes")),
        ),
    ))
}

/// A permission as `RequestablePermissionOutput`; with `inherit`, parts it does not override
/// come from the app's settings.
pub fn permission_json(org: &Org, p: usize, inherit: bool) -> Value {
    let perm = &org.permissions[p];
    let mut out = org.permission_base_json(p);
    let mut config = perm.config.clone();
    if inherit && let Some(settings) = org.appstore.get(&perm.app) {
        let flow = &settings["request_flow"];
        let approval = &mut config["request_approval_config"];
        if approval["request_approval_config_override"].as_bool() != Some(true) {
            let stage = |principals: &Value| -> Value {
                let mut approvers = Vec::new();
                for u in principals["users"].as_array().into_iter().flatten() {
                    approvers.push(json!({"type": "USER", "user": u, "group": null}));
                }
                for g in principals["groups"].as_array().into_iter().flatten() {
                    approvers.push(json!({"type": "GROUP", "user": null, "group": g}));
                }
                json!({"approvers": approvers})
            };
            let mut stages = vec![stage(&flow["approvers"])];
            if flow["require_additional_approval"].as_bool() == Some(true) {
                stages.push(stage(&flow["approvers_stage_2"]));
            }
            *approval = json!({
                "request_approval_config_override": false,
                "manager_approval": if flow["require_manager_approval"].as_bool() == Some(true) { "INITIAL_APPROVAL" } else { "NONE" },
                "require_additional_approval": flow["require_additional_approval"],
                "custom_approval_message": flow["custom_approval_message"],
                "custom_approval_message_override": false,
                "approvers": flow["approvers"],
                "approvers_stage_2": flow["approvers_stage_2"],
                "request_approval_stages": stages,
                "response_describes_entire_approval_workflow": flow["response_describes_entire_approval_workflow"],
            });
        }
        if config["allowed_groups_override"].as_bool() != Some(true) {
            config["allowed_groups"] = flow["allowed_groups"].clone();
        }
        let fulfil = &mut config["request_fulfillment_config"];
        if fulfil["time_based_access_override"].as_bool() != Some(true) {
            fulfil["time_based_access"] = settings["provisioning"]["time_based_access"].clone();
        }
        if fulfil["manual_steps_needed"].is_null() {
            fulfil["manual_steps_needed"] = settings["provisioning"]["manual_steps_needed"].clone();
        }
    }
    out["request_config"] = config;
    out
}

fn permission_idx(org: &Org, id: &str) -> Result<usize> {
    let p = find(
        org,
        Kind::Permission,
        id,
        org.permissions.len(),
        "Requestable permission",
    )?;
    if org.permissions[p].deleted {
        Err(SimError::not_found("Requestable permission"))
    } else {
        Ok(p)
    }
}

pub fn list_permissions(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let by_path = ctx.op.path.starts_with("/appstore/apps/");
    let app: Option<Option<usize>> = if by_path {
        Some(Some(app_idx(org, ctx.path("app_id"))?))
    } else {
        q.str("app_id").map(|id| org.ids.parse(Kind::App, id))
    };
    let exact = q.bool("exact_match").unwrap_or(false);
    let inherit = q.bool("include_inherited_configs").unwrap_or(true);
    let items: Vec<Value> = org
        .permissions
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.deleted)
        .filter(|(_, p)| app.is_none_or(|a| a == Some(p.app as usize)))
        .filter(|(_, p)| {
            q.str("search_term").is_none_or(|t| {
                matches(&p.label, t, exact) || matches(&p.integration_specific_id, t, exact)
            })
        })
        .filter(|(_, p)| {
            q.bool("in_app_store")
                .is_none_or(|v| (p.config["appstore_visibility"].as_str() == Some("VISIBLE")) == v)
        })
        .map(|(i, _)| permission_json(org, i, inherit))
        .collect();
    Ok(wire::page_of(items, q))
}

pub fn get_permission(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let p = permission_idx(org, ctx.path("permission_id"))?;
    Ok(json(
        200,
        &permission_json(
            org,
            p,
            ctx.query.bool("include_inherited_configs").unwrap_or(true),
        ),
    ))
}

/// Build a permission-level config from a `RequestConfigInput*`.
fn permission_config(org: &Org, input: Option<&Value>, base: Value) -> Result<Value> {
    let mut config = base;
    let Some(input) = input.and_then(Value::as_object) else {
        return Ok(config);
    };
    for (k, v) in input {
        match k.as_str() {
            "appstore_visibility" => {
                check_enum(
                    v,
                    "request_config.appstore_visibility",
                    &["HIDDEN", "VISIBLE"],
                )?;
                config[k] = v.clone();
            }
            "allowed_groups_override" => config[k] = v.clone(),
            "allowed_groups" => {
                config[k] = if v.is_null() {
                    Value::Null
                } else {
                    allowed_groups(org, v, "request_config.allowed_groups")?
                }
            }
            "request_approval_config" => {
                let mut out = config[k].as_object().cloned().unwrap_or_default();
                for (ak, av) in v.as_object().into_iter().flatten() {
                    match ak.as_str() {
                        "manager_approval" => {
                            check_enum(
                                av,
                                "request_config.request_approval_config.manager_approval",
                                &["NONE", "INITIAL_APPROVAL"],
                            )?;
                            out.insert(ak.clone(), av.clone());
                        }
                        "approvers" | "approvers_stage_2" => {
                            out.insert(ak.clone(), resolve_principals(org, av, ak)?);
                        }
                        _ => {
                            out.insert(ak.clone(), av.clone());
                        }
                    }
                }
                config[k] = Value::Object(out);
            }
            "request_fulfillment_config" => {
                let mut out = config[k].as_object().cloned().unwrap_or_default();
                for (fk, fv) in v.as_object().into_iter().flatten() {
                    if fk == "provisioning_group" {
                        continue;
                    }
                    out.insert(fk.clone(), fv.clone());
                }
                out.entry("time_based_access").or_insert_with(|| json!([]));
                config[k] = Value::Object(out);
            }
            "access_removal_inline_webhook" | "request_validation_inline_webhook" => {
                config[k] = webhook_ref(org, v, k)?
            }
            _ => {}
        }
    }
    Ok(config)
}

fn empty_config() -> Value {
    json!({
        "appstore_visibility": "HIDDEN", "allowed_groups_override": false, "allowed_groups": null,
        "request_approval_config": {"request_approval_config_override": false, "manager_approval": "NONE"},
        "request_fulfillment_config": {"time_based_access": [], "time_based_access_override": false},
        "access_removal_inline_webhook": null, "request_validation_inline_webhook": null,
    })
}

pub fn create_permission(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let body = object(&ctx.body)?;
    let app = app_idx(org, req_str(body, "app_id")?)?;
    let label = req_str(body, "label")?.to_owned();
    let config = permission_config(org, body.get("request_config"), empty_config())?;
    let idx = org.permissions.len();
    org.permissions.push(Permission {
        id: org.ids.id(Kind::Permission, idx),
        app: app as u32,
        label,
        kind: "NATIVE",
        integration_specific_id: format!("native-{idx}"),
        config,
        deleted: false,
    });
    Ok(json(
        201,
        &permission_json(
            org,
            idx,
            ctx.query.bool("include_inherited_configs").unwrap_or(true),
        ),
    ))
}

pub fn update_permission(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let p = permission_idx(org, ctx.path("permission_id"))?;
    let body = object(&ctx.body)?;
    let label = opt_str(body, "label")?.map(str::to_owned);
    let config = permission_config(
        org,
        body.get("request_config"),
        org.permissions[p].config.clone(),
    )?;
    let perm = &mut org.permissions[p];
    if let Some(l) = label {
        perm.label = l;
    }
    perm.config = config;
    Ok(json(
        200,
        &permission_json(
            org,
            p,
            ctx.query.bool("include_inherited_configs").unwrap_or(true),
        ),
    ))
}

pub fn delete_permission(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let p = permission_idx(org, ctx.path("permission_id"))?;
    if org.permissions[p].kind != "NATIVE" {
        return Err(SimError::Status(
            400,
            "Only NATIVE permissions can be deleted".into(),
        ));
    }
    org.permissions[p].deleted = true;
    Ok(Reply::Empty(204))
}

fn rule_idx(org: &Org, id: &str) -> Result<usize> {
    let r = find(
        org,
        Kind::PreApprovalRule,
        id,
        org.pre_approval_rules.len(),
        "Pre-approval rule",
    )?;
    if org.pre_approval_rules[r].is_none() {
        Err(SimError::not_found("Pre-approval rule"))
    } else {
        Ok(r)
    }
}

pub fn list_rules(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let app = ctx.query.str("app_id");
    let items: Vec<Value> = org
        .pre_approval_rules
        .iter()
        .flatten()
        .filter(|r| app.is_none_or(|a| r["app_id"] == a))
        .cloned()
        .collect();
    Ok(wire::page_of(items, &ctx.query))
}

pub fn get_rule(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let r = rule_idx(org, ctx.path("pre_approval_rule_id"))?;
    Ok(json(200, &org.pre_approval_rules[r]))
}

fn rule_fields(org: &Org, body: &Map<String, Value>, rule: &mut Value) -> Result<()> {
    rule["justification"] = Value::from(req_str(body, "justification")?);
    if let Some(t) = body.get("time_based_access") {
        rule["time_based_access"] = t.clone();
    }
    if let Some(g) = body.get("preapproved_groups") {
        rule["preapproved_groups"] = resolve_groups(org, g, "preapproved_groups")?;
    }
    if let Some(ps) = body
        .get("preapproved_permissions")
        .and_then(Value::as_array)
    {
        let mut out = Vec::new();
        for p in ps {
            let id = p.get("id").and_then(Value::as_str).unwrap_or_default();
            out.push(org.permission_base_json(permission_idx(org, id)?));
        }
        rule["preapproved_permissions"] = Value::Array(out);
    }
    if let Some(a) = body.get("preapproved_users_by_attribute") {
        rule["preapproved_users_by_attribute"] = a.clone();
    }
    if let Some(hooks) = body.get("preapproval_webhooks").and_then(Value::as_array) {
        let resolved: Result<Vec<Value>> = hooks
            .iter()
            .map(|h| webhook_ref(org, h, "preapproval_webhooks"))
            .collect();
        rule["preapproval_webhooks"] = Value::Array(resolved?);
    }
    Ok(())
}

pub fn create_rule(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let body = object(&ctx.body)?;
    let a = app_idx(org, req_str(body, "app_id")?)?;
    let idx = org.pre_approval_rules.len();
    let app = &org.apps[a];
    let mut rule = json!({
        "id": org.ids.id(Kind::PreApprovalRule, idx), "justification": "", "time_based_access": [],
        "app_id": app.id, "app_class_id": app.class_id, "app_instance_id": app.instance_id,
        "preapproved_groups": [], "preapproved_users_by_attribute": [], "preapproved_permissions": [], "preapproval_webhooks": [],
    });
    rule_fields(org, body, &mut rule)?;
    org.pre_approval_rules.push(Some(rule.clone()));
    Ok(json(201, &rule))
}

pub fn update_rule(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let r = rule_idx(org, ctx.path("pre_approval_rule_id"))?;
    let body = object(&ctx.body)?;
    let mut rule = org.pre_approval_rules[r].clone().unwrap_or_default();
    rule_fields(org, body, &mut rule)?;
    org.pre_approval_rules[r] = Some(rule.clone());
    Ok(json(200, &rule))
}

pub fn delete_rule(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let r = rule_idx(org, ctx.path("pre_approval_rule_id"))?;
    org.pre_approval_rules[r] = None;
    Ok(Reply::Empty(204))
}

pub fn request_json(org: &Org, r: usize, expand_tasks: bool, expand_fields: bool) -> Value {
    let req = &org.access_requests[r];
    json!({
        "id": req.id,
        "app_id": org.apps[req.app as usize].id,
        "app_name": org.apps[req.app as usize].label,
        "requester_user": org.user_json(req.requester as usize),
        "target_user": org.user_json(req.target as usize),
        "supporter_user": null,
        "status": req.status,
        "notes": req.notes,
        "expires_at": req.expires_at.map(ts),
        "expiration_in_seconds": req.expiration_in_seconds,
        "requestable_permissions": req.permissions.iter().map(|&p| permission_json(org, p, true)).collect::<Vec<_>>(),
        "requested_at": ts(req.requested_at),
        "tasks": expand_tasks.then(|| req.tasks.iter().map(|&t| super::tasks::task_json(org, t, false, false, false)).collect::<Vec<_>>()),
        "custom_fields": expand_fields.then(|| req.custom_fields.iter().map(|(p, r)| json!({"prompt": p, "response": r})).collect::<Vec<_>>()),
    })
}

fn request_idx(org: &Org, id: &str) -> Result<usize> {
    find(
        org,
        Kind::AccessRequest,
        id,
        org.access_requests.len(),
        "Access request",
    )
}

fn involved(org: &Org, r: usize, user: u32) -> bool {
    let req = &org.access_requests[r];
    req.requester == user || req.target == user
}

pub fn get_request(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let r = request_idx(org, ctx.path("id"))?;
    if !ctx.is_admin() && !involved(org, r, ctx.user()) {
        return Err(SimError::not_found("Access request"));
    }
    Ok(json(
        200,
        &request_json(
            org,
            r,
            ctx.query.has("expand", "tasks"),
            ctx.query.has("expand", "custom_fields"),
        ),
    ))
}

pub fn list_requests(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let sort = q.str("sort").unwrap_or("ASC");
    let desc = match sort.to_ascii_uppercase().as_str() {
        "ASC" => false,
        "DESC" => true,
        _ => {
            return Err(SimError::Validation(vec![
                json!({"loc": ["query", "sort"], "msg": "Input should be 'ASC' or 'DESC'", "type": "enum", "input": sort}),
            ]));
        }
    };
    let id_of = |k: &str| {
        q.str(k)
            .map(|id| org.ids.parse(Kind::User, id).map(|u| u as u32))
    };
    let (target, requester, either) = (
        id_of("target_user_id"),
        id_of("requester_user_id"),
        id_of("user_id"),
    );
    let statuses = q.list("statuses");
    let mut hits: Vec<usize> = (0..org.access_requests.len())
        .filter(|&r| ctx.is_admin() || involved(org, r, ctx.user()))
        .filter(|&r| {
            let req = &org.access_requests[r];
            target.is_none_or(|t| t == Some(req.target))
                && requester.is_none_or(|t| t == Some(req.requester))
                && either.is_none_or(|t| t == Some(req.target) || t == Some(req.requester))
                && (statuses.is_empty() || statuses.contains(&req.status))
        })
        .collect();
    hits.sort_by_key(|&r| (org.access_requests[r].requested_at, r));
    if desc {
        hits.reverse();
    }
    let (page, size) = q.page();
    let w = window(hits.len(), page, size);
    let (et, ef) = (q.has("expand", "tasks"), q.has("expand", "custom_fields"));
    let items: Vec<Value> = hits[w]
        .iter()
        .map(|&r| request_json(org, r, et, ef))
        .collect();
    Ok(json(200, &PageOut::new(items, hits.len(), page, size)))
}

pub fn create_request(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let body = object(&ctx.body)?;
    let a = app_idx(org, req_str(body, "app_id")?)? as u32;
    if !org.appstore.contains_key(&a) {
        return Err(SimError::Status(
            400,
            "This app is not in the AppStore and cannot be requested".into(),
        ));
    }
    let user_of = |field: &str| -> Result<Option<u32>> {
        match opt_str(body, field)? {
            None => Ok(None),
            Some(id) => org
                .ids
                .parse(Kind::User, id)
                .filter(|&u| u < org.users.len())
                .map(|u| Some(u as u32))
                .ok_or_else(|| SimError::Status(400, format!("Unknown user '{id}' in {field}"))),
        }
    };
    let requester = match user_of("requester_user_id")? {
        Some(u) if u != ctx.user() => {
            ctx.require_admin()?;
            u
        }
        Some(u) => u,
        None => ctx.user(),
    };
    let target = user_of("target_user_id")?.unwrap_or(requester);
    let mut perms = Vec::new();
    for id in wire::opt_str_list(body, "requestable_permission_ids")?.unwrap_or_default() {
        let p = permission_idx(org, &id)
            .map_err(|_| SimError::Status(400, format!("Unknown requestable permission '{id}'")))?;
        if org.permissions[p].app != a {
            return Err(SimError::Status(
                400,
                format!("Permission '{id}' does not belong to this app"),
            ));
        }
        perms.push(p);
    }
    let allowed: Vec<String> = org.appstore[&a]["provisioning"]["time_based_access"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let mut expiration = opt_int(body, "expiration_in_seconds")?;
    if let Some(length) = opt_str(body, "access_length")? {
        if !allowed.iter().any(|l| l == length) {
            return Err(SimError::Status(
                400,
                format!(
                    "Access length '{length}' is not offered for this app (offered: {})",
                    allowed.join(", ")
                ),
            ));
        }
        expiration = expiration.or_else(|| length_seconds(length));
    }
    let justification = opt_str(body, "business_justification")?
        .or(opt_str(body, "note")?)
        .map(str::to_owned);
    let r = lifecycle::create(
        org,
        a,
        requester,
        target,
        perms,
        expiration,
        justification,
        now(),
    );
    Ok(json(201, &vec![request_json(org, r, false, false)]))
}

fn length_seconds(label: &str) -> Option<i64> {
    let (n, unit) = label.split_once(' ')?;
    let n: i64 = n.parse().ok()?;
    Some(
        n * if unit.starts_with("hour") {
            3600
        } else {
            86_400
        },
    )
}

pub fn cancel_request(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let r = request_idx(org, ctx.path("id"))?;
    if !ctx.is_admin() && !involved(org, r, ctx.user()) {
        return Err(SimError::forbidden(
            "Only the requester, the target user or an admin can cancel this request",
        ));
    }
    lifecycle::cancel(org, r, ctx.query.str("reason").map(str::to_owned), now())
        .map_err(SimError::conflict)?;
    Ok(Reply::Empty(204))
}

/// Users and groups that may act on a task, for the task views.
pub fn assignee_json(org: &Org, a: &Assignee) -> Value {
    match a {
        Assignee::User(u) => {
            let user = &org.users[*u as usize];
            json!({"id": user.id, "type": "USER", "name": format!("{} {}", user.given, user.family), "email": user.email})
        }
        Assignee::Group(g) => {
            let group = &org.groups[*g as usize];
            json!({"id": group.id, "type": "GROUP", "name": group.name, "email": null})
        }
    }
}
