//! The Slack app: notices with Approve and Deny buttons posted by a bot, button presses
//! and modals acted on through the run core, requests made from a workflow's inputs in a
//! modal, and answers posted back where people asked. Slash commands themselves are
//! triggers (`auth: slack`, see `triggers`).

mod buttons;
mod error;
pub mod interact;
pub mod messages;
mod setup;
mod views;
pub mod web_api;

pub use error::SlackError;
pub use interact::{FollowUp, ViewAnswer};
pub use setup::{SlackStatus, SlackVerified};

use serde_json::Value;

use crate::engine::Engine;
use crate::outcome::RunOutcome;
use store::RunStatus;

/// The notification format that posts through the Slack app's bot.
pub const SLACK_APP_FORMAT: &str = "slack-app";

/// How a run ended, in one Slack message.
pub async fn ending(engine: &Engine, o: &RunOutcome) -> String {
    match o.status {
        RunStatus::Completed => {
            let count = o.output_info.as_ref().map(|i| i.items).unwrap_or(0);
            let detail = if count > 0 {
                format!("{count} items")
            } else {
                let v = o.output.clone().unwrap_or(Value::Null).to_string();
                v.chars().take(500).collect()
            };
            format!("Run {} completed: {detail}", o.run_id)
        }
        RunStatus::PendingApproval => {
            let who = match engine.run_detail(&o.run_id).await {
                Ok(d) => d
                    .approval
                    .and_then(|a| a.step.and_then(|i| a.steps.get(i).cloned()))
                    .map(|s| format!(" at step '{}' by {}", s.name, s.who))
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            format!("Run {} is waiting for approval{who}", o.run_id)
        }
        other => format!(
            "Run {} {other}: {}",
            o.run_id,
            o.error.clone().unwrap_or_default()
        ),
    }
}
