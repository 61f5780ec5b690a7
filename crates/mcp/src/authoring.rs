//! Tools for writing workflows, for builders and admins: any MCP client's model writes a
//! workflow file, and lumosflow's own validator (every problem with its line and column), a
//! try against Lumos (dry by default) and the save rules of the API are its feedback loop.
//! The rules stay the run core's: a try sends a change only as a run could, and only admins
//! save what changes Lumos.

use std::sync::Arc;

use engine::{Actor, Engine, EngineError, Role};
use rmcp::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

pub const VALIDATE: &str = "validate-workflow";
pub const TRY: &str = "try-workflow";
pub const SAVE: &str = "save-workflow";

/// Whether `name` is one of these tools.
pub fn is_authoring(name: &str) -> bool {
    [VALIDATE, TRY, SAVE].contains(&name)
}

/// Who gets them: builders and admins, through a key without a scope (a scoped key may do
/// less than its role; writing workflows is not among what it may).
pub fn offered_to(caller: &Actor) -> bool {
    caller.may(Role::Builder) && caller.scope.is_open()
}

fn schema(v: Value) -> Arc<Map<String, Value>> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

const YAML: &str = "The whole workflow file (YAML), as in the write-workflow prompt";

pub fn tools() -> Vec<Tool> {
    let mut validate = Tool::new(
        VALIDATE,
        "Check a workflow file without saving it: every problem with its line and column (unknown operations and parameters, template typos, inputs, approval rules), or what the workflow is and what it changes. Use it after every edit.",
        schema(
            json!({"type": "object", "properties": {"yaml": {"type": "string", "description": YAML}},
            "required": ["yaml"], "additionalProperties": false}),
        ),
    );
    validate.annotations = Some(
        ToolAnnotations::with_title("Validate a workflow")
            .read_only(true)
            .open_world(false),
    );
    let mut trial = Tool::new(
        TRY,
        "Run a workflow file without saving it and see each step's status and output, then the workflow's output or error. A dry run by default: changes to Lumos are described, not sent (dry_run: false sends them, for admins and only where no approval gate applies). Nothing is recorded as a run.",
        schema(json!({"type": "object", "properties": {
            "yaml": {"type": "string", "description": YAML},
            "inputs": {"type": "object", "description": "The workflow's inputs by name"},
            "dry_run": {"type": "boolean", "default": true},
            "until_step": {"type": "string", "description": "Stop after this step"},
            "connection": {"type": "string", "default": "default"}},
            "required": ["yaml"], "additionalProperties": false})),
    );
    trial.annotations = Some(
        ToolAnnotations::with_title("Try a workflow")
            .read_only(false)
            .destructive(false)
            .open_world(true),
    );
    let mut save = Tool::new(
        SAVE,
        "Save a workflow file: installs it (a new tool appears). For an id already installed, it saves a new version only with replace: true (other agents use that tool: say so to the person first). Only admins may save a workflow that changes Lumos.",
        schema(json!({"type": "object", "properties": {
            "yaml": {"type": "string", "description": YAML},
            "replace": {"type": "boolean", "default": false, "description": "Save a new version of a workflow already installed under this id"}},
            "required": ["yaml"], "additionalProperties": false})),
    );
    save.annotations = Some(
        ToolAnnotations::with_title("Save a workflow")
            .read_only(false)
            .destructive(false)
            .idempotent(false)
            .open_world(false),
    );
    vec![validate, trial, save]
}

/// A tool's answer: structured content, or an error the model can act on.
pub enum Answer {
    Ok(Value),
    Refused(String),
}

fn yaml_of(args: &Map<String, Value>) -> Result<&str, Answer> {
    args.get("yaml")
        .and_then(Value::as_str)
        .ok_or_else(|| Answer::Refused("yaml is required: the whole workflow file as text".into()))
}

/// Errors a model can act on become its answer; the rest are the server's.
fn refused(e: EngineError) -> Result<Answer, EngineError> {
    match e {
        EngineError::Invalid(_)
        | EngineError::Inputs(_)
        | EngineError::Forbidden(_)
        | EngineError::Conflict(_)
        | EngineError::Connection(_)
        | EngineError::NotInstalled { .. } => Ok(Answer::Refused(e.to_string())),
        other => Err(other),
    }
}

/// Answer a call of one of these tools (the caller is one they are `offered_to`).
pub async fn call(
    engine: &Engine,
    name: &str,
    args: &Map<String, Value>,
    caller: &Actor,
) -> Result<Answer, EngineError> {
    let yaml = match yaml_of(args) {
        Ok(y) => y,
        Err(a) => return Ok(a),
    };
    match name {
        VALIDATE => match engine.validate(yaml) {
            Ok(wf) => {
                let changes = engine.changes(&wf).await?;
                Ok(Answer::Ok(json!({
                    "valid": true,
                    "id": wf.id(),
                    "name": wf.name(),
                    "steps": wf.def.steps.len(),
                    "changes": changes.describe_first(),
                    "saving": if changes.any() { "changes Lumos or the world: only an admin may save it" } else { "changes nothing: a builder may save it" },
                })))
            }
            Err(invalid) => Ok(Answer::Refused(invalid.to_string())),
        },
        TRY => {
            let inputs = match args.get("inputs") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(other) => {
                    return Ok(Answer::Refused(format!(
                        "inputs must be an object of the workflow's inputs by name, not {other}"
                    )));
                }
            };
            let dry_run = args.get("dry_run").and_then(Value::as_bool).unwrap_or(true);
            let until = args.get("until_step").and_then(Value::as_str);
            let connection = args
                .get("connection")
                .and_then(Value::as_str)
                .unwrap_or("default");
            let trial = match engine
                .try_workflow(yaml, &inputs, connection, dry_run, until, caller)
                .await
            {
                Ok(t) => t,
                Err(e) => return refused(e),
            };
            let steps: Vec<Value> = trial
                .steps
                .iter()
                .map(|s| {
                    json!({"step": s.step_id, "iteration": s.iteration, "status": s.status,
                        "operation": s.operation, "http_status": s.http_status, "error": s.error,
                        "output": s.output})
                })
                .collect();
            Ok(Answer::Ok(match trial.result {
                Ok(output) => {
                    json!({"ok": true, "dry_run": dry_run, "output": output, "steps": steps})
                }
                Err(error) => {
                    json!({"ok": false, "dry_run": dry_run, "error": error, "steps": steps})
                }
            }))
        }
        SAVE => {
            let id = match engine.validate(yaml) {
                Ok(wf) => wf.id().to_owned(),
                Err(invalid) => return Ok(Answer::Refused(invalid.to_string())),
            };
            let current = engine.load(&id, None).await.ok().map(|(_, v)| v);
            let replace = args
                .get("replace")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if let (Some(v), false) = (current, replace) {
                return Ok(Answer::Refused(format!(
                    "'{id}' is already installed (version {v}), and other agents may use it: give the file another id, or pass replace: true to save a new version of it"
                )));
            }
            let saved = match current {
                Some(_) => engine
                    .edit(&id, yaml, caller)
                    .await
                    .map(|v| (id.clone(), v)),
                None => engine.create(yaml, caller).await,
            };
            match saved {
                Ok((id, version)) => Ok(Answer::Ok(json!({
                    "id": id, "version": version,
                    "saved": match current {
                        None => "installed: the tool appears in the list",
                        Some(v) if v == version => "unchanged: the installed version is this file",
                        Some(_) => "a new version",
                    },
                }))),
                Err(e) => refused(e),
            }
        }
        _ => Ok(Answer::Refused(format!("unknown tool '{name}'"))),
    }
}
