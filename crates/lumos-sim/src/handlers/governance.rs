//! Access policies, access reviews, knowledge, vendor management, partner webhooks, meta.

use serde_json::{Map, Value, json};

use super::{Ctx, find};
use crate::ids::Kind;
use crate::org::Org;
use crate::time::ts;
use crate::wire::{self, Reply, Result, SimError, json, object, opt_str, req_str};

pub const ART: &str = "  *  Lumos  *\n /\\_/\\  (simulated)\n( o.o )\n > ^ <\n";

fn policy_idx(org: &Org, id: &str) -> Result<usize> {
    let i = find(
        org,
        Kind::AccessPolicy,
        id,
        org.access_policies.len(),
        "Access policy",
    )?;
    if org.access_policies[i].is_none() {
        Err(SimError::not_found("Access policy"))
    } else {
        Ok(i)
    }
}

pub fn list_policies(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let name = ctx.query.str("name");
    let items: Vec<Value> = org
        .access_policies
        .iter()
        .flatten()
        .filter(|p| {
            name.is_none_or(|n| {
                p["name"]
                    .as_str()
                    .is_some_and(|pn| wire::matches(pn, n, false))
            })
        })
        .cloned()
        .collect();
    Ok(wire::page_of(items, &ctx.query))
}

pub fn get_policy(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let i = policy_idx(org, ctx.path("access_policy_id"))?;
    Ok(json(200, &org.access_policies[i]))
}

fn policy_from(org: &Org, body: &Map<String, Value>, id: String) -> Result<Value> {
    let name = req_str(body, "name")?;
    let justification = req_str(body, "business_justification")?;
    let status = wire::opt_enum(body, "status", &["DRAFT", "PUBLISHED"])?.unwrap_or("DRAFT");
    let apps = body
        .get("apps")
        .and_then(Value::as_array)
        .ok_or_else(|| SimError::missing_body_field("apps"))?;
    if apps.is_empty() {
        return Err(SimError::body_field(
            "apps",
            "List should have at least 1 item after validation, not 0",
            "too_short",
        ));
    }
    let mut out_apps = Vec::new();
    for a in apps {
        let id = a.get("id").and_then(Value::as_str).unwrap_or_default();
        find(org, Kind::App, id, org.apps.len(), "App")
            .map_err(|_| SimError::Status(400, format!("Unknown app '{id}'")))?;
        let perms: Vec<Value> = a
            .get("permissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| json!({"id": p.get("id").cloned().unwrap_or(Value::Null)}))
            .collect();
        out_apps.push(json!({"id": id, "is_preapproved": a.get("is_preapproved").and_then(Value::as_bool).unwrap_or(false), "permissions": perms}));
    }
    Ok(json!({
        "id": id, "name": name, "business_justification": justification, "status": status,
        "is_enabled": wire::opt_bool(body, "is_enabled")?.unwrap_or(true),
        "apps": out_apps,
        "access_condition": body.get("access_condition").filter(|v| v.is_object()).cloned().unwrap_or_else(|| json!({})),
        "is_everyone_condition": wire::opt_bool(body, "is_everyone_condition")?.unwrap_or(false),
    }))
}

pub fn create_policy(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let idx = org.access_policies.len();
    let policy = policy_from(org, object(&ctx.body)?, org.ids.id(Kind::AccessPolicy, idx))?;
    org.access_policies.push(Some(policy.clone()));
    Ok(json(200, &policy))
}

pub fn update_policy(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let i = policy_idx(org, ctx.path("access_policy_id"))?;
    let policy = policy_from(org, object(&ctx.body)?, org.ids.id(Kind::AccessPolicy, i))?;
    org.access_policies[i] = Some(policy.clone());
    Ok(json(200, &policy))
}

pub fn delete_policy(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let i = policy_idx(org, ctx.path("access_policy_id"))?;
    org.access_policies[i] = None;
    Ok(Reply::Empty(204))
}

fn review_idx(org: &Org, id: &str) -> Result<usize> {
    let i = find(
        org,
        Kind::AccessReview,
        id,
        org.access_reviews.len(),
        "Access review",
    )?;
    if org.access_reviews[i].is_none() {
        Err(SimError::not_found("Access review"))
    } else {
        Ok(i)
    }
}

pub fn list_reviews(org: &Org, ctx: &Ctx) -> Result<Reply> {
    Ok(wire::page_of(
        org.access_reviews.iter().flatten().cloned().collect(),
        &ctx.query,
    ))
}

pub fn get_review(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let i = review_idx(org, ctx.path("access_review_id"))?;
    Ok(json(200, &org.access_reviews[i]))
}

fn date_field(body: &Map<String, Value>, field: &str, required: bool) -> Result<Option<String>> {
    match opt_str(body, field)? {
        None if required => Err(SimError::missing_body_field(field)),
        None => Ok(None),
        Some(s) => crate::time::parse(s).map(|t| Some(ts(t))).ok_or_else(|| {
            SimError::body_field(
                field,
                "Input should be a valid datetime",
                "datetime_parsing",
            )
        }),
    }
}

/// Add apps to a review; unknown apps become `errors` entries rather than failing the call.
fn review_apps(org: &mut Org, apps: &[Value]) -> Result<(Vec<Value>, Vec<Value>)> {
    if apps.len() > 200 {
        return Err(SimError::body_field(
            "apps",
            "List should have at most 200 items",
            "too_long",
        ));
    }
    let (mut added, mut errors) = (Vec::new(), Vec::new());
    for a in apps {
        let id = a
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match org
            .ids
            .parse(Kind::App, &id)
            .filter(|&i| i < org.apps.len())
        {
            Some(i) => {
                let mut app = org.review_app_json(i, "IN_PREPARATION");
                // The scope asked for is kept, as Lumos keeps it.
                if let Some(f) = a.get("scope_filters").filter(|v| v.is_array()) {
                    app["scope_filters"] = f.clone();
                }
                if let Some(t) = a.get("review_type").filter(|v| v.is_string()) {
                    app["review_type"] = t.clone();
                }
                added.push(app);
            }
            None => errors.push(json!({"app_id": id, "error": "App not found"})),
        }
    }
    Ok((added, errors))
}

pub fn create_review(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let body = object(&ctx.body)?;
    let name = req_str(body, "name")?;
    if name.is_empty() || name.chars().count() > 255 {
        return Err(SimError::body_field(
            "name",
            "String should have 1 to 255 characters",
            "string_too_long",
        ));
    }
    let deadline = date_field(body, "deadline_at", true)?;
    let launch = date_field(body, "target_launch_date", false)?;
    let apps = body
        .get("apps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let owner = opt_str(body, "owner_id")?
        .map(str::to_owned)
        .unwrap_or_else(|| org.users[ctx.user() as usize].id.clone());
    let name = name.to_owned();
    let (added, errors) = review_apps(org, &apps)?;
    let idx = org.access_reviews.len();
    let at = ts(org.clock.now());
    let review = json!({
        "id": org.ids.id(Kind::AccessReview, idx), "name": name, "status": "IN_PREPARATION", "creation_path": "API",
        "owner_id": owner, "created_by_id": org.users[ctx.user() as usize].id, "deadline_at": deadline,
        "started_at": null, "completed_at": null, "target_launch_date": launch,
        "recurrence_config": body.get("recurrence_config").cloned().unwrap_or(Value::Null),
        "recurrence_days_frequency": body.get("recurrence_days_frequency").cloned().unwrap_or(Value::Null),
        "created_at": at, "updated_at": at, "apps": added,
    });
    org.access_reviews.push(Some(review.clone()));
    Ok(json(
        201,
        &json!({"access_review": review, "errors": errors}),
    ))
}

pub fn add_review_apps(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let i = review_idx(org, ctx.path("access_review_id"))?;
    let body = object(&ctx.body)?;
    let apps = body
        .get("apps")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| SimError::missing_body_field("apps"))?;
    let (added, errors) = review_apps(org, &apps)?;
    if let Some(Some(review)) = org.access_reviews.get_mut(i)
        && let Some(list) = review["apps"].as_array_mut()
    {
        list.extend(added.iter().cloned());
    }
    Ok(json(201, &json!({"added_apps": added, "errors": errors})))
}

pub fn update_review(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let i = review_idx(org, ctx.path("access_review_id"))?;
    let body = object(&ctx.body)?;
    let deadline = date_field(body, "deadline_at", false)?;
    let launch = date_field(body, "target_launch_date", false)?;
    let mut review = org.access_reviews[i].clone().unwrap_or_default();
    if let Some(n) = opt_str(body, "name")? {
        review["name"] = Value::from(n);
    }
    if let Some(d) = deadline {
        review["deadline_at"] = Value::from(d);
    }
    if let Some(d) = launch {
        review["target_launch_date"] = Value::from(d);
    }
    if let Some(o) = opt_str(body, "owner_id")? {
        review["owner_id"] = Value::from(o);
    }
    for arda in body
        .get("apps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = arda.get("id").and_then(Value::as_str).unwrap_or_default();
        let Some(entry) = review["apps"]
            .as_array_mut()
            .and_then(|l| l.iter_mut().find(|a| a["id"] == id))
        else {
            return Err(SimError::Status(
                400,
                format!("App '{id}' is not part of this review"),
            ));
        };
        if let Some(f) = arda.get("scope_filters").filter(|v| v.is_array()) {
            entry["scope_filters"] = f.clone();
        }
    }
    review["updated_at"] = Value::from(ts(org.clock.now()));
    org.access_reviews[i] = Some(review.clone());
    Ok(json(200, &review))
}

pub fn delete_review(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let i = review_idx(org, ctx.path("access_review_id"))?;
    org.access_reviews[i] = None;
    Ok(Reply::Empty(204))
}

pub fn delete_review_app(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let i = review_idx(org, ctx.path("access_review_id"))?;
    let arda = ctx.path("arda_id").to_owned();
    let removed = org.access_reviews[i]
        .as_mut()
        .and_then(|r| r["apps"].as_array_mut())
        .is_some_and(|list| {
            let before = list.len();
            list.retain(|a| a["id"] != arda.as_str());
            list.len() < before
        });
    if removed {
        Ok(Reply::Empty(204))
    } else {
        Err(SimError::not_found("Review app"))
    }
}

pub fn scope_options() -> Result<Reply> {
    let groups = [
        ("Account status", "ACCOUNT_STATUS", "SINGLESELECT"),
        ("Last login", "LAST_LOGIN", "DATETIME"),
        ("Team", "TEAM", "STRING"),
    ];
    let options: Vec<Value> = groups
        .iter()
        .map(|(name, group, kind)| {
            json!({"name": name, "group": group, "type": kind, "items": [], "filter_input_template": null, "default_label": null, "truncated": false})
        })
        .collect();
    Ok(json(200, &json!({"scope_options": options})))
}

fn knowledge_missing() -> SimError {
    SimError::Api(
        404,
        "not_found",
        "knowledge_context_not_found",
        "Knowledge context not found".into(),
    )
}

fn knowledge_idx(org: &Org, id: &str) -> Result<usize> {
    org.ids
        .parse(Kind::Knowledge, id)
        .filter(|&i| org.knowledge.get(i).is_some_and(Option::is_some))
        .ok_or_else(knowledge_missing)
}

pub fn list_knowledge(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let size = q.int("page_size").unwrap_or(10).clamp(1, 25) as usize;
    let offset = match q.str("page_token") {
        None => 0,
        Some(t) => t
            .strip_prefix("kc_")
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| {
                SimError::Api(
                    400,
                    "validation",
                    "invalid_page_token",
                    "The page token is not valid".into(),
                )
            })?,
    };
    let scopes = q.list("product_scopes");
    let hits: Vec<&Value> = org
        .knowledge
        .iter()
        .flatten()
        .filter(|k| {
            q.str("title_search").is_none_or(|t| {
                k["title"]
                    .as_str()
                    .is_some_and(|title| wire::matches(title, t, false))
            })
        })
        .filter(|k| {
            scopes.is_empty()
                || k["product_scopes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| s.as_str().is_some_and(|s| scopes.contains(&s)))
        })
        .collect();
    let next = (offset + size < hits.len()).then(|| format!("kc_{:x}", offset + size));
    let page: Vec<&Value> = hits.into_iter().skip(offset).take(size).collect();
    Ok(json(
        200,
        &json!({"knowledge_context": page, "next_page_token": next}),
    ))
}

pub fn get_knowledge(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let i = knowledge_idx(org, ctx.path("knowledge_context_id"))?;
    Ok(json(200, &org.knowledge[i]))
}

const SCOPES: &[&str] = &[
    "APPSTORE",
    "ACCESS_REVIEWS",
    "ALBUS",
    "GLOBAL",
    "ALBUS_DEEP_RESEARCH",
    "IDENTITY_INTELLIGENCE",
];

fn apply_knowledge(k: &mut Value, body: &Map<String, Value>, at: i64) -> Result<()> {
    for field in ["title", "content"] {
        if let Some(v) = opt_str(body, field)? {
            k[field] = Value::from(v);
        }
    }
    let as_list = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(a) => a.clone(),
            Value::String(s) => vec![Value::from(s.clone())],
            _ => vec![],
        }
    };
    if let Some(t) = body.get("generic_tags") {
        k["generic_tags"] = Value::Array(as_list(t));
    }
    if let Some(s) = body.get("product_scopes") {
        let list = as_list(s);
        if let Some(bad) = list
            .iter()
            .find(|v| !v.as_str().is_some_and(|s| SCOPES.contains(&s)))
        {
            return Err(SimError::Api(
                400,
                "validation",
                "invalid_product_scope",
                format!("{bad} is not one of {}", SCOPES.join(", ")),
            ));
        }
        k["product_scopes"] = Value::Array(list);
    }
    // A form field: a boolean as pydantic reads one, anything else refused.
    match body.get("clear_attachment").and_then(Value::as_str) {
        None => {}
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => k["file_url"] = Value::Null,
            "false" | "0" | "no" | "off" | "f" | "n" => {}
            _ => {
                return Err(SimError::body_field(
                    "clear_attachment",
                    "Input should be a valid boolean, unable to interpret input",
                    "bool_parsing",
                ));
            }
        },
    }
    k["updated_at"] = Value::from(ts(at));
    Ok(())
}

pub fn create_knowledge(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let body = object(&ctx.body)?;
    req_str(body, "title")?;
    let idx = org.knowledge.len();
    let at = ts(org.clock.now());
    let mut k = json!({
        "id": org.ids.id(Kind::Knowledge, idx), "title": "", "content": null, "file_url": null,
        "generic_tags": [], "application_tags": [], "product_scopes": [], "created_at": at, "updated_at": at,
    });
    apply_knowledge(&mut k, body, org.clock.now())?;
    org.knowledge.push(Some(k.clone()));
    Ok(json(201, &k))
}

pub fn update_knowledge(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let i = knowledge_idx(org, ctx.path("knowledge_context_id"))?;
    let empty = Map::new();
    let body = match &ctx.body {
        Some(Value::Object(m)) => m,
        _ => &empty,
    };
    let mut k = org.knowledge[i].clone().unwrap_or_default();
    apply_knowledge(&mut k, body, org.clock.now())?;
    org.knowledge[i] = Some(k.clone());
    Ok(json(200, &k))
}

pub fn delete_knowledge(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let i = knowledge_idx(org, ctx.path("knowledge_context_id"))?;
    org.knowledge[i] = None;
    Ok(Reply::Empty(204))
}

pub fn update_vendor_attribute(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let body = object(&ctx.body)?;
    let value = opt_str(body, "value")?.map(str::to_owned);
    let i = find(
        org,
        Kind::VendorAgreement,
        ctx.path("vendor_agreement_id"),
        org.vendor_agreements.len(),
        "Vendor agreement",
    )?;
    let label = ctx.path("label").to_owned();
    let attr = json!({"type": "TEXT", "value": value});
    org.vendor_agreements[i]["custom_attributes"][&label] = attr.clone();
    Ok(json(200, &attr))
}

pub fn found_document(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let body = object(&ctx.body)?;
    let uid = req_str(body, "unique_identifier")?.to_owned();
    if !body
        .get("files")
        .is_some_and(|f| f.is_array() || f.is_string())
    {
        return Err(SimError::missing_body_field("files"));
    }
    let job = org.new_job(crate::org::JobKind::FoundDocument, "SUCCESS");
    Ok(json(
        200,
        &json!({"unique_identifier": uid, "job_id": job, "status": "RECEIVED"}),
    ))
}

pub fn create_order(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let body = object(&ctx.body)?;
    let uid = req_str(body, "unique_identifier")?;
    let vendor = body
        .get("vendor")
        .and_then(|v| v.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| SimError::missing_body_field("vendor"))?;
    // Dates are calendar dates (`format: date`): "2024-13-01" is refused, as Lumos's
    // validation refuses it, never stored and answered back.
    let date = |field: &str, text: &str| -> Result<()> {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|_| ())
            .map_err(|_| {
                SimError::body_field(
                    field,
                    "Input should be a valid date in the format YYYY-MM-DD",
                    "date_from_datetime_parsing",
                )
            })
    };
    let start = req_str(body, "start_date")?;
    let end = req_str(body, "end_date")?;
    date("start_date", start)?;
    date("end_date", end)?;
    match body.get("opt_out_date") {
        None | Some(Value::Null) => {}
        Some(Value::String(d)) => date("opt_out_date", d)?,
        Some(_) => {
            return Err(SimError::body_field(
                "opt_out_date",
                "Input should be a valid date in the format YYYY-MM-DD",
                "date_type",
            ));
        }
    }
    if !body.get("auto_renewal").is_some_and(Value::is_boolean) {
        return Err(SimError::missing_body_field("auto_renewal"));
    }
    if !body.get("line_items").is_some_and(Value::is_array) {
        return Err(SimError::missing_body_field("line_items"));
    }
    let idx = org.vendor_agreements.len();
    let agreement = json!({
        "id": org.ids.id(Kind::VendorAgreement, idx), "vendor": {"name": vendor}, "label": uid,
        "start_date": start, "end_date": end, "opt_out_date": body.get("opt_out_date").cloned().unwrap_or(Value::Null),
        "renewal_stage": "UPCOMING", "pricing_model": "PER_SEAT", "contract_length_months": null,
        "projected_annualized_cost": null, "renewal_owners": [],
        "total_contract_cost": {"currency": body.get("currency").cloned().unwrap_or_else(|| json!("USD")), "value": 0.0},
        "line_items": [], "custom_attributes": {},
    });
    org.vendor_agreements.push(agreement.clone());
    Ok(json(201, &agreement))
}

pub fn partner_webhook(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    find(
        org,
        Kind::App,
        ctx.path("domain_app_uuid"),
        org.apps.len(),
        "App",
    )?;
    if ctx.op.name() == "processAirbaseMilestoneEvent" {
        let body = object(&ctx.body)?;
        for field in ["id", "object", "type", "created_date"] {
            req_str(body, field)?;
        }
        if !body.get("data").is_some_and(Value::is_object) {
            return Err(SimError::missing_body_field("data"));
        }
    }
    Ok(json(200, &json!({"received": true})))
}
