//! lumos-api against a local HTTP server that plays Lumos.

mod conformance;
mod errors;
mod logs;
mod paginate;
mod requests;

use std::time::Duration;

use lumos_api::{ApiToken, Client, RetryPolicy};
use serde_json::{Map, Value};
use wiremock::MockServer;

pub const TOKEN: &str = "lsk_test_secret_value_1234";

pub fn token() -> ApiToken {
    ApiToken::parse(TOKEN).expect("valid test token")
}

/// A client with fast retries so tests stay quick.
pub fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .token(token())
        .timeout(Duration::from_secs(2))
        .retry(RetryPolicy {
            max_retries: 2,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
        .build()
        .expect("client")
}

pub fn params(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}
