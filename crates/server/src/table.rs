//! Every route: its method, path, required role, documentation and handler. The router, the
//! role checks and the OpenAPI document are all built from this one table.

use serde_json::json;

use crate::Role::{Admin, Agent, Builder, Viewer};
use crate::routes::{RouteDoc, Routes};
use crate::state::AppState;
use crate::{Role, api, console};

pub(crate) fn doc(
    method: &'static str,
    path: &'static str,
    role: Option<Role>,
    tag: &'static str,
    summary: &'static str,
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        role,
        tag,
        summary,
        query: &[],
        body: None,
        success: 200,
    }
}

/// Every route, its role and its documentation.
pub(crate) fn table() -> Routes<AppState> {
    let mut r = Routes::new();
    let yaml_body = json!({"type": "object", "required": ["yaml"], "properties": {"yaml": {"type": "string", "description": "The workflow definition (docs/workflows.md)"}}});
    r.add(RouteDoc { body: Some(json!({"type": "object", "required": ["token"], "properties": {
        "name": {"type": "string", "default": "default"}, "base_url": {"type": "string", "default": "https://api.lumos.com"},
        "token": {"type": "string", "description": "A Lumos API token (lsk_…); verified, stored encrypted, never returned"}}})),
        success: 201, ..doc("POST", "/api/v1/connections", Some(Admin), "connections", "Connect Lumos: verify a token and keep it encrypted") }, api::create_connection);
    r.add(
        doc(
            "GET",
            "/api/v1/connections",
            Some(Admin),
            "connections",
            "List connections (token hints only)",
        ),
        api::list_connections,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/connections/{name}/check",
            Some(Admin),
            "connections",
            "Re-verify a connection with Lumos",
        ),
        api::check_connection,
    );
    r.add(RouteDoc { body: Some(json!({"type": "object", "required": ["roles"], "properties": {
        "roles": {"type": ["array", "null"], "items": {"type": "string", "enum": ["viewer", "agent", "builder", "admin"]},
                  "description": "Roles that may run workflows against the connection (admins always may); null restores the default: every role that may run for `default`, builder and admin for others"}}})),
        ..doc("PUT", "/api/v1/connections/{name}/roles", Some(Admin), "connections", "Choose which roles may run against a connection") }, api::connection_roles);
    r.add(
        RouteDoc {
            success: 204,
            ..doc(
                "DELETE",
                "/api/v1/connections/{name}",
                Some(Admin),
                "connections",
                "Remove a connection",
            )
        },
        api::delete_connection,
    );
    r.add(
        RouteDoc {
            query: &[(
                "installable",
                "true for the bundles' catalog instead of installed workflows",
            )],
            ..doc(
                "GET",
                "/api/v1/workflows",
                Some(Viewer),
                "workflows",
                "List installed (or installable) workflows",
            )
        },
        api::list_workflows,
    );
    r.add(RouteDoc { body: Some(json!({"type": "object", "properties": {"bundles": {"type": "array", "items": {"type": "string"}},
        "workflows": {"type": "array", "items": {"type": "string"}}, "all": {"type": "boolean"}, "force": {"type": "boolean"}}})),
        ..doc("POST", "/api/v1/workflows/install", Some(Builder), "workflows", "Install bundles or bundled workflows") }, api::install);
    r.add(
        RouteDoc {
            body: Some(yaml_body.clone()),
            success: 201,
            ..doc(
                "POST",
                "/api/v1/workflows",
                Some(Builder),
                "workflows",
                "Create a workflow from YAML",
            )
        },
        api::create_workflow,
    );
    r.add(
        RouteDoc {
            body: Some(yaml_body.clone()),
            ..doc(
                "POST",
                "/api/v1/workflows/validate",
                Some(Builder),
                "workflows",
                "Validate YAML without saving",
            )
        },
        api::validate_workflow,
    );
    r.add(
        RouteDoc {
            query: &[("version", "a version number; default the current one")],
            ..doc(
                "GET",
                "/api/v1/workflows/{id}",
                Some(Viewer),
                "workflows",
                "A workflow with its YAML, inputs and versions",
            )
        },
        api::get_workflow,
    );
    r.add(
        RouteDoc {
            body: Some(yaml_body),
            ..doc(
                "PUT",
                "/api/v1/workflows/{id}",
                Some(Builder),
                "workflows",
                "Save a new version of a workflow",
            )
        },
        api::edit_workflow,
    );
    r.add(
        RouteDoc {
            success: 204,
            ..doc(
                "DELETE",
                "/api/v1/workflows/{id}",
                Some(Builder),
                "workflows",
                "Uninstall a workflow",
            )
        },
        api::delete_workflow,
    );
    r.add(RouteDoc { query: &[("wait", "true to answer when the run is over, with its output")],
        body: Some(json!({"type": "object", "properties": {"inputs": {"type": "object"}, "connection": {"type": "string"}, "dry_run": {"type": "boolean"}}})),
        success: 202, ..doc("POST", "/api/v1/workflows/{id}/runs", Some(Agent), "runs", "Run an installed workflow") }, api::create_run);
    r.add(
        RouteDoc {
            query: &[
                ("workflow", "workflow id"),
                ("status", "run status"),
                ("started_by", "who started it, e.g. key:desk-bot"),
                ("limit", "at most this many (default 50)"),
            ],
            ..doc(
                "GET",
                "/api/v1/runs",
                Some(Viewer),
                "runs",
                "Run history, newest first",
            )
        },
        api::list_runs,
    );
    r.add(
        doc(
            "GET",
            "/api/v1/runs/{id}",
            Some(Viewer),
            "runs",
            "A run with its steps",
        ),
        api::get_run,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/runs/{id}/cancel",
            Some(Agent),
            "runs",
            "Cancel a run that has not finished",
        ),
        api::cancel_run,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/runs/{id}/approve",
            Some(Admin),
            "runs",
            "Approve a run waiting for approval, and run it (answers when it is over)",
        ),
        api::approve_run,
    );
    r.add(
        doc(
            "POST",
            "/api/v1/runs/{id}/deny",
            Some(Admin),
            "runs",
            "Deny a run waiting for approval",
        ),
        api::deny_run,
    );
    r.add(
        RouteDoc {
            query: &[
                ("action", "only this action, e.g. lumos.call or run.approve"),
                ("limit", "at most this many (default 100)"),
            ],
            ..doc(
                "GET",
                "/api/v1/audit",
                Some(Admin),
                "audit",
                "The audit trail, newest first",
            )
        },
        api::audit_events,
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
    r.add(RouteDoc { body: Some(json!({"type": "object", "required": ["operation"], "properties": {"operation": {"type": "string"},
        "params": {"type": "object"}, "body": {}, "connection": {"type": "string"}}})),
        ..doc("POST", "/api/v1/lumos/call", Some(Admin), "lumos", "Call any Lumos operation directly") }, api::call);
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
    r.add(
        doc("GET", "/", None, "console", "The web console"),
        console::index,
    );
    r.add(
        doc("GET", "/console/app.js", None, "console", "Console script"),
        console::script,
    );
    r.add(
        doc("GET", "/console/app.css", None, "console", "Console styles"),
        console::style,
    );
    r.add(RouteDoc { body: Some(json!({"type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}})),
        ..doc("POST", "/console/login", None, "console", "Sign in with an API key (sets an HttpOnly session cookie)") }, console::login);
    r.add(
        RouteDoc {
            success: 204,
            ..doc("POST", "/console/logout", None, "console", "Sign out")
        },
        console::logout,
    );
    r.add(
        doc("GET", "/console/me", None, "console", "Who is signed in"),
        console::me,
    );
    r
}
