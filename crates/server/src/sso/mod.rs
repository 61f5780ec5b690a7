//! Console sign-in with the company's identity provider: OpenID Connect, authorization code
//! with PKCE (the `openidconnect` crate checks the ID token: signature against the
//! provider's keys, `iss`, `aud`, `exp` and the nonce).
//!
//! `GET /console/oidc/login` remembers the sign-in under way in the database (so the
//! callback may reach any replica) and binds it to the browser with a short-lived cookie;
//! `GET /console/oidc/callback` takes it back once (a replayed or forged callback finds
//! nothing), exchanges the code, maps the role claim to a role and opens a session.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse,
};
use serde::Deserialize;

pub(crate) mod provider;
pub(crate) mod resource;

use provider::chain;
pub use provider::{Sso, SsoConfig};

use crate::console;
use crate::state::AppState;

/// The cookie that ties a sign-in under way to the browser that started it.
const LOGIN_COOKIE: &str = "lf_oidc";

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

pub async fn login(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
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
        crate::cookie::cookie_secure(&s, &headers)
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
            let session =
                console::session_cookie(&secret, crate::cookie::cookie_secure(&s, &headers));
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
    sso.config.check_verified(&email, claims.email_verified())?;
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

    #[test]
    fn return_paths_stay_on_this_server() {
        assert_eq!(safe_return(Some("/#/runs/abc")), "/#/runs/abc");
        assert_eq!(safe_return(Some("//evil.example")), "/");
        assert_eq!(safe_return(Some("https://evil.example")), "/");
        assert_eq!(safe_return(Some("/\\evil")), "/");
        assert_eq!(safe_return(None), "/");
    }
}
