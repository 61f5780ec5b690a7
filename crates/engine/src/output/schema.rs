//! What a workflow's output looks like, as JSON Schema, told from its definition before it
//! runs: a listing's items typed from the operation's response schema (and `fields:`), an
//! object's fields, or nothing known. For MCP tools' output schemas, so an agent knows the
//! fields of what it will get.

use lumos_api::{Schemas, Shape};
use serde_json::{Map, Value, json};
use workflow_lang::plan::Action;
use workflow_lang::workflow::Workflow;

/// Nested objects described this deep (an account's app, a request's user); deeper ones
/// are any JSON.
const DEPTH: usize = 1;

/// The output's schema when the definition tells it; `None` when it is only known once run.
pub fn output_schema(wf: &Workflow) -> Option<Value> {
    if let Some(step) = wf.output_step() {
        let planned = wf.plan.iter().find(|s| s.id == step)?;
        let Action::Call(call) = &planned.action else {
            return None;
        };
        let response = &call.op.response;
        let fields = call.fields.as_deref();
        let schemas = Schemas::lumos();
        return match response.shape {
            Shape::Listing if response.items_key.as_deref().unwrap_or("items") == "items" => {
                let item = match response.item.as_deref() {
                    Some(name) => schemas.inline(name, fields, DEPTH),
                    None => json!({}),
                };
                Some(json!({
                    "type": "object",
                    "properties": {
                        "items": {"type": "array", "items": item},
                        "total": {"type": ["integer", "null"], "description": "Items in the whole listing, when Lumos says"},
                    }
                }))
            }
            Shape::Object => response
                .schema
                .as_deref()
                .map(|name| schemas.inline(name, fields, DEPTH)),
            _ => None,
        };
    }
    // An output written as an object of templates: its fields, of any type.
    let Value::Object(fields) = &wf.def.output.as_ref()?.value else {
        return None;
    };
    let props: Map<String, Value> = fields.keys().map(|k| (k.clone(), json!({}))).collect();
    Some(json!({"type": "object", "properties": props}))
}
