//! Every step keeps what it gave, bounded, so a run can be debugged from its record.

use engine::RunRequest;
use serde_json::json;

use crate::{obj, setup};

const TWO_STEPS: &str = r#"
id: count-users
name: Count users
steps:
  - id: users
    call: listUsers
    params: { size: 100 }
  - id: count
    transform: "{{ steps.users.output['items'] | length }}"
"#;

#[tokio::test]
async fn every_step_keeps_what_it_gave_bounded() {
    let s = setup().await;
    s.engine
        .create(TWO_STEPS, &engine::Actor::operator())
        .await
        .expect("create");
    let out = s
        .engine
        .run("count-users", &obj(json!({})), RunRequest::default())
        .await
        .expect("run");
    let detail = s.engine.run_detail(&out.run_id).await.expect("detail");
    let of = |id: &str| {
        detail
            .steps
            .iter()
            .find(|x| x.step_id == id)
            .and_then(|x| x.output.as_ref())
            .map(|o| o.0.clone())
            .unwrap_or_else(|| panic!("no output for {id}"))
    };
    // A page of 100 users is more than a record keeps whole: its count and first items.
    let users = of("users");
    assert_eq!(users["truncated"], true, "{users}");
    assert_eq!(users["items_count"], 100);
    assert_eq!(users["first_items"].as_array().map(Vec::len), Some(5));
    assert!(users["total"].as_u64().is_some_and(|t| t >= 100), "{users}");
    // A small output is kept whole.
    assert_eq!(of("count"), json!(100));
}
