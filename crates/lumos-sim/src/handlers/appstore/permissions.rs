//! Requestable permissions of AppStore apps.

use serde_json::{Value, json};

use super::*;
use crate::handlers::{Ctx, find};
use crate::ids::Kind;
use crate::org::{Org, Permission};
use crate::wire::{self, Reply, Result, SimError, json, matches, object, opt_str, req_str};

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
    // An app whose requesters do not pick permissions (DIRECT_TO_USER, GROUPS_AND_HIDDEN)
    // shows none of them in the AppStore.
    if !visible(org, p) {
        config["appstore_visibility"] = Value::from("HIDDEN");
    }
    out["request_config"] = config;
    out
}

/// Whether the AppStore shows permission `p`: its own visibility, unless its app's
/// requesters do not pick permissions, which hides every one.
fn visible(org: &Org, p: usize) -> bool {
    let perm = &org.permissions[p];
    perm.config["appstore_visibility"].as_str() == Some("VISIBLE")
        && !org.hides_permissions(perm.app)
}

pub(super) fn permission_idx(org: &Org, id: &str) -> Result<usize> {
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
        .filter(|(i, _)| q.bool("in_app_store").is_none_or(|v| visible(org, *i) == v))
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
pub(super) fn permission_config(org: &Org, input: Option<&Value>, base: Value) -> Result<Value> {
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
                    "AppStoreVisibilityOption",
                )?;
                // A null leaves the visibility as it is (HIDDEN by default).
                if !v.is_null() {
                    config[k] = v.clone();
                }
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
                                "ManagerApprovalOption",
                            )?;
                            out.insert(ak.clone(), av.clone());
                        }
                        "approvers" | "approvers_stage_2" => {
                            out.insert(ak.clone(), resolve_principals(org, av, ak)?);
                        }
                        // Each stage's approvers resolved like the others: Lumos refuses
                        // people and groups it does not know.
                        "request_approval_stages" if av.is_array() => {
                            let mut stages = Vec::new();
                            for (i, stage) in av.as_array().into_iter().flatten().enumerate() {
                                let mut approvers = Vec::new();
                                let given = stage.get("approvers").and_then(Value::as_array);
                                for (j, a) in given.into_iter().flatten().enumerate() {
                                    let field = format!(
                                        "request_config.request_approval_config.request_approval_stages.{i}.approvers.{j}"
                                    );
                                    approvers.push(stage_approver(org, a, &field)?);
                                }
                                stages.push(json!({"approvers": approvers}));
                            }
                            out.insert(ak.clone(), Value::Array(stages));
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
                    match fk.as_str() {
                        "provisioning_group" => continue,
                        // A webhook Lumos knows, as it shows one; an unknown id is refused.
                        "provisioning_webhook" => {
                            let field =
                                "request_config.request_fulfillment_config.provisioning_webhook";
                            out.insert(fk.clone(), webhook_ref(org, fv, field)?);
                        }
                        _ => {
                            out.insert(fk.clone(), fv.clone());
                        }
                    }
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

/// One approver of a stage (`ApproverInput`) as Lumos shows it: its type, and the whole
/// user or group it names; an unknown one, or none, is refused.
fn stage_approver(org: &Org, a: &Value, field: &str) -> Result<Value> {
    let (key, kind, len) = match a.get("type").and_then(Value::as_str) {
        Some("USER") => ("user", Kind::User, org.users.len()),
        Some("GROUP") => ("group", Kind::Group, org.groups.len()),
        Some(_) => {
            return Err(SimError::body_field(
                &format!("{field}.type"),
                "Input should be 'USER' or 'GROUP'",
                "enum",
            ));
        }
        // `type` is optional in `ApproverInput`, so an approver without one is a rule broken
        // (400), not a malformed body.
        None => {
            return Err(SimError::Status(
                400,
                format!("{field} needs a type: USER or GROUP"),
            ));
        }
    };
    let id = a[key]["id"].as_str().unwrap_or_default();
    let Some(i) = org.ids.parse(kind, id).filter(|&i| i < len) else {
        return Err(SimError::unknown_in_body(
            &format!("{field}.{key}"),
            key,
            id,
        ));
    };
    let whole = if kind == Kind::User {
        org.user_json(i)
    } else {
        org.group_json(i)
    };
    Ok(json!({"type": a["type"], key: whole}))
}

pub(super) fn empty_config() -> Value {
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
