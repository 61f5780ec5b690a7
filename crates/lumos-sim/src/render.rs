//! Borrowing serializers for the high-volume records, so a page of 100 users or accounts is
//! written straight from the organization without building JSON trees.

use serde::Serialize;
use serde_json::{Value, json};

use crate::ids::Kind;
use crate::names;
use crate::org::{Account, App, Group, Org, Owner, SYNC_SECONDS, User};
use crate::time::ts;

/// `None` leaves the field out (schemas without it); `Some(None)` writes `null` (not expanded).
type Expandable<T> = Option<Option<T>>;

#[derive(Serialize)]
pub struct UserOut<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Expandable<Value>,
}

pub fn user<'a>(org: &'a Org, u: &'a User, with_attributes: Option<bool>) -> UserOut<'a> {
    UserOut {
        id: &u.id,
        email: &u.email,
        given_name: &u.given,
        family_name: &u.family,
        status: u.status,
        custom_attributes: with_attributes.map(|on| on.then(|| user_attributes(org, u))),
    }
}

fn user_attributes(org: &Org, u: &User) -> Value {
    let manager = u.manager.map(|m| org.user_json(m as usize));
    json!({
        "Department": {"type": "TEXT", "value": u.department},
        "Manager": {"type": "USER", "value": manager.map(|m| vec![m]).unwrap_or_default()},
        "Start date": {"type": "TEXT", "value": ts(u.started)},
    })
}

#[derive(Serialize)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_url: String,
    pub admin_url: String,
}

#[derive(Serialize)]
pub struct AppOut<'a> {
    pub id: &'a str,
    pub app_class_id: &'a str,
    pub instance_id: &'a str,
    pub user_friendly_label: &'a str,
    pub status: &'a str,
    pub sources: &'a [&'static str],
    pub allow_multiple_permission_selection: bool,
    pub logo_url: Option<&'a str>,
    pub website_url: Option<&'a str>,
    pub request_instructions: Option<&'a str>,
    pub description: Option<&'a str>,
    pub category: Option<&'a str>,
    pub disconnected: bool,
    pub links: Links,
    pub sync_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Expandable<Value>,
}

pub fn sync_status(a: &App) -> Option<&'static str> {
    match a.sync_started {
        Some(t) if t.elapsed().as_secs() < SYNC_SECONDS => Some("SYNCING"),
        _ => a.sync_status,
    }
}

pub fn app<'a>(base: &str, a: &'a App, with_attributes: Option<bool>) -> AppOut<'a> {
    AppOut {
        id: &a.id,
        app_class_id: &a.class_id,
        instance_id: &a.instance_id,
        user_friendly_label: &a.label,
        status: a.status,
        sources: &a.sources,
        allow_multiple_permission_selection: a.allow_multi,
        logo_url: a.logo.as_deref(),
        website_url: a.website.as_deref(),
        request_instructions: a.request_instructions.as_deref(),
        description: a.description.as_deref(),
        category: a.category.as_deref(),
        disconnected: a.disconnected,
        links: Links { self_url: format!("{base}/apps/{}", a.id), admin_url: format!("https://app.lumos.com/apps/{}", a.id) },
        sync_status: sync_status(a),
        custom_attributes: with_attributes.map(|on| {
            on.then(|| {
                json!({
                    "Owner team": {"type": "TEXT", "value": a.category},
                    "Risk tier": {"type": "SINGLE_SELECT", "value": if a.status == "APPROVED" { "Standard" } else { "Review" }},
                })
            })
        }),
    }
}

#[derive(Serialize)]
pub struct GroupOut<'a> {
    pub id: &'a str,
    pub app_id: &'a str,
    pub integration_specific_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub group_lifecycle: &'a str,
    pub source_app_id: &'a str,
}

/// An email as a person typed it elsewhere: each part of the name capitalised.
fn other_case(email: &str) -> String {
    let mut out = String::with_capacity(email.len());
    let mut start = true;
    for c in email.chars() {
        out.push(if start { c.to_ascii_uppercase() } else { c });
        start = matches!(c, '.' | '@' | '-');
    }
    out
}

pub fn group<'a>(org: &'a Org, g: &'a Group) -> GroupOut<'a> {
    let app = &org.apps[g.app as usize].id;
    let source = &org.apps[g.source as usize].id;
    GroupOut {
        id: &g.id,
        app_id: app,
        integration_specific_id: &g.integration_specific_id,
        name: &g.name,
        description: &g.description,
        group_lifecycle: g.lifecycle,
        source_app_id: source,
    }
}

#[derive(Serialize)]
pub struct AccountOut<'a> {
    pub id: String,
    pub app_id: &'a str,
    pub account_type: &'static str,
    pub status: &'static str,
    pub app: Option<AppOut<'a>>,
    pub unique_identifier: std::borrow::Cow<'a, str>,
    pub email: std::borrow::Cow<'a, str>,
    pub user_id: Option<&'a str>,
    pub discovered_at: String,
    pub last_login: Option<String>,
    pub last_activity: Option<String>,
    pub sources: [&'static str; 1],
}

pub fn account<'a>(
    org: &'a Org,
    base: &str,
    idx: usize,
    acc: &Account,
    expand_app: bool,
) -> AccountOut<'a> {
    let app = &org.apps[acc.app as usize];
    let (email, user_id): (std::borrow::Cow<'a, str>, Option<&'a str>) = match acc.owner {
        Owner::User => {
            let user = &org.users[acc.user as usize];
            (user.email.as_str().into(), Some(user.id.as_str()))
        }
        Owner::OtherCase => (other_case(&org.users[acc.user as usize].email).into(), None),
        Owner::Orphan => (org.orphans[acc.user as usize].as_str().into(), None),
    };
    let discovered = org.clock.start - i64::from(acc.discovered);
    let login = (acc.last_login > 0).then(|| ts(discovered + i64::from(acc.last_login)));
    AccountOut {
        id: org.ids.id(Kind::Account, idx),
        app_id: &app.id,
        account_type: names::account_types()[acc.kind as usize].as_str(),
        status: names::account_statuses()[acc.status as usize].as_str(),
        app: expand_app.then(|| self::app(base, app, None)),
        unique_identifier: email.clone(),
        email,
        user_id,
        discovered_at: ts(discovered),
        last_activity: login.clone(),
        last_login: login,
        sources: [names::discovery_sources()[acc.source as usize].as_str()],
    }
}
