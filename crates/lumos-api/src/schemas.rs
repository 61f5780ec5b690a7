//! The spec's schemas, structure only (`catalog/schemas.json`, generated with the
//! operation catalog): what fields an object has and which it must have.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

const SCHEMAS_JSON: &str = include_str!("../catalog/schemas.json");

/// Every named schema of the official API.
#[derive(Debug)]
pub struct Schemas {
    by_name: HashMap<String, Value>,
    /// The values of each enum schema, in the spec's order.
    enums: HashMap<String, Vec<String>>,
}

impl Schemas {
    pub fn lumos() -> &'static Schemas {
        static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
        SCHEMAS.get_or_init(|| {
            // Generated and embedded at build time; the unit test below proves it parses.
            #[allow(clippy::expect_used)]
            let by_name: HashMap<String, Value> =
                serde_json::from_str(SCHEMAS_JSON).expect("embedded schemas are JSON");
            let enums = by_name
                .iter()
                .filter_map(|(name, s)| {
                    let values = s.get("enum")?.as_array()?;
                    Some((
                        name.clone(),
                        values
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect(),
                    ))
                })
                .collect();
            Schemas { by_name, enums }
        })
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.by_name.get(name)
    }

    /// The values of an enum schema (`AccountLifecycleStatus`), in the spec's order; empty
    /// for a name that is no enum.
    pub fn enum_values(&self, name: &str) -> &[String] {
        self.enums.get(name).map_or(&[], Vec::as_slice)
    }

    /// A standalone JSON Schema for `name`: the schema by reference, with every schema of the
    /// spec under `$defs` (what a validator needs to follow references).
    pub fn json_schema(&self, name: &str) -> Value {
        static DEFS: OnceLock<Value> = OnceLock::new();
        let defs = DEFS.get_or_init(|| {
            Value::Object(
                self.by_name
                    .iter()
                    .map(|(k, v)| (k.clone(), standard(v)))
                    .collect(),
            )
        });
        serde_json::json!({"$ref": format!("#/$defs/{name}"), "$defs": defs})
    }

    /// The fields an object of this schema must have.
    pub fn required(&self, name: &str) -> Vec<&str> {
        self.get(name)
            .and_then(|s| s.get("required"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The fields an object of this schema may have (empty when the schema lists none).
    pub fn properties(&self, name: &str) -> Vec<&str> {
        self.get(name)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Why `v` cannot be an object of schema `name` (missing required fields, or none of
    /// its fields belongs to the schema), or `None` when it may be.
    pub fn misfit(&self, name: &str, v: &Value) -> Option<String> {
        let obj = v.as_object()?;
        let missing: Vec<&str> = self
            .required(name)
            .into_iter()
            .filter(|f| !obj.contains_key(*f))
            .collect();
        if !missing.is_empty() {
            return Some(format!("without the required {}", missing.join(", ")));
        }
        let known = self.properties(name);
        if !obj.is_empty() && !known.is_empty() && !obj.keys().any(|k| known.contains(&k.as_str()))
        {
            return Some(format!("with none of the fields of {name}"));
        }
        None
    }
}

impl Schemas {
    /// A self-contained, lenient JSON Schema for an object of schema `name`: its fields and
    /// their types, nested objects to `depth` levels (deeper ones are any JSON), enums as
    /// text naming their values (Lumos may add values), no required fields (an answer is
    /// described, not judged), other fields allowed. Only `fields` when given. For tools'
    /// output schemas, where a whole `$defs` of the spec per tool would be far too big.
    pub fn inline(&self, name: &str, fields: Option<&[String]>, depth: usize) -> Value {
        let Some(schema) = self.get(name) else {
            return serde_json::json!({});
        };
        if let Some(values) = self.enums.get(name) {
            return serde_json::json!({"type": "string", "description": format!("one of {}", values.join(", "))});
        }
        let mut out = serde_json::Map::new();
        out.insert("type".into(), "object".into());
        if let Some(d) = schema.get("description") {
            out.insert("description".into(), d.clone());
        }
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .filter(|(k, _)| fields.is_none_or(|f| f.iter().any(|x| x == *k)))
                    .map(|(k, v)| (k.clone(), self.resolved(v, depth)))
                    .collect::<serde_json::Map<_, _>>()
            })
            .unwrap_or_default();
        out.insert("properties".into(), Value::Object(props));
        Value::Object(out)
    }

    /// A property's schema with its references replaced by what they name.
    fn resolved(&self, schema: &Value, depth: usize) -> Value {
        match schema {
            Value::Object(m) => {
                if let Some(Value::String(name)) = m.get("ref") {
                    if self.enums.contains_key(name) {
                        return self.inline(name, None, 0);
                    }
                    return if depth == 0 {
                        serde_json::json!({})
                    } else {
                        self.inline(name, None, depth - 1)
                    };
                }
                Value::Object(
                    m.iter()
                        .filter(|(k, _)| k.as_str() != "required")
                        .map(|(k, v)| match k.as_str() {
                            "properties" => (
                                k.clone(),
                                Value::Object(
                                    v.as_object()
                                        .into_iter()
                                        .flatten()
                                        .map(|(p, s)| (p.clone(), self.resolved(s, depth)))
                                        .collect(),
                                ),
                            ),
                            _ => (k.clone(), self.resolved(v, depth)),
                        })
                        .collect(),
                )
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| self.resolved(i, depth)).collect())
            }
            other => other.clone(),
        }
    }
}

/// A stored schema as standard JSON Schema: its `ref` keywords back to `$ref`.
fn standard(schema: &Value) -> Value {
    match schema {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("ref", Value::String(name)) => {
                        ("$ref".to_owned(), Value::String(format!("#/$defs/{name}")))
                    }
                    ("properties", Value::Object(props)) => (
                        k.clone(),
                        Value::Object(
                            props
                                .iter()
                                .map(|(p, s)| (p.clone(), standard(s)))
                                .collect(),
                        ),
                    ),
                    _ => (k.clone(), standard(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(standard).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn inline_schemas_describe_fields_without_references() {
        let s = Schemas::lumos();
        let account = s.inline("Account", None, 1);
        let text = account.to_string();
        assert!(
            !text.contains("\"ref\"") && !text.contains("$ref"),
            "{text}"
        );
        assert_eq!(account["properties"]["id"], json!({"type": "string"}));
        // An enum is text naming its values; a nested app is described one level down.
        assert!(
            account["properties"]["status"]["anyOf"][0]["description"]
                .as_str()
                .is_some_and(|d| d.contains("SUSPENDED")),
            "{text}"
        );
        assert_eq!(account["properties"]["app"]["anyOf"][0]["type"], "object");
        let only = s.inline("Account", Some(&["id".to_owned(), "email".to_owned()]), 1);
        assert_eq!(
            only["properties"].as_object().map(|m| m.len()),
            Some(2),
            "{only}"
        );
    }

    #[test]
    fn embedded_schemas_parse_and_tell_fits_from_misfits() {
        let s = Schemas::lumos();
        assert!(s.required("Account").contains(&"unique_identifier"));
        assert_eq!(
            s.enum_values("FlowState"),
            ["SUCCESS", "FAILURE", "RUNNING", "NOT_STARTED"]
        );
        assert!(s.enum_values("Account").is_empty());
        assert_eq!(s.misfit("User", &json!({"id": "1", "email": "a@b"})), None);
        assert_eq!(
            s.misfit("User", &json!({"email": "a@b"})).as_deref(),
            Some("without the required id")
        );
        assert_eq!(
            s.misfit("Group", &json!({"data": [], "message": "ok"}))
                .as_deref(),
            Some("with none of the fields of Group")
        );
    }
}
