//! What can go wrong between lumosflow and Slack.

/// A Slack request refused, or Slack not reachable or not set up.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error(
        "the Slack app is not set up: run `lumosflow slack setup` with its signing secret and bot token"
    )]
    NotSetUp,
    /// A request to `/slack/…` whose signature, age or freshness is wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// A signed payload lumosflow cannot act on.
    #[error("{0}")]
    Payload(String),
    /// Slack's Web API answered `ok: false`.
    #[error("Slack refused {method}: {error}")]
    Refused { method: String, error: String },
    #[error("Slack's {method} did not answer: {why}")]
    Unreachable { method: String, why: String },
}
