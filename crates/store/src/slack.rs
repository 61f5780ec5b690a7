//! What the Slack app integration keeps: its signing secret and bot token (sealed in the
//! secrets table under names no `http:` step can write or read), and receipts of the signed
//! interactions acted on (each once).

use chrono::{Duration, Utc};

use crate::{Result, SecretScope, Store, with_pool};

/// The reserved secret names: a `:` is never in a name `lumosflow secrets set` accepts.
pub const SLACK_SIGNING_SECRET: &str = "slack:signing_secret";
pub const SLACK_BOT_TOKEN: &str = "slack:bot_token";

/// Whether a secret name is one of the Slack app's (kept out of `secrets list`).
pub fn is_slack_secret(name: &str) -> bool {
    name.starts_with("slack:")
}

impl Store {
    /// Keep the Slack app's signing secret and bot token, replacing any before.
    pub async fn set_slack_app(
        &self,
        signing_secret: &str,
        bot_token: &str,
        by: &str,
    ) -> Result<()> {
        // Sent nowhere by http steps: no hosts, and no step can name them.
        let scope = SecretScope {
            hosts: "",
            allow_http: false,
            workflows: Some(""),
        };
        self.set_secret(SLACK_SIGNING_SECRET, signing_secret, scope, by)
            .await?;
        self.set_secret(SLACK_BOT_TOKEN, bot_token, scope, by).await
    }

    /// Record an interaction's `key`; false when it was seen within `window` (a replay).
    pub async fn slack_receipt(&self, key: &str, window: Duration) -> Result<bool> {
        let now = Utc::now();
        Ok(with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM slack_receipts WHERE at <= $1")
                .bind(now - window).execute(&mut *tx).await?;
            let inserted = sqlx::query(
                "INSERT INTO slack_receipts (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            ).bind(key).bind(now).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            inserted > 0
        }))
    }

    /// Remember the Slack message that told target `target_id` of held run `run_id`.
    pub async fn keep_slack_notice(
        &self,
        run_id: &str,
        target_id: &str,
        channel: &str,
        ts: &str,
    ) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO slack_notices (run_id, target_id, channel, ts) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (run_id, target_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts",
        ).bind(run_id).bind(target_id).bind(channel).bind(ts).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The Slack messages that told of run `run_id`: (target, channel, ts).
    pub async fn slack_notices(&self, run_id: &str) -> Result<Vec<(String, String, String)>> {
        Ok(with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT target_id, channel, ts FROM slack_notices WHERE run_id = $1",
        ).bind(run_id).fetch_all(p).await)?)
    }
}
