//! What lumosflow shows in Slack: notices (a held run or a Lumos approval task in words,
//! with Approve and Deny buttons), the same message once decided, and the modals (a denial's
//! comment, a request made from a workflow's inputs). Block Kit JSON, built here only.

use serde_json::{Map, Value, json};
use store::Run;
use workflow_lang::definition::{InputSpec, InputType};

/// The actions block of a held lumosflow run; its buttons' value is the run id.
pub const RUN_BLOCK: &str = "lumosflow-run";
/// The actions block of a Lumos approval task; its buttons' value is the task id.
pub const TASK_BLOCK: &str = "lumos-task";
/// The modal asking why a run or task is denied.
pub const DENY_VIEW: &str = "lumosflow-deny";
/// The modal that requests a run from a slash command.
pub const REQUEST_VIEW: &str = "lumosflow-request";
/// Inputs whose values are picked by name (the same table as the console's pickers).
pub const PICKERS: [(&str, crate::lookup::LookupKind); 5] = [
    ("app_id", crate::lookup::LookupKind::Apps),
    ("app", crate::lookup::LookupKind::Apps),
    ("user_email", crate::lookup::LookupKind::Users),
    ("email", crate::lookup::LookupKind::Users),
    ("user_id", crate::lookup::LookupKind::Users),
];

/// Slack's mrkdwn, with its three control characters escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 2900)}})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, 2900)}]})
}

fn buttons(block: &str, value: &str) -> Value {
    json!({"type": "actions", "block_id": block, "elements": [
        {"type": "button", "action_id": "approve", "style": "primary", "value": value,
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": "deny", "style": "danger", "value": value,
         "text": {"type": "plain_text", "text": "Deny"}},
    ]})
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(as_text).collect::<Vec<_>>().join(", "),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// A held run, in words, with buttons for whoever may decide.
pub fn held_run(run: &Run, extra: &Value, link: Option<&str>) -> Value {
    let who = run.requested_by.as_deref().unwrap_or("someone");
    let whom = run
        .requested_for
        .as_deref()
        .map(|f| format!(" for {}", escape(f)))
        .unwrap_or_default();
    let head = format!(
        ":raised_hand: *Approval needed*: `{}` requested by {}{whom}",
        escape(&run.workflow_id),
        escape(who)
    );
    let mut blocks = vec![section(&head)];
    // What approving sends to Lumos, in words; then why the requester asked.
    let changes: Vec<String> = extra["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|c| format!("*{}*", escape(c)))
        .collect();
    if !changes.is_empty() {
        blocks.push(section(&clip(&changes.join("\n"), 2900)));
    }
    if let Some(r) = extra["requester_reason"]
        .as_str()
        .filter(|r| !r.trim().is_empty())
    {
        blocks.push(section(&format!("> {}", escape(r))));
    }
    let fields: Vec<Value> = run
        .inputs
        .0
        .as_object()
        .into_iter()
        .flatten()
        .take(10)
        .map(|(k, v)| {
            json!({"type": "mrkdwn", "text": clip(&format!("*{}*\n{}", escape(k), escape(&as_text(v))), 1900)})
        })
        .collect();
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    let mut about = Vec::new();
    if let Some(r) = extra["reason"].as_str().filter(|r| !r.trim().is_empty()) {
        about.push(format!("Policy: {}", escape(r)));
    }
    if let Some(step) = extra["step"].as_str() {
        about.push(format!(
            "Step *{}*: {}",
            escape(step),
            escape(extra["who"].as_str().unwrap_or(""))
        ));
    }
    if run.dry_run {
        about.push("a dry run: approving changes nothing".into());
    }
    about.push(match link {
        Some(l) => format!("<{l}|Run {}>", run.id),
        None => format!("Run {}", run.id),
    });
    blocks.push(context(&about.join(" · ")));
    blocks.push(buttons(RUN_BLOCK, &run.id));
    json!({"text": format!("Approval needed: {} requested by {who}", run.workflow_id), "blocks": blocks})
}

/// A Lumos approval task (an item of `list-my-lumos-approval-tasks`), with buttons.
pub fn lumos_task(item: &Value) -> Option<Value> {
    let task = item["task_id"].as_str()?;
    let text = |k: &str| item[k].as_str().filter(|s| !s.is_empty()).map(escape);
    let app = text("app").unwrap_or_else(|| "an app".into());
    let asker = text("requester").unwrap_or_else(|| "someone".into());
    let whom = text("for").map(|f| format!(" for {f}")).unwrap_or_default();
    let perms = item["permissions"]
        .as_array()
        .filter(|p| !p.is_empty())
        .map(|p| format!(" ({})", escape(&as_text(&Value::Array(p.clone())))))
        .unwrap_or_default();
    let mut lines = vec![format!(
        ":raised_hand: *Lumos approval*: {asker} asks for *{app}*{perms}{whom}"
    )];
    if let Some(r) = text("reason") {
        lines.push(format!("> {r}"));
    }
    let mut about = Vec::new();
    if let Some(d) = item["duration_seconds"].as_i64().filter(|d| *d > 0) {
        about.push(format!("for {} days", (d + 86_399) / 86_400));
    }
    if let Some(s) = text("stage") {
        about.push(s);
    }
    if let Some(w) = item["waiting_days"].as_i64() {
        about.push(format!("waiting {w} days"));
    }
    about.push(format!("task {}", escape(task)));
    Some(json!({
        "text": format!("Lumos approval: {} asks for {}", item["requester"].as_str().unwrap_or("someone"), item["app"].as_str().unwrap_or("an app")),
        "blocks": [section(&lines.join("\n")), context(&about.join(" · ")), buttons(TASK_BLOCK, task)],
    }))
}

/// A notice with no decision to make.
pub fn plain(text: &str) -> Value {
    json!({"text": clip(text, 3000), "blocks": [section(text)]})
}

/// The message as it was (`blocks` from the payload), with `line` added; the buttons stay
/// only while others still have to decide.
pub fn with_outcome(blocks: &Value, line: &str, keep_buttons: bool) -> Value {
    let mut out: Vec<Value> = blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] != "actions" || keep_buttons)
        .cloned()
        .collect();
    let at = out
        .iter()
        .position(|b| b["type"] == "actions")
        .unwrap_or(out.len());
    out.insert(at, context(line));
    json!({"text": clip(line, 3000), "blocks": out})
}

/// The modal asking why; `private_metadata` carries what to deny and the message to update.
pub fn deny_modal(what: &str, metadata: &Value) -> Value {
    json!({
        "type": "modal",
        "callback_id": DENY_VIEW,
        "private_metadata": metadata.to_string(),
        "title": {"type": "plain_text", "text": "Deny"},
        "submit": {"type": "plain_text", "text": "Deny"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(&format!("Deny {}?", escape(what))),
            {"type": "input", "block_id": "comment", "label": {"type": "plain_text", "text": "Why"},
             "element": {"type": "plain_text_input", "action_id": "comment", "multiline": true,
                         "max_length": 2000}},
        ],
    })
}

fn plain_text(s: &str, max: usize) -> Value {
    json!({"type": "plain_text", "text": clip(s, max)})
}

fn option(v: &str) -> Value {
    json!({"text": plain_text(v, 75), "value": clip(v, 150)})
}

/// A workflow's inputs as a modal's blocks: text boxes, menus for options, pickers that
/// look apps and people up by name, check boxes, dates. Inputs filled from who asks
/// (`for:`) are left out: they are the person.
pub fn request_modal(
    title: &str,
    description: Option<&str>,
    inputs: &[(String, InputSpec)],
    metadata: &Value,
) -> Value {
    let mut blocks = Vec::new();
    if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
        blocks.push(section(&escape(d)));
    }
    for (name, spec) in inputs {
        if spec.for_whom.is_some() {
            continue;
        }
        let label = spec.label.clone().unwrap_or_else(|| name.replace('_', " "));
        let initial = spec.default.as_ref().map(as_text);
        let options: Vec<Value> = spec
            .options
            .iter()
            .flatten()
            .take(100)
            .map(|o| option(o))
            .collect();
        let picker = PICKERS.iter().any(|(n, _)| n == name) && spec.kind == InputType::Text;
        let mut element = match spec.kind {
            _ if picker => json!({"type": "external_select", "min_query_length": 2,
                                  "placeholder": plain_text("Type part of a name", 150)}),
            InputType::Select if !options.is_empty() => {
                json!({"type": "static_select", "options": options})
            }
            InputType::List if !options.is_empty() => {
                json!({"type": "multi_static_select", "options": options})
            }
            InputType::Boolean => json!({"type": "checkboxes", "options": [option("yes")]}),
            InputType::Date => json!({"type": "datepicker"}),
            InputType::Textarea | InputType::List => {
                json!({"type": "plain_text_input", "multiline": true})
            }
            _ => json!({"type": "plain_text_input"}),
        };
        element["action_id"] = json!(name);
        if let Some(init) = initial.filter(|i| !i.is_empty()) {
            match element["type"].as_str() {
                Some("plain_text_input") => element["initial_value"] = json!(init),
                Some("static_select") if spec.options.iter().flatten().any(|o| *o == init) => {
                    element["initial_option"] = option(&init)
                }
                _ => {}
            }
        }
        let mut block = json!({"type": "input", "block_id": name, "label": plain_text(&label, 2000),
                               "optional": !spec.required, "element": element});
        if let Some(h) = &spec.help {
            block["hint"] = plain_text(h, 2000);
        }
        blocks.push(block);
    }
    json!({
        "type": "modal",
        "callback_id": REQUEST_VIEW,
        "private_metadata": metadata.to_string(),
        "title": plain_text(title, 24),
        "submit": plain_text("Request", 24),
        "close": plain_text("Cancel", 24),
        "blocks": blocks,
    })
}

/// A submitted modal's values by block (input name): text, a chosen option, options, a
/// checked box, a date.
pub fn submitted_values(view: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for (block, actions) in view["state"]["values"].as_object().into_iter().flatten() {
        for (_, el) in actions.as_object().into_iter().flatten() {
            let v = match el["type"].as_str().unwrap_or_default() {
                "plain_text_input" => el["value"].clone(),
                "static_select" | "external_select" => el["selected_option"]["value"].clone(),
                "multi_static_select" | "multi_external_select" => json!(
                    el["selected_options"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|o| o["value"].clone())
                        .collect::<Vec<_>>()
                ),
                "checkboxes" => json!(
                    el["selected_options"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty())
                ),
                "datepicker" => el["selected_date"].clone(),
                _ => el["value"].clone(),
            };
            if !v.is_null() && v != json!("") {
                out.insert(block.clone(), v);
            }
        }
    }
    out
}
