//! Access requests: filing, listing, reading, canceling.

use serde_json::{Value, json};

use super::*;
use crate::handlers::{Ctx, find};
use crate::ids::Kind;
use crate::lifecycle;
use crate::names;
use crate::org::Org;
use crate::time::ts;
use crate::wire::{
    self, PageOut, Reply, Result, SimError, json, object, opt_int, opt_str, req_str, window,
};

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
        "tasks": expand_tasks.then(|| req.tasks.iter().map(|&t| crate::handlers::views::task_json(org, t, false, false, false)).collect::<Vec<_>>()),
        "custom_fields": expand_fields.then(|| req.custom_fields.iter().map(|(p, r)| json!({"prompt": p, "response": r})).collect::<Vec<_>>()),
    })
}

pub(super) fn request_idx(org: &Org, id: &str) -> Result<usize> {
    find(
        org,
        Kind::AccessRequest,
        id,
        org.access_requests.len(),
        "Access request",
    )
}

pub(super) fn involved(org: &Org, r: usize, user: u32) -> bool {
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
    // A free string in the document (FastAPI's `sort: str = "ASC"`), so any value is taken:
    // DESC in any case sorts newest first, anything else oldest first.
    let desc = q
        .str("sort")
        .is_some_and(|s| s.eq_ignore_ascii_case("DESC"));
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
    if perms.len() > 1 && !org.apps[a as usize].allow_multi {
        return Err(SimError::Status(
            400,
            format!(
                "{} lets a requester pick one permission per request; {} were given",
                org.apps[a as usize].label,
                perms.len()
            ),
        ));
    }
    // What may be asked for: each permission's own lengths where it overrides the app's,
    // else the app's; a request must fit every permission it names.
    let lists: Vec<Vec<String>> = if perms.is_empty() {
        vec![org.durations(a, None)]
    } else {
        perms.iter().map(|&p| org.durations(a, Some(p))).collect()
    };
    let offered = |label: &str| lists.iter().all(|l| l.iter().any(|x| x == label));
    let allowed: Vec<&String> = lists[0].iter().filter(|l| offered(l)).collect();
    let say = |allowed: &[&String]| {
        allowed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let refuse = |what: String| Err(SimError::Status(400, what));
    let expiration = match (
        opt_str(body, "access_length")?,
        opt_int(body, "expiration_in_seconds")?,
    ) {
        (Some(length), seconds) => {
            if !offered(length) {
                return refuse(format!(
                    "Access length '{length}' is not offered for this request (offered: {})",
                    say(&allowed)
                ));
            }
            let of_length = names::length_seconds(length);
            if seconds.is_some() && seconds != of_length {
                return refuse(format!(
                    "expiration_in_seconds {} does not match access_length '{length}'",
                    seconds.unwrap_or_default()
                ));
            }
            of_length
        }
        (None, Some(seconds)) => {
            if !allowed
                .iter()
                .any(|l| names::length_seconds(l) == Some(seconds))
            {
                return refuse(format!(
                    "expiration_in_seconds {seconds} is none of the lengths offered for this request ({})",
                    say(&allowed)
                ));
            }
            Some(seconds)
        }
        (None, None) => {
            if !allowed.is_empty() && !offered("Unlimited") {
                return refuse(format!(
                    "This request needs an access length: permanent access is not offered (offered: {})",
                    say(&allowed)
                ));
            }
            None
        }
    };
    let justification = opt_str(body, "business_justification")?
        .or(opt_str(body, "note")?)
        .map(str::to_owned);
    let now = org.clock.now();
    let r = lifecycle::receive(
        org,
        a,
        requester,
        target,
        perms,
        expiration,
        justification,
        now,
    );
    lifecycle::route(org, r, now);
    let targets = json!([
        {"type": "user", "id": org.users[target as usize].id},
        {"type": "app", "id": org.apps[a as usize].id},
    ]);
    org.record_activity(
        "ACCESS_REQUEST_CREATED",
        "Access request created",
        requester as usize,
        targets,
    );
    Ok(json(201, &vec![request_json(org, r, false, false)]))
}

pub fn cancel_request(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let r = request_idx(org, ctx.path("id"))?;
    if !ctx.is_admin() && !involved(org, r, ctx.user()) {
        return Err(SimError::forbidden(
            "Only the requester, the target user or an admin can cancel this request",
        ));
    }
    lifecycle::cancel(
        org,
        r,
        ctx.query.str("reason").map(str::to_owned),
        org.clock.now(),
    )
    .map_err(SimError::conflict)?;
    org.record_activity(
        "ACCESS_REQUEST_CANCELED",
        "Access request canceled",
        ctx.user() as usize,
        json!([{"type": "access_request", "id": ctx.path("id")}]),
    );
    Ok(Reply::Empty(204))
}
