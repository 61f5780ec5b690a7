//! Modals and menus: a denial's comment, a request made from a workflow's inputs (opened
//! by a slash command), and the options of its pickers (apps and people by name).

use serde_json::{Map, Value, json};

use super::interact::{FollowUp, ViewAnswer, clip, first_block, for_workflow, text};
use super::messages::{self, DENY_VIEW, REQUEST_VIEW};
use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::run_types::{Origin, RunRequest};

impl Engine {
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
                            channel,
                            ts,
                            head,
                            by: who,
                            response_url: metadata["response_url"].as_str().map(str::to_owned),
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
}
