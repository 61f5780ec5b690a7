//! Connecting Lumos: check a token's format, verify it with Lumos, then keep it sealed.
//! Nothing is stored unless Lumos accepted the token.

use std::time::Duration;

use lumos_api::{ApiToken, Client, Error as ApiError, RetryPolicy, TokenError};
use store::{Connection, NewConnection, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the token is malformed: {0}")]
    Format(#[from] TokenError),
    #[error("invalid connection name '{0}': use 1-64 letters, digits, '-' or '_'")]
    Name(String),
    #[error("{0}")]
    Config(String),
    #[error("Lumos rejected the token ({status}): {detail}")]
    Rejected { status: u16, detail: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Lumos could not verify the token: {0}")]
    Lumos(ApiError),
    #[error("no connection named '{0}'")]
    NotFound(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ConnectError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ConnectError::NotFound(
                what.trim_start_matches("connection ")
                    .trim_matches('\'')
                    .to_owned(),
            ),
            other => ConnectError::Store(other),
        }
    }
}

fn check_name(name: &str) -> Result<(), ConnectError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ConnectError::Name(name.to_owned()))
    }
}

/// Verifying a token is interactive: a person waits, so a dead address fails in seconds.
fn verify_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        ..RetryPolicy::default()
    }
}

fn client(base_url: &str, token: ApiToken, retry: RetryPolicy) -> Result<Client, ConnectError> {
    build(base_url, token, retry, Duration::from_secs(20))
}

fn build(
    base_url: &str,
    token: ApiToken,
    retry: RetryPolicy,
    timeout: Duration,
) -> Result<Client, ConnectError> {
    Client::builder()
        .base_url(base_url)
        .token(token)
        .timeout(timeout)
        .retry(retry)
        .build()
        .map_err(|e| match e {
            ApiError::Config(msg) => ConnectError::Config(msg),
            other => ConnectError::Lumos(other),
        })
}

/// Ask Lumos who the token belongs to (`GET /users/current`).
async fn verify(client: &Client) -> Result<lumos_api::models::User, ConnectError> {
    client.current_user().await.map_err(|e| match e.root() {
        ApiError::Unauthorized { detail } => ConnectError::Rejected {
            status: 401,
            detail: detail.clone(),
        },
        ApiError::Forbidden { detail } => ConnectError::Rejected {
            status: 403,
            detail: detail.clone(),
        },
        ApiError::Connect { url, reason } | ApiError::Untrusted { url, reason } => {
            ConnectError::Unreachable {
                url: url.clone(),
                reason: format!("{reason}{}", attempts_note(&e)),
            }
        }
        ApiError::Timeout(after) => ConnectError::Unreachable {
            url: client.base_url().to_owned(),
            reason: format!("no answer within {after:?}{}", attempts_note(&e)),
        },
        _ => ConnectError::Lumos(e),
    })
}

fn attempts_note(e: &ApiError) -> String {
    match e {
        ApiError::GaveUp { attempts, .. } => format!(" ({attempts} attempts)"),
        _ => String::new(),
    }
}

/// Verify `raw_token` against `base_url` and save it as connection `name`. An existing
/// connection of that name keeps its old token unless the new one verifies.
pub async fn connect(
    store: &Store,
    name: &str,
    base_url: &str,
    raw_token: &str,
) -> Result<Connection, ConnectError> {
    check_name(name)?;
    let token = ApiToken::parse(raw_token)?;
    let client = client(base_url, token.clone(), verify_retries())?;
    let user = verify(&client).await?;
    let saved = store
        .save_connection(&NewConnection {
            name,
            base_url: client.base_url(),
            token: token.expose(),
            token_hint: &token.hint(),
            lumos_user_id: &user.id,
            lumos_user_email: user.email.as_deref(),
        })
        .await?;
    tracing::info!(
        connection = name,
        base_url = client.base_url(),
        "connected to Lumos"
    );
    Ok(saved)
}

/// A client for a saved connection, with the given retries and per-request timeout.
pub async fn client_for(
    store: &Store,
    name: &str,
    retry: RetryPolicy,
    timeout: Duration,
) -> Result<Client, ConnectError> {
    let conn = store
        .connection(name)
        .await?
        .ok_or_else(|| ConnectError::NotFound(name.to_owned()))?;
    let token = store.connection_token(name).await?;
    let token = ApiToken::parse(&token)?;
    build(&conn.base_url, token, retry, timeout)
}

/// Re-verify a saved connection now and record the outcome.
pub async fn check(store: &Store, name: &str) -> Result<Connection, ConnectError> {
    let conn = store
        .connection(name)
        .await?
        .ok_or_else(|| ConnectError::NotFound(name.to_owned()))?;
    let token = ApiToken::parse(&store.connection_token(name).await?)?;
    let client = client(&conn.base_url, token, verify_retries())?;
    let outcome = verify(&client).await;
    let (status, email) = match &outcome {
        Ok(user) => ("ok".to_owned(), user.email.clone()),
        Err(ConnectError::Rejected { status, .. }) => (format!("rejected ({status})"), None),
        Err(ConnectError::Unreachable { .. }) => ("unreachable".to_owned(), None),
        Err(_) => ("error".to_owned(), None),
    };
    store.record_check(name, &status, email.as_deref()).await?;
    outcome?;
    store
        .connection(name)
        .await?
        .ok_or_else(|| ConnectError::NotFound(name.to_owned()))
}

/// Who may run against a connection unless an admin says otherwise: every role that may run
/// for `default`, builders and admins for any other (a second connection often holds a more
/// powerful token).
pub fn default_roles(name: &str) -> Vec<workflow_lang::Role> {
    use workflow_lang::Role::{Admin, Agent, Builder};
    if name == "default" {
        vec![Agent, Builder, Admin]
    } else {
        vec![Builder, Admin]
    }
}

/// The roles that may run against a connection. Admins always may.
pub fn allowed_roles(conn: &Connection) -> Vec<workflow_lang::Role> {
    let mut roles = match &conn.allowed_roles {
        Some(list) => list
            .split(',')
            .filter_map(|r| r.trim().parse().ok())
            .collect(),
        None => default_roles(&conn.name),
    };
    if !roles.contains(&workflow_lang::Role::Admin) {
        roles.push(workflow_lang::Role::Admin);
    }
    roles
}
