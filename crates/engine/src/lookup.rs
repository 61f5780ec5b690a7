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
    /// Apps people may request, by name (`getAppStoreApps`): what a request names.
    Appstore,
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
        // An id (a link gave one) is looked up as itself: its name is what the picker shows.
        let by_id = uuid::Uuid::try_parse(text).is_ok();
        let (op, params) = match (kind, by_id) {
            (LookupKind::Apps, true) => ("getApp", json!({"app_id": text})),
            (LookupKind::Appstore, true) => ("getAppStoreApp", json!({"app_id": text})),
            (LookupKind::Appstore, false) => (
                "getAppStoreApps",
                json!({"name_search": text, "size": MATCHES}),
            ),
            (LookupKind::Users, true) => ("getUser", json!({"user_id": text})),
            (LookupKind::Apps, false) => {
                ("listApps", json!({"name_search": text, "size": MATCHES}))
            }
            (LookupKind::Users, false) => {
                ("listUsers", json!({"search_term": text, "size": MATCHES}))
            }
        };
        let params: Map<String, Value> = params.as_object().cloned().unwrap_or_default();
        let page = match client.call(op, &params, None).await {
            Ok(page) => page,
            // No such id: nothing found, as a name that matches nothing.
            Err(e) if by_id && e.status() == Some(404) => return Ok(Vec::new()),
            Err(e) => {
                return Err(EngineError::Conflict(format!(
                    "cannot look it up in Lumos: {e}"
                )));
            }
        };
        let items = if by_id {
            vec![page]
        } else {
            page["items"].as_array().cloned().unwrap_or_default()
        };
        let text_of = |v: &Value| v.as_str().map(str::to_owned);
        Ok(items
            .iter()
            .filter_map(|it| {
                let id = text_of(&it["id"])?;
                let label = it
                    .as_object()
                    .and_then(crate::naming::name_of)
                    .unwrap_or_else(|| id.clone());
                Some(match kind {
                    LookupKind::Apps | LookupKind::Appstore => Found {
                        label,
                        email: None,
                        detail: text_of(&it["app_class_id"]),
                        id,
                    },
                    LookupKind::Users => Found {
                        label,
                        detail: text_of(&it["status"]),
                        email: text_of(&it["email"]),
                        id,
                    },
                })
            })
            .collect())
    }
}

/// The access lengths a request may ask for: what the app offers, or, with permissions
/// chosen, what every one of them offers (a permission's own lengths override the app's).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Durations {
    pub offered: Vec<String>,
    /// Whose lengths these are, in words ("Slack", "Slack · Member").
    pub of: String,
}

impl Engine {
    /// The lengths app `app_id` (with `permissions`, labels or ids) offers a requester, as
    /// the request workflow checks them; through the default connection.
    pub async fn durations(
        &self,
        app_id: &str,
        permissions: &[String],
        by: &Actor,
    ) -> Result<Durations> {
        // A name is the one AppStore app of that name, in any case.
        let app_id = if uuid::Uuid::try_parse(app_id).is_ok() {
            app_id.to_owned()
        } else {
            let found = self.lookup(LookupKind::Appstore, app_id, by).await?;
            let same: Vec<&Found> = found
                .iter()
                .filter(|f| f.label.eq_ignore_ascii_case(app_id.trim()))
                .collect();
            match same.as_slice() {
                [one] => one.id.clone(),
                [] => {
                    return Err(EngineError::Inputs(vec![format!(
                        "app: no AppStore app is named '{app_id}'"
                    )]));
                }
                many => {
                    return Err(EngineError::Inputs(vec![format!(
                        "app: '{app_id}' names {} AppStore apps; give one by id",
                        many.len()
                    )]));
                }
            }
        };
        let app_id = app_id.as_str();
        self.check_connection_use("default", by).await?;
        let client = self.client("default").await?;
        let ask = |op: &'static str, params: Value| {
            let client = client.clone();
            async move {
                let params: Map<String, Value> = params.as_object().cloned().unwrap_or_default();
                client.call(op, &params, None).await.map_err(|e| {
                    EngineError::Conflict(format!("cannot read the app's settings in Lumos: {e}"))
                })
            }
        };
        let app = ask("getAppStoreApp", json!({"app_id": app_id})).await?;
        let label = app["user_friendly_label"]
            .as_str()
            .unwrap_or(app_id)
            .to_owned();
        let lengths = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect()
        };
        let wanted: Vec<&str> = permissions
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .collect();
        if wanted.is_empty() {
            let settings = ask("getAppStoreAppSettings", json!({"app_id": app_id})).await?;
            return Ok(Durations {
                offered: lengths(&settings["provisioning"]["time_based_access"]),
                of: label,
            });
        }
        let listed = ask(
            "listAppRequestablePermissions",
            json!({"app_id": app_id, "in_app_store": true, "size": 100}),
        )
        .await?;
        let items = listed["items"].as_array().cloned().unwrap_or_default();
        let mut offered: Option<Vec<String>> = None;
        let mut names = Vec::new();
        for w in &wanted {
            let Some(p) = items
                .iter()
                .find(|p| p["id"].as_str() == Some(w) || p["label"].as_str() == Some(w))
            else {
                return Err(EngineError::Inputs(vec![format!(
                    "permissions: {label} has no requestable permission '{w}'"
                )]));
            };
            names.push(p["label"].as_str().unwrap_or(w).to_owned());
            let own =
                lengths(&p["request_config"]["request_fulfillment_config"]["time_based_access"]);
            offered = Some(match offered {
                None => own,
                Some(so_far) => so_far.into_iter().filter(|d| own.contains(d)).collect(),
            });
        }
        Ok(Durations {
            offered: offered.unwrap_or_default(),
            of: format!("{label} · {}", names.join(", ")),
        })
    }
}
