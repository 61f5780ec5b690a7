//! Triggers: webhooks from where the service desk lives (a ticketing tool's automation rule,
//! a Slack slash command) that start a run. Each has a secret callers prove themselves with
//! (`hmac`: our signature scheme, the same as outbound notices; `slack`: Slack's request
//! signing; `header`: a shared secret, for tools that cannot sign), and a mapping from the
//! payload to the workflow's inputs, `requested_for` and a `dedupe_key`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use store::{NewTrigger, Receipt, Trigger};

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::run_types::RunRequest;
use crate::webhook::hmac_hex;

/// How long a signed request stays valid, either way.
pub const TOLERANCE_SECS: i64 = 300;
/// Within this window a dedupe key starts one run.
const DEDUPE_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// How callers prove themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerAuth {
    /// `Lumosflow-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    Hmac,
    /// Slack's request signing: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret,
    /// "v0:<timestamp>:<body>")>` with `X-Slack-Request-Timestamp`.
    Slack,
    /// `Lumosflow-Secret: <secret>`: weaker (the secret travels), for tools that cannot sign.
    Header,
}

impl TriggerAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerAuth::Hmac => "hmac",
            TriggerAuth::Slack => "slack",
            TriggerAuth::Header => "header",
        }
    }
}

impl std::str::FromStr for TriggerAuth {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "hmac" => Ok(TriggerAuth::Hmac),
            "slack" => Ok(TriggerAuth::Slack),
            "header" => Ok(TriggerAuth::Header),
            _ => Err(format!("unknown auth '{s}' (hmac, slack or header)")),
        }
    }
}

/// How a payload becomes a run: templates over `payload` and `headers`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerMap {
    #[serde(default)]
    pub inputs: Map<String, Value>,
    #[serde(default)]
    pub requested_for: Option<String>,
    #[serde(default)]
    pub dedupe_key: Option<String>,
    /// For a Slack slash command: open a modal made from the workflow's inputs (the Slack
    /// app must be set up) instead of starting a run from the command's text.
    #[serde(default)]
    pub modal: bool,
    /// Where the answer goes when the run ends (Slack triggers: the command's
    /// `response_url` unless said otherwise).
    #[serde(default)]
    pub reply: Option<crate::trigger_reply::Reply>,
    /// How long a caller may wait for the run's end on the same request (`?wait=30s`, up
    /// to 5 minutes); none: callers are answered at once.
    #[serde(default)]
    pub wait: Option<String>,
}

/// A trigger as created or with a new secret: shown this once.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TriggerSecret {
    pub id: String,
    pub name: String,
    /// Where callers send their requests.
    pub url: String,
    pub secret: String,
}

/// Why a hook request was refused, for the HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// Unknown or disabled: answered as not found, so nothing is learned.
    #[error("no such trigger")]
    NotFound,
    #[error("{0}")]
    Unauthorized(String),
    /// The payload does not map to a run: answered 422 and recorded on the trigger.
    #[error("{0}")]
    Unprocessable(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What a hook request started.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Fired {
    pub run_id: String,
    #[schemars(with = "String")]
    pub status: store::RunStatus,
    /// The same dedupe key was seen within a day: this is the first run, not a new one.
    pub duplicate: bool,
    pub workflow_id: String,
    /// The trigger's auth, so the server can answer Slack its way.
    #[serde(skip)]
    pub auth: String,
    /// When the caller waited (`?wait=`) and the run ended in time: its output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// … or its error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a hook request did.
#[derive(Debug, Clone)]
pub enum HookOutcome {
    /// Started a run (or found the one its dedupe key started).
    Run(Fired),
    /// Opened a request modal in Slack (a slash command to a `modal: true` trigger).
    ModalOpened,
}

/// Equal, in time that does not depend on where they differ (digests are compared).
pub(crate) fn same(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// Slack's signature of `body` at `timestamp`: `v0=<hex>`.
pub fn slack_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut msg = format!("v0:{timestamp}:").into_bytes();
    msg.extend_from_slice(body);
    format!("v0={}", hmac_hex(secret, &msg))
}

fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers.get(name).map(String::as_str)
}

fn fresh(t: i64) -> std::result::Result<(), HookError> {
    if (chrono::Utc::now().timestamp() - t).abs() > TOLERANCE_SECS {
        return Err(HookError::Unauthorized(
            "the signature's timestamp is more than 5 minutes away from now".into(),
        ));
    }
    Ok(())
}

/// The payload as templates see it: JSON, or form fields.
pub fn parse_payload(content_type: &str, body: &[u8]) -> std::result::Result<Value, String> {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let map: Map<String, Value> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Ok(Value::Object(map));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))
}

impl Engine {
    fn hook_url(&self, id: &str) -> String {
        let base = self
            .config
            .public_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        format!("{}/hooks/{id}", base.trim_end_matches('/'))
    }

    /// Check a mapping's YAML: its shape, and that its templates only read `payload` and
    /// `headers`.
    pub(crate) fn check_map(&self, yaml: &str) -> Result<TriggerMap> {
        let bad = |m: String| EngineError::Inputs(vec![m]);
        let map: TriggerMap =
            serde_saphyr::from_str(yaml).map_err(|e| bad(format!("the mapping: {e}")))?;
        let mut texts: Vec<&Value> = map.inputs.values().collect();
        let extra: Vec<Value> = [&map.requested_for, &map.dedupe_key]
            .into_iter()
            .flatten()
            .map(|s| Value::String(s.clone()))
            .collect();
        texts.extend(extra.iter());
        for v in texts {
            for s in strings(v) {
                let names = self
                    .templates
                    .references(s)
                    .map_err(|e| bad(format!("the mapping: bad template '{s}': {e}")))?;
                if let Some(n) = names
                    .iter()
                    .find(|n| !n.starts_with("payload") && !n.starts_with("headers"))
                {
                    return Err(bad(format!(
                        "the mapping: '{n}' is unknown (templates read payload.… and headers.…)"
                    )));
                }
            }
        }
        if let Some(reply) = &map.reply {
            if let Some(p) = reply.problem() {
                return Err(bad(p));
            }
            for s in reply.texts() {
                let names = self
                    .templates
                    .references(&s)
                    .map_err(|e| bad(format!("the mapping's reply: bad template '{s}': {e}")))?;
                // `secrets` as an http step reads them: whole, filled in at the last moment
                // (`problem` refused every other use).
                if let Some(n) = names.iter().find(|n| {
                    !["payload", "headers", "run", "secrets"]
                        .iter()
                        .any(|root| n.starts_with(root))
                }) {
                    return Err(bad(format!(
                        "the mapping's reply: '{n}' is unknown (replies read payload.…, headers.… and run.…)"
                    )));
                }
            }
        }
        wait_of(&map).map_err(bad)?;
        Ok(map)
    }

    /// Add a trigger for an installed workflow; its URL and secret are returned once.
    pub async fn add_trigger(
        &self,
        name: &str,
        workflow: &str,
        auth: TriggerAuth,
        mapping: Option<&str>,
        secret: Option<&str>,
        by: &Actor,
    ) -> Result<TriggerSecret> {
        let bad = |m: String| EngineError::Inputs(vec![m]);
        // Slack signs with the Slack app's own signing secret: it must be given. Otherwise
        // lumosflow makes one.
        let given = secret.map(str::trim).filter(|s| !s.is_empty());
        match (auth, given) {
            (TriggerAuth::Slack, None) => {
                return Err(bad(
                    "Slack signs requests with your Slack app's signing secret: give it (lumosflow triggers add --secret-stdin, or \"secret\" in the API)".into(),
                ));
            }
            (_, Some(s)) if s.len() < 16 || s.chars().any(char::is_whitespace) => {
                return Err(bad(
                    "a trigger secret is at least 16 characters, without spaces".into(),
                ));
            }
            _ => {}
        }
        crate::webhook::check_name(name).map_err(bad)?;
        self.load(workflow, None).await?;
        if let Some(m) = mapping
            && self.check_map(m)?.modal
            && auth != TriggerAuth::Slack
        {
            return Err(bad(
                "modal: true opens a form in Slack: it is for Slack triggers (--auth slack)".into(),
            ));
        }
        if self.store.trigger(name).await?.is_some() {
            return Err(EngineError::Conflict(format!(
                "a trigger named '{name}' exists (remove it first)"
            )));
        }
        let id = crate::ids::new_run_id();
        let secret = match given {
            Some(s) => s.to_owned(),
            None => crate::access::secret::new("lft_")
                .map_err(|e| EngineError::Conflict(format!("no randomness: {e}")))?,
        };
        self.store
            .add_trigger(&NewTrigger {
                id: &id,
                name,
                workflow_id: workflow,
                auth: auth.as_str(),
                secret: &secret,
                mapping,
            })
            .await?;
        self.audit(
            by,
            "trigger.add",
            name,
            Some(json!({"workflow": workflow, "auth": auth.as_str()})),
        )
        .await;
        Ok(TriggerSecret {
            url: self.hook_url(&id),
            id,
            name: name.to_owned(),
            secret,
        })
    }

    pub async fn triggers(&self) -> Result<Vec<Trigger>> {
        Ok(self.store.triggers().await?)
    }

    pub async fn trigger(&self, name: &str) -> Result<Trigger> {
        self.store
            .trigger(name)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no trigger named '{name}'")))
    }

    pub async fn rotate_trigger_secret(&self, name: &str, by: &Actor) -> Result<TriggerSecret> {
        let t = self.trigger(name).await?;
        let secret = crate::access::secret::new("lft_")
            .map_err(|e| EngineError::Conflict(format!("no randomness: {e}")))?;
        self.store.set_trigger_secret(&t.id, &secret).await?;
        self.audit(by, "trigger.rotate_secret", &t.name, None).await;
        Ok(TriggerSecret {
            url: self.hook_url(&t.id),
            id: t.id,
            name: t.name,
            secret,
        })
    }

    pub async fn set_trigger_enabled(
        &self,
        name: &str,
        enabled: bool,
        by: &Actor,
    ) -> Result<Trigger> {
        let t = self.trigger(name).await?;
        self.store.set_trigger_enabled(&t.id, enabled).await?;
        let action = if enabled {
            "trigger.enable"
        } else {
            "trigger.disable"
        };
        self.audit(by, action, &t.name, None).await;
        self.trigger(name).await
    }

    pub async fn remove_trigger(&self, name: &str, by: &Actor) -> Result<()> {
        let t = self.trigger(name).await?;
        self.store.remove_trigger(&t.id).await?;
        self.audit(by, "trigger.remove", &t.name, None).await;
        Ok(())
    }

    /// A request to `/hooks/{id}`: check who sent it, map its payload, start (or find) the
    /// run. `headers` have lower-case names.
    /// `wait`: how long the caller waits for the run's end (at most what the trigger
    /// allows; asking more is refused before anything starts).
    pub async fn fire_trigger(
        &self,
        id: &str,
        headers: &HashMap<String, String>,
        body: &[u8],
        wait: Option<std::time::Duration>,
    ) -> std::result::Result<HookOutcome, HookError> {
        let t = match self.store.trigger(id).await.map_err(EngineError::from)? {
            Some(t) if t.enabled && t.id == id => t,
            _ => return Err(HookError::NotFound),
        };
        let secret = self
            .store
            .trigger_secret(&t.id)
            .await
            .map_err(EngineError::from)?;
        let auth: TriggerAuth = t.auth.parse().map_err(HookError::Unauthorized)?;
        let proof = match auth {
            TriggerAuth::Hmac => {
                let sig = header(headers, "lumosflow-signature")
                    .ok_or_else(|| HookError::Unauthorized("missing Lumosflow-Signature".into()))?;
                let mut t_part = None;
                let mut v1 = None;
                for part in sig.split(',') {
                    match part.trim().split_once('=') {
                        Some(("t", v)) => t_part = v.parse::<i64>().ok(),
                        Some(("v1", v)) => v1 = Some(v.to_owned()),
                        _ => {}
                    }
                }
                let (Some(ts), Some(v1)) = (t_part, v1) else {
                    return Err(HookError::Unauthorized(
                        "Lumosflow-Signature must be t=<unix seconds>,v1=<hex>".into(),
                    ));
                };
                fresh(ts)?;
                let mut msg = format!("{ts}.").into_bytes();
                msg.extend_from_slice(body);
                if !same(&hmac_hex(&secret, &msg), &v1) {
                    return Err(HookError::Unauthorized(
                        "the signature does not match".into(),
                    ));
                }
                Some(v1)
            }
            TriggerAuth::Slack => {
                let ts: i64 = header(headers, "x-slack-request-timestamp")
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| {
                        HookError::Unauthorized("missing X-Slack-Request-Timestamp".into())
                    })?;
                fresh(ts)?;
                let sig = header(headers, "x-slack-signature")
                    .ok_or_else(|| HookError::Unauthorized("missing X-Slack-Signature".into()))?;
                if !same(&slack_signature(&secret, ts, body), sig) {
                    return Err(HookError::Unauthorized(
                        "the Slack signature does not match".into(),
                    ));
                }
                Some(sig.to_owned())
            }
            TriggerAuth::Header => {
                let given = header(headers, "lumosflow-secret")
                    .ok_or_else(|| HookError::Unauthorized("missing Lumosflow-Secret".into()))?;
                if !same(given, &secret) {
                    return Err(HookError::Unauthorized("wrong secret".into()));
                }
                None
            }
        };
        // A signature is accepted once: a captured request cannot be sent again.
        if let Some(sig) = &proof {
            let window = chrono::Duration::seconds(2 * TOLERANCE_SECS);
            if self
                .store
                .receipt(&t.id, "signature", sig, window)
                .await
                .map_err(EngineError::from)?
                != Receipt::New
            {
                return Err(HookError::Unauthorized(
                    "this signature was already used (a replayed request)".into(),
                ));
            }
        }
        // The payload and the mapping, read once; what fails here is the trigger's error.
        let done = async {
            let content_type = header(headers, "content-type").unwrap_or("application/json");
            let payload = parse_payload(content_type, body).map_err(HookError::Unprocessable)?;
            let map = match &t.mapping {
                Some(m) => self
                    .check_map(m)
                    .map_err(|e| HookError::Unprocessable(e.to_string()))?,
                None => TriggerMap::default(),
            };
            if map.modal && auth == TriggerAuth::Slack {
                self.slack_open_request(&t, &payload)
                    .await
                    .map_err(HookError::Unprocessable)?;
                return Ok(HookOutcome::ModalOpened);
            }
            self.map_and_start(&t, &map, payload, headers, wait)
                .await
                .map(HookOutcome::Run)
        }
        .await;
        match done {
            Ok(f) => {
                let _ = self.store.trigger_fired(&t.id, None).await;
                Ok(f)
            }
            Err(HookError::Unprocessable(m)) => {
                let _ = self.store.trigger_fired(&t.id, Some(&m)).await;
                Err(HookError::Unprocessable(m))
            }
            Err(e) => Err(e),
        }
    }

    async fn map_and_start(
        &self,
        t: &Trigger,
        map: &TriggerMap,
        payload: Value,
        headers: &HashMap<String, String>,
        wait: Option<std::time::Duration>,
    ) -> std::result::Result<Fired, HookError> {
        if let Some(asked) = wait {
            let allowed = wait_of(map).map_err(HookError::Unprocessable)?;
            match allowed {
                None => {
                    return Err(HookError::Unprocessable(format!(
                        "trigger '{}' answers at once: its mapping's wait: lets callers wait (e.g. wait: 30s)",
                        t.name
                    )));
                }
                Some(max) if asked > max => {
                    return Err(HookError::Unprocessable(format!(
                        "trigger '{}' lets callers wait at most {}",
                        t.name,
                        humantime::format_duration(max)
                    )));
                }
                Some(_) => {}
            }
        }
        // Secrets the caller sent never reach templates or records.
        let visible: Map<String, Value> = headers
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "lumosflow-secret"
                        | "lumosflow-signature"
                        | "x-slack-signature"
                        | "authorization"
                        | "cookie"
                )
            })
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let scope = json!({"payload": payload, "headers": visible});
        let cache = std::sync::OnceLock::new();
        let ctx = workflow_lang::template::EvalCtx::new(&scope, &cache);
        let eval = |v: &Value, what: &str| {
            self.templates
                .eval(v, &ctx)
                .map_err(|e| HookError::Unprocessable(format!("the mapping's {what}: {e}")))
        };
        let inputs = match (&t.mapping, &payload) {
            (None, Value::Object(m)) => m.clone(),
            (None, _) => Map::new(),
            (Some(_), _) => {
                let mut out = Map::new();
                for (k, v) in &map.inputs {
                    out.insert(k.clone(), eval(v, &format!("input '{k}'"))?);
                }
                out
            }
        };
        let text = |v: Value| match v {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        };
        let requested_for = match &map.requested_for {
            Some(r) => text(eval(&Value::String(r.clone()), "requested_for")?),
            None => None,
        };
        let dedupe = match &map.dedupe_key {
            Some(d) => text(eval(&Value::String(d.clone()), "dedupe_key")?),
            None => None,
        };
        if let Some(key) = &dedupe {
            match self
                .store
                .receipt(&t.id, "dedupe", key, DEDUPE_WINDOW)
                .await
                .map_err(EngineError::from)?
            {
                Receipt::New => {}
                Receipt::Seen(Some(run_id)) => {
                    let first = self.existing(&run_id).await?;
                    // The first run was cut off by a crash or a shutdown, not by its
                    // workflow: the sender's retry starts the work again (below), and the
                    // key then names the new run.
                    if !crate::owner::interrupted(&first) {
                        return Ok(Fired {
                            run_id,
                            status: first.status,
                            duplicate: true,
                            workflow_id: t.workflow_id.clone(),
                            auth: t.auth.clone(),
                            output: None,
                            error: None,
                        });
                    }
                    tracing::info!(trigger = %t.name, run = %run_id, "a retried hook starts again the run a crash interrupted");
                }
                Receipt::Seen(None) => {
                    return Err(HookError::Unprocessable(format!(
                        "a request with dedupe key '{key}' is being handled; try again shortly"
                    )));
                }
            }
        }
        let req = RunRequest {
            actor: Actor::system(&format!("trigger:{}", t.name)),
            origin: crate::run_types::Origin::Hook,
            requested_for,
            ..RunRequest::default()
        };
        let submitted = match self.submit(&t.workflow_id, &inputs, req).await {
            Ok(s) => s,
            Err(e) => {
                if let Some(key) = &dedupe {
                    let _ = self.store.receipt_run(&t.id, "dedupe", key, None).await;
                }
                return Err(match e {
                    EngineError::Inputs(_) | EngineError::Invalid(_) => {
                        HookError::Unprocessable(e.to_string())
                    }
                    other => HookError::Engine(other),
                });
            }
        };
        if let Some(key) = &dedupe {
            let _ = self
                .store
                .receipt_run(&t.id, "dedupe", key, Some(&submitted.run_id))
                .await;
        }
        let reply = map.reply.clone().or_else(|| {
            (t.auth == TriggerAuth::Slack.as_str() && payload["response_url"].is_string())
                .then(crate::trigger_reply::Reply::slack_default)
        });
        if reply.is_some() {
            self.keep_reply(&submitted.run_id, &t.id, &scope).await;
        }
        let mut fired = Fired {
            run_id: submitted.run_id,
            status: submitted.status,
            duplicate: false,
            workflow_id: t.workflow_id.clone(),
            auth: t.auth.clone(),
            output: None,
            error: None,
        };
        if let Some(w) = wait
            && let Ok(Ok(o)) = tokio::time::timeout(w, self.wait(&fired.run_id, None, "hook")).await
            && o.status.is_final()
        {
            fired.status = o.status;
            fired.output = if o.items_apart {
                Some(
                    self.output_value(&fired.run_id, 16 << 20)
                        .await
                        .unwrap_or_else(|e| json!({"error": e.to_string()})),
                )
            } else {
                o.output
            };
            fired.error = o.error;
        }
        Ok(fired)
    }
}

/// How long a trigger lets callers wait for the run's end.
fn wait_of(map: &TriggerMap) -> std::result::Result<Option<std::time::Duration>, String> {
    let Some(w) = &map.wait else {
        return Ok(None);
    };
    let d = crate::config::parse_duration(w).map_err(|e| format!("the mapping's wait: {e}"))?;
    if d > crate::trigger_reply::MAX_WAIT {
        return Err("the mapping's wait: at most 5m".into());
    }
    Ok(Some(d))
}

/// Every string inside a value.
fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(m) => m.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}
