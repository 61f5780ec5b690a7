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
