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
}

impl Schemas {
    pub fn lumos() -> &'static Schemas {
        static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
        SCHEMAS.get_or_init(|| {
            // Generated and embedded at build time; the unit test below proves it parses.
            #[allow(clippy::expect_used)]
            let by_name = serde_json::from_str(SCHEMAS_JSON).expect("embedded schemas are JSON");
            Schemas { by_name }
        })
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.by_name.get(name)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn embedded_schemas_parse_and_tell_fits_from_misfits() {
        let s = Schemas::lumos();
        assert!(s.required("Account").contains(&"unique_identifier"));
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
