//! Typed shapes of what a service desk reads from Lumos.
//!
//! Lumos marks many fields required-but-nullable, so most fields are `Option` and serialize
//! as `null` (as FastAPI does) rather than disappearing. Enums keep values this version does
//! not know in an `Other` variant instead of failing the whole response.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An enum of string values with a catch-all for values added to the API later.
macro_rules! lumos_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value this version does not know.
            Other(String),
        }

        impl $name {
            /// Every value the API documents.
            pub const VALUES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(s.parse().unwrap_or_else(|never: std::convert::Infallible| match never {}))
            }
        }
    };
}

lumos_enum!(UserLifecycleStatus { Staged = "STAGED", Active = "ACTIVE", Suspended = "SUSPENDED", Inactive = "INACTIVE" });
lumos_enum!(AccountLifecycleStatus {
    Discovered = "DISCOVERED", Staged = "STAGED", AccessCreated = "ACCESS_CREATED", Active = "ACTIVE",
    Archived = "ARCHIVED", Suspended = "SUSPENDED", Deprovisioned = "DEPROVISIONED",
    ManuallyRemoved = "MANUALLY_REMOVED", AccessRemoved = "ACCESS_REMOVED",
    NonCorporateAccount = "NON_CORPORATE_ACCOUNT", WaitingManualRemoval = "WAITING_MANUAL_REMOVAL",
});
lumos_enum!(AccountType { User = "USER", Role = "ROLE", Service = "SERVICE" });
lumos_enum!(DomainAppStatus {
    Discovered = "DISCOVERED", InReview = "IN_REVIEW", NeedsReview = "NEEDS_REVIEW", Approved = "APPROVED",
    Blocklisted = "BLOCKLISTED", Deprecated = "DEPRECATED",
});
lumos_enum!(DiscoverySource {
    GsuiteQuickInbox = "GSUITE_QUICK_INBOX", GsuiteDeepInbox = "GSUITE_DEEP_INBOX",
    MicrosoftDeepInbox = "MICROSOFT_DEEP_INBOX", MicrosoftOauth = "MICROSOFT_OAUTH", MicrosoftGcc = "MICROSOFT_GCC",
    GsuiteOauth = "GSUITE_OAUTH", Okta = "OKTA", Manual = "MANUAL", Onelogin = "ONELOGIN", Atlassian = "ATLASSIAN",
    GoogleCloud = "GOOGLE_CLOUD", LumosIntegration = "LUMOS_INTEGRATION", Jumpcloud = "JUMPCLOUD", Custom = "CUSTOM",
});
lumos_enum!(SyncStatus { Syncing = "SYNCING", Success = "SUCCESS", Failed = "FAILED" });
lumos_enum!(Lifecycle { Synced = "SYNCED", Native = "NATIVE" });
lumos_enum!(AppStoreVisibility { Full = "FULL", Limited = "LIMITED", None = "NONE" });
lumos_enum!(AppStoreVisibilityOption { Hidden = "HIDDEN", Visible = "VISIBLE" });
lumos_enum!(AllowedGroupsConfigType { AllGroups = "ALL_GROUPS", SpecifiedGroups = "SPECIFIED_GROUPS" });
lumos_enum!(ManagerApprovalOption { None = "NONE", InitialApproval = "INITIAL_APPROVAL" });
lumos_enum!(ApproverType { User = "USER", Group = "GROUP" });
lumos_enum!(GroupProvisioningOption {
    DirectToUser = "DIRECT_TO_USER", GroupsAndHidden = "GROUPS_AND_HIDDEN", GroupsAndVisible = "GROUPS_AND_VISIBLE",
});
lumos_enum!(CustomAttributeType { Text = "TEXT", User = "USER", SingleSelect = "SINGLE_SELECT" });
lumos_enum!(SupportRequestStatus {
    Pending = "PENDING", PendingManagerApproval = "PENDING_MANAGER_APPROVAL", ManagerApproved = "MANAGER_APPROVED",
    ManagerDenied = "MANAGER_DENIED", PendingApproval = "PENDING_APPROVAL", Approved = "APPROVED", Denied = "DENIED",
    Expired = "EXPIRED", Cancelled = "CANCELLED", PendingProvisioning = "PENDING_PROVISIONING",
    PendingManualProvisioning = "PENDING_MANUAL_PROVISIONING", DeniedProvisioning = "DENIED_PROVISIONING",
    Provisioned = "PROVISIONED", PendingDeprovisioning = "PENDING_DEPROVISIONING",
    PendingManualDeprovisioning = "PENDING_MANUAL_DEPROVISIONING", TimeBasedExpired = "TIME_BASED_EXPIRED",
    Completed = "COMPLETED", Reverting = "REVERTING", Reverted = "REVERTED",
    TimeBasedExpiredFailed = "TIME_BASED_EXPIRED_FAILED", TimeBasedExpiredCancelled = "TIME_BASED_EXPIRED_CANCELLED",
});
lumos_enum!(TaskCategory {
    ManagerApproval = "MANAGER_APPROVAL", Approval = "APPROVAL", Provisioning = "PROVISIONING",
    Deprovisioning = "DEPROVISIONING", Error = "ERROR", Generic = "GENERIC",
});
lumos_enum!(TaskStatus {
    Pending = "PENDING", Accepted = "ACCEPTED", Completed = "COMPLETED", Dismissed = "DISMISSED",
    Blocked = "BLOCKED", Staged = "STAGED", Retried = "RETRIED", Expired = "EXPIRED",
});
lumos_enum!(TaskProductArea {
    AccessReviews = "ACCESS_REVIEWS", Appstore = "APPSTORE", Mover = "MOVER", AttributeSync = "ATTRIBUTE_SYNC",
    Offboarding = "OFFBOARDING", Onboarding = "ONBOARDING", Platform = "PLATFORM", Savings = "SAVINGS",
});
lumos_enum!(AssigneeType { User = "USER", Group = "GROUP" });

/// `{items,total,page,size,pages}`; every count may be `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<u64>,
    pub page: Option<u64>,
    pub size: Option<u64>,
    #[serde(default)]
    pub pages: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub status: Option<UserLifecycleStatus>,
    /// Only on `UserWithCustomAttributes`, filled with `expand=custom_attributes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<BTreeMap<String, CustomAttribute>>,
}

impl User {
    pub fn display_name(&self) -> String {
        let name = [self.given_name.as_deref(), self.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if name.is_empty() {
            self.email.clone().unwrap_or_else(|| self.id.clone())
        } else {
            name
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomAttribute {
    #[serde(rename = "type")]
    pub kind: CustomAttributeType,
    #[serde(default)]
    pub value: Option<CustomAttributeValue>,
}

/// The spec's union: a list of users, an integer, or text (dates are text on the wire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CustomAttributeValue {
    Users(Vec<User>),
    Integer(i64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppLinks {
    #[serde(rename = "self")]
    pub self_url: String,
    pub admin_url: String,
}

/// `App`, `AppWithCustomAttributes` and `AppStoreApp` share this shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    pub id: String,
    pub app_class_id: String,
    pub instance_id: String,
    pub user_friendly_label: String,
    pub status: DomainAppStatus,
    pub sources: Vec<DiscoverySource>,
    pub allow_multiple_permission_selection: bool,
    #[serde(default)]
    pub logo_url: Option<String>,
    #[serde(default)]
    pub website_url: Option<String>,
    #[serde(default)]
    pub request_instructions: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    pub disconnected: bool,
    pub links: AppLinks,
    #[serde(default)]
    pub sync_status: Option<SyncStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<BTreeMap<String, CustomAttribute>>,
}

pub type AppStoreApp = App;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub integration_specific_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub group_lifecycle: Option<Lifecycle>,
    #[serde(default)]
    pub source_app_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub app_id: String,
    pub account_type: AccountType,
    #[serde(default)]
    pub status: Option<AccountLifecycleStatus>,
    #[serde(default)]
    pub app: Option<App>,
    pub unique_identifier: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub discovered_at: Option<String>,
    #[serde(default)]
    pub last_login: Option<String>,
    #[serde(default)]
    pub last_activity: Option<String>,
    #[serde(default)]
    pub sources: Vec<DiscoverySource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Principals {
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub users: Vec<User>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllowedGroups {
    #[serde(rename = "type", default = "all_groups")]
    pub kind: AllowedGroupsConfigType,
    #[serde(default)]
    pub groups: Vec<Group>,
}

fn all_groups() -> AllowedGroupsConfigType {
    AllowedGroupsConfigType::AllGroups
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InlineWebhook {
    pub id: String,
    pub hook_type: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// App-level request flow: who sees the app and who approves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestFlow {
    #[serde(default)]
    pub discoverability: Option<AppStoreVisibility>,
    #[serde(default)]
    pub custom_approval_message: Option<String>,
    #[serde(default)]
    pub require_manager_approval: Option<bool>,
    #[serde(default)]
    pub require_additional_approval: Option<bool>,
    #[serde(default)]
    pub allowed_groups: Option<AllowedGroups>,
    #[serde(default)]
    pub approvers: Principals,
    #[serde(default)]
    pub approvers_stage_2: Principals,
    #[serde(default)]
    pub response_describes_entire_approval_workflow: Option<bool>,
    #[serde(default)]
    pub admins: Principals,
    #[serde(default)]
    pub request_validation_inline_webhook: Option<InlineWebhook>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provisioning {
    #[serde(default)]
    pub groups_provisioning: Option<GroupProvisioningOption>,
    #[serde(default)]
    pub time_based_access: Vec<String>,
    #[serde(default)]
    pub allow_multiple_permission_selection: Option<bool>,
    #[serde(default)]
    pub manual_steps_needed: Option<bool>,
    #[serde(default)]
    pub custom_provisioning_instructions: Option<String>,
    #[serde(default)]
    pub default_time_based_access_option: Option<String>,
}

/// `AppStoreAppSettingsOutput` (and `AppSettingOutput`, which adds `in_app_store`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppStoreAppSettings {
    #[serde(default)]
    pub custom_request_instructions: Option<String>,
    #[serde(default)]
    pub redirect_url: Option<String>,
    #[serde(default)]
    pub request_flow: RequestFlow,
    #[serde(default)]
    pub provisioning: Provisioning,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_app_store: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approver {
    #[serde(rename = "type")]
    pub kind: ApproverType,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub group: Option<Group>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalStage {
    #[serde(default)]
    pub approvers: Option<Vec<Approver>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestApprovalConfig {
    #[serde(default)]
    pub request_approval_config_override: Option<bool>,
    #[serde(default)]
    pub manager_approval: Option<ManagerApprovalOption>,
    #[serde(default)]
    pub require_additional_approval: Option<bool>,
    #[serde(default)]
    pub custom_approval_message: Option<String>,
    #[serde(default)]
    pub custom_approval_message_override: Option<bool>,
    #[serde(default)]
    pub approvers: Option<Principals>,
    #[serde(default)]
    pub approvers_stage_2: Option<Principals>,
    #[serde(default)]
    pub request_approval_stages: Option<Vec<ApprovalStage>>,
    #[serde(default)]
    pub response_describes_entire_approval_workflow: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestFulfillmentConfig {
    #[serde(default)]
    pub manual_steps_needed: Option<bool>,
    #[serde(default)]
    pub manual_instructions: Option<String>,
    #[serde(default)]
    pub time_based_access: Vec<String>,
    #[serde(default)]
    pub time_based_access_override: Option<bool>,
    #[serde(default)]
    pub provisioning_group: Option<Group>,
    #[serde(default)]
    pub provisioning_webhook: Option<InlineWebhook>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestConfig {
    #[serde(default)]
    pub appstore_visibility: Option<AppStoreVisibilityOption>,
    #[serde(default)]
    pub allowed_groups_override: Option<bool>,
    #[serde(default)]
    pub allowed_groups: Option<AllowedGroups>,
    #[serde(default)]
    pub request_approval_config: Option<RequestApprovalConfig>,
    #[serde(default)]
    pub request_fulfillment_config: Option<RequestFulfillmentConfig>,
    #[serde(default)]
    pub access_removal_inline_webhook: Option<InlineWebhook>,
    #[serde(default)]
    pub request_validation_inline_webhook: Option<InlineWebhook>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestablePermission {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<Lifecycle>,
    pub label: String,
    pub app_id: String,
    pub app_class_id: String,
    pub app_instance_id: String,
    #[serde(default)]
    pub request_config: RequestConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskAssignee {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: AssigneeType,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseApp {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub task_type: String,
    pub task_category: TaskCategory,
    pub status: TaskStatus,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub product_area: Option<TaskProductArea>,
    #[serde(default)]
    pub app: Option<BaseApp>,
    #[serde(default)]
    pub target_user: Option<User>,
    #[serde(default)]
    pub resolved_by: Option<User>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub assignees: Option<Vec<TaskAssignee>>,
    #[serde(default)]
    pub actions: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub comments: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub access_request_id: Option<String>,
    #[serde(default)]
    pub requestable_permission_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessRequest {
    pub id: String,
    pub app_id: String,
    pub app_name: String,
    pub requester_user: User,
    pub target_user: User,
    #[serde(default)]
    pub supporter_user: Option<User>,
    pub status: SupportRequestStatus,
    #[serde(default)]
    pub notes: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub expiration_in_seconds: Option<i64>,
    #[serde(default)]
    pub requestable_permissions: Option<Vec<RequestablePermission>>,
    #[serde(default)]
    pub requested_at: Option<String>,
    #[serde(default)]
    pub tasks: Option<Vec<Task>>,
    #[serde(default)]
    pub custom_fields: Option<Vec<serde_json::Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_are_kept() {
        let s: AccountLifecycleStatus = serde_json::from_str("\"BRAND_NEW\"").expect("decodes");
        assert_eq!(s, AccountLifecycleStatus::Other("BRAND_NEW".into()));
        assert_eq!(serde_json::to_string(&s).expect("encodes"), "\"BRAND_NEW\"");
        let a: AccountLifecycleStatus = serde_json::from_str("\"ACTIVE\"").expect("decodes");
        assert_eq!(a, AccountLifecycleStatus::Active);
        assert!(AccountLifecycleStatus::VALUES.contains(&"WAITING_MANUAL_REMOVAL"));
    }

    #[test]
    fn nullable_page_counts() {
        let p: Page<User> =
            serde_json::from_str(r#"{"items":[{"id":"u1"}],"total":null,"page":null,"size":null}"#)
                .expect("decodes");
        assert_eq!(p.items[0].id, "u1");
        assert_eq!(p.total, None);
        assert_eq!(p.pages, None);
    }

    #[test]
    fn custom_attribute_union() {
        let a: CustomAttribute =
            serde_json::from_str(r#"{"type":"USER","value":[{"id":"u"}]}"#).expect("users");
        assert!(matches!(a.value, Some(CustomAttributeValue::Users(_))));
        let b: CustomAttribute =
            serde_json::from_str(r#"{"type":"TEXT","value":"x"}"#).expect("text");
        assert_eq!(b.value, Some(CustomAttributeValue::Text("x".into())));
    }
}
