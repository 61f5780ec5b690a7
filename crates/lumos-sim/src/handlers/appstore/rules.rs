//! Pre-approval rules.

use serde_json::{Map, Value, json};

use super::*;
use crate::handlers::{Ctx, find};
use crate::ids::Kind;
use crate::org::Org;
use crate::wire::{self, Reply, Result, SimError, json, object, req_str};

pub(super) fn rule_idx(org: &Org, id: &str) -> Result<usize> {
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

pub(super) fn rule_fields(org: &Org, body: &Map<String, Value>, rule: &mut Value) -> Result<()> {
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
