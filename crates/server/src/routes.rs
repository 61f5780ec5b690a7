//! The route table: each route's method, path, required role and description. The router,
//! the role checks and the OpenAPI document are all built from it, so they cannot disagree.

use std::collections::BTreeMap;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};
use serde_json::{Value, json};

use engine::Role;

#[derive(Debug, Clone)]
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    /// `None`: open to anyone.
    pub role: Option<Role>,
    pub tag: &'static str,
    pub summary: &'static str,
    pub query: &'static [(&'static str, &'static str)],
    pub body: Option<Value>,
    pub success: u16,
}

/// Routes of a router whose handlers share state `S`.
pub struct Routes<S> {
    pub docs: Vec<RouteDoc>,
    by_path: BTreeMap<&'static str, MethodRouter<S>>,
}

fn filter(method: &str) -> MethodFilter {
    match method {
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        "PATCH" => MethodFilter::PATCH,
        _ => MethodFilter::GET,
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self {
            docs: Vec::new(),
            by_path: BTreeMap::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn add<H, T>(&mut self, doc: RouteDoc, handler: H)
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let mr = self.by_path.remove(doc.path).unwrap_or_default();
        self.by_path
            .insert(doc.path, mr.on(filter(doc.method), handler));
        self.docs.push(doc);
    }

    pub fn router(self) -> (Router<S>, Vec<RouteDoc>) {
        let mut router = Router::new();
        for (path, mr) in self.by_path {
            router = router.route(path, mr);
        }
        (router, self.docs)
    }
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self::new()
    }
}

/// The required role of a matched route.
pub fn required_role(docs: &[RouteDoc], method: &str, path: &str) -> Option<Option<Role>> {
    docs.iter()
        .find(|d| d.method == method && d.path == path)
        .map(|d| d.role)
}

/// An OpenAPI 3.1 document for the route table.
pub fn openapi(docs: &[RouteDoc]) -> Value {
    let mut paths = serde_json::Map::new();
    for d in docs {
        let mut op = json!({
            "summary": d.summary,
            "tags": [d.tag],
            "responses": {
                d.success.to_string(): {"description": "Success", "content": {"application/json": {}}},
                "400": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "422": {"$ref": "#/components/responses/Error"},
            },
        });
        let mut params: Vec<Value> = d
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        params.extend(d.query.iter().map(|(name, desc)| json!({"name": name, "in": "query", "required": false, "description": desc, "schema": {"type": "string"}})));
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if let Some(body) = &d.body {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": body}}});
        }
        match d.role {
            Some(role) => {
                op["security"] = json!([{"apiKey": []}]);
                op["description"] =
                    json!(format!("Requires an API key with role `{role}` or higher."));
                op["responses"]["401"] = json!({"$ref": "#/components/responses/Error"});
                op["responses"]["403"] = json!({"$ref": "#/components/responses/Error"});
            }
            None => op["security"] = json!([]),
        }
        let entry = paths.entry(d.path.to_owned()).or_insert_with(|| json!({}));
        entry[d.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "lumosflow API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Run Lumos access workflows: connections, workflows, runs, direct Lumos calls."},
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "An API key from `lumosflow keys create` (lfk_…)."}},
            "responses": {"Error": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": {"Error": {
                "type": "object", "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}
            }},
        },
    })
}
