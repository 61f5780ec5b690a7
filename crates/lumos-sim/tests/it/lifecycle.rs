//! The access-request lifecycle through the API: create, approve stage by stage, deny, cancel.

use lumos_api::Error;
use serde_json::{Value, json};

use crate::{admin, member, p, sim};

async fn pending_task(c: &lumos_api::Client, request: &Value) -> Option<Value> {
    let tasks = c
        .call("listTasks", &p(json!({"show_all_tasks": true, "access_request_id": request["id"], "status": "PENDING", "expand": ["assignees"]})), None)
        .await
        .expect("tasks");
    tasks["items"].as_array().and_then(|a| a.first().cloned())
}

#[tokio::test]
async fn create_approve_through_every_stage_then_conflict() {
    let sim = sim().await;
    let c = admin(&sim);
    let app = crate::store_app(&c).await;
    let someone = c
        .call("listUsers", &p(json!({"page": 3, "size": 1})), None)
        .await
        .expect("user")["items"][0]["id"]
        .clone();
    // Two approval stages plus the manager, so the walk is long.
    c.call(
        "updateAppStoreAppSettings",
        &p(json!({"app_id": app})),
        Some(&json!({"request_flow": {"require_manager_approval": true, "require_additional_approval": true,
            "approvers_stage_2": {"users": [{"id": someone}], "groups": []}}, "provisioning": {"manual_steps_needed": false}})),
    )
    .await
    .expect("settings");
    let length = crate::a_length(&c, &app).await;
    let created = c
        .call("createAccessRequest", &p(json!({})), Some(&json!({"app_id": app, "target_user_id": someone, "business_justification": "Project", "access_length": length})))
        .await
        .expect("created");
    let req = created[0].clone();
    assert_eq!(req["status"], "PENDING_MANAGER_APPROVAL");
    assert_eq!(req["notes"]["PENDING"], "Project");
    let mut seen = vec![req["status"].as_str().unwrap_or_default().to_owned()];
    let mut last_task = None;
    while let Some(task) = pending_task(&c, &req).await {
        assert_eq!(task["product_area"], "APPSTORE");
        assert!(!task["assignees"].as_array().expect("assignees").is_empty());
        c.call("completeTask", &p(json!({"task_id": task["id"]})), None)
            .await
            .expect("complete");
        let now = c
            .call(
                "getAccessRequest",
                &p(json!({"id": req["id"], "expand": ["tasks"]})),
                None,
            )
            .await
            .expect("request");
        seen.push(now["status"].as_str().unwrap_or_default().to_owned());
        last_task = Some(task);
    }
    assert_eq!(
        seen,
        [
            "PENDING_MANAGER_APPROVAL",
            "PENDING_APPROVAL",
            "PENDING_APPROVAL",
            "COMPLETED"
        ]
    );
    let again = c
        .call(
            "completeTask",
            &p(json!({"task_id": last_task.expect("a task")["id"]})),
            None,
        )
        .await
        .expect_err("409");
    assert!(matches!(again, Error::Conflict { .. }), "{again}");
    let e = c
        .call("cancelAccessRequest", &p(json!({"id": req["id"]})), None)
        .await
        .expect_err("not pending");
    assert!(matches!(e, Error::Conflict { .. }));
    sim.stop().await;
}

#[tokio::test]
async fn dismiss_denies_and_cancel_withdraws() {
    let sim = sim().await;
    let c = admin(&sim);
    let app = crate::store_app(&c).await;
    let length = crate::a_length(&c, &app).await;
    let a = c
        .call(
            "createAccessRequest",
            &p(json!({})),
            Some(&json!({"app_id": app, "access_length": length})),
        )
        .await
        .expect("a")[0]
        .clone();
    let task = pending_task(&c, &a).await.expect("task");
    c.call("dismissTask", &p(json!({"task_id": task["id"]})), None)
        .await
        .expect("dismiss");
    let a = c
        .call("getAccessRequest", &p(json!({"id": a["id"]})), None)
        .await
        .expect("a");
    assert!(
        a["status"] == "DENIED" || a["status"] == "MANAGER_DENIED",
        "{a}"
    );

    let b = c
        .call(
            "createAccessRequest",
            &p(json!({})),
            Some(&json!({"app_id": app, "access_length": length})),
        )
        .await
        .expect("b")[0]
        .clone();
    let resp = c
        .call_with(
            "cancelAccessRequest",
            &p(json!({"id": b["id"], "reason": "typo"})),
            None,
            Default::default(),
        )
        .await
        .expect("cancel");
    assert_eq!(resp.status, 204);
    let b = c
        .call("getAccessRequest", &p(json!({"id": b["id"]})), None)
        .await
        .expect("b");
    assert_eq!(b["status"], "CANCELLED");
    assert_eq!(b["notes"]["CANCELLED"], "typo");
    // The member cannot act on tasks that are not theirs, nor file on someone's behalf.
    let other = c
        .call(
            "createAccessRequest",
            &p(json!({})),
            Some(&json!({"app_id": app, "access_length": length})),
        )
        .await
        .expect("c")[0]
        .clone();
    let t = pending_task(&c, &other).await.expect("task");
    let e = member(&sim)
        .call("completeTask", &p(json!({"task_id": t["id"]})), None)
        .await
        .expect_err("403");
    assert!(matches!(e, Error::Forbidden { .. }), "{e}");
    let admin_id = c.current_user().await.expect("me").id;
    let e = member(&sim)
        .call(
            "createAccessRequest",
            &p(json!({})),
            Some(&json!({"app_id": app, "requester_user_id": admin_id, "access_length": length})),
        )
        .await
        .expect_err("403");
    assert!(matches!(e, Error::Forbidden { .. }), "{e}");
    let listed = c
        .call(
            "getAccessRequests",
            &p(json!({"statuses": ["CANCELLED"], "sort": "desc"})),
            None,
        )
        .await
        .expect("list");
    assert_eq!(listed["items"][0]["id"], b["id"]);
    sim.stop().await;
}
