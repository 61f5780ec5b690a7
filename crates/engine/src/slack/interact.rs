//! What Slack sends to the app's endpoints, acted on through the run core like any door
//! (buttons in `buttons`, modals and menus in `views`), and what they share. Every request
//! is checked first: Slack's v0 signature with the app's signing secret,
//! within 5 minutes, each signature once. The Slack user is the lumosflow person with the
//! email of their Slack profile; every rule of the run core applies to them.

use std::collections::HashMap;

use serde_json::{Value, json};
use store::PersonStatus;

use super::error::SlackError;
use super::messages;
use super::web_api::{SlackApi, respond};
use crate::actor::{Actor, KeyScope};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::run_types::{Origin, RunRequest};
use crate::triggers::{TOLERANCE_SECS, same, slack_signature};
use workflow_lang::Role;

/// The bundled workflow a Lumos approval task's buttons run.
pub const DECIDE_TASK: &str = "decide-lumos-access-request";

/// What to do once Slack has had its answer: wait for the run that decides a Lumos task
/// and say how it ended — in place of the notice the button was on (`head` is its first
/// lines), or, refused, to the presser alone (`response_url`).
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub run_id: String,
    pub channel: String,
    pub ts: String,
    pub head: String,
    pub by: String,
    pub response_url: Option<String>,
}

/// The answer to a submitted modal and what follows it.
pub struct ViewAnswer {
    pub body: Value,
    pub then: Option<FollowUp>,
}

fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers.get(name).map(String::as_str)
}

pub(super) fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = v;
    for p in path {
        at = &at[*p];
    }
    at.as_str().filter(|s| !s.is_empty())
}

/// The person, allowed to run the one workflow a button or a command of the Slack app
/// runs: the app is offered to the whole workspace for it, and the workflow binds what it
/// does to the person (`for: me`).
pub(super) fn for_workflow(actor: Actor, workflow: &str) -> Actor {
    let mut a = actor;
    a.role = a.role.max(Role::Agent);
    a.scoped(KeyScope {
        read_only: false,
        workflows: Some(vec![workflow.to_owned()]),
    })
}

impl Engine {
    /// Check a request to `/slack/interactivity` or `/slack/options` and return its payload.
    pub async fn slack_payload(
        &self,
        headers: &HashMap<String, String>,
        body: &[u8],
    ) -> Result<Value, SlackError> {
        let secret = self.slack_signing_secret().await?;
        let ts: i64 = header(headers, "x-slack-request-timestamp")
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| SlackError::Unauthorized("missing X-Slack-Request-Timestamp".into()))?;
        if (chrono::Utc::now().timestamp() - ts).abs() > TOLERANCE_SECS {
            return Err(SlackError::Unauthorized(
                "the signature's timestamp is more than 5 minutes away from now".into(),
            ));
        }
        let sig = header(headers, "x-slack-signature")
            .ok_or_else(|| SlackError::Unauthorized("missing X-Slack-Signature".into()))?;
        if !same(&slack_signature(&secret, ts, body), sig) {
            return Err(SlackError::Unauthorized(
                "the Slack signature does not match".into(),
            ));
        }
        let fresh = self
            .store
            .slack_receipt(sig, chrono::Duration::seconds(2 * TOLERANCE_SECS))
            .await
            .map_err(|e| SlackError::Unreachable {
                method: "the database".into(),
                why: e.to_string(),
            })?;
        if !fresh {
            return Err(SlackError::Unauthorized(
                "this payload was already acted on (a replayed request)".into(),
            ));
        }
        let field = url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "payload")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| SlackError::Payload("the body has no payload field".into()))?;
        serde_json::from_str(&field)
            .map_err(|e| SlackError::Payload(format!("the payload is not JSON: {e}")))
    }

    /// The lumosflow person a Slack user is, by the email of their Slack profile; why not,
    /// in words for them.
    pub(super) async fn slack_person(&self, api: &SlackApi, user: &str) -> Result<Actor, String> {
        let u = api
            .user(user)
            .await
            .map_err(|e| format!("lumosflow could not ask Slack who you are ({e})"))?;
        let Some(email) = u.email.filter(|_| !u.deleted) else {
            return Err(
                "your Slack profile shows lumosflow no email, so it cannot tell who you are (the app needs the users:read.email scope)"
                    .into(),
            );
        };
        match self.store.person_by_email(&email).await {
            Ok(Some(p)) if p.status != PersonStatus::Active => {
                Err(format!("{} is deactivated in lumosflow", p.email))
            }
            Ok(Some(p)) => Ok(Actor::person(
                &p.email,
                p.name.as_deref().or(u.name.as_deref()),
                crate::access::role_of(&p),
                None,
            )),
            Ok(None) => Ok(Actor::person(&email, u.name.as_deref(), Role::Viewer, None)),
            Err(e) => Err(format!("lumosflow could not read its people ({e})")),
        }
    }

    /// Start the run that decides a Lumos task as `person`; why not, in words.
    pub(super) async fn decide_task(
        &self,
        person: &Actor,
        inputs: &Value,
    ) -> Result<String, String> {
        let actor = for_workflow(person.clone(), DECIDE_TASK);
        let req = RunRequest {
            actor,
            origin: Origin::Slack,
            ..RunRequest::default()
        };
        let given = inputs.as_object().cloned().unwrap_or_default();
        match self.submit(DECIDE_TASK, &given, req).await {
            Ok(s) => Ok(s.run_id),
            Err(EngineError::NotInstalled { .. }) => Err(format!(
                "deciding Lumos tasks from Slack needs the Lumos Approvals bundle ({DECIDE_TASK}): lumosflow workflows install --bundle lumos-approvals"
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// An enabled Slack trigger that opens a request modal.
    pub(super) async fn modal_trigger(&self, id: &str) -> Result<store::Trigger, String> {
        match self.store.trigger(id).await {
            Ok(Some(t)) if t.id == id && t.enabled && t.auth == "slack" => Ok(t),
            Ok(_) => Err("this request form's command was removed or disabled".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Wait for a run a Slack interaction started and say how it ended.
    pub async fn slack_follow_up(&self, f: FollowUp) {
        let sent = match self.wait(&f.run_id, None, "slack").await {
            Ok(o) if o.status == store::RunStatus::Completed => {
                let out = o.output.unwrap_or(Value::Null);
                let done = if out["decision"] == "deny" {
                    ":no_entry: Denied"
                } else {
                    ":white_check_mark: Approved"
                };
                let status = out["status"]
                    .as_str()
                    .map(|s| format!("; the request is {s}"))
                    .unwrap_or_default();
                let why = out["comment"]
                    .as_str()
                    .filter(|c| !c.is_empty())
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                let line = format!("{done} in Lumos by {}{why}{status}", f.by);
                match self.slack_api().await {
                    Ok(api) => {
                        api.update(
                            &f.channel,
                            &f.ts,
                            &decided(&f.head, &messages::escape(&line)),
                        )
                        .await
                    }
                    Err(e) => Err(e),
                }
            }
            // Refused: the presser alone hears why; the notice stays for others.
            ended => {
                let why = match ended {
                    Ok(o) => format!(
                        "run {} {}: {}",
                        o.run_id,
                        o.status,
                        o.error.unwrap_or_default()
                    ),
                    Err(e) => e.to_string(),
                };
                match &f.response_url {
                    Some(url) => {
                        let text = format!(":no_entry: You could not decide in Lumos ({why})");
                        respond(url, &json!({"response_type": "ephemeral", "replace_original": false, "text": text}))
                            .await
                    }
                    None => Ok(()),
                }
            }
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, run = %f.run_id, "cannot tell Slack how a run ended");
        }
    }
}

/// The first text of a notice (what it is about), kept when the notice is replaced.
pub(super) fn head_of(blocks: &Value) -> String {
    blocks
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|b| b["text"]["text"].as_str())
        .map(|t| t.chars().take(1500).collect())
        .unwrap_or_default()
}

/// A decided notice: what it was about, and the outcome; no buttons.
fn decided(head: &str, line: &str) -> Value {
    messages::with_outcome(
        &json!([{"type": "section", "text": {"type": "mrkdwn", "text": head}}]),
        line,
        false,
    )
}

pub(super) fn first_block(view: &Value) -> &str {
    view["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["type"] == "input")
        .and_then(|b| b["block_id"].as_str())
        .unwrap_or("comment")
}

pub(super) fn clip(s: &str) -> String {
    s.chars().take(2000).collect()
}
