//! The access-request lifecycle: create → approval stages (manager, stage 1, stage 2) →
//! provisioning → completed; tasks are the approvals; dismiss denies; cancel withdraws.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ids::Kind;
use crate::org::{AccessRequest, Assignee, Org, Stage, Task};

/// Statuses during which a request can still be cancelled.
pub const PENDING: &[&str] = &[
    "PENDING",
    "PENDING_MANAGER_APPROVAL",
    "PENDING_APPROVAL",
    "PENDING_PROVISIONING",
    "PENDING_MANUAL_PROVISIONING",
];

fn assignees_of(org: &Org, principals: &Value) -> Vec<Assignee> {
    let mut out = Vec::new();
    for u in principals["users"].as_array().into_iter().flatten() {
        if let Some(i) = u["id"]
            .as_str()
            .and_then(|id| org.ids.parse(Kind::User, id))
        {
            out.push(Assignee::User(i as u32));
        }
    }
    for g in principals["groups"].as_array().into_iter().flatten() {
        if let Some(i) = g["id"]
            .as_str()
            .and_then(|id| org.ids.parse(Kind::Group, id))
        {
            out.push(Assignee::Group(i as u32));
        }
    }
    out
}

/// The stages a request for `app` (and optionally a permission) goes through.
fn plan(org: &Org, app: u32, target: u32, perms: &[usize]) -> Vec<Stage> {
    let Some(settings) = org.appstore.get(&app) else {
        return Vec::new();
    };
    let flow = &settings["request_flow"];
    let perm_cfg = perms
        .iter()
        .map(|&p| &org.permissions[p].config["request_approval_config"])
        .find(|c| c["request_approval_config_override"].as_bool() == Some(true));
    let (manager, stage1, stage2) = match perm_cfg {
        Some(c) => (
            c["manager_approval"].as_str() == Some("INITIAL_APPROVAL"),
            assignees_of(org, &c["approvers"]),
            if c["require_additional_approval"].as_bool() == Some(true) {
                assignees_of(org, &c["approvers_stage_2"])
            } else {
                vec![]
            },
        ),
        None => (
            flow["require_manager_approval"].as_bool() == Some(true),
            assignees_of(org, &flow["approvers"]),
            if flow["require_additional_approval"].as_bool() == Some(true) {
                assignees_of(org, &flow["approvers_stage_2"])
            } else {
                vec![]
            },
        ),
    };
    let mut stages = Vec::new();
    if manager && let Some(m) = org.users[target as usize].manager {
        stages.push(Stage::Manager(m));
    }
    if !stage1.is_empty() {
        stages.push(Stage::Approvers {
            stage: 1,
            assignees: stage1,
        });
    }
    if !stage2.is_empty() {
        stages.push(Stage::Approvers {
            stage: 2,
            assignees: stage2,
        });
    }
    if settings["provisioning"]["manual_steps_needed"].as_bool() == Some(true) {
        let admins = assignees_of(org, &flow["admins"]);
        if !admins.is_empty() {
            stages.push(Stage::Provisioning(admins));
        }
    }
    stages
}

/// A request received: plain `PENDING`, with no task, until [`route`] sends it to its first
/// stage (as Lumos shows one whose request-validation webhook has not answered yet).
#[allow(clippy::too_many_arguments)]
pub fn receive(
    org: &mut Org,
    app: u32,
    requester: u32,
    target: u32,
    perms: Vec<usize>,
    expiration_in_seconds: Option<i64>,
    justification: Option<String>,
    at: i64,
) -> usize {
    let idx = org.access_requests.len();
    let stages = plan(org, app, target, &perms);
    let mut notes = BTreeMap::new();
    notes.insert("PENDING".to_owned(), justification.clone());
    org.access_requests.push(AccessRequest {
        id: org.ids.id(Kind::AccessRequest, idx),
        app,
        requester,
        target,
        status: "PENDING",
        notes,
        permissions: perms,
        requested_at: at,
        expiration_in_seconds,
        expires_at: None,
        stages,
        stage: 0,
        tasks: Vec::new(),
        custom_fields: vec![("Business justification".to_owned(), justification)],
    });
    idx
}

/// Send a request to its current stage (the first, once received), or grant it when no
/// stage is left.
pub fn route(org: &mut Org, req: usize, at: i64) {
    let r = &org.access_requests[req];
    let Some(stage) = r.stages.get(r.stage).cloned() else {
        finish(org, req, at);
        return;
    };
    let (status, category, task_type, assignees) = match &stage {
        Stage::Manager(m) => (
            "PENDING_MANAGER_APPROVAL",
            "MANAGER_APPROVAL",
            "MANAGER_APPROVAL",
            vec![Assignee::User(*m)],
        ),
        Stage::Approvers { assignees, .. } => (
            "PENDING_APPROVAL",
            "APPROVAL",
            "APP_APPROVAL",
            assignees.clone(),
        ),
        Stage::Provisioning(admins) => (
            "PENDING_MANUAL_PROVISIONING",
            "PROVISIONING",
            "MANUAL_PROVISIONING",
            admins.clone(),
        ),
    };
    let app_label = org.apps[r.app as usize].label.clone();
    let target = &org.users[r.target as usize];
    let description = match &stage {
        Stage::Manager(_) => format!(
            "Approve {} {}'s request for {app_label} as their manager",
            target.given, target.family
        ),
        Stage::Approvers { stage, .. } => format!(
            "Stage {stage}: approve {} {}'s request for {app_label}",
            target.given, target.family
        ),
        Stage::Provisioning(_) => format!(
            "Grant {} {} access to {app_label} by hand",
            target.given, target.family
        ),
    };
    let task_idx = org.tasks.len();
    let task = Task {
        id: org.ids.id(Kind::Task, task_idx),
        category,
        task_type: task_type.to_owned(),
        status: "PENDING",
        description,
        product_area: "APPSTORE",
        app: Some(r.app),
        target_user: Some(r.target),
        resolved_by: None,
        created_at: at,
        updated_at: at,
        assignees,
        access_request: Some(req),
        permission: r.permissions.first().copied(),
        comments: Vec::new(),
    };
    org.tasks.push(task);
    let r = &mut org.access_requests[req];
    r.tasks.push(task_idx);
    r.status = status;
    r.notes.entry(status.to_owned()).or_insert(None);
}

fn finish(org: &mut Org, req: usize, at: i64) {
    let r = &mut org.access_requests[req];
    for s in ["APPROVED", "PROVISIONED", "COMPLETED"] {
        r.notes.entry(s.to_owned()).or_insert(None);
    }
    r.status = "COMPLETED";
    r.expires_at = r.expiration_in_seconds.map(|s| at + s);
}

/// The pending task of the request's current stage.
pub fn open_task(org: &Org, req: usize) -> Option<usize> {
    let r = &org.access_requests[req];
    r.tasks
        .iter()
        .copied()
        .find(|&t| org.tasks[t].status == "PENDING")
}

pub fn complete_task(org: &mut Org, task: usize, actor: u32, at: i64) -> Result<(), String> {
    resolve(org, task, actor, at, "COMPLETED")?;
    if let Some(req) = org.tasks[task].access_request
        && PENDING.contains(&org.access_requests[req].status)
    {
        let stage = org.access_requests[req]
            .stages
            .get(org.access_requests[req].stage)
            .cloned();
        let note = match stage {
            Some(Stage::Manager(_)) => Some("MANAGER_APPROVED"),
            Some(Stage::Approvers { .. }) => Some("APPROVED"),
            _ => None,
        };
        if let Some(n) = note {
            org.access_requests[req]
                .notes
                .entry(n.to_owned())
                .or_insert(None);
        }
        org.access_requests[req].stage += 1;
        route(org, req, at);
    }
    Ok(())
}

pub fn dismiss_task(org: &mut Org, task: usize, actor: u32, at: i64) -> Result<(), String> {
    resolve(org, task, actor, at, "DISMISSED")?;
    if let Some(req) = org.tasks[task].access_request
        && PENDING.contains(&org.access_requests[req].status)
    {
        let status = match org.tasks[task].category {
            "MANAGER_APPROVAL" => "MANAGER_DENIED",
            "PROVISIONING" => "DENIED_PROVISIONING",
            _ => "DENIED",
        };
        let r = &mut org.access_requests[req];
        r.status = status;
        r.notes
            .insert(status.to_owned(), Some("Denied by approver".to_owned()));
    }
    Ok(())
}

fn resolve(
    org: &mut Org,
    task: usize,
    actor: u32,
    at: i64,
    to: &'static str,
) -> Result<(), String> {
    let t = &mut org.tasks[task];
    if t.status != "PENDING" && t.status != "ACCEPTED" {
        return Err(format!("Task is already {}", t.status));
    }
    t.status = to;
    t.resolved_by = Some(actor);
    t.updated_at = at;
    Ok(())
}

pub fn cancel(org: &mut Org, req: usize, reason: Option<String>, at: i64) -> Result<(), String> {
    let status = org.access_requests[req].status;
    if !PENDING.contains(&status) {
        return Err(format!(
            "Only pending access requests can be cancelled; this one is {status}"
        ));
    }
    for t in org.access_requests[req].tasks.clone() {
        if org.tasks[t].status == "PENDING" {
            org.tasks[t].status = "DISMISSED";
            org.tasks[t].updated_at = at;
        }
    }
    let r = &mut org.access_requests[req];
    r.status = "CANCELLED";
    r.notes.insert("CANCELLED".to_owned(), reason);
    Ok(())
}

/// Whether `user` may act on `task`: an assignee (directly or through a group) or an admin.
pub fn may_act(org: &Org, task: usize, user: u32, admin: bool) -> bool {
    admin
        || org.tasks[task].assignees.iter().any(|a| match a {
            Assignee::User(u) => *u == user,
            Assignee::Group(g) => org.user_in_group(user, &org.groups[*g as usize]),
        })
}
