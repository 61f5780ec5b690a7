//! The simulator over real HTTP.

mod behaviour;
mod conformance;
mod fuzz;
mod knobs;
mod lifecycle;
mod mess;
mod schemathesis;

use lumos_api::{ApiToken, Client, RetryPolicy};
use lumos_sim::{DEFAULT_TOKEN, SimConfig, Simulator, USER_TOKEN};
use serde_json::{Map, Value};

pub async fn start(cfg: SimConfig) -> Simulator {
    Simulator::start(cfg).await.expect("simulator starts")
}

pub async fn sim() -> Simulator {
    start(SimConfig::default()).await
}

pub fn client_with(sim: &Simulator, token: &str) -> Client {
    Client::builder()
        .base_url(&sim.base_url)
        .token(ApiToken::parse(token).expect("token"))
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

pub fn admin(sim: &Simulator) -> Client {
    client_with(sim, DEFAULT_TOKEN)
}

pub fn member(sim: &Simulator) -> Client {
    client_with(sim, USER_TOKEN)
}

pub fn p(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// A raw GET with the admin token: status and JSON body.
pub async fn raw(
    sim: &Simulator,
    path_and_query: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut rb = lumos_api::http::client().get(format!("{}{}", sim.base_url, path_and_query));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// An access length `app` offers (its first), for requests that must name one.
pub async fn a_length(c: &Client, app: &Value) -> Value {
    let settings = c
        .call(
            "getAppStoreAppSettings",
            &p(serde_json::json!({"app_id": app})),
            None,
        )
        .await
        .expect("settings");
    settings["provisioning"]["time_based_access"][0].clone()
}

/// The id of an app in the AppStore, whatever its visibility.
pub async fn store_app(c: &Client) -> Value {
    let apps = c
        .call(
            "getAppStoreApps",
            &p(serde_json::json!({"all_visibilities": true, "size": 1})),
            None,
        )
        .await
        .expect("apps");
    apps["items"][0]["id"].clone()
}
