//! Every HTTP client lumosflow makes starts here, so TLS is set up one way.
//!
//! rustls's cryptography comes from `ring`: aws-lc (reqwest's default provider) is a large
//! C library whose build took about a minute of a newcomer's first `cargo run`. With the
//! provider not chosen by reqwest, a client built before one is installed would panic, so
//! `reqwest::Client::new` and `builder` are refused by clippy (`clippy.toml`) everywhere
//! but here.

use std::sync::Once;

/// A client builder with the process's TLS provider installed.
#[expect(clippy::disallowed_methods, reason = "the one place clients are built")]
pub fn client_builder() -> reqwest::ClientBuilder {
    install_tls_provider();
    reqwest::Client::builder()
}

/// A client with reqwest's defaults (no timeout: for tests and tools that set their own).
///
/// # Panics
/// As `reqwest::Client::new`: only if TLS cannot be initialized at all.
pub fn client() -> reqwest::Client {
    client_builder()
        .build()
        .expect("the TLS backend initializes")
}

/// Installs `ring` as rustls's provider for this process, once. Another provider installed
/// first by an embedding program is kept.
fn install_tls_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
