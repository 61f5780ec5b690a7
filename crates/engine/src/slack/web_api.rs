//! The few Slack Web API methods lumosflow calls (`auth.test`, `users.info`,
//! `chat.postMessage`, `chat.update`, `views.open`) and posting to a `response_url`. Written
//! on reqwest rather than a Slack SDK: five calls do not need one, and each answer is
//! checked the same way (`ok: true`, else Slack's `error` said back).

use std::time::Duration;

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::error::SlackError;

/// A Slack Web API client with the bot token.
pub struct SlackApi {
    http: reqwest::Client,
    base: String,
    token: Zeroizing<String>,
}

/// A Slack user as lumosflow needs them: who they are by email.
#[derive(Debug, Clone)]
pub struct SlackUser {
    pub email: Option<String>,
    pub name: Option<String>,
    pub deleted: bool,
}

impl SlackApi {
    pub fn new(base: &str, token: Zeroizing<String>) -> SlackApi {
        SlackApi {
            http: crate::webhook::client(Duration::from_secs(10)),
            base: base.trim_end_matches('/').to_owned(),
            token,
        }
    }

    /// Call `method` with a JSON body (Slack's write methods take JSON).
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SlackError> {
        let req = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(self.token.as_str())
            .json(body);
        self.answer(method, req).await
    }

    /// Call a read method with form fields (Slack's read methods do not take JSON).
    async fn call_form(&self, method: &str, form: &[(&str, &str)]) -> Result<Value, SlackError> {
        let req = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(self.token.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            );
        self.answer(method, req).await
    }

    async fn answer(
        &self,
        method: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<Value, SlackError> {
        let unreachable = |why: String| SlackError::Unreachable {
            method: method.to_owned(),
            why,
        };
        let resp = req.send().await.map_err(|e| {
            unreachable(if e.is_timeout() {
                "no answer within 10 s".into()
            } else {
                "could not connect".into()
            })
        })?;
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|_| unreachable(format!("answered {status} with a body that is not JSON")))?;
        if body["ok"] == json!(true) {
            return Ok(body);
        }
        Err(SlackError::Refused {
            method: method.to_owned(),
            error: body["error"].as_str().map_or_else(
                || format!("answered {status} without ok: true"),
                str::to_owned,
            ),
        })
    }

    /// Whether the token works: the workspace and bot it belongs to.
    pub async fn auth_test(&self) -> Result<(String, String), SlackError> {
        let a = self.call_form("auth.test", &[]).await?;
        Ok((
            a["team"].as_str().unwrap_or_default().to_owned(),
            a["user"].as_str().unwrap_or_default().to_owned(),
        ))
    }

    /// Who a Slack user is: the email of their profile (the `users:read.email` scope).
    pub async fn user(&self, id: &str) -> Result<SlackUser, SlackError> {
        let u = self.call_form("users.info", &[("user", id)]).await?;
        let user = &u["user"];
        let text = |v: &Value| {
            v.as_str()
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
        };
        Ok(SlackUser {
            email: text(&user["profile"]["email"]).map(|e| e.to_lowercase()),
            name: text(&user["real_name"]).or_else(|| text(&user["profile"]["real_name"])),
            deleted: user["deleted"] == json!(true),
        })
    }

    /// Post a message (`text` and `blocks`) to a channel or a person; its timestamp.
    pub async fn post(&self, channel: &str, message: &Value) -> Result<String, SlackError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        let a = self.call("chat.postMessage", &body).await?;
        Ok(a["ts"].as_str().unwrap_or_default().to_owned())
    }

    /// Replace a posted message.
    pub async fn update(&self, channel: &str, ts: &str, message: &Value) -> Result<(), SlackError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        body["ts"] = json!(ts);
        self.call("chat.update", &body).await.map(|_| ())
    }

    /// Open a modal for the person who pressed or typed (`trigger_id` lives 3 seconds).
    pub async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackError> {
        self.call(
            "views.open",
            &json!({"trigger_id": trigger_id, "view": view}),
        )
        .await
        .map(|_| ())
    }
}

/// Post `message` to an interaction's `response_url` (Slack's, or this machine in tests).
pub async fn respond(url: &str, message: &Value) -> Result<(), SlackError> {
    let failed = |why: String| SlackError::Unreachable {
        method: "response_url".into(),
        why,
    };
    let parsed = url::Url::parse(url).map_err(|e| failed(format!("not a URL: {e}")))?;
    if !crate::webhook::url_allowed(&parsed) {
        return Err(failed("not https".into()));
    }
    let resp = crate::webhook::client(Duration::from_secs(10))
        .post(parsed)
        .json(message)
        .send()
        .await
        .map_err(|_| failed("could not connect".into()))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(failed(format!("answered {}", resp.status())))
    }
}
