//! Tools' output schemas: every result names its run (`run_id`, `run_status`); a workflow
//! whose output the definition tells (a listing of typed items, an object's fields) says
//! so, so an agent knows the fields it will get before it calls.

use engine::RunStatus;
use engine::workflow::Workflow;
use serde_json::{Map, Value, json};

/// The tool argument that asks for every field of a listing's items, not only the
/// workflow's `columns:`.
pub const ALL_FIELDS: &str = "all_fields";

/// The fields every result may carry about its run.
fn run_fields() -> Map<String, Value> {
    let statuses: Vec<Value> = RunStatus::ALL.iter().map(|s| json!(s)).collect();
    json!({
        "run_id": {"type": "string", "description": "The run, for get-run-status and the run's output"},
        "run_status": {"type": "string", "enum": statuses, "description": "Where the lumosflow run stands (not a Lumos status)"},
        "workflow_id": {"type": "string"},
        "waiting_for": {
            "type": "object",
            "description": "For a held run: the approval step it waits at and who decides",
            "properties": {
                "step": {"type": "string"},
                "who": {"type": "string"},
                "approvals_needed": {"type": "integer"},
                "reason": {"type": ["string", "null"]},
                "expires_at": {"type": ["string", "null"]},
            },
        },
        "message": {"type": "string", "description": "What to tell the person"},
        "more": {"type": "string", "description": "Where the rest of a listing is"},
        "result": {"description": "An output that is not an object"},
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn object(properties: Map<String, Value>) -> Map<String, Value> {
    json!({
        "type": "object",
        "properties": properties,
        "required": ["run_id", "run_status"],
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// A workflow tool's output schema: the run's fields and what its output is known to be.
/// With `columns:` declared, a listing's items carry those fields unless the agent asks for
/// all of them.
pub fn for_workflow(wf: &Workflow) -> Map<String, Value> {
    let mut props = run_fields();
    if let Some(Value::Object(mut out)) = engine::output::output_schema(wf) {
        if let (Some(columns), Some(item)) = (
            &wf.def.columns,
            out.get_mut("properties")
                .and_then(|p| p.get_mut("items"))
                .and_then(|i| i.get_mut("items"))
                .and_then(|i| i.get_mut("properties"))
                .and_then(Value::as_object_mut),
        ) {
            item.retain(|k, _| columns.value.contains(k));
        }
        if let Some(Value::Object(fields)) = out.remove("properties") {
            for (k, v) in fields {
                // A field the output shares with the run's own (a `message`, say) may be
                // either: a held run's answer has the run's, a finished one the output's.
                match props.get_mut(&k) {
                    None => {
                        props.insert(k, v);
                    }
                    Some(run) if *run != v => *run = json!({"anyOf": [run.clone(), v]}),
                    Some(_) => {}
                }
            }
        }
    }
    object(props)
}

/// get-run-status's output schema.
pub fn for_run_status() -> Map<String, Value> {
    let mut props = run_fields();
    props.insert(
        "output".into(),
        json!({"description": "A finished run's output (a listing's first items)"}),
    );
    props.insert(
        "items".into(),
        json!({"type": "object", "description": "For a listing: how many items it has and how many the output shows",
            "properties": {"count": {"type": "integer"}, "shown": {"type": "integer"}}}),
    );
    props.insert("error".into(), json!({"type": "string"}));
    object(props)
}

/// Keep only `columns` of each item of a listing result.
pub fn only_columns(result: &mut Value, columns: &[String]) {
    if let Some(items) = result.get_mut("items").and_then(Value::as_array_mut) {
        for item in items {
            if let Value::Object(m) = item {
                m.retain(|k, _| columns.contains(k));
            }
        }
    }
}
