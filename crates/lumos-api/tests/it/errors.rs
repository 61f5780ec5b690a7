use std::time::{Duration, Instant};

use lumos_api::{Client, Error, ValidationDetail};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{TOKEN, client, params, token};

async fn answer(status: u16, body: serde_json::Value) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/current"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    client(&server)
        .call("currentUser", &params(json!({})), None)
        .await
        .expect_err("error status")
}

#[tokio::test]
async fn each_status_has_its_own_error() {
    let e = answer(401, json!({"detail": "Invalid token"})).await;
    assert!(matches!(e, Error::Unauthorized { .. }));
    assert_eq!(
        e.to_string(),
        "Lumos rejected the API token (401 Unauthorized): Invalid token"
    );
    assert!(matches!(
        answer(403, json!({"detail": "no"})).await,
        Error::Forbidden { .. }
    ));
    assert!(matches!(
        answer(404, json!({"detail": "Not Found"})).await,
        Error::NotFound { .. }
    ));
    assert!(matches!(
        answer(409, json!({"detail": "done"})).await,
        Error::Conflict { .. }
    ));
    assert!(matches!(
        answer(400, json!({"detail": "bad"})).await,
        Error::Http { status: 400, .. }
    ));

    let e = answer(422, json!({"detail": [{"loc": ["query", "size"], "msg": "too big", "type": "less_than_equal"}]})).await;
    match &e {
        Error::Unprocessable {
            detail: ValidationDetail::Fields(f),
        } => assert_eq!(f[0].kind, "less_than_equal"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("query.size: too big"), "{e}");
    let e = answer(422, json!({"detail": "sync_type missing"})).await;
    assert!(matches!(
        e,
        Error::Unprocessable {
            detail: ValidationDetail::Message(_)
        }
    ));

    let e = answer(500, json!({"detail": "boom"})).await;
    assert!(
        matches!(e.root(), Error::Server { status: 500, .. }),
        "{e:?}"
    );
    assert_eq!(e.status(), Some(500));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_named_with_a_redacted_snippet() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/current"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(format!("oops {TOKEN} oops"), "application/json"),
        )
        .mount(&server)
        .await;
    let e = client(&server)
        .call("currentUser", &params(json!({})), None)
        .await
        .expect_err("not JSON");
    let msg = e.to_string();
    // A read: retried like a 5xx, then named with the attempts.
    assert!(
        matches!(e.root(), Error::UnexpectedAnswer { status: 200, .. }),
        "{e:?}"
    );
    assert!(
        msg.starts_with("Lumos answered 200 with a body that is not JSON (application/json): oops lsk_…1234 oops for GET /users/current; expected a JSON object (User)"),
        "{msg}"
    );
    assert!(msg.ends_with("(gave up after 3 attempts)"), "{msg}");
    assert!(!msg.contains(TOKEN));
    assert!(!format!("{e:?}").contains(TOKEN));
}

#[tokio::test]
async fn timeout_and_connection_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let c = Client::builder()
        .base_url(server.uri())
        .token(token())
        .timeout(Duration::from_millis(200))
        .retry(lumos_api::RetryPolicy::none())
        .build()
        .expect("client");
    let e = c
        .call("currentUser", &params(json!({})), None)
        .await
        .expect_err("timeout");
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");

    // A port that nothing listens on: bind, learn the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let c = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .token(token())
        .retry(lumos_api::RetryPolicy::none())
        .build()
        .expect("client");
    let e = c
        .call("currentUser", &params(json!({})), None)
        .await
        .expect_err("refused");
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(e.to_string().contains("cannot reach Lumos"), "{e}");
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/current"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"detail": "slow down"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/current"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "u1"})))
        .mount(&server)
        .await;
    let started = Instant::now();
    let body = client(&server)
        .call("currentUser", &params(json!({})), None)
        .await
        .expect("succeeds after wait");
    assert_eq!(body["id"], "u1");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited only {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn post_is_not_retried_on_503_but_get_is() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/appstore/access_request"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"detail": "unavailable"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/current"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/current"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "u1"})))
        .mount(&server)
        .await;
    // Every request sent is told, retries included: one POST, then three GETs.
    #[derive(Default)]
    struct Heard(std::sync::Mutex<Vec<(String, Option<u16>)>>);
    impl lumos_api::Watch for Heard {
        fn answered(&self, op: &str, status: Option<u16>, _: std::time::Duration) {
            if let Ok(mut h) = self.0.lock() {
                h.push((op.to_owned(), status));
            }
        }
    }
    let heard = std::sync::Arc::new(Heard::default());
    let c = client(&server).watched(heard.clone());
    let e = c
        .call(
            "createAccessRequest",
            &params(json!({})),
            Some(&json!({"app_id": "a"})),
        )
        .await
        .expect_err("503 is final for a POST");
    assert!(matches!(e, Error::Server { status: 503, .. }));
    let ok = c
        .call("currentUser", &params(json!({})), None)
        .await
        .expect("GET retried through two 503s");
    assert_eq!(ok["id"], "u1");
    let told = heard.0.lock().map(|h| h.clone()).unwrap_or_default();
    let want: Vec<(String, Option<u16>)> = [
        ("createAccessRequest", 503),
        ("currentUser", 503),
        ("currentUser", 503),
        ("currentUser", 200),
    ]
    .into_iter()
    .map(|(o, s)| (o.to_owned(), Some(s)))
    .collect();
    assert_eq!(told, want);
}

#[tokio::test]
async fn debug_of_client_never_shows_the_token() {
    let server = MockServer::start().await;
    let c = client(&server);
    let shown = format!("{c:?}");
    assert!(shown.contains("lsk_…1234"), "{shown}");
    assert!(!shown.contains(TOKEN));
}

/// A host whose certificate no trusted root vouches for: one attempt, not retried (trying
/// again changes nothing), and an error that says what to do.
#[tokio::test]
async fn an_untrusted_certificate_is_said_once_and_not_retried() {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let cert = CertificateDer::from_pem_file(format!("{fixtures}/untrusted-localhost.crt"))
        .expect("certificate");
    let key =
        PrivateKeyDer::from_pem_file(format!("{fixtures}/untrusted-localhost.key")).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counted = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move { acceptor.accept(tcp).await.ok() });
        }
    });

    let c = Client::builder()
        .base_url(format!("https://localhost:{port}"))
        .token(token())
        .build()
        .expect("client");
    let e = c
        .call("currentUser", &params(json!({})), None)
        .await
        .expect_err("untrusted");
    assert!(matches!(e.root(), Error::Untrusted { .. }), "{e:?}");
    assert!(!e.is_transient());
    let said = e.to_string();
    assert!(
        // Why exactly depends on the machine's roots (UnknownIssuer, or a root of the same
        // name with another key, such as Debian's snakeoil "localhost").
        said.contains("its certificate is not trusted (invalid peer certificate: ")
            && said.contains("SSL_CERT_FILE"),
        "{said}"
    );
    assert_eq!(handshakes.load(Ordering::SeqCst), 1, "tried once");
}
