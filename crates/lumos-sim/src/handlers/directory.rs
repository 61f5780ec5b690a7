//! Core directory: apps, users, accounts, groups, integrations, logs, roles, jobs.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Ctx, find};
use crate::ids::Kind;
use crate::names;
use crate::org::{Account, App, Org, Owner};
use crate::org::{Job, JobKind};
use crate::render;
use crate::time;
use crate::wire::{self, PageOut, Reply, Result, SimError, json, matches, object, opt_str, window};

fn app_idx(org: &Org, id: &str) -> Result<usize> {
    find(org, Kind::App, id, org.apps.len(), "App")
}

fn user_idx(org: &Org, id: &str) -> Result<usize> {
    find(org, Kind::User, id, org.users.len(), "User")
}

fn expand_attrs(ctx: &Ctx) -> Option<bool> {
    Some(ctx.query.has("expand", "custom_attributes"))
}

fn app_matches(a: &App, needle: &str, exact: bool) -> bool {
    matches(&a.label, needle, exact)
        || matches(&a.instance_id, needle, exact)
        || matches(&a.class_id, needle, exact)
}

pub fn list_apps(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let (page, size) = q.page();
    let exact = q.bool("exact_match").unwrap_or(false);
    let hits: Vec<&App> = org
        .apps
        .iter()
        .filter(|a| {
            q.str("name_search")
                .is_none_or(|n| app_matches(a, n, exact))
        })
        .filter(|a| {
            q.str("connection_source")
                .is_none_or(|c| a.connection_source == c)
        })
        .filter(|a| q.bool("disconnected").is_none_or(|d| a.disconnected == d))
        .collect();
    let w = window(hits.len(), page, size);
    let items: Vec<_> = hits[w]
        .iter()
        .map(|a| render::app(ctx.base_url, a, expand_attrs(ctx)))
        .collect();
    Ok(json(200, &PageOut::new(items, hits.len(), page, size)))
}

pub fn app_categories(org: &Org) -> Result<Reply> {
    let cats: BTreeSet<&str> = org
        .apps
        .iter()
        .filter_map(|a| a.category.as_deref())
        .collect();
    Ok(json(200, &cats))
}

pub fn get_app(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let a = app_idx(org, ctx.path("app_id"))?;
    Ok(json(
        200,
        &render::app(ctx.base_url, &org.apps[a], expand_attrs(ctx)),
    ))
}

pub fn current_user(org: &Org, ctx: &Ctx) -> Result<Reply> {
    Ok(json(
        200,
        &render::user(org, &org.users[ctx.user() as usize], None),
    ))
}

pub fn list_users(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let (page, size) = q.page();
    let attrs = expand_attrs(ctx);
    let Some(term) = q.str("search_term").filter(|t| !t.is_empty()) else {
        let w = window(org.users.len(), page, size);
        let items: Vec<_> = org.users[w]
            .iter()
            .map(|u| render::user(org, u, attrs))
            .collect();
        return Ok(json(200, &PageOut::new(items, org.users.len(), page, size)));
    };
    let exact = q.bool("exact_match").unwrap_or(false);
    let needle = term.to_lowercase();
    let hits: Vec<usize> = org
        .users
        .iter()
        .enumerate()
        .filter(|(_, u)| {
            if exact {
                u.email.eq_ignore_ascii_case(term)
                    || format!("{} {}", u.given, u.family).eq_ignore_ascii_case(term)
                    || u.given.eq_ignore_ascii_case(term)
                    || u.family.eq_ignore_ascii_case(term)
            } else {
                u.search.contains(&needle)
            }
        })
        .map(|(i, _)| i)
        .collect();
    let w = window(hits.len(), page, size);
    let items: Vec<_> = hits[w]
        .iter()
        .map(|&i| render::user(org, &org.users[i], attrs))
        .collect();
    Ok(json(200, &PageOut::new(items, hits.len(), page, size)))
}

pub fn get_user(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let u = user_idx(org, ctx.path("user_id"))?;
    Ok(json(
        200,
        &render::user(org, &org.users[u], expand_attrs(ctx)),
    ))
}

pub fn user_accounts(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let u = user_idx(org, ctx.path("user_id"))?;
    let (page, size) = ctx.query.page();
    let seeded = org.user_accounts[u] as usize..org.user_accounts[u + 1] as usize;
    let later = org
        .later_accounts_of
        .get(&(u as u32))
        .map_or(&[][..], Vec::as_slice);
    let all: Vec<usize> = seeded.chain(later.iter().map(|&i| i as usize)).collect();
    let total = all.len();
    let w = window(total, page, size);
    let expand = ctx.query.has("expand", "app");
    let items: Vec<_> = all[w]
        .iter()
        .map(|&i| render::account(org, ctx.base_url, i, &org.accounts[i], expand))
        .collect();
    Ok(json(200, &PageOut::new(items, total, page, size)))
}

pub fn accounts(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let (page, size) = q.page();
    let expand = q.has("expand", "app");
    let statuses: Vec<u8> = q
        .list("status")
        .iter()
        .filter_map(|s| {
            names::account_statuses()
                .iter()
                .position(|x| x == s)
                .map(|p| p as u8)
        })
        .collect();
    let sources: Vec<u8> = q
        .list("sources")
        .iter()
        .filter_map(|s| {
            names::discovery_sources()
                .iter()
                .position(|x| x == s)
                .map(|p| p as u8)
        })
        .collect();
    let before = q.str("discovered_before").and_then(time::parse);
    let after = q.str("discovered_after").and_then(time::parse);
    let filtered =
        !statuses.is_empty() || !sources.is_empty() || before.is_some() || after.is_some();
    let candidates: Option<&[u32]> = match q.str("app_id") {
        Some(id) => match org
            .ids
            .parse(Kind::App, id)
            .and_then(|a| org.accounts_by_app.get(a))
        {
            Some(list) => Some(list),
            None => Some(&[]),
        },
        None => None,
    };
    if !filtered {
        let total = candidates.map_or(org.accounts.len(), <[u32]>::len);
        let w = window(total, page, size);
        let items: Vec<_> = w
            .map(|k| candidates.map_or(k, |c| c[k] as usize))
            .map(|i| render::account(org, ctx.base_url, i, &org.accounts[i], expand))
            .collect();
        return Ok(json(200, &PageOut::new(items, total, page, size)));
    }
    let keep = |i: usize| {
        let a = &org.accounts[i];
        let discovered = org.clock.start - i64::from(a.discovered);
        (statuses.is_empty() || statuses.contains(&a.status))
            && (sources.is_empty() || sources.contains(&a.source))
            && before.is_none_or(|b| discovered < b)
            && after.is_none_or(|t| discovered > t)
    };
    let hits: Vec<usize> = match candidates {
        Some(c) => c.iter().map(|&i| i as usize).filter(|&i| keep(i)).collect(),
        None => (0..org.accounts.len()).filter(|&i| keep(i)).collect(),
    };
    let w = window(hits.len(), page, size);
    let items: Vec<_> = hits[w]
        .iter()
        .map(|&i| render::account(org, ctx.base_url, i, &org.accounts[i], expand))
        .collect();
    Ok(json(200, &PageOut::new(items, hits.len(), page, size)))
}

fn group_idx(org: &Org, id: &str) -> Result<usize> {
    find(org, Kind::Group, id, org.groups.len(), "Group")
}

pub fn group_members(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let g = &org.groups[group_idx(org, ctx.path("group_id"))?];
    let (page, size) = ctx.query.page();
    let total = g.member_count as usize;
    let items: Vec<_> = window(total, page, size)
        .map(|j| {
            render::user(
                org,
                &org.users[org.group_member(g, j as u32) as usize],
                None,
            )
        })
        .collect();
    Ok(json(200, &PageOut::new(items, total, page, size)))
}

pub fn get_group(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let g = group_idx(org, ctx.path("group_id"))?;
    Ok(json(200, &render::group(org, &org.groups[g])))
}

pub fn groups(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let (page, size) = q.page();
    let exact = q.bool("exact_match").unwrap_or(false);
    let app = q.str("app_id").map(|id| org.ids.parse(Kind::App, id));
    let hits: Vec<usize> = org
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| q.str("name").is_none_or(|n| matches(&g.name, n, exact)))
        .filter(|(_, g)| {
            q.str("integration_specific_id")
                .is_none_or(|s| g.integration_specific_id == s)
        })
        .filter(|(_, g)| app.is_none_or(|a| a == Some(g.app as usize)))
        .map(|(i, _)| i)
        .collect();
    let w = window(hits.len(), page, size);
    let items: Vec<_> = hits[w]
        .iter()
        .map(|&i| render::group(org, &org.groups[i]))
        .collect();
    Ok(json(200, &PageOut::new(items, hits.len(), page, size)))
}

/// A job of `kind` by id; another kind's job is not found here, as in Lumos.
fn job<'a>(org: &'a Org, ctx: &Ctx, kind: JobKind) -> Result<&'a Job> {
    org.jobs
        .get(ctx.path("job_id"))
        .filter(|j| j.kind == kind)
        .ok_or_else(|| SimError::not_found("Job"))
}

pub fn upload_job(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let j = job(org, ctx, JobKind::AccountsUpload)?;
    Ok(json(
        200,
        &json!({"job_id": ctx.path("job_id"), "state": j.state}),
    ))
}

pub fn activity_job(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let j = job(org, ctx, JobKind::ActivityRecords)?;
    Ok(json(
        200,
        &json!({"job_id": ctx.path("job_id"), "state": j.state}),
    ))
}

pub fn activity_logs(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let limit = q.int("limit").unwrap_or(50) as usize;
    let offset = q.int("offset").unwrap_or(0) as usize;
    let since = q.str("since").and_then(time::parse);
    let until = q.str("until").and_then(time::parse);
    let hits: Vec<&Value> = org
        .activity_logs
        .iter()
        .filter(|l| {
            let t = l["event_began_at"]
                .as_str()
                .and_then(time::parse)
                .unwrap_or_default();
            since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
        })
        .collect();
    let total = hits.len();
    let items: Vec<&Value> = hits.into_iter().skip(offset).take(limit).collect();
    let link = |o: usize| format!("/activity_logs?limit={limit}&offset={o}");
    let last = if total == 0 {
        0
    } else {
        (total - 1) / limit * limit
    };
    Ok(json(
        200,
        &json!({
            "items": items, "total": total, "limit": limit, "offset": offset,
            "links": {
                "first": link(0), "last": link(last), "self": link(offset),
                "next": (offset + limit < total).then(|| link(offset + limit)),
                "prev": (offset > 0).then(|| link(offset.saturating_sub(limit))),
            }
        }),
    ))
}

pub fn identity_events(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let ids = q.list("identity_ids");
    let fields = q.list("changed_fields");
    let start = q.str("start_time").and_then(time::parse);
    let end = q.str("end_time").and_then(time::parse);
    let limit = q.int("limit").unwrap_or(100).clamp(0, 1000) as usize;
    // An empty cursor is no cursor: the first page.
    let offset = match q.str("cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => c
            .strip_prefix("ev_")
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| SimError::Status(400, "Invalid cursor".into()))?,
    };
    let hits: Vec<&Value> = org
        .identity_events
        .iter()
        .filter(|e| ids.is_empty() || e["user_id"].as_str().is_some_and(|u| ids.contains(&u)))
        .filter(|e| {
            fields.is_empty()
                || e["changed_field"]
                    .as_str()
                    .is_some_and(|f| fields.contains(&f))
        })
        .filter(|e| {
            let t = e["detected_time"]
                .as_str()
                .and_then(time::parse)
                .unwrap_or_default();
            start.is_none_or(|s| t >= s) && end.is_none_or(|u| t <= u)
        })
        .collect();
    let total = hits.len();
    let page: Vec<&Value> = hits.into_iter().skip(offset).take(limit).collect();
    let next = (limit > 0 && offset + limit < total).then(|| format!("ev_{:x}", offset + limit));
    Ok(json(
        200,
        &json!({"identity_events": page, "next_cursor": next, "total_count": total}),
    ))
}

fn integration_json(i: usize) -> Value {
    let (label, class_id, category) = names::APPS[i];
    json!({"app_class_id": class_id, "name": label, "description": format!("Connect {label} to Lumos"),
           "category": category, "logo_url": format!("https://logos.example-corp.com/{class_id}.png")})
}

pub fn integrations(ctx: &Ctx) -> Result<Reply> {
    let items: Vec<Value> = (0..names::APPS.len())
        .filter(|&i| {
            ctx.query.str("query").is_none_or(|q| {
                matches(names::APPS[i].0, q, false) || matches(names::APPS[i].1, q, false)
            })
        })
        .map(integration_json)
        .collect();
    Ok(wire::page_of(items, &ctx.query))
}

fn integration_index(ctx: &Ctx) -> Result<usize> {
    let class = ctx.path("app_class_id");
    names::APPS
        .iter()
        .position(|(_, c, _)| *c == class)
        .ok_or_else(|| SimError::not_found("Integration"))
}

pub fn integration(ctx: &Ctx) -> Result<Reply> {
    Ok(json(200, &integration_json(integration_index(ctx)?)))
}

pub fn connection_schema(ctx: &Ctx) -> Result<Reply> {
    let i = integration_index(ctx)?;
    Ok(json(
        200,
        &json!({
            "app_class_id": names::APPS[i].1,
            "auth_schema": {"type": "object", "required": ["api_token"], "properties": {"api_token": {"type": "string", "title": "API token"}}},
            "settings_schema": {"type": "object", "properties": {"sync_groups": {"type": "boolean", "default": true}}},
        }),
    ))
}

pub fn user_roles(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let u = user_idx(org, ctx.path("user_id"))?;
    let roles: Vec<Value> = org
        .roles
        .get(&(u as u32))
        .into_iter()
        .flatten()
        .map(|r| json!({"role_name": r}))
        .collect();
    Ok(json(200, &roles))
}

/// A user's roles as one text, for identity events.
fn roles_text(org: &Org, u: usize) -> String {
    let mut roles: Vec<&str> = org
        .roles
        .get(&(u as u32))
        .map(|r| r.iter().map(String::as_str).collect())
        .unwrap_or_default();
    roles.sort_unstable();
    roles.join(",")
}

pub fn add_role(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let u = user_idx(org, ctx.path("user_id"))?;
    let role = ctx.path("role_name").to_owned();
    let before = roles_text(org, u);
    org.roles.entry(u as u32).or_default().insert(role.clone());
    let after = roles_text(org, u);
    org.record_identity_event(u, "roles", &before, &after);
    Ok(json(
        201,
        &json!({"user_id": org.users[u].id, "role_name": role}),
    ))
}

pub fn remove_role(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let u = user_idx(org, ctx.path("user_id"))?;
    let before = roles_text(org, u);
    let removed = org
        .roles
        .get_mut(&(u as u32))
        .is_some_and(|r| r.remove(ctx.path("role_name")));
    if removed {
        let after = roles_text(org, u);
        org.record_identity_event(u, "roles", &before, &after);
        Ok(Reply::Empty(204))
    } else {
        Err(SimError::not_found("Role assignment"))
    }
}

fn check_len(body: &serde_json::Map<String, Value>, field: &str, max: usize) -> Result<()> {
    if opt_str(body, field)?.is_some_and(|s| s.chars().count() > max) {
        return Err(SimError::body_field(
            field,
            &format!("String should have at most {max} characters"),
            "string_too_long",
        ));
    }
    Ok(())
}

pub fn create_app(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let body = object(&ctx.body)?;
    check_len(body, "description", 8192)?;
    let name = opt_str(body, "name")?;
    let class_id = opt_str(body, "app_class_id")?;
    let (label, class) = match (name, class_id) {
        (Some(n), c) => (
            n.to_owned(),
            c.map_or_else(|| n.to_lowercase().replace(' ', "-"), str::to_owned),
        ),
        (None, Some(c)) => match names::APPS.iter().find(|(_, cid, _)| *cid == c) {
            Some((label, _, _)) => ((*label).to_owned(), c.to_owned()),
            None => return Err(SimError::Status(400, format!("Unknown app_class_id '{c}'"))),
        },
        (None, None) => {
            return Err(SimError::Status(
                400,
                "Give a name or an app_class_id".into(),
            ));
        }
    };
    let known = names::APPS.iter().any(|(_, c, _)| *c == class);
    let idx = org.apps.len();
    org.apps.push(App {
        id: org.ids.id(Kind::App, idx),
        class_id: class.clone(),
        instance_id: if known {
            format!("{}-{}", class.split('.').next().unwrap_or("app"), idx + 1)
        } else {
            "custom_app_import".into()
        },
        label,
        status: "APPROVED",
        sources: vec![if known { "LUMOS_INTEGRATION" } else { "MANUAL" }],
        category: opt_str(body, "category")?.map(str::to_owned),
        website: opt_str(body, "website_url")?.map(str::to_owned),
        logo: opt_str(body, "logo_url")?.map(str::to_owned),
        description: opt_str(body, "description")?.map(str::to_owned),
        request_instructions: opt_str(body, "request_instructions")?.map(str::to_owned),
        disconnected: false,
        connection_source: "API",
        sync_status: None,
        sync_started: None,
        allow_multi: false,
    });
    org.accounts_by_app.push(Vec::new());
    Ok(json(200, &render::app(ctx.base_url, &org.apps[idx], None)))
}

pub fn update_app(org: &mut Org, ctx: &Ctx, reconnect: bool) -> Result<Reply> {
    ctx.require_admin()?;
    let a = app_idx(org, ctx.path("app_id"))?;
    let body = object(&ctx.body)?;
    check_len(body, "description", 1000)?;
    check_len(body, "request_instructions", 511)?;
    let app = &mut org.apps[a];
    if app.connection_source != "API" {
        return Err(SimError::conflict(
            "App is not managed through the API (connection_source is not API)",
        ));
    }
    if reconnect && render::sync_status(app) == Some("SYNCING") {
        return Err(SimError::Busy(
            crate::org::SYNC_SECONDS,
            "A sync is running for this app; retry later".into(),
        ));
    }
    if let Some(n) = opt_str(body, "name")? {
        app.label = n.to_owned();
    }
    for (field, slot) in [
        ("category", &mut app.category),
        ("description", &mut app.description),
        ("logo_url", &mut app.logo),
        ("website_url", &mut app.website),
        ("request_instructions", &mut app.request_instructions),
    ] {
        if body.contains_key(field) {
            *slot = opt_str(body, field)?.map(str::to_owned);
        }
    }
    if reconnect {
        app.disconnected = false;
    }
    Ok(json(200, &render::app(ctx.base_url, &org.apps[a], None)))
}

pub fn disconnect_app(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let a = app_idx(org, ctx.path("app_id"))?;
    let app = &mut org.apps[a];
    if app.connection_source != "API" {
        return Err(SimError::conflict(
            "App is not managed through the API (connection_source is not API)",
        ));
    }
    app.disconnected = true;
    app.sync_status = None;
    Ok(json(
        200,
        &json!({"id": app.id, "app_class_id": app.class_id, "disconnected": true}),
    ))
}

pub fn trigger_sync(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let a = app_idx(org, ctx.path("app_id"))?;
    let body = object(&ctx.body)?;
    let kind = wire::opt_enum(body, "sync_type", &["full_sync"])?
        .ok_or_else(|| SimError::missing_body_field("sync_type"))?;
    let app = &mut org.apps[a];
    // As the document says: a manual app cannot be synced (422); a disconnected one is not
    // in a syncable state (409).
    if app.sources == ["MANUAL"] {
        return Err(SimError::Status(
            422,
            "This app is uploaded by hand and cannot be synced".into(),
        ));
    }
    if app.disconnected {
        return Err(SimError::conflict(
            "This app is not in a syncable state: it is disconnected",
        ));
    }
    if render::sync_status(app) == Some("SYNCING") {
        return Err(SimError::conflict("A sync is already running for this app"));
    }
    app.sync_started = Some(std::time::Instant::now());
    app.sync_status = Some("SUCCESS");
    Ok(json(
        202,
        &json!({"app_id": app.id, "sync_type": kind, "status": "SYNCING"}),
    ))
}

pub fn post_accounts(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    ctx.require_admin()?;
    let body = object(&ctx.body)?;
    if body.get("accounts").is_some_and(|v| !v.is_array()) {
        return Err(SimError::body_field(
            "accounts",
            "Input should be a valid list",
            "list_type",
        ));
    }
    // The accounts appear in the app at once (the job is done when it answers), linked to
    // the user with the same email (any case) or to nobody Lumos knows.
    let app = app_idx(org, wire::req_str(body, "app_id")?)?;
    let inputs = body
        .get("accounts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // The body's schema is written inline: each account is checked against its own.
    for (k, a) in inputs.iter().enumerate() {
        crate::body_check::check_as("AccountInput", a, &[json!("accounts"), json!(k)])?;
    }
    for (k, a) in inputs.iter().enumerate() {
        let field = |f: &str| a.get(f).and_then(Value::as_str);
        // Required, but may be null: the email then names the account; one with neither
        // names nobody and is left out.
        if a.get("unique_identifier").is_none() {
            return Err(SimError::body_field(
                &format!("accounts.{k}.unique_identifier"),
                "Field required",
                "missing",
            ));
        }
        let Some(email) = field("email").or(field("unique_identifier")) else {
            continue;
        };
        let status = match field("status") {
            None => 3,
            Some(s) => names::account_statuses()
                .iter()
                .position(|x| x == s)
                .map(|p| p as u8)
                .ok_or_else(|| {
                    SimError::body_field(
                        &format!("accounts.{k}.status"),
                        "Input should be an AccountLifecycleStatus",
                        "enum",
                    )
                })?,
        };
        let already = org.accounts_by_app[app].iter().any(|&i| {
            let acc = &org.accounts[i as usize];
            match acc.owner {
                Owner::Orphan => org.orphans[acc.user as usize].eq_ignore_ascii_case(email),
                _ => org.users[acc.user as usize]
                    .email
                    .eq_ignore_ascii_case(email),
            }
        });
        if already {
            continue;
        }
        let user = org
            .users
            .iter()
            .position(|u| u.email.eq_ignore_ascii_case(email));
        let (who, owner) = match user {
            Some(u) => (u as u32, Owner::User),
            None => {
                org.orphans.push(email.to_owned());
                ((org.orphans.len() - 1) as u32, Owner::Orphan)
            }
        };
        let idx = org.accounts.len() as u32;
        org.accounts.push(Account {
            user: who,
            owner,
            app: app as u16,
            status,
            kind: 0,
            source: names::discovery_sources()
                .iter()
                .position(|s| s == "MANUAL")
                .unwrap_or(0) as u8,
            discovered: 0,
            last_login: 0,
        });
        org.accounts_by_app[app].push(idx);
        if owner == Owner::User {
            org.later_accounts_of.entry(who).or_default().push(idx);
        }
    }
    let job = org.new_job(JobKind::AccountsUpload, "SUCCESS");
    Ok(json(200, &json!({"job_id": job, "state": "SUCCESS"})))
}

pub fn activity_records(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let body = object(&ctx.body)?;
    if !body.get("records").is_some_and(Value::is_array) {
        return Err(SimError::missing_body_field("records"));
    }
    let job = org.new_job(JobKind::ActivityRecords, "DONE");
    Ok(json(
        200,
        &json!({"job": {"job_id": job, "state": "RUNNING"}}),
    ))
}
