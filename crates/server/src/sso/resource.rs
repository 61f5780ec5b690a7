//! lumosflow as an OAuth 2.0 resource server for `/mcp`, so MCP clients can use the MCP
//! authorization flow: the protected resource metadata (RFC 9728) sends them to the identity
//! provider set up for single sign-on, and the JWT access tokens it issues for
//! `{PUBLIC_URL}/mcp` (RFC 9068) are accepted beside API keys.
//!
//! A token is checked against the provider's metadata and keys already held for console
//! sign-in: its signature (an allow-listed asymmetric algorithm, a key the provider
//! publishes, fetched again once for an unknown key id), `iss`, `aud` naming our resource
//! (RFC 8707 audience binding: a token minted for another API or for a client is refused),
//! `exp` and `nbf`. It then names a person by its `email`, who must already be in lumosflow
//! and active; their role is the one lumosflow holds, lowered to what the role claim maps to
//! when the token carries it. The token itself is never logged or echoed.

use std::str::FromStr;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use engine::access::PersonError;
use engine::{Actor, EngineError, PersonStatus, Role};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    ClaimsVerificationError, ClientId, JsonWebTokenType, Nonce, SignatureVerificationError,
};
use serde_json::{Value, json};

use super::provider::{Sso, SsoConfig};
use crate::error::ApiError;
use crate::state::AppState;

/// Clock difference tolerated between the provider and us, on `exp` and `nbf`.
const LEEWAY: Duration = Duration::from_secs(60);

/// Longest token looked at; real ones are a few KiB.
const MAX_TOKEN: usize = 16 * 1024;

/// Asymmetric algorithms only: `none` and the HMAC family (whose key a resource server
/// would have to share with the provider) are refused, as is anything not listed.
const ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Why an access token was not taken. The message is what the caller reads (in the JSON
/// error and the `WWW-Authenticate` error description): it says why, never the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is malformed: {0}")]
    Malformed(String),
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid yet (nbf is in the future)")]
    NotYetValid,
    #[error("the access token is for another audience: it must name {0} in aud")]
    Audience(String),
    #[error("the access token was not issued by {0}")]
    Issuer(String),
    #[error("the access token is signed by a key {0} does not publish (unknown signer)")]
    UnknownSigner(String),
    #[error("the access token's signature does not verify")]
    Signature,
    #[error(
        "the access token's signing algorithm is not accepted (RS256/384/512, PS256/384/512, ES256/384, EdDSA)"
    )]
    Algorithm,
    #[error("the access token cannot be checked: {0}")]
    Unsupported(String),
    #[error("an ID token is not an access token: ask {0} for an access token for this server")]
    IdToken(String),
    #[error(
        "the access token has no email claim: the identity provider must put the person's email in access tokens for {0}"
    )]
    NoEmail(String),
    /// The email is not vouched for (the reason).
    #[error("{0}")]
    Unverified(String),
    #[error(
        "{0} is not a person in lumosflow: people appear when they first sign in to the console or own a key"
    )]
    UnknownPerson(String),
    #[error("{0} is deactivated in lumosflow")]
    Deactivated(String),
    /// Authenticated, but the role claim maps to no role: a 403, like console sign-in.
    #[error("none of {email}'s '{claim}' values in the access token gives a lumosflow role")]
    NoRole { email: String, claim: String },
    /// The provider's keys could not be read: nothing the caller did wrong.
    #[error("{0}")]
    Provider(String),
    #[error(transparent)]
    Engine(EngineError),
}

/// Whether a bearer token is meant as a JWT (three base64url parts, a JSON header): anything
/// else is taken as an API key.
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The person behind an access token, with the role they act with. The agent-role check is
/// the caller's, the same as for keys.
pub async fn authenticate(state: &AppState, sso: &Sso, token: &str) -> Result<Actor, TokenError> {
    let (claims, payload) = verify(sso, token).await?;
    let issuer = &sso.config.issuer;
    let email = claims
        .email()
        .map(|e| e.as_str().to_owned())
        .ok_or_else(|| TokenError::NoEmail(sso.config.mcp_resource()))?;
    sso.config
        .check_verified(&email, claims.email_verified())
        .map_err(TokenError::Unverified)?;
    let person = match state.engine.person(&email).await {
        Ok(p) => p,
        Err(EngineError::Person(PersonError::Unknown(_))) => {
            return Err(TokenError::UnknownPerson(email));
        }
        Err(EngineError::Person(PersonError::Email(_))) => {
            return Err(TokenError::Malformed(format!(
                "its email claim is not an email address (from {issuer})"
            )));
        }
        Err(e) => return Err(TokenError::Engine(e)),
    };
    if person.status != PersonStatus::Active {
        return Err(TokenError::Deactivated(person.email));
    }
    // The role lumosflow holds (an unreadable one reads as the least) — tokens never create
    // people or raise them. When the token carries the role claim, the mapping sign-in uses
    // applies too, so leaving a group at the provider takes effect before the next sign-in.
    let mut role: Role = person.role.parse().unwrap_or(Role::Viewer);
    if let Some(claim) = payload.get(&sso.config.role_claim) {
        match sso.config.role_for(Some(claim)) {
            Some(mapped) => role = role.min(mapped),
            None => {
                return Err(TokenError::NoRole {
                    email: person.email,
                    claim: sso.config.role_claim.clone(),
                });
            }
        }
    }
    Ok(Actor::person(
        &person.email,
        person.name.as_deref(),
        role,
        None,
    ))
}

/// The token's verified claims, and its payload as JSON for the claims `openidconnect` does
/// not model (`nbf`, the role claim).
async fn verify(sso: &Sso, token: &str) -> Result<(CoreIdTokenClaims, Value), TokenError> {
    if token.len() > MAX_TOKEN {
        return Err(TokenError::Malformed(format!(
            "longer than {MAX_TOKEN} bytes"
        )));
    }
    let jwt = CoreIdToken::from_str(token).map_err(|e| {
        // serde's message names a missing claim; others may quote the token, so not those.
        let why = e.to_string();
        TokenError::Malformed(match why.strip_prefix("missing field ") {
            Some(rest) => format!(
                "the {} claim is missing",
                rest.split_whitespace().next().unwrap_or("a required")
            ),
            None => "not a signed JWT with iss, sub, aud, exp and iat".to_owned(),
        })
    })?;
    let resource = sso.config.mcp_resource();
    let m = sso.metadata(false).await.map_err(TokenError::Provider)?;
    let claims = match check(&jwt, &m, &resource) {
        // Signed with a key we have not seen: the provider may have rotated its keys.
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            let m = sso
                .metadata_for_unknown_key()
                .await
                .map_err(TokenError::Provider)?;
            check(&jwt, &m, &resource)
        }
        other => other,
    }
    .map_err(|e| refusal(e, &sso.config))?;
    // The signature is verified: the payload can be read as it is.
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or_else(|| TokenError::Malformed("its payload is not JSON".to_owned()))?;
    match payload.get("nbf") {
        None => {}
        Some(nbf) => {
            let nbf = nbf
                .as_f64()
                .ok_or_else(|| TokenError::Malformed("nbf is not a number".to_owned()))?;
            let now = chrono::Utc::now().timestamp() as f64;
            if nbf > now + LEEWAY.as_secs_f64() {
                return Err(TokenError::NotYetValid);
            }
        }
    }
    Ok((claims, payload))
}

/// `openidconnect`'s JWT checks are shaped for ID tokens, whose required claims (iss, sub,
/// aud, exp, iat) are also the ones RFC 9068 requires of access tokens; the "client id" it
/// matches `aud` against is our resource URL.
fn check(
    jwt: &CoreIdToken,
    m: &CoreProviderMetadata,
    resource: &str,
) -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
    let types = ["JWT", "at+jwt", "application/jwt", "application/at+jwt"]
        .into_iter()
        .filter_map(|t| JsonWebTokenType::new(t.to_owned()).normalize().ok());
    let leeway = chrono::Duration::from_std(LEEWAY).unwrap_or_else(|_| chrono::Duration::zero());
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(resource.to_owned()),
        m.issuer().clone(),
        m.jwks().clone(),
    )
    .set_allowed_algs(ALGORITHMS)
    .set_allowed_jose_types(types)
    // A token may serve several resources (RFC 8707); naming us among them is what counts.
    .set_other_audience_verifier_fn(|_| true)
    // `exp` is compared with this clock: running it behind by the leeway tolerates skew.
    .set_time_fn(move || chrono::Utc::now() - leeway);
    // Access tokens carry no nonce; one that does is an ID token, handed to the wrong place.
    let no_nonce = |n: Option<&Nonce>| match n {
        Some(_) => Err("nonce".to_owned()),
        None => Ok(()),
    };
    jwt.claims(&verifier, no_nonce).cloned()
}

fn refusal(e: ClaimsVerificationError, config: &SsoConfig) -> TokenError {
    use SignatureVerificationError as S;
    match e {
        ClaimsVerificationError::Expired(_) => TokenError::Expired,
        ClaimsVerificationError::InvalidAudience(_) => TokenError::Audience(config.mcp_resource()),
        ClaimsVerificationError::InvalidIssuer(_) => TokenError::Issuer(config.issuer.clone()),
        ClaimsVerificationError::InvalidNonce(_) => TokenError::IdToken(config.issuer.clone()),
        ClaimsVerificationError::SignatureVerification(s) => match s {
            S::NoMatchingKey | S::AmbiguousKeyId(_) => {
                TokenError::UnknownSigner(config.issuer.clone())
            }
            S::DisallowedAlg(_) | S::UnsupportedAlg(_) | S::NoSignature => TokenError::Algorithm,
            S::CryptoError(_) => TokenError::Signature,
            other => TokenError::Unsupported(other.to_string()),
        },
        ClaimsVerificationError::Unsupported(why) => TokenError::Unsupported(why),
        other => TokenError::Unsupported(other.to_string()),
    }
}

/// `WWW-Authenticate` for a 401 from `/mcp`: where to find the protected resource metadata
/// when SSO is set up (MCP clients start the authorization flow from it), and why a token
/// was refused.
pub fn challenge(sso: Option<&Sso>, invalid_token: Option<&str>) -> HeaderValue {
    challenge_with(sso, invalid_token.map(|why| ("invalid_token", why)))
}

/// The challenge with an RFC 6750 error (`invalid_token` on a 401, `insufficient_scope` on
/// a 403) and the scopes a token needs, so a client knows what to ask for.
fn challenge_with(sso: Option<&Sso>, error: Option<(&str, &str)>) -> HeaderValue {
    let Some(sso) = sso else {
        return HeaderValue::from_static("Bearer");
    };
    let mut v = format!(
        "Bearer resource_metadata=\"{}\", scope=\"{}\"",
        quotable(&sso.config.resource_metadata_url()),
        quotable(&scopes(&sso.config).join(" "))
    );
    if let Some((code, why)) = error {
        v.push_str(&format!(
            ", error=\"{code}\", error_description=\"{}\"",
            quotable(why)
        ));
    }
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The scopes a token for `/mcp` is asked with: `openid` and the configured ones.
fn scopes(c: &super::provider::SsoConfig) -> Vec<String> {
    let mut scopes = vec!["openid".to_owned()];
    scopes.extend(c.scopes.iter().cloned());
    scopes
}

/// What RFC 6750 allows inside a quoted parameter: printable ASCII without `"` or `\`.
fn quotable(s: &str) -> String {
    s.chars()
        .take(400)
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

/// The refusal for a token, as the JSON error (and the challenge on a 401).
pub fn refuse(sso: Option<&Sso>, e: &TokenError) -> Response {
    let message = e.to_string();
    match e {
        TokenError::NoRole { .. } => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).into_response()
        }
        // A good token for someone lumosflow does not let in: signing in again gets nothing
        // more, so not a 401 that sends clients back to the provider.
        TokenError::UnknownPerson(_) | TokenError::Deactivated(_) => {
            let mut r = ApiError::new(StatusCode::FORBIDDEN, "insufficient_scope", message.clone())
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                challenge_with(sso, Some(("insufficient_scope", &message))),
            );
            r
        }
        TokenError::Provider(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "idp_unavailable", message)
                .into_response()
        }
        TokenError::Engine(err) => ApiError::internal(err).into_response(),
        _ => {
            let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", message.clone())
                .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge(sso, Some(&message)));
            r
        }
    }
}

/// `GET /.well-known/oauth-protected-resource[/mcp]`: RFC 9728 metadata for `/mcp`, when
/// single sign-on is set up.
pub async fn metadata(State(s): State<AppState>) -> Response {
    let Some(sso) = s.sso.as_ref() else {
        return ApiError::not_found(
            "no OAuth protected resource here: single sign-on is not set up (LUMOSFLOW_OIDC_ISSUER), so /mcp takes API keys only (Authorization: Bearer lfk_…)",
        )
        .into_response();
    };
    let c = &sso.config;
    let scopes = scopes(c);
    let mut r = Json(json!({
        "resource": c.mcp_resource(),
        "authorization_servers": [c.issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": scopes,
        "resource_name": "lumosflow",
    }))
    .into_response();
    // Public by nature; browser-based MCP clients read it across origins.
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jwt_shapes_are_taken_as_tokens() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!looks_like_jwt("lfk_abcdef"));
        assert!(!looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0."));
        assert!(!looks_like_jwt("eyJ.a.b.c"));
        assert!(!looks_like_jwt("eyJhbGc=.eyJz.c2ln"));
        assert!(!looks_like_jwt("abc.def.ghi"));
    }

    #[test]
    fn challenge_parameters_stay_quotable() {
        assert_eq!(quotable("bad \"quote\" \\ é\nline"), "bad 'quote' / ??line");
        assert_eq!(challenge(None, Some("x")), "Bearer");
    }
}
