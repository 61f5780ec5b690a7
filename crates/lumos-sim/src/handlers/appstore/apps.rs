//! Apps in the AppStore: adding, removing, listing what a person may see.

use serde_json::json;

use super::*;
use crate::handlers::Ctx;
use crate::ids::Kind;
use crate::org::Org;
use crate::render;
use crate::wire::{PageOut, Reply, Result, SimError, json, matches, object, req_str, window};

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
    keep_settings(org, a, current);
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
pub(super) fn visible_to(org: &Org, app: u32, user: u32) -> bool {
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
