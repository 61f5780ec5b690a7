//! What inbound triggers and outbound notices share: the signature scheme
//! (`t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`), which URLs lumosflow posts to,
//! and how their names look.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Hex HMAC-SHA256 of `message` under `secret`.
pub fn hmac_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Lumosflow-Signature` value for `body` at `t` (unix seconds).
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    format!(
        "t={t},v1={}",
        hmac_hex(secret, format!("{t}.{body}").as_bytes())
    )
}

/// A URL lumosflow may post to: https, or plain http to this machine.
pub fn url_allowed(url: &url::Url) -> bool {
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    url.scheme() == "https" || (url.scheme() == "http" && loopback)
}

/// A trigger's or notification target's name: 1-64 letters, digits, `-`, `_`, `.`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid name '{name}': use 1-64 letters, digits, '-', '_', '.'"
        ))
    }
}

/// The client lumosflow posts to the outside with: a timeout, and no redirects (an allowed
/// host must not send a notice, or a request with its secrets, somewhere else).
pub(crate) fn client(timeout: std::time::Duration) -> reqwest::Client {
    lumos_api::http::client_builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}
