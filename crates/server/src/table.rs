//! Every route: its method, path, required role, documentation and handler. The router, the
//! role checks and the OpenAPI document are all built from this one table, and the request
//! and response schemas from the types the handlers use.

use engine::{AuditEvent, Connection, InstallOutcome, Listing, Person, Run, SessionRow};

use crate::Role::{Admin, Agent, Builder, Viewer};
use crate::api::{
    ApprovalsQuery, AuditExportQuery, AuditQuery, CallAnswer, CallBody, ConnectBody,
    ConnectionRoles, DecisionBody, Held, InstallBody, ItemsAnswer, ItemsQuery, ListQuery,
    OutputQuery, PersonAuditorBody, PersonRoleBody, RolesBody, RunBody, RunStarted, RunView,
    RunsQuery, Saved, TriggerBody, Validated, VersionQuery, WaitQuery, YamlBody,
};
use crate::console::{LoginBody, Me, SignInOptions};
use crate::routes::{RouteDoc, Routes, schema};
use crate::state::AppState;
use crate::{Role, api, console};

pub(crate) fn doc(
    method: &'static str,
    path: &'static str,
    role: Option<Role>,
    tag: &'static str,
    summary: &'static str,
) -> RouteDoc {
    RouteDoc::new(method, path, role, tag, summary)
}

/// Every route, its role and its documentation.
pub(crate) fn table() -> Routes<AppState> {
    let mut r = Routes::new();
    // Connections.
    r.add(
        doc(
            "POST",
            "/api/v1/connections",
            Some(Admin),
            "connections",
            "Connect Lumos: verify a token and keep it encrypted",
        )
        .body(schema::<ConnectBody>)
        .response(schema::<Connection>)
        .status(201),
        api::create_connection,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/connections",
            Some(Admin),
            "connections",
            "List connections (token hints only)",
        )
        .response(schema::<Vec<Connection>>),
        api::list_connections,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/connections/{name}/check",
            Some(Admin),
            "connections",
            "Re-verify a connection with Lumos",
        )
        .response(schema::<Connection>),
        api::check_connection,
    );
    r.add(
        doc(
            "PUT",
            "/api/v1/connections/{name}/roles",
            Some(Admin),
            "connections",
            "Choose which roles may run against a connection",
        )
        .body(schema::<RolesBody>)
        .response(schema::<ConnectionRoles>),
        api::connection_roles,
    );
    r.add(
        doc(
            "DELETE",
            "/api/v1/connections/{name}",
            Some(Admin),
            "connections",
            "Remove a connection",
        )
        .status(204),
        api::delete_connection,
    );
    // Workflows.
    r.add(
        doc(
            "GET",
            "/api/v1/workflows",
            Some(Viewer),
            "workflows",
            "List installed (or installable) workflows",
        )
        .query(schema::<ListQuery>)
        .response(schema::<Vec<Listing>>),
        api::list_workflows,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/workflows/install",
            Some(Builder),
            "workflows",
            "Install bundles or bundled workflows",
        )
        .body(schema::<InstallBody>)
        .response(schema::<Vec<InstallOutcome>>),
        api::install,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/workflows",
            Some(Builder),
            "workflows",
            "Create a custom workflow from YAML",
        )
        .body(schema::<YamlBody>)
        .response(schema::<Saved>)
        .status(201),
        api::create_workflow,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/workflows/validate",
            Some(Builder),
            "workflows",
            "Validate YAML without saving it (every problem, with line and column)",
        )
        .body(schema::<YamlBody>)
        .response(schema::<Validated>),
        api::validate_workflow,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/workflows/{id}",
            Some(Viewer),
            "workflows",
            "A workflow: YAML, inputs, steps, versions",
        )
        .query(schema::<VersionQuery>),
        api::get_workflow,
    );
    r.add(
        doc(
            "PUT",
            "/api/v1/workflows/{id}",
            Some(Builder),
            "workflows",
            "Save a new version of a workflow",
        )
        .body(schema::<YamlBody>)
        .response(schema::<Saved>),
        api::edit_workflow,
    );
    r.add(
        doc(
            "DELETE",
            "/api/v1/workflows/{id}",
            Some(Builder),
            "workflows",
            "Uninstall a workflow (its versions and runs stay)",
        )
        .status(204),
        api::delete_workflow,
    );
    // Runs.
    r.add(
        doc(
            "POST",
            "/api/v1/workflows/{id}/runs",
            Some(Agent),
            "runs",
            "Run an installed workflow: queued, or held for approval",
        )
        .query(schema::<WaitQuery>)
        .body(schema::<RunBody>)
        .response(schema::<RunStarted>)
        .status(202),
        api::create_run,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/runs",
            Some(Viewer),
            "runs",
            "Run history, newest first",
        )
        .query(schema::<RunsQuery>)
        .response(schema::<Vec<Run>>),
        api::list_runs,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/runs/{id}",
            Some(Viewer),
            "runs",
            "A run with its steps; a completed run's output with its first items and links to the rest",
        )
        .response(schema::<RunView>),
        api::get_run,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/runs/{id}/output",
            Some(Viewer),
            "runs",
            "A completed run's whole output as a download, streamed: JSON, NDJSON or CSV",
        )
        .query(schema::<OutputQuery>)
        .produces(&["application/json", "application/x-ndjson", "text/csv"]),
        api::run_output,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/runs/{id}/items",
            Some(Viewer),
            "runs",
            "A page of a completed run's output items",
        )
        .query(schema::<ItemsQuery>)
        .response(schema::<ItemsAnswer>),
        api::run_items,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/runs/{id}/cancel",
            Some(Agent),
            "runs",
            "Cancel a run that has not ended; answers once its process let go of it",
        )
        .response(schema::<Run>),
        api::cancel_run,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/runs/{id}/approve",
            Some(Viewer),
            "approvals",
            "Approve a held run at its current step, if its policy names you (never your own): once every step is approved it is queued",
        )
        .query(schema::<WaitQuery>)
        .body(schema::<DecisionBody>)
        .response(schema::<RunView>)
        .status(202),
        api::approve_run,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/runs/{id}/deny",
            Some(Viewer),
            "approvals",
            "Deny a held run, if its policy names you (never your own), saying why",
        )
        .body(schema::<DecisionBody>)
        .response(schema::<RunView>),
        api::deny_run,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/approvals",
            Some(Viewer),
            "approvals",
            "Held runs (mine=true: those you may decide on now), with their policy and decisions",
        )
        .query(schema::<ApprovalsQuery>)
        .response(schema::<Vec<Held>>),
        api::list_approvals,
    );
    // The audit trail and Lumos.
    r.add(
        doc(
            "GET",
            "/api/v1/audit",
            Some(Viewer),
            "audit",
            "The audit trail, newest first (admins and auditors)",
        )
        .query(schema::<AuditQuery>)
        .response(schema::<Vec<AuditEvent>>),
        api::audit_events,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/audit/verify",
            Some(Viewer),
            "audit",
            "Check the audit trail's hash chain: events checked, its head, the first event deleted, moved or changed",
        )
        .response(schema::<engine::AuditCheck>),
        api::verify_audit,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/audit/export",
            Some(Viewer),
            "audit",
            "The whole audit trail (from `since` on) as a download, in chain order: CSV or NDJSON (admins and auditors)",
        )
        .query(schema::<AuditExportQuery>)
        .produces(&["text/csv", "application/x-ndjson"]),
        api::export_audit,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/lumos/operations",
            Some(Viewer),
            "lumos",
            "The Lumos operation catalog (86 operations)",
        ),
        api::operations,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/lumos/call",
            Some(Admin),
            "lumos",
            "Call any Lumos operation directly",
        )
        .body(schema::<CallBody>)
        .response(schema::<CallAnswer>),
        api::call,
    );
    // The service itself.
    r.add(
        doc("GET", "/api/v1/openapi.json", None, "meta", "This document"),
        api::openapi,
    );
    r.add(
        doc(
            "GET",
            "/healthz",
            None,
            "meta",
            "Database and connections health",
        ),
        api::healthz,
    );
    r.add(
        doc(
            "GET",
            "/readyz",
            None,
            "meta",
            "Ready: the database takes writes (503 with the reason otherwise)",
        ),
        api::readyz,
    );
    r.add(
        doc("GET", "/metrics", None, "meta", "Prometheus metrics"),
        api::metrics,
    );
    // The console.
    r.add(
        doc("GET", "/", None, "console", "The web console"),
        console::index,
    );
    r.add(
        doc(
            "GET",
            "/console/{file}",
            None,
            "console",
            "The console's scripts, styles and icon",
        ),
        console::asset,
    );
    r.add(
        doc(
            "POST",
            "/console/login",
            None,
            "console",
            "Sign in with an API key (sets an HttpOnly session cookie)",
        )
        .body(schema::<LoginBody>),
        console::login,
    );
    r.add(
        doc("POST", "/console/logout", None, "console", "Sign out").status(204),
        console::logout,
    );
    r.add(
        doc("GET", "/console/me", None, "console", "Who is signed in").response(schema::<Me>),
        console::me,
    );
    r.add(
        doc(
            "GET",
            "/console/sign-in",
            None,
            "console",
            "How people may sign in here",
        )
        .response(schema::<SignInOptions>),
        console::sign_in_options,
    );
    r.add(
        doc(
            "GET",
            "/console/oidc/login",
            None,
            "console",
            "Start single sign-on (redirects to the identity provider)",
        )
        .status(303),
        crate::sso::login,
    );
    r.add(
        doc(
            "GET",
            "/console/oidc/callback",
            None,
            "console",
            "Where the identity provider sends people back",
        )
        .status(303),
        crate::sso::callback,
    );
    // MCP's authorization flow: where clients learn how to get a token for /mcp.
    r.add(
        doc(
            "GET",
            "/.well-known/oauth-protected-resource",
            None,
            "mcp",
            "OAuth protected resource metadata for /mcp (RFC 9728), when single sign-on is set up",
        ),
        crate::sso::resource::metadata,
    );
    r.add(
        doc(
            "GET",
            "/.well-known/oauth-protected-resource/mcp",
            None,
            "mcp",
            "The same metadata at the path RFC 9728 derives from /mcp",
        ),
        crate::sso::resource::metadata,
    );
    // Triggers.
    r.add(
        doc(
            "POST",
            "/hooks/{id}",
            None,
            "triggers",
            "A trigger's webhook: signed (hmac, Slack) or with its shared secret; starts a run (with ?wait=, answers with its result if it ends in time)",
        )
        .query(schema::<api::HookQuery>)
        .status(202),
        api::hook,
    );
    r.add(
        doc(
            "POST",
            "/slack/interactivity",
            None,
            "slack",
            "The Slack app's interactivity: Approve and Deny buttons, modals (signed by Slack)",
        ),
        api::slack_interactivity,
    );
    r.add(
        doc(
            "POST",
            "/slack/options",
            None,
            "slack",
            "The Slack app's select menus: apps and people by name (signed by Slack)",
        ),
        api::slack_options,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/triggers",
            Some(Admin),
            "triggers",
            "List triggers",
        )
        .response(schema::<Vec<engine::Trigger>>),
        api::list_triggers,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/triggers",
            Some(Admin),
            "triggers",
            "Add a trigger: its URL and secret are shown once",
        )
        .body(schema::<TriggerBody>)
        .response(schema::<engine::triggers::TriggerSecret>)
        .status(201),
        api::add_trigger,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/triggers/{name}",
            Some(Admin),
            "triggers",
            "A trigger",
        )
        .response(schema::<engine::Trigger>),
        api::get_trigger,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/triggers/{name}/rotate-secret",
            Some(Admin),
            "triggers",
            "A new secret (shown once); the old one stops working",
        )
        .response(schema::<engine::triggers::TriggerSecret>),
        api::rotate_trigger,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/triggers/{name}/disable",
            Some(Admin),
            "triggers",
            "Disable a trigger",
        )
        .response(schema::<engine::Trigger>),
        api::disable_trigger,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/triggers/{name}/enable",
            Some(Admin),
            "triggers",
            "Enable a trigger",
        )
        .response(schema::<engine::Trigger>),
        api::enable_trigger,
    );
    r.add(
        doc(
            "DELETE",
            "/api/v1/triggers/{name}",
            Some(Admin),
            "triggers",
            "Remove a trigger",
        )
        .status(204),
        api::remove_trigger,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/lumos/lookup",
            Some(Agent),
            "lumos",
            "Find apps or people by part of a name (for pickers), through the default connection",
        )
        .query(schema::<api::LookupQuery>)
        .response(schema::<Vec<engine::lookup::Found>>),
        api::lookup,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/lumos/durations",
            Some(Agent),
            "lumos",
            "The access lengths a request for an app (and permissions) may ask for, through the default connection",
        )
        .query(schema::<api::DurationsQuery>)
        .response(schema::<engine::lookup::Durations>),
        api::durations,
    );
    // API keys.
    r.add(
        doc(
            "GET",
            "/api/v1/keys",
            Some(Admin),
            "keys",
            "List API keys (their first characters only)",
        )
        .response(schema::<Vec<engine::ApiKey>>),
        api::list_keys,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/keys",
            Some(Admin),
            "keys",
            "Create an API key: it is shown in this answer only",
        )
        .body(schema::<api::NewKeyBody>)
        .response(schema::<api::NewKey>)
        .status(201),
        api::create_key,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/keys/{name}/revoke",
            Some(Admin),
            "keys",
            "Revoke an API key: it stops working at once, with its console sessions",
        )
        .status(204),
        api::revoke_key,
    );
    // People and sessions.
    r.add(
        doc(
            "GET",
            "/api/v1/people",
            Some(Admin),
            "people",
            "List people",
        )
        .response(schema::<Vec<Person>>),
        api::list_people,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/people/{email}",
            Some(Admin),
            "people",
            "A person",
        )
        .response(schema::<Person>),
        api::get_person,
    );
    r.add(
        doc(
            "PUT",
            "/api/v1/people/{email}/role",
            Some(Admin),
            "people",
            "Change a person's role (their keys never exceed it)",
        )
        .body(schema::<PersonRoleBody>)
        .response(schema::<Person>),
        api::set_person_role,
    );
    r.add(
        doc(
            "PUT",
            "/api/v1/people/{email}/auditor",
            Some(Admin),
            "people",
            "Give or take the auditor grant: reading, checking and exporting the audit trail without the admin role",
        )
        .body(schema::<PersonAuditorBody>)
        .response(schema::<Person>),
        api::set_person_auditor,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/people/{email}/deactivate",
            Some(Admin),
            "people",
            "Deactivate a person: their sessions end and their keys are revoked at once",
        )
        .response(schema::<Person>),
        api::deactivate_person,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/sessions",
            Some(Admin),
            "people",
            "Live console sessions",
        )
        .response(schema::<Vec<SessionRow>>),
        api::list_sessions,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/sessions/{id}/revoke",
            Some(Admin),
            "people",
            "End a console session",
        )
        .status(204),
        api::revoke_session,
    );
    r
}
