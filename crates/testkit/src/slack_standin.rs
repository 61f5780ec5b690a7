//! A local stand-in for Slack, like the Lumos simulator is for Lumos: the Web API methods
//! lumosflow calls (`auth.test`, `users.info`, `chat.postMessage`, `chat.update`,
//! `views.open`) checked for the bot token and answered as Slack answers them, and
//! `response_url`s that record what is posted to them. Tests read what a person would have
//! seen in Slack, and build the payloads Slack sends when someone presses a button or
//! submits a modal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Json;
use axum::routing::post;
use serde_json::{Value, json};

/// A message as the channel shows it now.
#[derive(Debug, Clone)]
pub struct Message {
    pub channel: String,
    pub ts: String,
    pub body: Value,
    /// How many times it was replaced.
    pub updates: usize,
}

impl Message {
    /// Everything the message says, as one text (its blocks' text and fields).
    pub fn text(&self) -> String {
        let mut out = Vec::new();
        collect_text(&self.body["blocks"], &mut out);
        if out.is_empty() {
            out.push(self.body["text"].as_str().unwrap_or_default().to_owned());
        }
        out.join("\n")
    }

    /// The buttons it shows: (action_id, value).
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.body["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
            .map(|e| {
                (
                    e["action_id"].as_str().unwrap_or_default().to_owned(),
                    e["value"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

fn collect_text(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some("mrkdwn")
                || m.get("type").and_then(Value::as_str) == Some("plain_text")
            {
                if let Some(t) = m.get("text").and_then(Value::as_str) {
                    out.push(t.to_owned());
                }
                return;
            }
            for x in m.values() {
                collect_text(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_text(x, out)),
        _ => {}
    }
}

#[derive(Default)]
struct Seen {
    messages: Vec<Message>,
    views: Vec<(String, Value)>,
    responses: Vec<Value>,
    calls: Vec<String>,
    next_ts: u64,
}

#[derive(Clone)]
struct Shared {
    token: String,
    users: Arc<HashMap<String, (String, String)>>,
    seen: Arc<Mutex<Seen>>,
}

/// The stand-in, serving on a random port until dropped.
pub struct SlackStandIn {
    /// Set `LUMOSFLOW_SLACK_API_URL` (or the engine's `slack_api_url`) to this.
    pub api_url: String,
    /// Where this stand-in receives what is posted to `response_url`s.
    pub base_url: String,
    pub bot_token: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SlackStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Seen> {
    s.seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn fields(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

async fn method(
    State(s): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", s.token));
    lock(&s).calls.push(name.clone());
    if !authorized {
        return Json(json!({"ok": false, "error": "invalid_auth"}));
    }
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let args: Value = if is_json {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    } else {
        json!(fields(&body))
    };
    let answer = match name.as_str() {
        "auth.test" => {
            json!({"ok": true, "team": "Example Corp", "user": "lumosflow", "bot_id": "B0LUMOS"})
        }
        // Slack's read methods take form fields, not JSON.
        "users.info" if is_json => json!({"ok": false, "error": "invalid_arguments"}),
        "users.info" => {
            let id = args["user"].as_str().unwrap_or_default();
            match s.users.get(id) {
                Some((email, name)) => json!({"ok": true, "user": {"id": id, "deleted": false,
                    "real_name": name, "profile": {"email": email, "real_name": name}}}),
                None => json!({"ok": false, "error": "user_not_found"}),
            }
        }
        "chat.postMessage" => {
            let channel = args["channel"].as_str().unwrap_or_default().to_owned();
            if channel.is_empty() || (args["text"].is_null() && args["blocks"].is_null()) {
                json!({"ok": false, "error": "no_text"})
            } else {
                let mut seen = lock(&s);
                seen.next_ts += 1;
                let ts = format!("1765000000.{:06}", seen.next_ts);
                seen.messages.push(Message {
                    channel: channel.clone(),
                    ts: ts.clone(),
                    body: args.clone(),
                    updates: 0,
                });
                json!({"ok": true, "channel": channel, "ts": ts})
            }
        }
        "chat.update" => {
            let mut seen = lock(&s);
            let found = seen.messages.iter_mut().find(|m| {
                m.channel == args["channel"].as_str().unwrap_or_default()
                    && m.ts == args["ts"].as_str().unwrap_or_default()
            });
            match found {
                Some(m) => {
                    m.body = args.clone();
                    m.updates += 1;
                    json!({"ok": true, "channel": m.channel, "ts": m.ts})
                }
                None => json!({"ok": false, "error": "message_not_found"}),
            }
        }
        "views.open" => {
            let trigger = args["trigger_id"].as_str().unwrap_or_default().to_owned();
            if trigger.is_empty() || !args["view"].is_object() {
                json!({"ok": false, "error": "invalid_arguments"})
            } else {
                lock(&s).views.push((trigger, args["view"].clone()));
                json!({"ok": true, "view": {"id": "V0VIEW"}})
            }
        }
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    Json(answer)
}

async fn response(State(s): State<Shared>, body: Bytes) -> &'static str {
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    lock(&s).responses.push(v);
    "ok"
}

impl SlackStandIn {
    /// Start it with the workspace's people: (Slack user id, email, name).
    pub async fn start(users: &[(&str, &str, &str)]) -> SlackStandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port for the Slack stand-in");
        let base_url = format!(
            "http://{}",
            listener.local_addr().expect("the stand-in's address")
        );
        let shared = Shared {
            token: "xoxb-1111-2222-standin".into(),
            users: Arc::new(
                users
                    .iter()
                    .map(|(id, e, n)| ((*id).to_owned(), ((*e).to_owned(), (*n).to_owned())))
                    .collect(),
            ),
            seen: Arc::default(),
        };
        let app = Router::new()
            .route("/api/{method}", post(method))
            .route("/response/{n}", post(response))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SlackStandIn {
            api_url: format!("{base_url}/api"),
            bot_token: shared.token.clone(),
            base_url,
            shared,
            task,
        }
    }

    /// A fresh `response_url` for one interaction.
    pub fn response_url(&self, n: u32) -> String {
        format!("{}/response/{n}", self.base_url)
    }

    pub fn messages(&self) -> Vec<Message> {
        lock(&self.shared).messages.clone()
    }

    /// The modals opened: (trigger_id, view).
    pub fn views(&self) -> Vec<(String, Value)> {
        lock(&self.shared).views.clone()
    }

    /// What was posted to `response_url`s, in order.
    pub fn responses(&self) -> Vec<Value> {
        lock(&self.shared).responses.clone()
    }

    /// The Web API methods called, in order.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.shared).calls.clone()
    }

    /// Poll until `check` finds what it wants in what Slack has seen (10 s at most).
    pub async fn wait_for<T>(&self, what: &str, check: impl Fn(&SlackStandIn) -> Option<T>) -> T {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(t) = check(self) {
                return t;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Slack never saw {what}; messages: {:#?}; responses: {:#?}; calls: {:?}",
                self.messages(),
                self.responses(),
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The payload Slack sends when `user` presses the button `action_id` on `message`.
    pub fn press(&self, message: &Message, action_id: &str, user: &str, n: u32) -> Value {
        let (block, button) = message.body["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["type"] == "actions")
            .find_map(|b| {
                b["elements"]
                    .as_array()?
                    .iter()
                    .find(|e| e["action_id"] == action_id)
                    .map(|e| (b["block_id"].clone(), e.clone()))
            })
            .unwrap_or_else(|| panic!("no {action_id} button on {:#?}", message.body));
        json!({
            "type": "block_actions",
            "user": {"id": user},
            "trigger_id": format!("trigger-{n}"),
            "response_url": self.response_url(n),
            "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
            "channel": {"id": message.channel},
            "message": {"ts": message.ts, "text": message.body["text"], "blocks": message.body["blocks"]},
            "actions": [{"type": "button", "action_id": action_id, "block_id": block,
                         "value": button["value"]}],
        })
    }

    /// The payload Slack sends when `user` submits `view` with `values` (input block id →
    /// what they typed or chose).
    pub fn submit(&self, view: &Value, values: &[(&str, Value)], user: &str) -> Value {
        let mut state = serde_json::Map::new();
        for b in view["blocks"].as_array().into_iter().flatten() {
            let Some(id) = b["block_id"].as_str() else {
                continue;
            };
            let el = &b["element"];
            let Some(kind) = el["type"].as_str() else {
                continue;
            };
            let action = el["action_id"].as_str().unwrap_or(id).to_owned();
            let given = values
                .iter()
                .find(|(k, _)| *k == id)
                .map(|(_, v)| v.clone());
            let value = match (kind, given) {
                ("plain_text_input", g) => json!({"type": kind, "value": g}),
                ("static_select" | "external_select", Some(g)) => {
                    json!({"type": kind, "selected_option": {"value": g, "text": {"type": "plain_text", "text": g}}})
                }
                ("checkboxes", Some(Value::Bool(true))) => {
                    json!({"type": kind, "selected_options": [{"value": "yes"}]})
                }
                ("datepicker", g) => json!({"type": kind, "selected_date": g}),
                (_, _) => json!({"type": kind}),
            };
            state.insert(id.to_owned(), json!({ action: value }));
        }
        json!({
            "type": "view_submission",
            "user": {"id": user},
            "view": {"id": "V0VIEW", "callback_id": view["callback_id"],
                     "private_metadata": view["private_metadata"], "blocks": view["blocks"],
                     "state": {"values": state}},
        })
    }
}
