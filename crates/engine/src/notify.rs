//! Notices: when a run needs a decision, is decided, fails or completes, a notice is queued
//! in the database for every target that wants the event, and a sender in `serve` posts
//! them: Slack incoming-webhook messages, or JSON bodies signed with the target's secret
//! (`Lumosflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`).
//! Queuing never holds up a run; sending is retried with backoff for a day.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use store::{NewTarget, NotificationTarget, Run};
use tokio_util::sync::CancellationToken;

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
pub use crate::webhook::signature;
use crate::webhook::{check_name, url_allowed};

/// The events a target can ask for. `audit` is every audit event, as written (a SIEM's
/// feed, JSON only), queued in the transaction that writes it.
pub const EVENTS: [&str; 5] = [
    "approval.requested",
    "approval.decided",
    "run.failed",
    "run.completed",
    "audit",
];

/// How notices are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeFormat {
    /// A Slack incoming-webhook message.
    Slack,
    /// A message the Slack app's bot posts to a channel or a person, with Approve and Deny
    /// buttons where a decision is possible.
    SlackApp,
    /// A documented JSON body, signed.
    Json,
}

impl NoticeFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeFormat::Slack => "slack",
            NoticeFormat::SlackApp => crate::slack::SLACK_APP_FORMAT,
            NoticeFormat::Json => "json",
        }
    }
}

impl std::str::FromStr for NoticeFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "slack" => Ok(NoticeFormat::Slack),
            "slack-app" => Ok(NoticeFormat::SlackApp),
            "json" => Ok(NoticeFormat::Json),
            _ => Err(format!("unknown format '{s}' (slack, slack-app or json)")),
        }
    }
}

/// A target as created: its secret, shown this once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CreatedTarget {
    pub id: String,
    pub name: String,
    pub secret: String,
}

/// How a `slack-app` target keeps its channel where others keep their URL.
const SLACK_PREFIX: &str = "slack:";

/// How long sending is retried.
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);

fn url_hint(url: &url::Url) -> String {
    format!("{}://{}/…", url.scheme(), url.host_str().unwrap_or(""))
}

impl Engine {
    /// Add a target; its signing secret is returned once and stored sealed, like its URL.
    /// For `slack-app`, `url` is the Slack channel (or person) the bot posts to.
    pub async fn add_notification_target(
        &self,
        name: &str,
        url: &str,
        format: NoticeFormat,
        events: &[String],
        workflow: Option<&str>,
        by: &Actor,
    ) -> Result<CreatedTarget> {
        let bad = |m: String| EngineError::Inputs(vec![m]);
        check_name(name).map_err(bad)?;
        let (url, hint) = if format == NoticeFormat::SlackApp {
            let channel = url.trim();
            let ok = channel.len() >= 3
                && channel.len() <= 24
                && channel.starts_with(['C', 'G', 'D', 'U', 'W'])
                && channel
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !ok {
                return Err(bad(format!(
                    "'{channel}' is not a Slack channel or member id (like C0123ABC or U0123ABC: in Slack, a channel's details show it)"
                )));
            }
            (
                format!("{SLACK_PREFIX}{channel}"),
                format!("Slack {channel}"),
            )
        } else {
            let parsed = url::Url::parse(url).map_err(|e| bad(format!("invalid URL: {e}")))?;
            if !url_allowed(&parsed) {
                return Err(bad(
                    "the URL must use https (plain http only to this machine)".into(),
                ));
            }
            (url.to_owned(), url_hint(&parsed))
        };
        if events.is_empty() {
            return Err(bad(format!("name the events (of {})", EVENTS.join(", "))));
        }
        if let Some(e) = events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            return Err(bad(format!(
                "unknown event '{e}' (events: {})",
                EVENTS.join(", ")
            )));
        }
        if events.iter().any(|e| e == "audit") && format != NoticeFormat::Json {
            return Err(bad(
                "the audit feed is JSON for a SIEM: use --format json".into()
            ));
        }
        if self
            .store
            .notification_targets()
            .await?
            .iter()
            .any(|t| t.name == name)
        {
            return Err(EngineError::Conflict(format!(
                "a notification target named '{name}' exists (remove it first)"
            )));
        }
        let id = crate::ids::new_run_id();
        let secret = crate::access::secret::new("lfw_")
            .map_err(|e| EngineError::Conflict(format!("no randomness: {e}")))?;
        self.store
            .add_notification_target(&NewTarget {
                id: &id,
                name,
                format: format.as_str(),
                url: &url,
                url_hint: &hint,
                secret: &secret,
                events: &events.join(","),
                workflow_id: workflow,
            })
            .await?;
        self.targets.forget();
        self.audit(
            by,
            "notification.add",
            name,
            Some(json!({"events": events, "format": format.as_str(), "workflow": workflow})),
        )
        .await;
        Ok(CreatedTarget {
            id,
            name: name.to_owned(),
            secret,
        })
    }

    pub async fn notification_targets(&self) -> Result<Vec<NotificationTarget>> {
        Ok(self.store.notification_targets().await?)
    }

    pub async fn remove_notification_target(&self, name: &str, by: &Actor) -> Result<()> {
        if !self.store.remove_notification_target(name).await? {
            return Err(EngineError::NotFound(format!(
                "no notification target named '{name}'"
            )));
        }
        self.targets.forget();
        self.audit(by, "notification.remove", name, None).await;
        Ok(())
    }

    pub async fn deliveries(&self, limit: i64) -> Result<Vec<store::Delivery>> {
        Ok(self.store.deliveries(limit).await?)
    }

    async fn targets_for(&self, event: &str, workflow: &str) -> Vec<NotificationTarget> {
        let all = match self.targets.get(&()) {
            Some(t) => t,
            None => match self.store.notification_targets().await {
                Ok(t) => {
                    let t = Arc::new(t);
                    self.targets.keep((), t.clone());
                    t
                }
                Err(e) => {
                    tracing::warn!(error = %e, event, "cannot read notification targets");
                    return Vec::new();
                }
            },
        };
        all.iter()
            .filter(|t| {
                t.events.split(',').any(|e| e == event)
                    && t.workflow_id.as_deref().is_none_or(|w| w == workflow)
            })
            .cloned()
            .collect()
    }

    /// Queue `event` about run `run_id` of `workflow` when some target wants it (the run
    /// is read only then).
    pub(crate) async fn notify_run(&self, event: &str, run_id: &str, workflow: &str, extra: Value) {
        if self.targets_for(event, workflow).await.is_empty() {
            return;
        }
        if let Ok(Some(run)) = self.store.run(run_id).await {
            self.notify(event, &run, extra).await;
        }
    }

    /// Queue `event` about `run` for every target that wants it. Never fails the caller:
    /// a notice that cannot be queued is logged.
    pub(crate) async fn notify(&self, event: &str, run: &Run, extra: Value) {
        for t in self.targets_for(event, &run.workflow_id).await {
            let bodies = if t.format == crate::slack::SLACK_APP_FORMAT {
                self.slack_app_notices(event, run, &extra).await
            } else {
                vec![self.notice_body(&t, event, run, &extra)]
            };
            for body in bodies {
                if let Err(e) = self
                    .store
                    .queue_delivery(&t.id, event, Some(&run.id), &body)
                    .await
                {
                    tracing::warn!(error = %e, event, target = %t.name, "cannot queue a notice");
                }
            }
        }
    }

    fn run_link(&self, run: &Run) -> Option<String> {
        self.config
            .public_url
            .as_ref()
            .map(|u| format!("{}/#/runs/{}", u.trim_end_matches('/'), run.id))
    }

    /// What the Slack app posts: a held run with buttons; each open Lumos approval task a
    /// completed run listed (`list-my-lumos-approval-tasks`), with buttons; else the
    /// notice in words.
    async fn slack_app_notices(&self, event: &str, run: &Run, extra: &Value) -> Vec<String> {
        use crate::slack::messages;
        let link = self.run_link(run);
        if event == "approval.requested" {
            return vec![messages::held_run(run, extra, link.as_deref()).to_string()];
        }
        if event == "run.completed" {
            // The whole output: a list's items may be stored apart from the run.
            let output = match self.output_value(&run.id, 4 << 20).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, run = %run.id, "cannot read a run's output for Slack");
                    Value::Null
                }
            };
            let tasks: Vec<String> = output["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(messages::lumos_task)
                .map(|m| m.to_string())
                .collect();
            if !tasks.is_empty() {
                return tasks;
            }
        }
        vec![messages::plain(&self.slack_text(event, run, extra, link)).to_string()]
    }

    fn notice_body(&self, t: &NotificationTarget, event: &str, run: &Run, extra: &Value) -> String {
        let link = self.run_link(run);
        if t.format == "slack" {
            return json!({"text": self.slack_text(event, run, extra, link)}).to_string();
        }
        self.json_body(event, run, extra, link)
    }

    /// The notice in words, as Slack's mrkdwn.
    fn slack_text(&self, event: &str, run: &Run, extra: &Value, link: Option<String>) -> String {
        let who = run.requested_by.as_deref().unwrap_or("someone");
        let whom = run
            .requested_for
            .as_deref()
            .map(|f| format!(" for {f}"))
            .unwrap_or_default();
        let head = match event {
            "approval.requested" => format!(
                ":raised_hand: *Approval needed* — `{}` requested by {who}{whom}",
                run.workflow_id
            ),
            "approval.decided" => format!(
                ":white_check_mark: *Decision* on `{}` (requested by {who}{whom}): {}",
                run.workflow_id,
                extra["decision"].as_str().unwrap_or("")
            ),
            "run.failed" => format!(
                ":x: *Run failed* — `{}` requested by {who}{whom}",
                run.workflow_id
            ),
            _ => format!(
                ":white_check_mark: *Run completed* — `{}` requested by {who}{whom}",
                run.workflow_id
            ),
        };
        let mut lines = vec![head];
        if let Some(r) = extra["reason"].as_str().filter(|r| !r.is_empty()) {
            lines.push(format!("> {r}"));
        }
        if let Some(step) = extra["step"].as_str() {
            lines.push(format!(
                "Step: {step} — {}",
                extra["who"].as_str().unwrap_or("")
            ));
        }
        lines.push(format!("Inputs: `{}`", run.inputs.0));
        if let Some(e) = &run.error {
            lines.push(format!("Error: {e}"));
        }
        if let Some(l) = link {
            lines.push(format!("<{l}|Open run {}>", run.id));
        }
        lines.join("\n")
    }

    fn json_body(&self, event: &str, run: &Run, extra: &Value, link: Option<String>) -> String {
        json!({
            "event": event,
            "at": chrono::Utc::now(),
            "run": {
                "id": run.id,
                "workflow_id": run.workflow_id,
                "status": run.status,
                "requested_by": run.requested_by,
                "requested_for": run.requested_for,
                "inputs": run.inputs.0,
                "error": run.error,
                "link": link,
            },
            "details": extra,
        })
        .to_string()
    }

    /// Send the due notices until `stop`; one at a time per process, each taken by one
    /// process only.
    pub(crate) async fn send_notices_forever(self: Arc<Self>, stop: CancellationToken) {
        let http = crate::webhook::client(Duration::from_secs(10));
        loop {
            match self
                .store
                .take_due_delivery(chrono::Duration::seconds(60), self.owner.as_str())
                .await
            {
                Ok(Some(d)) => {
                    self.send_one(&http, d).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read due notices"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.config.notice_poll) => {}
            }
        }
    }

    async fn send_one(&self, http: &reqwest::Client, d: store::DueDelivery) {
        let target = match self.store.open_notification_target(&d.target_id).await {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                let _ = self.store.delivery_failed(d.id, &e.to_string(), None).await;
                return;
            }
        };
        let t = chrono::Utc::now().timestamp();
        // The same id on every attempt: a receiver that got it already drops the repeat.
        let delivery_id = serde_json::from_str::<Value>(&d.body)
            .ok()
            .and_then(|b| b["delivery_id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("notice-{}", d.id));
        if let Some(channel) = target.url.strip_prefix(SLACK_PREFIX) {
            let sent = self.send_slack(channel, &d).await;
            self.sent_or_retry(&d, sent.err().map(|e| e.to_string()))
                .await;
            return;
        }
        let mut req = http
            .post(target.url.as_str())
            .header("content-type", "application/json")
            .header("lumosflow-delivery", delivery_id)
            .body(d.body.clone());
        if target.target.format == "json" {
            req = req.header("lumosflow-signature", signature(&target.secret, t, &d.body));
        }
        let failure = match req.send().await {
            Ok(r) if r.status().is_success() => None,
            // Never the URL in the record: it is a secret of its own (Slack's is).
            Ok(r) => Some(format!("answered {}", r.status())),
            Err(e) => Some(if e.is_timeout() {
                "no answer within 10 s".to_owned()
            } else {
                "could not connect".to_owned()
            }),
        };
        self.sent_or_retry(&d, failure).await;
    }

    /// Post a Slack app notice, or update the one it names (`{"update": {channel, ts},
    /// "message"}`); a held run's notice is remembered, so decisions update it in place.
    async fn send_slack(
        &self,
        channel: &str,
        d: &store::DueDelivery,
    ) -> std::result::Result<(), crate::slack::SlackError> {
        let body: Value = serde_json::from_str(&d.body)
            .map_err(|e| crate::slack::SlackError::Payload(e.to_string()))?;
        let api = self.slack_api().await?;
        if let (Some(c), Some(ts)) = (
            body["update"]["channel"].as_str(),
            body["update"]["ts"].as_str(),
        ) {
            return api.update(c, ts, &body["message"]).await;
        }
        let ts = api.post(channel, &body).await?;
        if d.event == "approval.requested"
            && let Some(run) = &d.run_id
            && let Err(e) = self
                .store
                .keep_slack_notice(run, &d.target_id, channel, &ts)
                .await
        {
            tracing::warn!(error = %e, run = %run, "cannot remember a Slack notice");
        }
        Ok(())
    }

    /// Queue an update of every Slack notice of held run `run` (now as it stands), with
    /// `line` saying what was decided; its buttons stay while it still waits.
    pub(crate) async fn queue_slack_updates(&self, run: &Run, extra: &Value, line: &str) {
        let notices = match self.store.slack_notices(&run.id).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, run = %run.id, "cannot read a run's Slack notices");
                return;
            }
        };
        if notices.is_empty() {
            return;
        }
        let link = self.run_link(run);
        let waiting = run.status == store::RunStatus::PendingApproval;
        let notice = crate::slack::messages::held_run(run, extra, link.as_deref());
        let message = crate::slack::messages::with_outcome(&notice["blocks"], line, waiting);
        for (target, channel, ts) in notices {
            let body = json!({"update": {"channel": channel, "ts": ts}, "message": message});
            if let Err(e) = self
                .store
                .queue_delivery(
                    &target,
                    "approval.decided",
                    Some(&run.id),
                    &body.to_string(),
                )
                .await
            {
                tracing::warn!(error = %e, run = %run.id, "cannot queue a Slack notice's update");
            }
        }
    }

    /// Record a delivery sent, or when to try it again (for a day).
    async fn sent_or_retry(&self, d: &store::DueDelivery, failure: Option<String>) {
        let result = match failure {
            None => self.store.delivery_sent(d.id).await,
            Some(why) => {
                let backoff = self.config.notice_retry_base.as_secs_f64()
                    * 2f64.powi(d.attempts.clamp(0, 12));
                let next = chrono::Utc::now()
                    + chrono::Duration::milliseconds((backoff.min(3600.0) * 1000.0) as i64);
                let next = (next - d.created_at < GIVE_UP_AFTER).then_some(next);
                self.store.delivery_failed(d.id, &why, next).await
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot record a notice's delivery");
        }
    }
}
