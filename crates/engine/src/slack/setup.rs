//! Setting up the Slack app: its signing secret (to check what Slack sends) and bot token
//! (to post, update and open modals), verified with Slack, kept sealed like the Lumos
//! token, and never shown again; the status says what is set, never the values.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::error::SlackError;
use super::web_api::SlackApi;
use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use workflow_lang::Role;

/// What is set for the Slack app.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SlackStatus {
    /// Whether a signing secret and bot token are kept.
    pub configured: bool,
    pub set_at: Option<DateTime<Utc>>,
    pub set_by: Option<String>,
    /// The Web API lumosflow calls (`LUMOSFLOW_SLACK_API_URL`).
    pub api_url: String,
    /// Notification targets that post through the app.
    pub channels: Vec<String>,
    /// Triggers that Slack slash commands call.
    pub commands: Vec<String>,
}

/// The workspace and bot a token was verified against.
#[derive(Debug, Clone, Serialize)]
pub struct SlackVerified {
    pub team: String,
    pub bot: String,
}

impl Engine {
    /// Keep the Slack app's signing secret and bot token, once Slack accepts the token.
    pub async fn set_slack_app(
        &self,
        signing_secret: &str,
        bot_token: &str,
        by: &Actor,
    ) -> Result<SlackVerified> {
        crate::access::need(by, Role::Admin, "setting up the Slack app")?;
        let signing = signing_secret.trim();
        let token = bot_token.trim();
        let mut problems = Vec::new();
        if signing.len() < 16 || signing.len() > 256 || signing.chars().any(char::is_whitespace) {
            problems.push(
                "the signing secret (Basic Information → App Credentials) is 16 to 256 characters without spaces"
                    .to_owned(),
            );
        }
        if !token.starts_with("xoxb-")
            || token.len() > 512
            || token.chars().any(char::is_whitespace)
        {
            problems.push(
                "the bot token (OAuth & Permissions → Bot User OAuth Token) starts with xoxb-"
                    .to_owned(),
            );
        }
        if !problems.is_empty() {
            return Err(EngineError::Inputs(problems));
        }
        let api = SlackApi::new(&self.config.slack_api_url, Zeroizing::new(token.to_owned()));
        let (team, bot) = api.auth_test().await?;
        self.store.set_slack_app(signing, token, &by.label).await?;
        self.audit(
            by,
            "slack.setup",
            "slack",
            Some(json!({"team": team, "bot": bot})),
        )
        .await;
        Ok(SlackVerified { team, bot })
    }

    pub async fn slack_status(&self) -> Result<SlackStatus> {
        let secrets = self.store.secrets().await?;
        let has = |name: &str| secrets.iter().any(|s| s.name == name);
        let configured = has(store::SLACK_SIGNING_SECRET) && has(store::SLACK_BOT_TOKEN);
        let kept = secrets.iter().find(|s| s.name == store::SLACK_BOT_TOKEN);
        let channels = self
            .store
            .notification_targets()
            .await?
            .into_iter()
            .filter(|t| t.format == super::SLACK_APP_FORMAT)
            .map(|t| t.name)
            .collect();
        let commands = self
            .store
            .triggers()
            .await?
            .into_iter()
            .filter(|t| t.auth == "slack")
            .map(|t| t.name)
            .collect();
        Ok(SlackStatus {
            configured,
            set_at: kept.map(|k| k.created_at),
            set_by: kept.map(|k| k.created_by.clone()),
            api_url: self.config.slack_api_url.clone(),
            channels,
            commands,
        })
    }

    /// One of the Slack app's secrets, opened.
    async fn slack_secret(&self, name: &str) -> std::result::Result<Zeroizing<String>, SlackError> {
        match self.store.secret(name).await {
            Ok(Some((value, _))) => Ok(value),
            Ok(None) => Err(SlackError::NotSetUp),
            Err(e) => Err(SlackError::Unreachable {
                method: "the database".into(),
                why: e.to_string(),
            }),
        }
    }

    /// The signing secret, to check a request to `/slack/…`.
    pub(crate) async fn slack_signing_secret(
        &self,
    ) -> std::result::Result<Zeroizing<String>, SlackError> {
        self.slack_secret(store::SLACK_SIGNING_SECRET).await
    }

    /// A Web API client with the bot token.
    pub(crate) async fn slack_api(&self) -> std::result::Result<SlackApi, SlackError> {
        let token = self.slack_secret(store::SLACK_BOT_TOKEN).await?;
        Ok(SlackApi::new(&self.config.slack_api_url, token))
    }
}
