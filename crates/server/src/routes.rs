//! The route table: each route's method, path, required role and description. The router,
//! the role checks and the OpenAPI document are all built from it, so they cannot disagree.

use std::collections::BTreeMap;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};
use engine::Role;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Value, json};

/// The schema of a type, generated from the type itself: the document cannot drift from
/// the code that parses requests and writes answers.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

pub fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

#[derive(Debug, Clone)]
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    /// `None`: open to anyone.
    pub role: Option<Role>,
    pub tag: &'static str,
    pub summary: &'static str,
    /// The query parameters, as the fields of a type.
    pub query: Option<SchemaFn>,
    pub body: Option<SchemaFn>,
    pub response: Option<SchemaFn>,
    /// Media types of a response that is not JSON data (a download).
    pub produces: Option<&'static [&'static str]>,
    pub success: u16,
}

impl RouteDoc {
    pub fn new(
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
            query: None,
            body: None,
            response: None,
            produces: None,
            success: 200,
        }
    }
    pub fn query(mut self, f: SchemaFn) -> Self {
        self.query = Some(f);
        self
    }
    pub fn body(mut self, f: SchemaFn) -> Self {
        self.body = Some(f);
        self
    }
    pub fn response(mut self, f: SchemaFn) -> Self {
        self.response = Some(f);
        self
    }
    pub fn produces(mut self, media: &'static [&'static str]) -> Self {
        self.produces = Some(media);
        self
    }
    pub fn status(mut self, code: u16) -> Self {
        self.success = code;
        self
    }
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

/// The query parameters of a route, from the properties of its query type.
fn query_params(g: &mut SchemaGenerator, f: SchemaFn) -> Vec<Value> {
    let schema = f(g).to_value();
    // A query type is referenced; its properties are in the definitions.
    let resolved = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .and_then(|name| g.definitions().get(name).cloned())
        .unwrap_or(schema);
    let required: Vec<&str> = resolved
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    resolved
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, p)| {
                    let mut param = json!({"name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": p});
                    if let Some(d) = p.get("description") {
                        param["description"] = d.clone();
                    }
                    param
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An OpenAPI 3.1 document for the route table, with request and response schemas
/// generated from the types the handlers use.
pub fn openapi(docs: &[RouteDoc]) -> Value {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.definitions_path = "#/components/schemas/".into();
    let mut g = settings.into_generator();
    let mut paths = serde_json::Map::new();
    for d in docs {
        let success = match (d.response, d.produces) {
            (Some(f), _) => {
                json!({"description": "Success", "content": {"application/json": {"schema": f(&mut g).to_value()}}})
            }
            (None, Some(media)) => {
                let content: serde_json::Map<String, Value> = media
                    .iter()
                    .map(|m| ((*m).to_owned(), json!({"schema": {"type": "string"}})))
                    .collect();
                json!({"description": "Success", "content": content})
            }
            (None, None) => json!({"description": "Success", "content": {"application/json": {}}}),
        };
        let mut op = json!({
            "summary": d.summary,
            "tags": [d.tag],
            "responses": {
                d.success.to_string(): success,
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
        if let Some(q) = d.query {
            params.extend(query_params(&mut g, q));
        }
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if let Some(body) = d.body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": body(&mut g).to_value()}}});
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
    let mut schemas = g.take_definitions(true);
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "lumosflow API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Run Lumos access workflows: connections, workflows, runs, approvals, the audit trail, direct Lumos calls."},
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "An API key from `lumosflow keys create` (lfk_…)."}},
            "responses": {"Error": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": schemas,
        },
    })
}
