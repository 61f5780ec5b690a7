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
            jsonschema::options()
                .should_validate_formats(true)
                .with_format("date-time", is_datetime)
                .with_format("date", is_date)
                .build(&Schemas::lumos().json_schema(name))
                .ok()
                .map(Arc::new)
        })
        .clone()
}

/// A date-time as pydantic reads one: RFC 3339 with or without an offset (naive times are
/// what Lumos writes itself), or a calendar date alone.
fn is_datetime(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        || is_date(s)
}

/// A date of the calendar: `YYYY-MM-DD`, no thirteenth month.
fn is_date(s: &str) -> bool {
    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
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
        ValidationErrorKind::Format { format } if format == "date" => (
            "date_from_datetime_parsing",
            "Input should be a valid date".to_owned(),
        ),
        ValidationErrorKind::Format { .. } => (
            "datetime_from_date_parsing",
            "Input should be a valid datetime".to_owned(),
        ),
        _ => ("value_error", "Input is not valid".to_owned()),
    }
}

/// Check `body` against `op`'s request schema; every problem at once.
pub fn check(op: &Operation, body: &Value) -> Result<(), SimError> {
    let Some(name) = op.body.as_ref().and_then(|b| b.schema.as_deref()) else {
        return Ok(());
    };
    check_as(name, body, &[])
}

/// Check `value` against schema `name`, its problems located under `at` in the body (for
/// a body whose schema is written inline, checked part by part by its handler).
pub fn check_as(name: &str, value: &Value, at: &[Value]) -> Result<(), SimError> {
    let body = value;
    let Some(v) = validator(name) else {
        return Ok(());
    };
    let problems: Vec<Value> = v
        .iter_errors(body)
        .map(|e| {
            let mut loc: Vec<Value> = vec![json!("body")];
            loc.extend(at.iter().cloned());
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
