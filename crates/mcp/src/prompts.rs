//! Prompts that walk an agent through the common asks with lumosflow's tools: request access
//! to an app for someone, and find who approves access to an app.

use rmcp::model::{Prompt, PromptArgument, PromptMessage, Role};
use serde_json::{Map, Value};

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
                 2. Call get-lumos-app-approvers with the app's id.\n\
                 3. Answer with the stage-1 approvers, the stage-2 approvers if there are any, and whether the requester's manager approves first."
            )
        }
        other => {
            return Err(format!(
                "unknown prompt '{other}' (request-access, who-approves)"
            ));
        }
    };
    Ok(vec![PromptMessage::new_text(Role::User, text)])
}
