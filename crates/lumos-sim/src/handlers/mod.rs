//! One function per operation. Reads take the organization's read lock, writes its write
//! lock; handlers never wait on anything while holding it.

mod appstore;
mod directory;
mod governance;
mod tasks;
mod views;

use lumos_api::Operation;
use serde_json::Value;

use crate::ids::Kind;
use crate::org::Org;
use crate::wire::{Query, Reply, Result, SimError};

pub struct Ctx<'a> {
    pub op: &'static Operation,
    pub path: Vec<(String, String)>,
    pub query: Query,
    pub body: Option<Value>,
    pub caller: Option<Caller>,
    pub base_url: &'a str,
}

impl Ctx<'_> {
    pub fn path(&self, name: &str) -> &str {
        self.path
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
    /// The calling user (the token's owner). Open operations without a token act as user 0.
    pub fn user(&self) -> u32 {
        self.caller.map_or(0, |c| c.user)
    }
    pub fn is_admin(&self) -> bool {
        self.caller.is_some_and(|c| c.admin)
    }
    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(SimError::forbidden(
                "This operation requires an administrator",
            ))
        }
    }
}

/// Resolve an id of `kind` to its index, or 404 naming `what`.
pub fn find(org: &Org, kind: Kind, id: &str, len: usize, what: &str) -> Result<usize> {
    org.ids
        .parse(kind, id)
        .filter(|&i| i < len)
        .ok_or_else(|| SimError::not_found(what))
}

/// Who a request acts as: a user of the organization, an admin or not.
#[derive(Clone, Copy)]
pub struct Caller {
    pub user: u32,
    pub admin: bool,
}

pub fn dispatch(org: &std::sync::RwLock<crate::org::Org>, ctx: &Ctx) -> Result<Reply> {
    if ctx.op.method == "GET" {
        let org = org.read().unwrap_or_else(|e| e.into_inner());
        read(&org, ctx)
    } else {
        let mut org = org.write().unwrap_or_else(|e| e.into_inner());
        write(&mut org, ctx)
    }
}

fn read(org: &Org, ctx: &Ctx) -> Result<Reply> {
    use directory as d;
    match ctx.op.name() {
        "listApps" => d::list_apps(org, ctx),
        "getAppCategories" => d::app_categories(org),
        "getApp" => d::get_app(org, ctx),
        "currentUser" => d::current_user(org, ctx),
        "listUsers" => d::list_users(org, ctx),
        "getUser" => d::get_user(org, ctx),
        "getUserAccounts" => d::user_accounts(org, ctx),
        "listInlineWebhooks" => Ok(crate::wire::json(200, &org.inline_webhooks)),
        "getAccounts" => d::accounts(org, ctx),
        "getGroupMembership" => d::group_members(org, ctx),
        "getGroup" => d::get_group(org, ctx),
        "getGroups" => d::groups(org, ctx),
        "getUploadJobState" => d::upload_job(org, ctx),
        "getActivityLogs" => d::activity_logs(org, ctx),
        "getIdentityEvents" => d::identity_events(org, ctx),
        "listIntegrations" => d::integrations(ctx),
        "getIntegration" => d::integration(ctx),
        "getIntegrationConnectionSchema" => d::connection_schema(ctx),
        "getActivityRecordsJobState" => d::activity_job(org, ctx),
        "getUserRoles" => d::user_roles(org, ctx),
        "getAppSettings" => appstore::get_settings(org, ctx, true),
        "getAppStoreAppSettings" => appstore::get_settings(org, ctx, false),
        "listAppRequestablePermissions" | "listRequestablePermissions" => {
            appstore::list_permissions(org, ctx)
        }
        "getRequestablePermission" => appstore::get_permission(org, ctx),
        "listPreApprovalRules" => appstore::list_rules(org, ctx),
        "getPreApprovalRule" => appstore::get_rule(org, ctx),
        "getAppStoreApps" => appstore::list_store_apps(org, ctx),
        "getAppStoreApp" => appstore::get_store_app(org, ctx),
        "getAccessRequest" => appstore::get_request(org, ctx),
        "getAccessRequests" => appstore::list_requests(org, ctx),
        "listTasks" => tasks::list(org, ctx),
        "getTask" => tasks::get(org, ctx),
        "getTaskActions" => tasks::actions(org, ctx),
        "getAccessPolicies" => governance::list_policies(org, ctx),
        "getAccessPolicy" => governance::get_policy(org, ctx),
        "listAccessReviews" => governance::list_reviews(org, ctx),
        "getAccessReview" => governance::get_review(org, ctx),
        "getScopeOptions" => governance::scope_options(),
        "listKnowledgeContext" => governance::list_knowledge(org, ctx),
        "getKnowledgeContext" => governance::get_knowledge(org, ctx),
        "listVendorAgreements" => Ok(crate::wire::page_of(
            org.vendor_agreements.clone(),
            &ctx.query,
        )),
        "getLumosArt" => Ok(Reply::Text(governance::ART.to_owned())),
        "getLumosInfo" => Ok(crate::wire::json(
            200,
            &serde_json::json!({"revision": concat!("lumosflow-sim-", env!("CARGO_PKG_VERSION"))}),
        )),
        other => Err(SimError::Status(501, format!("{other} is not simulated"))),
    }
}

fn write(org: &mut Org, ctx: &Ctx) -> Result<Reply> {
    use directory as d;
    match ctx.op.name() {
        "createApp" => d::create_app(org, ctx),
        "updateApp" => d::update_app(org, ctx, false),
        "reconnectApp" => d::update_app(org, ctx, true),
        "disconnectApp" => d::disconnect_app(org, ctx),
        "triggerAppSync" => d::trigger_sync(org, ctx),
        "postAccounts" => d::post_accounts(org, ctx),
        "activityRecords" => d::activity_records(org, ctx),
        "addRoleToUser" => d::add_role(org, ctx),
        "removeRoleFromUser" => d::remove_role(org, ctx),
        "updateAppSettings" => appstore::update_settings(org, ctx, true),
        "updateAppStoreAppSettings" => appstore::update_settings(org, ctx, false),
        "addAppToAppStore" => appstore::add_to_store(org, ctx),
        "removeAppFromAppStore" => appstore::remove_from_store(org, ctx),
        "createRequestablePermission" => appstore::create_permission(org, ctx),
        "updateRequestablePermission" => appstore::update_permission(org, ctx),
        "deleteRequestablePermission" => appstore::delete_permission(org, ctx),
        "createPreApprovalRule" => appstore::create_rule(org, ctx),
        "updatePreApprovalRule" => appstore::update_rule(org, ctx),
        "deletePreApprovalRule" => appstore::delete_rule(org, ctx),
        "createAccessRequest" => appstore::create_request(org, ctx),
        "cancelAccessRequest" => appstore::cancel_request(org, ctx),
        "performTaskAction" => tasks::perform(org, ctx),
        "reassignTask" => tasks::reassign(org, ctx),
        "addTaskComment" => tasks::comment(org, ctx),
        "completeTask" => tasks::resolve(org, ctx, true),
        "dismissTask" => tasks::resolve(org, ctx, false),
        "createAccessPolicy" => governance::create_policy(org, ctx),
        "updateAccessPolicy" => governance::update_policy(org, ctx),
        "deleteAccessPolicy" => governance::delete_policy(org, ctx),
        "createAccessReview" => governance::create_review(org, ctx),
        "addAppsToAccessReview" => governance::add_review_apps(org, ctx),
        "deleteAccessReview" => governance::delete_review(org, ctx),
        "updateAccessReview" => governance::update_review(org, ctx),
        "deleteAccessReviewApp" => governance::delete_review_app(org, ctx),
        "createKnowledgeContext" => governance::create_knowledge(org, ctx),
        "updateKnowledgeContext" => governance::update_knowledge(org, ctx),
        "deleteKnowledgeContext" => governance::delete_knowledge(org, ctx),
        "updateVendorAgreementCustomAttribute" => governance::update_vendor_attribute(org, ctx),
        "createFoundDocument" => governance::found_document(org, ctx),
        "createOrder" => governance::create_order(org, ctx),
        "processAirbaseMilestoneEvent" | "processVendrRequestCompletedEvent" => {
            governance::partner_webhook(org, ctx)
        }
        other => Err(SimError::Status(501, format!("{other} is not simulated"))),
    }
}
