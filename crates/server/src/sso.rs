//! Console sign-in with the company's identity provider: OpenID Connect, authorization code
//! with PKCE (the `openidconnect` crate checks the ID token: signature against the
//! provider's keys, `iss`, `aud`, `exp` and the nonce).
//!
//! `GET /console/oidc/login` remembers the sign-in under way in the database (so the
//! callback may reach any replica) and binds it to the browser with a short-lived cookie;
//! `GET /console/oidc/callback` takes it back once (a replayed or forged callback finds
//! nothing), exchanges the code, maps the role claim to a role and opens a session.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use engine::Role;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::console;
use crate::state::AppState;

/// The cookie that ties a sign-in under way to the browser that started it.
const LOGIN_COOKIE: &str = "lf_oidc";
/// How long discovered metadata (and the provider's keys) are trusted before a refetch.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// SSO settings, from `LUMOSFLOW_OIDC_*` and `LUMOSFLOW_PUBLIC_URL`.
#[derive(Clone)]
pub struct SsoConfig {
    pub issuer: String,
    pub client_id: String,
    client_secret: Option<String>,
    pub public_url: url::Url,
    /// The claim whose values map to roles (`groups` by default).
    pub role_claim: String,
    /// (role, claim value), highest role first.
    pub roles: Vec<(Role, String)>,
    /// The role of people none of whose values map; `None` refuses them.
    pub default_role: Option<Role>,
    pub scopes: Vec<String>,
    /// What the sign-in button says: "Sign in with {name}".
    pub name: String,
}

impl std::fmt::Debug for SsoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client secret never reaches a log.
        f.debug_struct("SsoConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("role_claim", &self.role_claim)
            .finish_non_exhaustive()
    }
}

impl SsoConfig {
    /// `None` when `LUMOSFLOW_OIDC_ISSUER` is not set; an error naming the variable when a
    /// setting is wrong or missing.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<SsoConfig>, String> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let Some(issuer) = get("LUMOSFLOW_OIDC_ISSUER") else {
            return Ok(None);
        };
        url::Url::parse(&issuer)
            .map_err(|e| format!("LUMOSFLOW_OIDC_ISSUER: '{issuer}' is not a URL: {e}"))?;
        let client_id = get("LUMOSFLOW_OIDC_CLIENT_ID")
            .ok_or("LUMOSFLOW_OIDC_CLIENT_ID must be set with LUMOSFLOW_OIDC_ISSUER")?;
        let public = get("LUMOSFLOW_PUBLIC_URL").ok_or(
            "LUMOSFLOW_PUBLIC_URL must be set with LUMOSFLOW_OIDC_ISSUER (the redirect URI is {PUBLIC_URL}/console/oidc/callback)",
        )?;
        let public_url = url::Url::parse(&public)
            .map_err(|e| format!("LUMOSFLOW_PUBLIC_URL: '{public}' is not a URL: {e}"))?;
        let mut roles = Vec::new();
        for pair in get("LUMOSFLOW_OIDC_ROLES").unwrap_or_default().split(',') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (role, value) = pair.split_once('=').ok_or_else(|| {
                format!(
                    "LUMOSFLOW_OIDC_ROLES: '{pair}' is not role=claim-value (e.g. admin=it-admins)"
                )
            })?;
            let role: Role = role
                .trim()
                .parse()
                .map_err(|e| format!("LUMOSFLOW_OIDC_ROLES: {e}"))?;
            roles.push((role, value.trim().to_owned()));
        }
        roles.sort_by_key(|r| std::cmp::Reverse(r.0));
        let default_role = match get("LUMOSFLOW_OIDC_DEFAULT_ROLE").as_deref() {
            None => Some(Role::Viewer),
            Some("none") => None,
            Some(r) => Some(
                r.parse()
                    .map_err(|e| format!("LUMOSFLOW_OIDC_DEFAULT_ROLE: {e} (or none)"))?,
            ),
        };
        let scopes = get("LUMOSFLOW_OIDC_SCOPES")
            .unwrap_or_else(|| "openid email profile".to_owned())
            .split([' ', ','])
            .filter(|s| !s.is_empty() && *s != "openid")
            .map(str::to_owned)
            .collect();
        let name = get("LUMOSFLOW_OIDC_NAME").unwrap_or_else(|| {
            url::Url::parse(&issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "SSO".to_owned())
        });
        Ok(Some(SsoConfig {
            issuer,
            client_id,
            client_secret: get("LUMOSFLOW_OIDC_CLIENT_SECRET"),
            public_url,
            role_claim: get("LUMOSFLOW_OIDC_ROLE_CLAIM").unwrap_or_else(|| "groups".to_owned()),
            roles,
            default_role,
            scopes,
            name,
        }))
    }

    fn redirect_uri(&self) -> String {
        format!(
            "{}/console/oidc/callback",
            self.public_url.as_str().trim_end_matches('/')
        )
    }

    /// The highest role any of the claim's values maps to, else the default role.
    pub fn role_for(&self, claim: Option<&serde_json::Value>) -> Option<Role> {
        let values: Vec<&str> = match claim {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
            Some(serde_json::Value::String(s)) => vec![s.as_str()],
            _ => Vec::new(),
        };
        self.roles
            .iter()
            .find(|(_, v)| values.contains(&v.as_str()))
            .map(|(r, _)| *r)
            .or(self.default_role)
    }
}

/// SSO at run time: the settings, an HTTP client that never follows redirects, and the
/// provider's metadata and keys (fetched at the first sign-in, refetched when they age or
/// when a token is signed with a key they lack).
pub struct Sso {
    pub config: SsoConfig,
    http: reqwest::Client,
    metadata: Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

impl Sso {
    pub fn new(config: SsoConfig) -> Arc<Sso> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        Arc::new(Sso {
            config,
            http,
            metadata: Mutex::new(None),
        })
    }

    /// The HTTP client `openidconnect` calls through.
    fn client_fn(
        &self,
    ) -> impl Fn(
        openidconnect::HttpRequest,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send,
        >,
    > + use<> {
        let http = self.http.clone();
        move |req: openidconnect::HttpRequest| {
            let http = http.clone();
            Box::pin(async move {
                let (parts, body) = req.into_parts();
                let mut r = http.request(parts.method, parts.uri.to_string()).body(body);
                for (k, v) in parts.headers.iter() {
                    r = r.header(k, v);
                }
                let resp = r.send().await.map_err(|e| HttpError(e.to_string()))?;
                let mut out = axum::http::Response::builder().status(resp.status());
                for (k, v) in resp.headers() {
                    out = out.header(k, v);
                }
                let bytes = resp.bytes().await.map_err(|e| HttpError(e.to_string()))?;
                out.body(bytes.to_vec())
                    .map_err(|e| HttpError(e.to_string()))
            })
        }
    }

    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, String> {
        let mut held = self.metadata.lock().await;
        if let Some((m, at)) = held.as_ref()
            && !fresh
            && at.elapsed() < METADATA_TTL
        {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|e| e.to_string())?;
        let m = CoreProviderMetadata::discover_async(issuer, &self.client_fn())
            .await
            .map_err(|e| {
                format!(
                    "cannot read the identity provider's configuration: {}",
                    chain(&e)
                )
            })?;
        *held = Some((m.clone(), Instant::now()));
        Ok(m)
    }

    fn client(
        &self,
        m: CoreProviderMetadata,
    ) -> Result<
        openidconnect::core::CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        String,
    > {
        let redirect = RedirectUrl::new(self.config.redirect_uri()).map_err(|e| e.to_string())?;
        Ok(CoreClient::from_provider_metadata(
            m,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// A page a person reads when sign-in cannot go on: what happened and a way back.
fn page(status: StatusCode, title: &str, detail: &str) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · lumosflow</title>\
         <link rel=\"stylesheet\" href=\"/console/app.css\"></head><body><main class=\"signin-problem\">\
         <h1>{t}</h1><p>{d}</p><p><a href=\"/\">Back to the console</a></p></main></body></html>",
        t = esc(title),
        d = esc(detail)
    );
    (status, Html(body)).into_response()
}

/// Where to go after sign-in: a path on this server only (never `//elsewhere`).
fn safe_return(to: Option<&str>) -> String {
    match to {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.len() <= 1000
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

pub async fn login(State(s): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let Some(sso) = s.sso.clone() else {
        return page(
            StatusCode::NOT_FOUND,
            "Single sign-on is not set up",
            "This server has no identity provider configured (LUMOSFLOW_OIDC_ISSUER). Sign in with an API key instead.",
        );
    };
    let client = match sso.metadata(false).await.and_then(|m| sso.client(m)) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "SSO sign-in could not start");
            return page(StatusCode::BAD_GATEWAY, "Sign-in could not start", &e);
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in &sso.config.scopes {
        req = req.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = req.url();
    let return_to = safe_return(q.return_to.as_deref());
    if let Err(e) = s
        .engine
        .begin_sso(
            state.secret(),
            nonce.secret(),
            verifier.secret(),
            &return_to,
        )
        .await
    {
        return crate::error::ApiError::from(e).into_response();
    }
    // SameSite=Lax: the provider's redirect back is a top-level navigation from its site.
    let cookie = format!(
        "{LOGIN_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/console/oidc; Max-Age=600{}",
        state.secret(),
        secure_suffix(&sso.config.public_url)
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, url.to_string()),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response()
}

fn secure_suffix(public: &url::Url) -> &'static str {
    if public.scheme() == "https" {
        "; Secure"
    } else {
        ""
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(sso) = s.sso.clone() else {
        return page(
            StatusCode::NOT_FOUND,
            "Single sign-on is not set up",
            "This server has no identity provider configured.",
        );
    };
    let clear = format!("{LOGIN_COOKIE}=; HttpOnly; SameSite=Lax; Path=/console/oidc; Max-Age=0");
    let fail = |status: StatusCode, title: &str, detail: &str| {
        let mut r = page(status, title, detail);
        if let Ok(v) = clear.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        r
    };
    if let Some(err) = q.error.as_deref() {
        let detail = q.error_description.as_deref().unwrap_or(err);
        return fail(
            StatusCode::UNAUTHORIZED,
            "The identity provider did not sign you in",
            &format!("It answered: {detail}"),
        );
    }
    let (Some(code), Some(state)) = (q.code.as_deref(), q.state.as_deref()) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "Sign-in link incomplete",
            "The link back from the identity provider has no code or state. Start the sign-in again.",
        );
    };
    let cookie_state = axum_extra::extract::CookieJar::from_headers(&headers)
        .get(LOGIN_COOKIE)
        .map(|c| c.value().to_owned());
    if cookie_state.as_deref() != Some(state) {
        return fail(
            StatusCode::BAD_REQUEST,
            "Sign-in not started in this browser",
            "This sign-in link does not belong to a sign-in this browser started (or its state was altered). Start the sign-in again.",
        );
    }
    let pending = match s.engine.finish_sso(state).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return fail(
                StatusCode::BAD_REQUEST,
                "Sign-in link already used or expired",
                "Each sign-in link works once, within ten minutes. Start the sign-in again.",
            );
        }
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let (nonce, verifier, return_to) = pending;
    let who = match verify(&sso, code, &nonce, &verifier).await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "SSO sign-in refused");
            return fail(StatusCode::UNAUTHORIZED, "Sign-in failed", &e);
        }
    };
    let Some(role) = sso.config.role_for(who.role_claim.as_ref()) else {
        return fail(
            StatusCode::FORBIDDEN,
            "No access to lumosflow",
            &format!(
                "{} signed in, but none of their '{}' values gives a lumosflow role. Ask an administrator to add you to a group that does.",
                who.email, sso.config.role_claim
            ),
        );
    };
    match s
        .engine
        .sign_in_person(&who.email, who.name.as_deref(), role, &sso.config.name)
        .await
    {
        Ok((secret, _)) => {
            let session = console::session_cookie(&secret, secure_suffix(&sso.config.public_url));
            let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, return_to)]).into_response();
            for c in [session, clear] {
                if let Ok(v) = c.parse() {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            r
        }
        Err(engine::EngineError::Person(p)) => {
            fail(StatusCode::FORBIDDEN, "Sign-in refused", &p.to_string())
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

/// Who the provider says signed in.
struct Verified {
    email: String,
    name: Option<String>,
    role_claim: Option<serde_json::Value>,
}

async fn verify(sso: &Sso, code: &str, nonce: &str, verifier: &str) -> Result<Verified, String> {
    let client = sso.client(sso.metadata(false).await?)?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
        .request_async(&sso.client_fn())
        .await
        .map_err(|e| format!("the identity provider refused the code: {}", chain(&e)))?;
    let id_token = tokens
        .id_token()
        .ok_or("the identity provider sent no ID token")?;
    let nonce = Nonce::new(nonce.to_owned());
    let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
        Ok(c) => c.clone(),
        // Signed with a key we have not seen: the provider rotated its keys. Fetch them
        // again, once.
        Err(_) => {
            let client = sso.client(sso.metadata(true).await?)?;
            id_token
                .claims(&client.id_token_verifier(), &nonce)
                .map_err(|e| format!("the ID token did not verify: {}", chain(&e)))?
                .clone()
        }
    };
    let email = claims
        .email()
        .map(|e| e.as_str().to_owned())
        .ok_or("the ID token has no email claim (ask for the email scope)")?;
    if claims.email_verified() == Some(false) {
        return Err(format!("the identity provider has not verified {email}"));
    }
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned());
    // The role claim is not a standard one: read it from the token's payload, whose
    // signature was just verified.
    let role_claim = id_token
        .to_string()
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get(&sso.config.role_claim).cloned());
    Ok(Verified {
        email,
        name,
        role_claim,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Option<SsoConfig>, String> {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SsoConfig::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn roles_map_from_the_claim_highest_first() {
        let c = config(&[
            ("LUMOSFLOW_OIDC_ISSUER", "https://idp.example.com"),
            ("LUMOSFLOW_OIDC_CLIENT_ID", "lumosflow"),
            ("LUMOSFLOW_PUBLIC_URL", "https://flow.example.com"),
            (
                "LUMOSFLOW_OIDC_ROLES",
                "agent=service-desk, admin=it-admins,builder=it-builders",
            ),
        ])
        .unwrap()
        .unwrap();
        let v = serde_json::json!(["service-desk", "it-admins"]);
        assert_eq!(c.role_for(Some(&v)), Some(Role::Admin));
        assert_eq!(
            c.role_for(Some(&serde_json::json!("service-desk"))),
            Some(Role::Agent)
        );
        assert_eq!(
            c.role_for(Some(&serde_json::json!(["x"]))),
            Some(Role::Viewer)
        );
        assert_eq!(c.role_for(None), Some(Role::Viewer));
        assert_eq!(
            c.redirect_uri(),
            "https://flow.example.com/console/oidc/callback"
        );
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn bad_settings_say_which_variable() {
        let base = [
            ("LUMOSFLOW_OIDC_ISSUER", "https://idp.example.com"),
            ("LUMOSFLOW_OIDC_CLIENT_ID", "lumosflow"),
            ("LUMOSFLOW_PUBLIC_URL", "https://flow.example.com"),
        ];
        assert!(config(&[]).unwrap().is_none());
        let mut v = base.to_vec();
        v.push(("LUMOSFLOW_OIDC_ROLES", "root=it-admins"));
        assert!(config(&v).unwrap_err().contains("LUMOSFLOW_OIDC_ROLES"));
        let mut v = base.to_vec();
        v.push(("LUMOSFLOW_OIDC_DEFAULT_ROLE", "none"));
        assert_eq!(config(&v).unwrap().unwrap().role_for(None), None);
        assert!(
            config(&base[..2])
                .unwrap_err()
                .contains("LUMOSFLOW_PUBLIC_URL")
        );
    }

    #[test]
    fn return_paths_stay_on_this_server() {
        assert_eq!(safe_return(Some("/#/runs/abc")), "/#/runs/abc");
        assert_eq!(safe_return(Some("//evil.example")), "/");
        assert_eq!(safe_return(Some("https://evil.example")), "/");
        assert_eq!(safe_return(Some("/\\evil")), "/");
        assert_eq!(safe_return(None), "/");
    }
}
