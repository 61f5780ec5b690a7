//! JSON views shared by handlers: task assignees and tasks.

use serde_json::{Value, json};

use crate::org::{Assignee, Org};
use crate::time::ts;

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

pub fn task_json(org: &Org, t: usize, actions: bool, assignees: bool, comments: bool) -> Value {
    let task = &org.tasks[t];
    json!({
        "id": task.id,
        "task_type": task.task_type,
        "task_category": task.category,
        "status": task.status,
        "description": task.description,
        "instructions": if task.category == "PROVISIONING" { Value::from("Grant the access, then complete this task.") } else { Value::Null },
        "product_area": task.product_area,
        "app": task.app.map(|a| json!({"id": org.apps[a as usize].id})),
        "target_user": task.target_user.map(|u| org.user_json(u as usize)),
        "resolved_by": task.resolved_by.map(|u| org.user_json(u as usize)),
        "created_at": ts(task.created_at),
        "updated_at": ts(task.updated_at),
        "assignees": assignees.then(|| task.assignees.iter().map(|a| assignee_json(org, a)).collect::<Vec<_>>()),
        "actions": actions.then(|| actions_of(org, t)),
        "comments": comments.then(|| task.comments.iter().map(|(body, by, at)| json!({"body": body, "created_by": org.user_json(*by as usize), "created_at": ts(*at)})).collect::<Vec<_>>()),
        "access_request_id": task.access_request.map(|r| org.access_requests[r].id.clone()),
        "requestable_permission_id": task.permission.map(|p| org.permissions[p].id.clone()),
    })
}

pub fn actions_of(org: &Org, t: usize) -> Vec<Value> {
    if !matches!(org.tasks[t].status, "PENDING" | "ACCEPTED") {
        return Vec::new();
    }
    vec![
        json!({"action_type": "APPROVE", "transitions": [{"transition_to": "COMPLETED"}]}),
        json!({"action_type": "DENY", "transitions": [{"transition_to": "DISMISSED"}]}),
    ]
}
