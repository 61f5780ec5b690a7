//! The one rule for every cookie the server sets.

use crate::state::AppState;

/// Whether a cookie must say `Secure`: the server is reached over https (its public URL
/// says so, or the TLS-terminating proxy in front of it does). One rule for every cookie.
pub fn cookie_secure(state: &AppState, headers: &axum::http::HeaderMap) -> &'static str {
    let public_https = state
        .engine
        .config()
        .public_url
        .as_deref()
        .is_some_and(|u| u.trim_start().to_ascii_lowercase().starts_with("https://"))
        || state
            .sso
            .as_ref()
            .is_some_and(|sso| sso.config.public_url.scheme() == "https");
    let proxied_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    if public_https || proxied_https {
        "; Secure"
    } else {
        ""
    }
}
