//! The synthetic organization's records. Hot, high-volume records (users, groups,
//! accounts) are compact structs; accounts refer to users and apps by index. Rarer, mutable
//! records keep their JSON form. `seed` generates an organization from a seed.

mod seed;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::ids::{IdSpace, Kind};
use crate::time::{Clock, ts};

/// How big an organization to generate.
#[derive(Debug, Clone)]
pub struct OrgSize {
    pub users: usize,
    pub apps: usize,
    pub groups: usize,
    pub accounts_per_user: usize,
}

impl Default for OrgSize {
    fn default() -> Self {
        Self {
            users: 500,
            apps: 40,
            groups: 60,
            accounts_per_user: 6,
        }
    }
}

pub struct User {
    pub id: String,
    pub email: String,
    pub given: String,
    pub family: String,
    pub status: &'static str,
    pub manager: Option<u32>,
    pub department: &'static str,
    pub started: i64,
    /// Lower-cased "given family email" for search.
    pub search: String,
}

pub struct App {
    pub id: String,
    pub class_id: String,
    pub instance_id: String,
    pub label: String,
    pub status: &'static str,
    pub sources: Vec<&'static str>,
    pub category: Option<String>,
    pub website: Option<String>,
    pub logo: Option<String>,
    pub description: Option<String>,
    pub request_instructions: Option<String>,
    pub disconnected: bool,
    pub connection_source: &'static str,
    pub sync_status: Option<&'static str>,
    /// Monotonic seconds when a sync was triggered; it finishes after [`SYNC_SECONDS`].
    pub sync_started: Option<std::time::Instant>,
    pub allow_multi: bool,
}

pub const SYNC_SECONDS: u64 = 2;

pub struct Group {
    pub id: String,
    pub app: u32,
    /// The app the group is synced from (usually `app`; an Okta group used in another app
    /// names Okta).
    pub source: u32,
    pub integration_specific_id: String,
    pub name: String,
    pub description: String,
    pub lifecycle: &'static str,
    pub member_start: u32,
    pub member_count: u32,
}

/// Whose an account is, as Lumos links it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Owner {
    /// The user at `Account::user`.
    User,
    /// The user at `Account::user` by email, but in another case ("Ann.Smith@Example-Corp.com"),
    /// so Lumos did not link it: no `user_id`.
    OtherCase,
    /// Nobody Lumos knows: `Account::user` indexes `Org::orphans` (a former contractor, a
    /// shared mailbox).
    Orphan,
}

/// 20 bytes per account: a million of them fit in 20 MB.
#[derive(Clone, Copy)]
pub struct Account {
    pub user: u32,
    pub owner: Owner,
    pub app: u16,
    pub status: u8,
    pub kind: u8,
    pub source: u8,
    pub discovered: u32,
    /// Seconds after `discovered`; 0 means never.
    pub last_login: u32,
}

pub struct Permission {
    pub id: String,
    pub app: u32,
    pub label: String,
    pub kind: &'static str,
    pub integration_specific_id: String,
    /// The permission's own request config (before inheriting from the app).
    pub config: Value,
    pub deleted: bool,
}

#[derive(Clone)]
pub enum Assignee {
    User(u32),
    Group(u32),
}

pub struct Task {
    pub id: String,
    pub category: &'static str,
    pub task_type: String,
    pub status: &'static str,
    pub description: String,
    pub product_area: &'static str,
    pub app: Option<u32>,
    pub target_user: Option<u32>,
    pub resolved_by: Option<u32>,
    pub created_at: i64,
    pub updated_at: i64,
    pub assignees: Vec<Assignee>,
    pub access_request: Option<usize>,
    pub permission: Option<usize>,
    pub comments: Vec<(String, u32, i64)>,
}

/// One approval stage of an access request.
#[derive(Clone)]
pub enum Stage {
    Manager(u32),
    Approvers { stage: u8, assignees: Vec<Assignee> },
    Provisioning(Vec<Assignee>),
}

pub struct AccessRequest {
    pub id: String,
    pub app: u32,
    pub requester: u32,
    pub target: u32,
    pub status: &'static str,
    pub notes: BTreeMap<String, Option<String>>,
    pub permissions: Vec<usize>,
    pub requested_at: i64,
    pub expiration_in_seconds: Option<i64>,
    pub expires_at: Option<i64>,
    pub stages: Vec<Stage>,
    pub stage: usize,
    pub tasks: Vec<usize>,
    pub custom_fields: Vec<(String, Option<String>)>,
}

/// What a background job does; each kind answers only at its own endpoint, with its own
/// state enum (uploads: `FlowState`; activity records: `RunInfoStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    AccountsUpload,
    ActivityRecords,
    FoundDocument,
}

pub struct Job {
    pub kind: JobKind,
    pub state: &'static str,
}

pub struct Org {
    /// The simulator's clock; the seeded history ends at its start.
    pub clock: Clock,
    pub ids: IdSpace,
    pub users: Vec<User>,
    pub apps: Vec<App>,
    pub groups: Vec<Group>,
    pub accounts: Vec<Account>,
    /// Accounts of user `u` are `accounts[user_accounts[u]..user_accounts[u + 1]]`.
    pub user_accounts: Vec<u32>,
    pub accounts_by_app: Vec<Vec<u32>>,
    /// Emails of accounts whose owner Lumos does not know.
    pub orphans: Vec<String>,
    /// Accounts linked to a user after the seed (uploads), by user.
    pub later_accounts_of: HashMap<u32, Vec<u32>>,
    /// AppStore settings by app index (`AppSettingOutput` without `in_app_store`).
    pub appstore: BTreeMap<u32, Value>,
    pub permissions: Vec<Permission>,
    pub access_requests: Vec<AccessRequest>,
    pub tasks: Vec<Task>,
    pub pre_approval_rules: Vec<Option<Value>>,
    pub access_policies: Vec<Option<Value>>,
    pub access_reviews: Vec<Option<Value>>,
    pub knowledge: Vec<Option<Value>>,
    pub vendor_agreements: Vec<Value>,
    pub inline_webhooks: Vec<Value>,
    pub activity_logs: Vec<Value>,
    pub identity_events: Vec<Value>,
    pub jobs: HashMap<String, Job>,
    pub roles: HashMap<u32, BTreeSet<String>>,
    pub next_job: usize,
    pub next_review_app: usize,
}

impl Org {
    /// A change to a user made through the API, as Lumos reports it in identity events.
    pub fn record_identity_event(&mut self, u: usize, field: &str, old: &str, new: &str) {
        let i = self.identity_events.len();
        self.identity_events.push(json!({
            "id": self.ids.id(Kind::IdentityEvent, i),
            "user_id": self.users[u].id,
            "detected_time": ts(self.clock.now()),
            "changed_field": field,
            "old_field_value": old,
            "new_field_value": new,
        }));
    }

    /// Something done through the API, as Lumos reports it in activity logs.
    pub fn record_activity(&mut self, kind: &str, friendly: &str, actor: usize, targets: Value) {
        let hash = format!(
            "{:016x}",
            0x5eed_0000_0000_0000u64 + self.activity_logs.len() as u64
        );
        self.activity_logs.push(json!({
            "event_hash": hash,
            "event_type": kind,
            "event_type_user_friendly": friendly,
            "outcome": "SUCCESS",
            "targets": targets,
            "actor": {"type": "user", "id": self.users[actor].id, "email": self.users[actor].email},
            "event_began_at": ts(self.clock.now()),
            "event_metadata": {},
        }));
    }

    /// Members of a group: a contiguous (wrapping) run of users.
    pub fn group_member(&self, group: &Group, j: u32) -> u32 {
        (group.member_start + j) % self.users.len() as u32
    }

    pub fn user_in_group(&self, user: u32, group: &Group) -> bool {
        let n = self.users.len() as u32;
        (user + n - group.member_start) % n < group.member_count
    }

    /// The access lengths a request for `app` (and `permission`) may ask for: the
    /// permission's own list when it overrides the app's, else the app's.
    pub fn durations(&self, app: u32, permission: Option<usize>) -> Vec<String> {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        };
        if let Some(p) = permission {
            let fulfil = &self.permissions[p].config["request_fulfillment_config"];
            if fulfil["time_based_access_override"].as_bool() == Some(true) {
                return strings(&fulfil["time_based_access"]);
            }
        }
        self.appstore
            .get(&app)
            .map(|s| strings(&s["provisioning"]["time_based_access"]))
            .unwrap_or_default()
    }

    /// Whether `app`'s AppStore page hides its permissions from requesters: granted to the
    /// whole app (DIRECT_TO_USER), or at a permission the requester does not pick
    /// (GROUPS_AND_HIDDEN). Lumos's own CLI offers permissions only in GROUPS_AND_VISIBLE.
    pub fn hides_permissions(&self, app: u32) -> bool {
        self.appstore.get(&app).is_some_and(|s| {
            matches!(
                s["provisioning"]["groups_provisioning"].as_str(),
                Some("DIRECT_TO_USER" | "GROUPS_AND_HIDDEN")
            )
        })
    }

    pub fn live_permissions_of(&self, app: u32) -> Vec<usize> {
        self.permissions
            .iter()
            .enumerate()
            .filter(|(_, p)| p.app == app && !p.deleted)
            .map(|(i, _)| i)
            .collect()
    }

    pub fn user_json(&self, u: usize) -> Value {
        let user = &self.users[u];
        json!({"id": user.id, "email": user.email, "given_name": user.given, "family_name": user.family, "status": user.status})
    }

    pub fn group_json(&self, g: usize) -> Value {
        let group = &self.groups[g];
        let app = &self.apps[group.app as usize].id;
        let source = &self.apps[group.source as usize].id;
        json!({
            "id": group.id, "app_id": app, "integration_specific_id": group.integration_specific_id,
            "name": group.name, "description": group.description, "group_lifecycle": group.lifecycle,
            "source_app_id": source,
        })
    }

    pub fn permission_base_json(&self, p: usize) -> Value {
        let perm = &self.permissions[p];
        let app = &self.apps[perm.app as usize];
        json!({"id": perm.id, "type": perm.kind, "label": perm.label, "app_id": app.id,
               "app_class_id": app.class_id, "app_instance_id": app.instance_id})
    }

    pub fn review_app_json(&mut self, app: usize, status: &str) -> Value {
        let idx = self.next_review_app;
        self.next_review_app += 1;
        let a = &self.apps[app];
        json!({
            "id": self.ids.id(Kind::ReviewApp, idx),
            "domain_app_id": a.id,
            "domain_app_name": a.label,
            "domain_app_sources": a.sources,
            "status": status,
            "review_type": "ENTITLEMENTS",
            "app_last_synced_at": ts(self.clock.start - 3600),
            "last_synced_at": ts(self.clock.start - 3600),
            "account_count": self.accounts_by_app.get(app).map_or(0, Vec::len),
            "launched_at": null,
            "completed_at": null,
            "scope_filters": [],
        })
    }

    /// Start a background job of `kind`, in `state` (a value of the kind's own enum).
    pub fn new_job(&mut self, kind: JobKind, state: &'static str) -> String {
        let id = self.ids.id(Kind::Job, self.next_job);
        self.next_job += 1;
        self.jobs.insert(id.clone(), Job { kind, state });
        id
    }
}
