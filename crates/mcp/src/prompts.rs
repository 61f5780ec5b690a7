//! Prompts that walk an agent through the common asks with lumosflow's tools: request access
//! to an app for someone, find who approves access to an app, and write a workflow (the
//! format is the workflow guide itself, so the prompt and the docs never disagree).

use rmcp::model::{Prompt, PromptArgument, PromptMessage, Role};
use serde_json::{Map, Value};

/// The workflow guide, as the docs have it.
const GUIDE: &str = include_str!("../../../docs/workflows.md");

fn arg(name: &str, description: &str, required: bool) -> PromptArgument {
    let mut a = PromptArgument::new(name).with_description(description);
    a.required = Some(required);
    a
}

pub fn list() -> Vec<Prompt> {
    vec![
        Prompt::new(
            "request-access",
            Some("Request access to an app for the person you are helping"),
            Some(vec![
                arg("user_email", "The person who needs the access", true),
                arg("app", "The app's name", true),
                arg("reason", "Why they need it", false),
            ]),
        ),
        Prompt::new(
            "who-approves",
            Some("Find out who approves access to an app"),
            Some(vec![arg("app", "The app's name", true)]),
        ),
        Prompt::new(
            "write-workflow",
            Some(
                "Write a lumosflow workflow from a sentence, checked and tried with lumosflow's own tools (builders and admins)",
            ),
            Some(vec![arg(
                "task",
                "What the workflow should do, in a sentence",
                true,
            )]),
        ),
    ]
}

/// The messages of a prompt, or why it cannot be given.
pub fn get(name: &str, args: &Map<String, Value>) -> Result<Vec<PromptMessage>, String> {
    let get = |k: &str| -> Result<String, String> {
        args.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("the prompt '{name}' needs the argument '{k}'"))
    };
    let text = match name {
        "request-access" => {
            let (user, app) = (get("user_email")?, get("app")?);
            let reason = get("reason").unwrap_or_else(|_| "ask them why, in one sentence".into());
            format!(
                "Help {user} get access to {app}.\n\
                 1. Call search-lumos-appstore with query \"{app}\" to find the app, its requestable permissions and the durations it allows. If several apps match, ask which one.\n\
                 2. If the app has permissions and it is not clear which one is needed, ask; if access is time-limited, ask for one of the allowed durations.\n\
                 3. Call request-lumos-app-access with user_email \"{user}\", the app's exact name, the permission labels, the duration, the reason ({reason}) and requested_for \"{user}\".\n\
                 4. Tell them the request id, its status and who approves next. Later, get-lumos-access-request gives its status; cancel-lumos-access-request cancels it if they no longer need it."
            )
        }
        "who-approves" => {
            let app = get("app")?;
            format!(
                "Find who approves access to {app}.\n\
                 1. Call search-lumos-appstore with query \"{app}\"; if several apps match, ask which one.\n\
                 2. Call get-lumos-app-approvers with app_id set to the app's exact name or its id.\n\
                 3. Answer with the stage-1 approvers, the stage-2 approvers if there are any, and whether the requester's manager approves first."
            )
        }
        "write-workflow" => {
            let task = get("task")?;
            format!(
                "Write a lumosflow workflow that does this: {task}\n\n\
                 How to work:\n\
                 1. Find the Lumos operations it needs: read the resource lumosflow://operations (every operation, \
                 whether it changes Lumos), then lumosflow://operations/{{name}} for each one you use (its parameters, \
                 body and the fields of its answer). Use only parameters and fields listed there.\n\
                 2. Write the whole file and call validate-workflow with it. Fix every problem it names (each has a \
                 line and column) and validate again until it answers valid.\n\
                 3. Call try-workflow with example inputs (a dry run: changes are described, not sent) and read each \
                 step's output; fix what is not what the task asks.\n\
                 4. Call save-workflow. A workflow that changes Lumos may be saved only by an admin; keep it to reads \
                 when you can, and give a change an `approval:` when people should decide first.\n\
                 Rules: ids are slugs (a-z, 0-9, -); name inputs for what they hold and mark the required ones; \
                 a listing that may be long uses `paginate:` and `fields:`; never put secrets in the file (http \
                 steps name them with `secrets.NAME`).\n\n\
                 The workflow format, in full:\n\n{GUIDE}"
            )
        }
        other => {
            return Err(format!(
                "unknown prompt '{other}' (request-access, who-approves, write-workflow)"
            ));
        }
    };
    Ok(vec![PromptMessage::new_text(Role::User, text)])
}
