//! A button pressed on a Slack notice: Approve at once, Deny after a modal asks why; a
//! held run's through the run core, a Lumos task's through the workflow that decides it as
//! the presser. A refusal is said to the presser alone.

use serde_json::{Value, json};

use super::interact::{FollowUp, head_of, text};
use super::messages::{self, RUN_BLOCK, TASK_BLOCK};
use super::web_api::{SlackApi, respond};
use crate::engine::Engine;
use crate::run_types::ApproveThen;

impl Engine {
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
                        channel,
                        ts,
                        head,
                        by: who,
                        response_url,
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
}
