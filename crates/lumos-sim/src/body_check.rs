//! Request bodies checked against their operation's schema before a handler sees them, the
//! way FastAPI does: a 422 with one entry per problem, `loc` from the body's root, the
//! pydantic error type where one fits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::Validator;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use lumos_api::{Operation, Schemas};
use serde_json::{Value, json};

use crate::wire::SimError;

fn validator(name: &str) -> Option<Arc<Validator>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Validator>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(name.to_owned())
        .or_insert_with(|| {
            Schemas::lumos().get(name)?;
            jsonschema::validator_for(&Schemas::lumos().json_schema(name))
                .ok()
                .map(Arc::new)
        })
        .clone()
}

fn pydantic_type(kind: &ValidationErrorKind) -> (&'static str, String) {
    match kind {
        ValidationErrorKind::Required { .. } => ("missing", "Field required".to_owned()),
        ValidationErrorKind::Type { kind } => {
            let t = match kind {
                TypeKind::Single(t) => format!("{t:?}").to_ascii_lowercase(),
                TypeKind::Multiple(_) => "value".to_owned(),
            };
            let (code, what) = match t.as_str() {
                "string" => ("string_type", "a valid string"),
                "integer" => ("int_type", "a valid integer"),
                "number" => ("float_type", "a valid number"),
                "boolean" => ("bool_type", "a valid boolean"),
                "array" => ("list_type", "a valid list"),
                "object" => ("dict_type", "a valid dictionary"),
                _ => ("type_error", "of the right type"),
            };
            (code, format!("Input should be {what}"))
        }
        ValidationErrorKind::Enum { .. } => (
            "enum",
            "Input should be one of the allowed values".to_owned(),
        ),
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => (
            "union_type",
            "Input should match one of the allowed shapes".to_owned(),
        ),
        _ => ("value_error", "Input is not valid".to_owned()),
    }
}

/// Check `body` against `op`'s request schema; every problem at once.
pub fn check(op: &Operation, body: &Value) -> Result<(), SimError> {
    let Some(name) = op.body.as_ref().and_then(|b| b.schema.as_deref()) else {
        return Ok(());
    };
    let Some(v) = validator(name) else {
        return Ok(());
    };
    let problems: Vec<Value> = v
        .iter_errors(body)
        .map(|e| {
            let mut loc: Vec<Value> = vec![json!("body")];
            loc.extend(e.instance_path().into_iter().map(|seg| match seg {
                jsonschema::paths::LocationSegment::Property(p) => json!(p),
                jsonschema::paths::LocationSegment::Index(i) => json!(i),
            }));
            if let ValidationErrorKind::Required { property } = e.kind() {
                loc.push(property.clone());
            }
            let (kind, msg) = pydantic_type(e.kind());
            json!({"loc": loc, "msg": msg, "type": kind})
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SimError::Validation(problems))
    }
}
