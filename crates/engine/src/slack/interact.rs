//! What Slack sends to the app's endpoints, acted on through the run core like any door:
//! a button pressed on a notice (approve; deny after a modal asks why), a modal submitted (a
//! denial's comment, a request made from a workflow's inputs), a picker asking for options.
//! Every request is checked first: Slack's v0 signature with the app's signing secret,
//! within 5 minutes, each signature once. The Slack user is the lumosflow person with the
//! email of their Slack profile; every rule of the run core applies to them.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use store::PersonStatus;

use super::error::SlackError;
use super::messages::{self, DENY_VIEW, REQUEST_VIEW, RUN_BLOCK, TASK_BLOCK};
use super::web_api::{SlackApi, respond};
use crate::actor::{Actor, KeyScope};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::run_types::{ApproveThen, Origin, RunRequest};
use crate::triggers::{TOLERANCE_SECS, same, slack_signature};
use workflow_lang::Role;

/// The bundled workflow a Lumos approval task's buttons run.
pub const DECIDE_TASK: &str = "decide-lumos-access-request";

/// What to do once Slack has had its answer: wait for a run and say how it ended, in the
/// message the button was on or where the request was asked.
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub run_id: String,
    pub tell: Tell,
}

/// Where an ending is said.
#[derive(Debug, Clone)]
pub enum Tell {
    /// Replace the notice (`head` is its first lines) with them and the ending, once
    /// decided; a refusal goes to the presser alone (`response_url`).
    Message {
        channel: String,
        ts: String,
        head: String,
        by: String,
        response_url: Option<String>,
    },
}

/// The answer to a submitted modal and what follows it.
pub struct ViewAnswer {
    pub body: Value,
    pub then: Option<FollowUp>,
}

fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers.get(name).map(String::as_str)
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = v;
    for p in path {
        at = &at[*p];
    }
    at.as_str().filter(|s| !s.is_empty())
}

/// The person, allowed to run the one workflow a button or a command of the Slack app
/// runs: the app is offered to the whole workspace for it, and the workflow binds what it
/// does to the person (`for: me`).
fn for_workflow(actor: Actor, workflow: &str) -> Actor {
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
    async fn slack_person(&self, api: &SlackApi, user: &str) -> Result<Actor, String> {
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

    /// A button pressed on a notice. Slack has had its answer already; a refusal is said to
    /// the presser alone, an outcome replaces the notice for everyone.
    pub async fn slack_button(&self, payload: &Value) -> Option<FollowUp> {
        let action = &payload["actions"][0];
        let (Some(action_id), Some(value), Some(block)) = (
            text(action, &["action_id"]),
            text(action, &["value"]),
            text(action, &["block_id"]),
        ) else {
            return None;
        };
        let response_url = text(payload, &["response_url"]).map(str::to_owned);
        let say = |msg: String| {
            let url = response_url.clone();
            async move {
                if let Some(url) = url {
                    let body = json!({"response_type": "ephemeral", "replace_original": false,
                                      "text": format!(":no_entry: {msg}")});
                    if let Err(e) = respond(&url, &body).await {
                        tracing::warn!(error = %e, "cannot answer a Slack button");
                    }
                }
            }
        };
        let api = match self.slack_api().await {
            Ok(a) => a,
            Err(e) => {
                say(e.to_string()).await;
                return None;
            }
        };
        let person = match self
            .slack_person(&api, text(payload, &["user", "id"]).unwrap_or_default())
            .await
        {
            Ok(p) => p,
            Err(why) => {
                say(why).await;
                return None;
            }
        };
        let channel = text(payload, &["container", "channel_id"])
            .or_else(|| text(payload, &["channel", "id"]))
            .unwrap_or_default()
            .to_owned();
        let ts = text(payload, &["container", "message_ts"])
            .or_else(|| text(payload, &["message", "ts"]))
            .unwrap_or_default()
            .to_owned();
        let head = head_of(&payload["message"]["blocks"]);
        let who = person.label.clone();
        match (block, action_id) {
            (RUN_BLOCK, "approve") => {
                // The notice is updated in place by the decision itself (as from any door);
                // only a refusal is said here, to the presser alone.
                if let Err(e) = self.approve(value, &person, None, ApproveThen::Queue).await {
                    say(e.to_string()).await;
                }
                None
            }
            (RUN_BLOCK, "deny") => {
                match self.decision_refusal(value, &person).await {
                    Ok(None) => {}
                    Ok(Some(why)) => {
                        say(why).await;
                        return None;
                    }
                    Err(e) => {
                        say(e.to_string()).await;
                        return None;
                    }
                }
                let metadata =
                    json!({"kind": "run", "id": value, "channel": channel, "ts": ts, "head": head});
                self.open_deny(&api, payload, &format!("run {value}"), &metadata, say)
                    .await;
                None
            }
            (TASK_BLOCK, "approve") => {
                let inputs = json!({"task_id": value, "decision": "approve"});
                match self.decide_task(&person, &inputs).await {
                    Ok(run_id) => Some(FollowUp {
                        run_id,
                        tell: Tell::Message {
                            channel,
                            ts,
                            head,
                            by: who,
                            response_url,
                        },
                    }),
                    Err(e) => {
                        say(e).await;
                        None
                    }
                }
            }
            (TASK_BLOCK, "deny") => {
                let metadata = json!({"kind": "task", "id": value, "channel": channel, "ts": ts,
                                      "head": head, "response_url": response_url});
                self.open_deny(
                    &api,
                    payload,
                    &format!("Lumos task {value}"),
                    &metadata,
                    say,
                )
                .await;
                None
            }
            _ => None,
        }
    }

    async fn open_deny<F, Fut>(
        &self,
        api: &SlackApi,
        payload: &Value,
        what: &str,
        metadata: &Value,
        say: F,
    ) where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let trigger = text(payload, &["trigger_id"]).unwrap_or_default();
        if let Err(e) = api
            .open_view(trigger, &messages::deny_modal(what, metadata))
            .await
        {
            say(e.to_string()).await;
        }
    }

    /// Start the run that decides a Lumos task as `person`; why not, in words.
    async fn decide_task(&self, person: &Actor, inputs: &Value) -> Result<String, String> {
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

    /// A modal submitted: a denial's comment, or a request.
    pub async fn slack_view(&self, payload: &Value) -> ViewAnswer {
        let view = &payload["view"];
        let metadata: Value = text(view, &["private_metadata"])
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or(Value::Null);
        let values = messages::submitted_values(view);
        let refuse = |block: &str, why: String| ViewAnswer {
            body: json!({"response_action": "errors", "errors": {block: clip(&why)}}),
            then: None,
        };
        let api = match self.slack_api().await {
            Ok(a) => a,
            Err(e) => return refuse(first_block(view), e.to_string()),
        };
        let person = match self
            .slack_person(&api, text(payload, &["user", "id"]).unwrap_or_default())
            .await
        {
            Ok(p) => p,
            Err(why) => return refuse(first_block(view), why),
        };
        match text(view, &["callback_id"]) {
            Some(DENY_VIEW) => self.deny_from_modal(&person, &metadata, &values).await,
            Some(REQUEST_VIEW) => self.request_from_modal(&person, &metadata, values).await,
            _ => ViewAnswer {
                body: json!({}),
                then: None,
            },
        }
    }

    async fn deny_from_modal(
        &self,
        person: &Actor,
        metadata: &Value,
        values: &Map<String, Value>,
    ) -> ViewAnswer {
        let comment = values
            .get("comment")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned();
        let refuse = |why: String| ViewAnswer {
            body: json!({"response_action": "errors", "errors": {"comment": clip(&why)}}),
            then: None,
        };
        let id = metadata["id"].as_str().unwrap_or_default();
        let channel = metadata["channel"].as_str().unwrap_or_default().to_owned();
        let ts = metadata["ts"].as_str().unwrap_or_default().to_owned();
        let head = metadata["head"].as_str().unwrap_or_default().to_owned();
        let who = person.label.clone();
        match metadata["kind"].as_str() {
            // The notice is updated in place by the decision itself.
            Some("run") => match self.deny(id, person, Some(&comment)).await {
                Ok(_) => ViewAnswer {
                    body: json!({}),
                    then: None,
                },
                Err(e) => refuse(e.to_string()),
            },
            Some("task") => {
                if comment.is_empty() {
                    return refuse("a denial needs a comment saying why".into());
                }
                let inputs = json!({"task_id": id, "decision": "deny", "comment": comment});
                match self.decide_task(person, &inputs).await {
                    Ok(run_id) => ViewAnswer {
                        body: json!({}),
                        then: Some(FollowUp {
                            run_id,
                            tell: Tell::Message {
                                channel,
                                ts,
                                head,
                                by: who,
                                response_url: metadata["response_url"].as_str().map(str::to_owned),
                            },
                        }),
                    },
                    Err(why) => refuse(why),
                }
            }
            _ => refuse("this form no longer says what to deny; press Deny again".into()),
        }
    }

    async fn request_from_modal(
        &self,
        person: &Actor,
        metadata: &Value,
        values: Map<String, Value>,
    ) -> ViewAnswer {
        let refuse = |block: &str, why: String| ViewAnswer {
            body: json!({"response_action": "errors", "errors": {block: clip(&why)}}),
            then: None,
        };
        let trigger = match self
            .modal_trigger(metadata["trigger"].as_str().unwrap_or_default())
            .await
        {
            Ok(t) => t,
            Err(why) => return refuse(values.keys().next().map_or("", String::as_str), why),
        };
        let first = values.keys().next().cloned().unwrap_or_default();
        let req = RunRequest {
            actor: for_workflow(person.clone(), &trigger.workflow_id),
            origin: Origin::Slack,
            ..RunRequest::default()
        };
        match self.submit(&trigger.workflow_id, &values, req).await {
            Ok(s) => {
                let _ = self.store.trigger_fired(&trigger.id, None).await;
                // The trigger's reply, as for a command typed with its text: by default
                // how the run ended, where the command was typed.
                let scope = json!({"payload": {"response_url": metadata["response_url"],
                                               "user_id": metadata["user"]}, "headers": {}});
                if metadata["response_url"].is_string() {
                    self.keep_reply(&s.run_id, &trigger.id, &scope).await;
                }
                ViewAnswer {
                    body: json!({}),
                    then: None,
                }
            }
            Err(EngineError::Inputs(problems)) => {
                // Each problem beside the input it names, else at the first.
                let mut errors = Map::new();
                for p in problems {
                    let block = values
                        .keys()
                        .chain(std::iter::once(&first))
                        .find(|k| p.contains(&format!("'{k}'")))
                        .cloned()
                        .unwrap_or_else(|| first.clone());
                    errors.entry(block).or_insert(json!(clip(&p)));
                }
                ViewAnswer {
                    body: json!({"response_action": "errors", "errors": errors}),
                    then: None,
                }
            }
            Err(e) => refuse(&first, e.to_string()),
        }
    }

    /// An enabled Slack trigger that opens a request modal.
    async fn modal_trigger(&self, id: &str) -> Result<store::Trigger, String> {
        match self.store.trigger(id).await {
            Ok(Some(t)) if t.id == id && t.enabled && t.auth == "slack" => Ok(t),
            Ok(_) => Err("this request form's command was removed or disabled".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Options for a picker in a request modal: apps or people whose name has the text.
    pub async fn slack_options(&self, payload: &Value) -> Value {
        let none = json!({"options": []});
        let Some(input) = text(payload, &["action_id"]) else {
            return none;
        };
        let Some(kind) = messages::PICKERS
            .iter()
            .find(|(n, _)| *n == input)
            .map(|p| p.1)
        else {
            return none;
        };
        let metadata: Value = text(payload, &["view", "private_metadata"])
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or(Value::Null);
        let Ok(trigger) = self
            .modal_trigger(metadata["trigger"].as_str().unwrap_or_default())
            .await
        else {
            return none;
        };
        let Ok(api) = self.slack_api().await else {
            return none;
        };
        let Ok(person) = self
            .slack_person(&api, text(payload, &["user", "id"]).unwrap_or_default())
            .await
        else {
            return none;
        };
        let actor = for_workflow(person, &trigger.workflow_id);
        let typed = text(payload, &["value"]).unwrap_or_default();
        let found = match self.lookup(kind, typed, &actor).await {
            Ok(f) => f,
            Err(e) => {
                tracing::info!(error = %e, "a Slack picker found nothing");
                return none;
            }
        };
        let by_email = matches!(input, "email" | "user_email");
        let options: Vec<Value> = found
            .into_iter()
            .filter_map(|f| {
                let value = if by_email { f.email.clone()? } else { f.id.clone() };
                let label = [Some(f.label.clone()), f.email.clone().filter(|e| !by_email && *e != f.label), f.detail.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · ");
                Some(json!({"text": {"type": "plain_text", "text": label.chars().take(75).collect::<String>()},
                            "value": value}))
            })
            .take(100)
            .collect();
        json!({"options": options})
    }

    /// A slash command to a trigger that asks with a modal: open it, made from the
    /// workflow's inputs.
    pub(crate) async fn slack_open_request(
        &self,
        t: &store::Trigger,
        payload: &Value,
    ) -> Result<(), String> {
        let api = self.slack_api().await.map_err(|e| e.to_string())?;
        let (wf, _) = self
            .load(&t.workflow_id, None)
            .await
            .map_err(|e| e.to_string())?;
        let def = &wf.def;
        let inputs: Vec<_> = def
            .inputs
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        let metadata = json!({
            "trigger": t.id,
            "response_url": text(payload, &["response_url"]),
            "user": text(payload, &["user_id"]),
        });
        let view = messages::request_modal(
            &def.name.value,
            def.description.as_deref(),
            &inputs,
            &metadata,
        );
        api.open_view(text(payload, &["trigger_id"]).unwrap_or_default(), &view)
            .await
            .map_err(|e| e.to_string())
    }

    /// Wait for a run a Slack interaction started and say how it ended.
    pub async fn slack_follow_up(&self, f: FollowUp) {
        let outcome = self.wait(&f.run_id, None, "slack").await;
        let sent = match &f.tell {
            Tell::Message {
                channel,
                ts,
                head,
                by,
                response_url,
            } => {
                let refusal = match &outcome {
                    Ok(o) if o.status == store::RunStatus::Completed => None,
                    Ok(o) => Some(format!(
                        "run {} {}: {}",
                        o.run_id,
                        o.status,
                        o.error.clone().unwrap_or_default()
                    )),
                    Err(e) => Some(e.to_string()),
                };
                match (refusal, outcome) {
                    // Refused: the presser alone hears why; the notice stays for others.
                    (Some(why), _) => match response_url {
                        Some(url) => {
                            let text = format!(":no_entry: You could not decide in Lumos ({why})");
                            respond(url, &json!({"response_type": "ephemeral", "replace_original": false, "text": text})).await
                        }
                        None => Ok(()),
                    },
                    (None, Ok(o)) => {
                        let out = o.output.clone().unwrap_or(Value::Null);
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
                        let line = format!("{done} in Lumos by {by}{why}{status}");
                        match self.slack_api().await {
                            Ok(api) => {
                                api.update(channel, ts, &decided(head, &messages::escape(&line)))
                                    .await
                            }
                            Err(e) => Err(e),
                        }
                    }
                    (None, Err(_)) => Ok(()),
                }
            }
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, run = %f.run_id, "cannot tell Slack how a run ended");
        }
    }
}

/// The first text of a notice (what it is about), kept when the notice is replaced.
fn head_of(blocks: &Value) -> String {
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

fn first_block(view: &Value) -> &str {
    view["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["type"] == "input")
        .and_then(|b| b["block_id"].as_str())
        .unwrap_or("comment")
}

fn clip(s: &str) -> String {
    s.chars().take(2000).collect()
}
