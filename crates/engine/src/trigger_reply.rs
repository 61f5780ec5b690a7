//! What a trigger answers: with the run's result on the same request when it ends within
//! a wait the trigger allows (`?wait=30s` up to the mapping's `wait:`), and a reply sent
//! where the trigger says once the run ends — a Slack slash command's `response_url` (the
//! default for Slack triggers), or an `http:` request such as a comment on the ticket that
//! asked. Replies are kept in the database until sent, so any replica sends them and a
//! restart loses none; they are retried for a day, and the run's detail shows how it went.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use workflow_lang::definition::HttpSpec;
use workflow_lang::secret_refs::{self, Redactor};

use crate::engine::Engine;
use crate::executor::HttpEnv;

/// Longest a trigger may let a caller wait for the run's end on the same request.
pub const MAX_WAIT: Duration = Duration::from_secs(300);
/// How long sending a reply is retried.
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);
/// Largest output a reply's templates see (`run.output`).
const REPLY_OUTPUT_MAX: u64 = 1 << 20;

/// `reply:` in a trigger's mapping: where the answer goes when the run ends.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// Post how the run ended there, Slack's way (`"{{ payload.response_url }}"`).
    #[serde(default)]
    pub response_url: Option<String>,
    /// Or send this request (a ticket's comment): templates over `payload`, `headers` and
    /// `run`; `{{ secrets.NAME }}` where an admin lets the secret go.
    #[serde(default)]
    pub http: Option<HttpSpec>,
}

impl Reply {
    /// The reply of a Slack slash command when its mapping names none.
    pub fn slack_default() -> Reply {
        Reply {
            response_url: Some("{{ payload.response_url }}".into()),
            http: None,
        }
    }

    /// What is wrong with it, if anything (templates are checked by the caller).
    pub fn problem(&self) -> Option<String> {
        match (&self.response_url, &self.http) {
            (Some(_), Some(_)) | (None, None) => {
                Some("the mapping's reply: give response_url or http, one of them".into())
            }
            (Some(u), None) if !secret_refs::names_in(&json!(u)).is_empty() => {
                Some("the mapping's reply: a response_url carries no secrets".into())
            }
            (_, Some(h)) => {
                let v = serde_json::to_value(h).unwrap_or_default();
                secret_refs::misused(&v).first().map(|m| {
                    format!("the mapping's reply: '{m}' uses secrets other than as a whole {{{{ secrets.NAME }}}}")
                })
            }
            _ => None,
        }
    }

    /// Every template text in it.
    pub fn texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(u) = &self.response_url {
            out.push(u.clone());
        }
        if let Some(h) = &self.http {
            collect(&serde_json::to_value(h).unwrap_or_default(), &mut out);
        }
        out
    }
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect(x, out)),
        _ => {}
    }
}

/// How a run's reply went, in its detail.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ReplyState {
    /// `pending` (until the run ends, or retrying), `sent` or `failed` (given up).
    pub status: String,
    pub last_error: Option<String>,
}

impl Engine {
    /// Keep the reply of a run a hook started.
    pub(crate) async fn keep_reply(&self, run_id: &str, trigger_id: &str, scope: &Value) {
        if let Err(e) = self
            .store
            .add_hook_reply(run_id, trigger_id, &scope.to_string())
            .await
        {
            tracing::warn!(error = %e, run = %run_id, "cannot keep a trigger's reply");
        }
    }

    pub(crate) async fn reply_state(&self, run_id: &str) -> Option<ReplyState> {
        match self.store.reply_status(run_id).await {
            Ok(r) => r.map(|(status, last_error)| ReplyState { status, last_error }),
            Err(_) => None,
        }
    }

    /// Send the replies of ended runs until `stop`; each taken by one process only.
    pub(crate) async fn send_replies_forever(self: Arc<Self>, stop: CancellationToken) {
        loop {
            match self
                .store
                .take_due_reply(chrono::Duration::seconds(60))
                .await
            {
                Ok(Some(d)) => {
                    let failure = self.send_reply(&d).await.err();
                    self.reply_done(&d, failure).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read due replies"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.config.notice_poll) => {}
            }
        }
    }

    async fn reply_done(&self, d: &store::DueReply, failure: Option<String>) {
        let next = failure.as_ref().and_then(|_| {
            let backoff =
                self.config.notice_retry_base.as_secs_f64() * 2f64.powi(d.attempts.clamp(0, 12));
            let next = chrono::Utc::now()
                + chrono::Duration::milliseconds((backoff.min(3600.0) * 1000.0) as i64);
            (next - d.created_at < GIVE_UP_AFTER).then_some(next)
        });
        if let Some(why) = &failure {
            tracing::warn!(run = %d.run_id, error = %why, retry = next.is_some(), "a trigger's reply was not sent");
        }
        if let Err(e) = self
            .store
            .reply_tried(&d.run_id, failure.as_deref(), next)
            .await
        {
            tracing::warn!(error = %e, "cannot record a trigger's reply");
        }
    }

    /// Send one reply; why not, in words with no secret in them.
    async fn send_reply(&self, d: &store::DueReply) -> Result<(), String> {
        let t = match self.store.trigger(&d.trigger_id).await {
            Ok(Some(t)) if t.id == d.trigger_id => t,
            Ok(_) => return Err("its trigger was removed".into()),
            Err(e) => return Err(e.to_string()),
        };
        let map = match &t.mapping {
            Some(m) => self.check_map(m).map_err(|e| e.to_string())?,
            None => Default::default(),
        };
        let reply = match (map.reply, t.auth.as_str()) {
            (Some(r), _) => r,
            (None, "slack") => Reply::slack_default(),
            (None, _) => return Err("its trigger no longer has a reply".into()),
        };
        // The run has ended (the queue hands out only those): its record is the outcome.
        let outcome = crate::outcome::RunOutcome::of_run(
            self.existing(&d.run_id).await.map_err(|e| e.to_string())?,
        );
        let summary = crate::slack::ending(self, &outcome).await;
        let output = match (&outcome.output, outcome.items_apart) {
            (_, true) => self
                .output_value(&d.run_id, REPLY_OUTPUT_MAX)
                .await
                .unwrap_or(Value::Null),
            (Some(o), false) => o.clone(),
            (None, false) => Value::Null,
        };
        let link = self
            .config
            .public_url
            .as_ref()
            .map(|u| format!("{}/#/runs/{}", u.trim_end_matches('/'), d.run_id));
        let mut scope: Value = serde_json::from_str(&d.scope).unwrap_or_else(|_| json!({}));
        scope["run"] = json!({
            "id": d.run_id,
            "workflow_id": t.workflow_id,
            "status": outcome.status,
            "output": output,
            "error": outcome.error,
            "link": link,
            "summary": summary,
        });
        let cache = std::sync::OnceLock::new();
        let ctx = workflow_lang::template::EvalCtx::new(&scope, &cache);
        if let Some(u) = &reply.response_url {
            let url = match self
                .templates
                .eval(&json!(u), &ctx)
                .map_err(|e| e.to_string())?
            {
                Value::String(s) if !s.trim().is_empty() => s,
                _ => return Err("the reply's response_url is empty".into()),
            };
            return crate::slack::web_api::respond(
                &url,
                &json!({"response_type": "ephemeral", "text": summary}),
            )
            .await
            .map_err(|e| e.to_string());
        }
        let Some(spec) = &reply.http else {
            return Err("the reply names nowhere to go".into());
        };
        let env = self.reply_env(spec).await?;
        let p = crate::executor::http_request::prepare(
            spec,
            &self.templates,
            &ctx,
            &env,
            &t.workflow_id,
        )?;
        let verb = reqwest::Method::from_bytes(p.method.as_bytes())
            .map_err(|_| format!("'{}' is not an HTTP method", p.method))?;
        let mut req = env.client.request(verb, p.url);
        for (k, v) in &p.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = &p.body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("{} {}: no answer within 30 s", p.method, p.host)
            } else {
                format!("{} {}: could not connect", p.method, p.host)
            }
        })?;
        let status = resp.status().as_u16();
        let ok = match &spec.expect {
            Some(list) => list.contains(&status),
            None => (200..300).contains(&status),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{} {} answered HTTP {status}", p.method, p.host))
        }
    }

    /// The secrets a reply names and where each may go.
    async fn reply_env(&self, spec: &HttpSpec) -> Result<HttpEnv, String> {
        let mut secrets = HashMap::new();
        let mut rules = HashMap::new();
        for name in secret_refs::names_in(&serde_json::to_value(spec).unwrap_or_default()) {
            if let Some((v, info)) = self.store.secret(&name).await.map_err(|e| e.to_string())? {
                rules.insert(name.clone(), crate::secrets::rule_of(&info));
                secrets.insert(name, v);
            }
        }
        Ok(HttpEnv {
            allowed_hosts: self.config.http_allowed_hosts.clone(),
            redact: Redactor::new(&secrets),
            secrets,
            rules,
            client: crate::webhook::client(Duration::from_secs(30)),
        })
    }
}
