//! Tasks: approvals and provisioning work items, and the actions on them.

use serde_json::{Value, json};

use super::views::{actions_of, task_json};
use super::{Ctx, find};
use crate::ids::Kind;
use crate::lifecycle;
use crate::org::{Assignee, Org};
use crate::time::ts;
use crate::wire::{self, Reply, Result, SimError, json, object, req_str};

fn task_idx(org: &Org, id: &str) -> Result<usize> {
    find(org, Kind::Task, id, org.tasks.len(), "Task")
}

pub fn list(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let q = &ctx.query;
    let all = q.bool("show_all_tasks").unwrap_or(false);
    if all {
        ctx.require_admin()?;
    }
    let people = q.list("assigned_identity_ids");
    let groups = q.list("assigned_group_ids");
    let request = q.str("access_request_id");
    let search = q.str("search").map(str::to_lowercase);
    let mut hits: Vec<usize> = (0..org.tasks.len())
        .filter(|&t| all || lifecycle::may_act(org, t, ctx.user(), false))
        .filter(|&t| {
            let task = &org.tasks[t];
            q.str("task_type").is_none_or(|v| task.task_type.eq_ignore_ascii_case(v))
                && q.str("task_category").is_none_or(|v| task.category.eq_ignore_ascii_case(v))
                && q.str("status").is_none_or(|v| task.status.eq_ignore_ascii_case(v))
                && q.str("product_area").is_none_or(|v| task.product_area.eq_ignore_ascii_case(v))
                && request.is_none_or(|r| task.access_request.is_some_and(|i| org.access_requests[i].id == r))
                && search.as_ref().is_none_or(|s| task.description.to_lowercase().contains(s))
                && (people.is_empty()
                    || task.assignees.iter().any(|a| matches!(a, Assignee::User(u) if people.contains(&org.users[*u as usize].id.as_str()))))
                && (groups.is_empty()
                    || task.assignees.iter().any(|a| matches!(a, Assignee::Group(g) if groups.contains(&org.groups[*g as usize].id.as_str()))))
        })
        .collect();
    let key = q.str("sort_by").unwrap_or("createdAt");
    match key {
        "taskType" => hits.sort_by(|a, b| org.tasks[*a].task_type.cmp(&org.tasks[*b].task_type)),
        "app" => hits.sort_by_key(|&t| org.tasks[t].app),
        "targetUser" => hits.sort_by_key(|&t| org.tasks[t].target_user),
        _ => hits.sort_by_key(|&t| (org.tasks[t].created_at, t)),
    }
    if !q
        .str("sort_direction")
        .is_some_and(|d| d.eq_ignore_ascii_case("asc"))
    {
        hits.reverse();
    }
    let (actions, assignees) = (q.has("expand", "actions"), q.has("expand", "assignees"));
    let items: Vec<Value> = hits
        .into_iter()
        .map(|t| task_json(org, t, actions, assignees, false))
        .collect();
    Ok(wire::page_of(items, q))
}

pub fn get(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let t = task_idx(org, ctx.path("task_id"))?;
    let q = &ctx.query;
    Ok(json(
        200,
        &task_json(
            org,
            t,
            q.has("expand", "actions"),
            q.has("expand", "assignees"),
            q.has("expand", "comments"),
        ),
    ))
}

pub fn actions(org: &Org, ctx: &Ctx) -> Result<Reply> {
    let t = task_idx(org, ctx.path("task_id"))?;
    Ok(json(200, &actions_of(org, t)))
}

fn acting(org: &Org, ctx: &Ctx) -> Result<usize> {
    let t = task_idx(org, ctx.path("task_id"))?;
    if !lifecycle::may_act(org, t, ctx.user(), ctx.is_admin()) {
        return Err(SimError::forbidden(
            "Only an assignee of this task or an admin can act on it",
        ));
    }
    Ok(t)
}

pub fn resolve(org: &mut Org, ctx: &Ctx, complete: bool) -> Result<Reply> {
    let t = acting(org, ctx)?;
    let result = if complete {
        lifecycle::complete_task(org, t, ctx.user(), org.clock.now())
    } else {
        lifecycle::dismiss_task(org, t, ctx.user(), org.clock.now())
    };
    result.map_err(SimError::conflict)?;
    Ok(Reply::Empty(204))
}

pub fn perform(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let body = object(&ctx.body)?;
    let action = req_str(body, "action_type")?.to_owned();
    let t = acting(org, ctx)?;
    if actions_of(org, t).is_empty() {
        return Err(SimError::conflict(format!(
            "Task is already {}",
            org.tasks[t].status
        )));
    }
    let result = match action.as_str() {
        "APPROVE" => lifecycle::complete_task(org, t, ctx.user(), org.clock.now()),
        "DENY" => lifecycle::dismiss_task(org, t, ctx.user(), org.clock.now()),
        other => {
            return Err(SimError::Status(
                400,
                format!("Unknown action '{other}' for this task (valid: APPROVE, DENY)"),
            ));
        }
    };
    result.map_err(SimError::conflict)?;
    Ok(Reply::Empty(204))
}

pub fn reassign(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let body = object(&ctx.body)?;
    let t = acting(org, ctx)?;
    if !matches!(org.tasks[t].status, "PENDING" | "ACCEPTED") {
        return Err(SimError::conflict(format!(
            "Task is already {}",
            org.tasks[t].status
        )));
    }
    let mut new = Vec::new();
    for id in wire::opt_str_list(body, "user_ids")?.unwrap_or_default() {
        let u = find(org, Kind::User, &id, org.users.len(), "User")
            .map_err(|_| SimError::Status(400, format!("Unknown user '{id}'")))?;
        new.push(Assignee::User(u as u32));
    }
    for id in wire::opt_str_list(body, "group_ids")?.unwrap_or_default() {
        let g = find(org, Kind::Group, &id, org.groups.len(), "Group")
            .map_err(|_| SimError::Status(400, format!("Unknown group '{id}'")))?;
        new.push(Assignee::Group(g as u32));
    }
    if new.is_empty() {
        return Err(SimError::Status(
            400,
            "Give user_ids or group_ids to reassign to".into(),
        ));
    }
    let task = &mut org.tasks[t];
    if wire::opt_bool(body, "replace")?.unwrap_or(true) {
        task.assignees = new;
    } else {
        task.assignees.extend(new);
    }
    task.updated_at = org.clock.now();
    Ok(Reply::Empty(204))
}

pub fn comment(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    let body = object(&ctx.body)?;
    let text = req_str(body, "comment")?;
    let n = text.chars().count();
    if n == 0 {
        return Err(SimError::body_field(
            "comment",
            "String should have at least 1 character",
            "string_too_short",
        ));
    }
    if n > 4000 {
        return Err(SimError::body_field(
            "comment",
            "String should have at most 4000 characters",
            "string_too_long",
        ));
    }
    let text = text.to_owned();
    let t = task_idx(org, ctx.path("task_id"))?;
    let at = org.clock.now();
    org.tasks[t].comments.push((text.clone(), ctx.user(), at));
    Ok(json(
        201,
        &json!({"body": text, "created_by": org.user_json(ctx.user() as usize), "created_at": ts(at)}),
    ))
}
