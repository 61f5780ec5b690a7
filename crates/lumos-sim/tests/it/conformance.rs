//! Walk the official spec: call every operation with valid inputs against the simulator and
//! validate each request body and each response against the declared schemas.

use std::collections::HashMap;

use lumos_api::{CallOptions, Client};
use serde_json::{Value, json};

use crate::{admin, p, sim};

fn spec() -> Option<Value> {
    testkit::official_spec()
}

/// A schema from the spec made standalone: its `$ref`s resolve against the spec's components.
fn standalone(spec: &Value, schema: &Value) -> Value {
    let mut s = match schema {
        Value::Object(_) => schema.clone(),
        _ => json!({}),
    };
    s["components"] = spec["components"].clone();
    s
}

fn check(spec: &Value, schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(&standalone(spec, schema))
        .unwrap_or_else(|e| panic!("{what}: bad schema: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(5)
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match its schema:\n{}\ninstance: {}",
        errors.join("\n"),
        truncate(instance)
    );
}

fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 600 {
        format!("{}…", &s[..600])
    } else {
        s
    }
}

async fn first_id(c: &Client, op: &str, params: Value, key: &str) -> String {
    let body = c
        .call(op, &p(params), None)
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"));
    body["items"][0][key]
        .as_str()
        .unwrap_or_else(|| panic!("{op} has no items"))
        .to_owned()
}

#[tokio::test]
async fn every_operation_answers_with_its_declared_schema() {
    let Some(spec) = spec() else { return };
    // The validator must see through `$ref`s, or this whole walk would prove nothing.
    let page_user = json!({"$ref": "#/components/schemas/Page_User_"});
    let strict = jsonschema::validator_for(&standalone(&spec, &page_user)).expect("schema");
    assert!(
        !strict.is_valid(&json!({"total": 1})),
        "a page without items must be rejected"
    );
    assert!(
        !strict.is_valid(&json!({"items": [{"email": "x"}], "total": 1, "page": 1, "size": 1})),
        "a user without id must be rejected"
    );
    assert!(strict.is_valid(&json!({"items": [], "total": null, "page": null, "size": null})));
    let sim = sim().await;
    let c = admin(&sim);

    // Ids from the organization, then records created for the mutating calls.
    let user = first_id(&c, "listUsers", json!({}), "id").await;
    let group = first_id(&c, "getGroups", json!({}), "id").await;
    let store_app = first_id(
        &c,
        "getAppStoreApps",
        json!({"all_visibilities": true}),
        "id",
    )
    .await;
    let plain_app = first_id(&c, "listApps", json!({"size": 1}), "id").await;
    let permission = first_id(
        &c,
        "listAppRequestablePermissions",
        json!({"app_id": store_app}),
        "id",
    )
    .await;
    let rule = first_id(&c, "listPreApprovalRules", json!({}), "id").await;
    let policy = first_id(&c, "getAccessPolicies", json!({}), "id").await;
    let review = first_id(&c, "listAccessReviews", json!({}), "id").await;
    let vendor = first_id(&c, "listVendorAgreements", json!({}), "id").await;
    let api_app = c
        .call(
            "createApp",
            &p(json!({})),
            Some(&json!({"name": "Internal Wiki", "category": "Docs"})),
        )
        .await
        .expect("app")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let native_perm = c
        .call(
            "createRequestablePermission",
            &p(json!({})),
            Some(&json!({"app_id": store_app, "label": "Temp"})),
        )
        .await
        .expect("permission")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let reviews = c
        .call("listAccessReviews", &p(json!({})), None)
        .await
        .expect("reviews");
    let doomed_review = reviews["items"][1]["id"]
        .as_str()
        .expect("second review")
        .to_owned();
    let job = c
        .call(
            "postAccounts",
            &p(json!({})),
            Some(&json!({"app_id": plain_app, "accounts": []})),
        )
        .await
        .expect("job")["job_id"]
        .as_str()
        .expect("job")
        .to_owned();
    // An activity-records job is another kind of job, with its own endpoint.
    let activity_job = c
        .call(
            "activityRecords",
            &p(json!({})),
            Some(&json!({"records": [{"account": {"external_id": "x"}, "event": {"type": "LOGIN"}, "timestamp": "2026-05-01T10:00:00", "source_app_id": plain_app}]})),
        )
        .await
        .expect("activity job")["job"]["job_id"]
        .as_str()
        .expect("job id")
        .to_owned();
    let length = crate::a_length(&c, &json!(store_app)).await;
    let requests: Vec<Value> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            let r = c
                .call(
                    "createAccessRequest",
                    &p(json!({})),
                    Some(&json!({"app_id": store_app, "access_length": length})),
                )
                .await
                .expect("request");
            v.push(r[0].clone());
        }
        v
    };
    let tasks: Vec<String> = {
        let mut v = Vec::new();
        for r in &requests {
            let t = c
                .call("listTasks", &p(json!({"show_all_tasks": true, "access_request_id": r["id"], "status": "PENDING"})), None)
                .await
                .expect("tasks");
            v.push(
                t["items"][0]["id"]
                    .as_str()
                    .expect("a pending task")
                    .to_owned(),
            );
        }
        v
    };
    let knowledge = c
        .call(
            "createKnowledgeContext",
            &p(json!({})),
            Some(&json!({"title": "Printer setup", "product_scopes": ["GLOBAL"]})),
        )
        .await
        .expect("kc")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let review_detail = c
        .call(
            "getAccessReview",
            &p(json!({"access_review_id": review})),
            None,
        )
        .await
        .expect("review");
    let arda = review_detail["apps"][0]["id"]
        .as_str()
        .expect("review app")
        .to_owned();

    let path_values: HashMap<&str, String> = HashMap::from([
        ("user_id", user.clone()),
        ("group_id", group.clone()),
        ("job_id", job.clone()),
        ("permission_id", permission.clone()),
        ("pre_approval_rule_id", rule.clone()),
        ("access_policy_id", policy.clone()),
        ("access_review_id", review.clone()),
        ("arda_id", arda.clone()),
        ("knowledge_context_id", knowledge.clone()),
        ("vendor_agreement_id", vendor.clone()),
        ("label", "Cost center".to_owned()),
        ("app_class_id", "github.com".to_owned()),
        ("role_name", "Admin".to_owned()),
        ("domain_app_uuid", plain_app.clone()),
        (
            "id",
            requests[0]["id"].as_str().unwrap_or_default().to_owned(),
        ),
        ("task_id", tasks[0].clone()),
        ("app_id", store_app.clone()),
    ]);

    // Per-operation overrides: different targets and request bodies.
    let overrides: HashMap<&str, (Value, Option<Value>)> = HashMap::from([
        ("createApp", (json!({}), Some(json!({"name": "Team Wiki"})))),
        (
            "updateApp",
            (
                json!({"app_id": api_app}),
                Some(json!({"description": "Docs for everyone"})),
            ),
        ),
        (
            "reconnectApp",
            (
                json!({"app_id": api_app}),
                Some(json!({"name": "Team Wiki"})),
            ),
        ),
        ("disconnectApp", (json!({"app_id": api_app}), None)),
        (
            "updateAppSettings",
            (
                json!({}),
                Some(json!({"request_flow": {"require_manager_approval": true}})),
            ),
        ),
        (
            "triggerAppSync",
            (
                json!({"app_id": plain_app}),
                Some(json!({"sync_type": "full_sync"})),
            ),
        ),
        (
            "deleteRequestablePermission",
            (json!({"permission_id": native_perm}), None),
        ),
        (
            "deleteAccessReview",
            (json!({"access_review_id": doomed_review}), None),
        ),
        (
            "postAccounts",
            (
                json!({}),
                Some(
                    json!({"app_id": plain_app, "accounts": [{"unique_identifier": "svc-1", "email": null}]}),
                ),
            ),
        ),
        (
            "activityRecords",
            (
                json!({}),
                Some(
                    json!({"records": [{"account": {"external_id": "x"}, "event": {"type": "LOGIN"}, "timestamp": "2026-05-01T10:00:00", "source_app_id": plain_app}]}),
                ),
            ),
        ),
        (
            "getActivityRecordsJobState",
            (json!({"job_id": activity_job}), None),
        ),
        (
            "listRequestablePermissions",
            (json!({"app_id": store_app}), None),
        ),
        (
            "createRequestablePermission",
            (
                json!({}),
                Some(
                    json!({"app_id": store_app, "label": "Auditor", "request_config": {"appstore_visibility": "VISIBLE"}}),
                ),
            ),
        ),
        (
            "updateRequestablePermission",
            (json!({}), Some(json!({"label": "Member (renamed)"}))),
        ),
        (
            "createPreApprovalRule",
            (
                json!({}),
                Some(
                    json!({"justification": "Interns", "app_id": store_app, "time_based_access": ["1 day"], "preapproved_groups": [{"id": group}]}),
                ),
            ),
        ),
        (
            "updatePreApprovalRule",
            (
                json!({}),
                Some(json!({"justification": "All interns", "time_based_access": ["7 days"]})),
            ),
        ),
        (
            "updateAppStoreAppSettings",
            (
                json!({}),
                Some(
                    json!({"custom_request_instructions": "Say why", "request_flow": {"approvers": {"users": [{"id": user}], "groups": []}}}),
                ),
            ),
        ),
        (
            "addAppToAppStore",
            (
                json!({}),
                Some(json!({"app_id": plain_app, "custom_request_instructions": "Ask IT"})),
            ),
        ),
        (
            "createAccessRequest",
            (
                json!({}),
                Some(
                    json!({"app_id": store_app, "business_justification": "Project X", "target_user_id": user, "access_length": length}),
                ),
            ),
        ),
        (
            "cancelAccessRequest",
            (
                json!({"id": requests[4]["id"], "reason": "Not needed"}),
                None,
            ),
        ),
        (
            "createAccessPolicy",
            (
                json!({}),
                Some(
                    json!({"name": "Sales birthright", "business_justification": "Day one", "apps": [{"id": plain_app}]}),
                ),
            ),
        ),
        (
            "updateAccessPolicy",
            (
                json!({}),
                Some(
                    json!({"name": "Sales birthright v2", "business_justification": "Day one", "apps": [{"id": plain_app, "is_preapproved": true}], "status": "PUBLISHED"}),
                ),
            ),
        ),
        (
            "createAccessReview",
            (
                json!({}),
                Some(
                    json!({"name": "Q3 review", "deadline_at": "2026-09-30T00:00:00", "apps": [{"id": plain_app}]}),
                ),
            ),
        ),
        (
            "addAppsToAccessReview",
            (json!({}), Some(json!({"apps": [{"id": store_app}]}))),
        ),
        (
            "updateAccessReview",
            (
                json!({}),
                Some(json!({"name": "Q3 review (final)", "apps": []})),
            ),
        ),
        (
            "createKnowledgeContext",
            (
                json!({}),
                Some(
                    json!({"title": "VPN", "content": "Use the client", "product_scopes": ["GLOBAL"]}),
                ),
            ),
        ),
        (
            "updateKnowledgeContext",
            (json!({}), Some(json!({"title": "Printer setup (2026)"}))),
        ),
        (
            "updateVendorAgreementCustomAttribute",
            (json!({}), Some(json!({"value": "IT"}))),
        ),
        (
            "createFoundDocument",
            (
                json!({}),
                Some(
                    json!({"unique_identifier": "inv-1", "files": [{"type": "url", "value": "https://example.com/a.pdf"}]}),
                ),
            ),
        ),
        (
            "createOrder",
            (
                json!({}),
                Some(
                    json!({"unique_identifier": "po-1", "vendor": {"name": "Acme"}, "start_date": "2026-01-01", "end_date": "2026-12-31", "auto_renewal": false, "line_items": []}),
                ),
            ),
        ),
        (
            "performTaskAction",
            (
                json!({"task_id": tasks[1]}),
                Some(json!({"action_type": "APPROVE"})),
            ),
        ),
        (
            "reassignTask",
            (
                json!({"task_id": tasks[2]}),
                Some(json!({"user_ids": [user]})),
            ),
        ),
        (
            "addTaskComment",
            (json!({}), Some(json!({"comment": "Looking into it"}))),
        ),
        ("completeTask", (json!({"task_id": tasks[0]}), None)),
        ("dismissTask", (json!({"task_id": tasks[3]}), None)),
        (
            "processAirbaseMilestoneEvent",
            (
                json!({}),
                Some(
                    json!({"id": "evt_1", "object": "event", "type": "purchase_request.approved", "created_date": "2026-05-01", "data": {}}),
                ),
            ),
        ),
        (
            "processVendrRequestCompletedEvent",
            (json!({}), Some(json!({"status": "completed"}))),
        ),
        (
            "removeAppFromAppStore",
            (json!({"app_id": plain_app}), None),
        ),
    ]);

    // Reads first, then writes, then deletes, so a delete never hides a later read's target.
    let mut ops: Vec<(String, String, Value)> = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            ops.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    let rank = |m: &str| match m {
        "GET" => 0,
        "DELETE" => 2,
        _ => 1,
    };
    ops.sort_by_key(|(m, path, _)| (rank(m), path.contains("/sync"), path.clone()));

    let mut seen = 0;
    for (method, path, op) in &ops {
        let id = op["operationId"].as_str().expect("id");
        let entry = c.operation(id).expect("in catalog");
        let name = entry.name();
        let (mut params, body) = overrides.get(name).cloned().unwrap_or((json!({}), None));
        for prm in op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let pname = prm["name"].as_str().expect("name");
            if prm["in"] == "path" && params.get(pname).is_none() {
                params[pname] = Value::from(
                    path_values
                        .get(pname)
                        .cloned()
                        .unwrap_or_else(|| panic!("{name}: no value for {pname}")),
                );
            }
        }
        if let Some(b) = &body {
            let content = &op["requestBody"]["content"];
            let schema = content
                .get("application/json")
                .or_else(|| content.get("multipart/form-data"))
                .map(|c| &c["schema"]);
            if let Some(schema) = schema {
                check(&spec, schema, b, &format!("{name} request body"));
            }
        }
        let (op_ref, req) = c
            .prepare(name, &p(params.clone()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let resp = c
            .execute(op_ref, &req, body.as_ref(), CallOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{method} {path} ({name}) failed: {e}"));
        assert_eq!(resp.status, entry.success_status, "{name} status");
        let declared = &op["responses"][resp.status.to_string()];
        if let Some(content) = declared.get("content").and_then(Value::as_object) {
            if let Some(json_content) = content.get("application/json") {
                check(
                    &spec,
                    &json_content["schema"],
                    &resp.body,
                    &format!("{method} {path} ({name}) response"),
                );
            } else {
                assert!(resp.body.is_string(), "{name}: expected text");
            }
        } else {
            assert!(
                resp.body.is_null(),
                "{name}: expected no body, got {}",
                resp.body
            );
        }
        seen += 1;
    }
    assert_eq!(seen, 86);
    sim.stop().await;
}
