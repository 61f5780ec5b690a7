//! Finding an app or a person by typing part of their name: what the console's pickers ask,
//! so nobody pastes ids. Reads only, through the `default` connection, for those who may
//! run workflows on it.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::actor::Actor;
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// What to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LookupKind {
    /// Apps by name (`listApps`).
    Apps,
    /// People by name or email (`listUsers`).
    Users,
}

/// One match: its id, what people call it, and a detail to tell look-alikes apart.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Found {
    pub id: String,
    pub label: String,
    pub email: Option<String>,
    pub detail: Option<String>,
}

const MATCHES: u64 = 20;

impl Engine {
    pub async fn lookup(&self, kind: LookupKind, text: &str, by: &Actor) -> Result<Vec<Found>> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 100 {
            return Err(EngineError::Inputs(vec![
                "type 1 to 100 characters to look for".into(),
            ]));
        }
        self.check_connection_use("default", by).await?;
        let client = self.client("default").await?;
        let (op, params) = match kind {
            LookupKind::Apps => ("listApps", json!({"name_search": text, "size": MATCHES})),
            LookupKind::Users => ("listUsers", json!({"search_term": text, "size": MATCHES})),
        };
        let params: Map<String, Value> = params.as_object().cloned().unwrap_or_default();
        let page = client
            .call(op, &params, None)
            .await
            .map_err(|e| EngineError::Conflict(format!("cannot look it up in Lumos: {e}")))?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let text_of = |v: &Value| v.as_str().map(str::to_owned);
        Ok(items
            .iter()
            .filter_map(|it| {
                let id = text_of(&it["id"])?;
                Some(match kind {
                    LookupKind::Apps => Found {
                        label: text_of(&it["user_friendly_label"]).unwrap_or_else(|| id.clone()),
                        email: None,
                        detail: text_of(&it["app_class_id"]),
                        id,
                    },
                    LookupKind::Users => {
                        let name = [&it["given_name"], &it["family_name"]]
                            .iter()
                            .filter_map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(" ");
                        let email = text_of(&it["email"]);
                        Found {
                            label: if name.is_empty() {
                                email.clone().unwrap_or_else(|| id.clone())
                            } else {
                                name
                            },
                            detail: text_of(&it["status"]),
                            email,
                            id,
                        }
                    }
                })
            })
            .collect())
    }
}
