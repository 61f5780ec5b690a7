//! The operation catalog: every operation of the Lumos API with its parameter rules.
//!
//! The data lives in `catalog/operations.json`, produced by `tools/gen_catalog.py` from the
//! official OpenAPI document (structure only, no description texts) and embedded at build time.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

const CATALOG_JSON: &str = include_str!("../catalog/operations.json");

/// How a list operation pages its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pagination {
    /// `page`/`size` with `{items,total,page,size,pages}`.
    Page,
    /// `limit`/`offset` with `{items,total,limit,offset,links}`.
    LimitOffset,
    /// An opaque cursor (`cursor`/`next_cursor` or `page_token`/`next_page_token`).
    Cursor,
    None,
}

impl Pagination {
    pub fn as_str(self) -> &'static str {
        match self {
            Pagination::Page => "page",
            Pagination::LimitOffset => "limit_offset",
            Pagination::Cursor => "cursor",
            Pagination::None => "none",
        }
    }
}

/// The scalar type of a parameter (or of its items when it is an array).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    String,
    Integer,
    Number,
    Boolean,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    Path,
    Query,
}

impl Location {
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub kind: ParamKind,
    pub array: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The spec's enum schema name, e.g. `AccountLifecycleStatus`.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub enum_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Body {
    /// The request schema's name in the spec, when it has one.
    pub schema: Option<String>,
    pub content_types: Vec<String>,
    pub required: bool,
}

/// What a success answer's body must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// A JSON object holding a list under `items_key` (pages and cursor results).
    Listing,
    Object,
    Array,
    /// Any JSON (the spec declares no schema).
    Any,
    /// No content (204).
    Empty,
    /// `text/plain`.
    Text,
}

/// The success response an operation promises.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponseSpec {
    pub content_type: Option<String>,
    /// The response schema's name in the spec, when it has one (`[X]` for a list of `X`).
    pub schema: Option<String>,
    pub shape: Shape,
    /// Where a listing keeps its items: `items`, `identity_events`, `knowledge_context`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_key: Option<String>,
    /// The schema of one item of a listing or array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

impl ResponseSpec {
    /// What the body should be, in words: "a page of users", "a JSON object (App)".
    pub fn describe(&self) -> String {
        let things = || {
            self.item
                .as_deref()
                .map_or_else(|| "items".to_owned(), plural_noun)
        };
        match self.shape {
            Shape::Listing => format!("a page of {}", things()),
            Shape::Array => format!("a JSON list of {}", things()),
            Shape::Object => match &self.schema {
                Some(s) => format!("a JSON object ({s})"),
                None => "a JSON object".to_owned(),
            },
            Shape::Any => "JSON".to_owned(),
            Shape::Empty => "no content".to_owned(),
            Shape::Text => "plain text".to_owned(),
        }
    }
}

/// `UserWithCustomAttributes` → `users`, `RequestablePermissionOutput` → `requestable
/// permissions`: schema names as people say them.
fn plural_noun(schema: &str) -> String {
    let base = schema
        .trim_end_matches("WithCustomAttributes")
        .trim_end_matches("Output");
    let mut words = String::new();
    for (i, ch) in base.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(ch.to_ascii_lowercase());
    }
    if words.ends_with('s') {
        words
    } else {
        words + "s"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operation {
    /// The spec's own operation id.
    pub operation_id: String,
    /// A short camelCase name where the spec's id is generated or not an identifier.
    pub alias: Option<String>,
    pub method: String,
    /// Path template, e.g. `/apps/{app_id}`.
    pub path: String,
    pub tag: String,
    /// Whether the operation needs the bearer token.
    pub auth: bool,
    pub success_status: u16,
    pub pagination: Pagination,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    /// What a success answer looks like.
    pub response: ResponseSpec,
}

impl Operation {
    /// The name users should type: the alias when there is one, else the spec's id.
    pub fn name(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.operation_id)
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// GET, PUT and DELETE may be repeated safely; POST and PATCH may not.
    pub fn is_idempotent(&self) -> bool {
        matches!(self.method.as_str(), "GET" | "PUT" | "DELETE" | "HEAD")
    }

    /// Whether the operation changes state in Lumos.
    pub fn is_mutating(&self) -> bool {
        self.method != "GET"
    }
}

/// All operations, looked up by the spec's id or by alias.
#[derive(Debug)]
pub struct Catalog {
    operations: Vec<Operation>,
    index: HashMap<String, usize>,
}

impl Catalog {
    /// The embedded catalog of the official API.
    pub fn lumos() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            // The file is generated and embedded at build time; the unit test below proves
            // it parses, so a failure here is a build defect, not an input error.
            #[allow(clippy::expect_used)]
            let operations: Vec<Operation> =
                serde_json::from_str(CATALOG_JSON).expect("embedded catalog is valid JSON");
            Catalog::new(operations)
        })
    }

    pub fn new(operations: Vec<Operation>) -> Self {
        let mut index = HashMap::new();
        for (i, op) in operations.iter().enumerate() {
            index.insert(op.operation_id.clone(), i);
            if let Some(alias) = &op.alias {
                index.insert(alias.clone(), i);
            }
        }
        Self { operations, index }
    }

    pub fn get(&self, name: &str) -> Option<&Operation> {
        self.index.get(name).map(|&i| &self.operations[i])
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// The values of a named enum of the spec (`AccountLifecycleStatus`), as parameters use
    /// them.
    pub fn enum_values(&self, name: &str) -> Option<Vec<String>> {
        self.operations
            .iter()
            .flat_map(|op| op.params.iter())
            .find(|p| p.enum_name.as_deref() == Some(name))
            .and_then(|p| p.values.clone())
    }

    /// Names close to `name`, for "did you mean" hints.
    pub fn suggest(&self, name: &str) -> Vec<&str> {
        let needle = name.to_ascii_lowercase();
        let mut hits: Vec<(usize, &str)> = self
            .operations
            .iter()
            .map(|op| op.name())
            .map(|n| (strsim::levenshtein(&needle, &n.to_ascii_lowercase()), n))
            .filter(|(d, n)| *d <= 3 || n.to_ascii_lowercase().contains(&needle))
            .collect();
        hits.sort();
        hits.into_iter().take(3).map(|(_, n)| n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_has_every_operation() {
        let c = Catalog::lumos();
        assert_eq!(c.len(), 86);
        assert_eq!(c.get("listUsers").map(|o| o.path.as_str()), Some("/users"));
        let art = c.get("getLumosArt").expect("alias");
        assert_eq!(art.operation_id, "Lumos Art.");
        assert!(c.get("Lumos Art.").is_some());
    }

    #[test]
    fn every_name_is_an_identifier_and_unique() {
        let c = Catalog::lumos();
        let mut seen = std::collections::HashSet::new();
        for op in c.operations() {
            let n = op.name();
            assert!(n.chars().all(|ch| ch.is_ascii_alphanumeric()), "{n}");
            assert!(n.len() <= 40, "{n} is not short");
            assert!(seen.insert(n.to_owned()), "duplicate {n}");
        }
    }

    #[test]
    fn responses_say_what_they_hold() {
        let c = Catalog::lumos();
        let users = &c.get("listUsers").expect("op").response;
        assert_eq!(users.shape, Shape::Listing);
        assert_eq!(users.describe(), "a page of users");
        let perms = &c.get("listAppRequestablePermissions").expect("op").response;
        assert_eq!(perms.describe(), "a page of requestable permissions");
        let events = &c.get("getIdentityEvents").expect("op").response;
        assert_eq!(events.items_key.as_deref(), Some("identity_events"));
        assert_eq!(
            c.get("getAccounts").expect("op").response.item.as_deref(),
            Some("Account")
        );
        assert_eq!(c.get("getApp").expect("op").response.shape, Shape::Object);
        assert_eq!(
            c.get("getLumosArt").expect("op").response.shape,
            Shape::Text
        );
        assert_eq!(
            c.get("deleteAccessPolicy").expect("op").response.shape,
            Shape::Empty
        );
    }

    #[test]
    fn suggests_near_names() {
        assert_eq!(
            Catalog::lumos().suggest("listUser").first(),
            Some(&"listUsers")
        );
    }
}
