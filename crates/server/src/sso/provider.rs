//! The identity provider as lumosflow knows it: its settings (`LUMOSFLOW_OIDC_*`), an HTTP
//! client for `openidconnect` that never follows redirects, and the provider's metadata and
//! keys, fetched at the first sign-in and again when they age or a token is signed with a
//! key they lack.

use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::Role;
use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, RedirectUrl};
use tokio::sync::Mutex;

/// How long discovered metadata (and the provider's keys) are trusted before a refetch.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The least age of the held metadata before a token signed with an unknown key fetches it
/// again. Access tokens reach `/mcp` from anyone: made-up key ids must not become a stream
/// of requests to the provider, while a real key rotation costs at most this long.
const KEY_REFETCH_MIN: Duration = Duration::from_secs(2);

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
    /// `LUMOSFLOW_OIDC_TRUST_EMAIL=true`: the provider issues only verified emails and does
    /// not say so in `email_verified`; otherwise an email must come with `email_verified: true`.
    pub trust_email: bool,
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
            trust_email: match get("LUMOSFLOW_OIDC_TRUST_EMAIL").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(format!(
                        "LUMOSFLOW_OIDC_TRUST_EMAIL: '{other}' is not true or false"
                    ));
                }
            },
        }))
    }

    /// Whether an email the provider vouches for may name a person here: the token says
    /// `email_verified: true`, or the provider is trusted to issue verified emails only.
    /// One rule for console sign-in and MCP's access tokens.
    pub fn check_verified(&self, email: &str, verified: Option<bool>) -> Result<(), String> {
        match verified {
            Some(true) => Ok(()),
            Some(false) => Err(format!("the identity provider has not verified {email}")),
            None if self.trust_email => Ok(()),
            None => Err(format!(
                "the identity provider does not say it verified {email} (no email_verified claim); if it only issues verified emails, an admin sets LUMOSFLOW_OIDC_TRUST_EMAIL=true"
            )),
        }
    }

    pub(crate) fn redirect_uri(&self) -> String {
        format!("{}/console/oidc/callback", self.public_base())
    }

    fn public_base(&self) -> &str {
        self.public_url.as_str().trim_end_matches('/')
    }

    /// What `/mcp` is as an OAuth protected resource: the audience its access tokens must
    /// name (RFC 8707 resource indicator).
    pub fn mcp_resource(&self) -> String {
        format!("{}/mcp", self.public_base())
    }

    /// Where MCP clients read how to get a token for `/mcp` (RFC 9728), as the 401's
    /// `WWW-Authenticate` names it. It sits under the public URL (not the host's root) so a
    /// deployment behind a path prefix still serves it.
    pub fn resource_metadata_url(&self) -> String {
        format!(
            "{}/.well-known/oauth-protected-resource",
            self.public_base()
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
        let http = lumos_api::http::client_builder()
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
    pub(crate) fn client_fn(
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

    pub(crate) async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, String> {
        let mut held = self.metadata.lock().await;
        if let Some((m, at)) = held.as_ref()
            && !fresh
            && at.elapsed() < METADATA_TTL
        {
            return Ok(m.clone());
        }
        self.discover(&mut held).await
    }

    /// The metadata again after a token named a key the held copy lacks: fetched anew unless
    /// the held copy is younger than [`KEY_REFETCH_MIN`] (then it is returned as it is; a
    /// request that waited on the lock may find it refreshed by another).
    pub(crate) async fn metadata_for_unknown_key(&self) -> Result<CoreProviderMetadata, String> {
        let mut held = self.metadata.lock().await;
        if let Some((m, at)) = held.as_ref()
            && at.elapsed() < KEY_REFETCH_MIN
        {
            return Ok(m.clone());
        }
        self.discover(&mut held).await
    }

    async fn discover(
        &self,
        held: &mut Option<(CoreProviderMetadata, Instant)>,
    ) -> Result<CoreProviderMetadata, String> {
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

    pub(crate) fn client(
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

pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
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
        assert_eq!(c.mcp_resource(), "https://flow.example.com/mcp");
        assert_eq!(
            c.resource_metadata_url(),
            "https://flow.example.com/.well-known/oauth-protected-resource"
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
    fn an_email_must_be_vouched_for_unless_the_provider_is_trusted() {
        let base = [
            ("LUMOSFLOW_OIDC_ISSUER", "https://idp.example.com"),
            ("LUMOSFLOW_OIDC_CLIENT_ID", "lumosflow"),
            ("LUMOSFLOW_PUBLIC_URL", "https://flow.example.com"),
        ];
        let strict = config(&base).unwrap().unwrap();
        assert!(strict.check_verified("a@x.com", Some(true)).is_ok());
        assert!(strict.check_verified("a@x.com", Some(false)).is_err());
        assert!(
            strict
                .check_verified("a@x.com", None)
                .unwrap_err()
                .contains("LUMOSFLOW_OIDC_TRUST_EMAIL")
        );
        let mut v = base.to_vec();
        v.push(("LUMOSFLOW_OIDC_TRUST_EMAIL", "true"));
        let trusting = config(&v).unwrap().unwrap();
        assert!(trusting.check_verified("a@x.com", None).is_ok());
        assert!(trusting.check_verified("a@x.com", Some(false)).is_err());
        v.push(("LUMOSFLOW_OIDC_TRUST_EMAIL", "yes"));
        let mut bad = base.to_vec();
        bad.push(("LUMOSFLOW_OIDC_TRUST_EMAIL", "yes"));
        assert!(
            config(&bad)
                .unwrap_err()
                .contains("LUMOSFLOW_OIDC_TRUST_EMAIL")
        );
    }
}
