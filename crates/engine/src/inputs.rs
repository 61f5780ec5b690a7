//! Run inputs: checked and converted against the workflow's declared inputs before anything
//! is sent to Lumos.

use indexmap::IndexMap;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use crate::definition::{InputSpec, InputType};

/// One input value of the declared type, or a message naming what is wrong.
pub fn coerce(name: &str, spec: &InputSpec, v: &Value) -> Result<Value, String> {
    if v.as_str().is_some_and(|s| s.contains('\0')) {
        return Err(format!("input '{name}' contains a NUL character"));
    }
    let text = v.as_str().map(str::trim);
    let wrong = |what: &str| format!("input '{name}' must be {what}, got {v}");
    let out = match spec.kind {
        InputType::Text | InputType::Textarea => match v {
            Value::String(s) => Value::String(s.clone()),
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(b.to_string()),
            _ => return Err(wrong("text")),
        },
        InputType::Integer => {
            let n = match (v, text) {
                (Value::Number(n), _) => n.as_i64().ok_or_else(|| wrong("a whole number"))?,
                (_, Some(t)) => t.parse::<i64>().map_err(|_| wrong("a whole number"))?,
                _ => return Err(wrong("a whole number")),
            };
            bounds(name, spec, n as f64)?;
            Value::from(n)
        }
        InputType::Number => {
            let n = match (v, text) {
                (Value::Number(n), _) => n.as_f64().ok_or_else(|| wrong("a number"))?,
                (_, Some(t)) => t
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| wrong("a number"))?,
                _ => return Err(wrong("a number")),
            };
            bounds(name, spec, n)?;
            Value::from(n)
        }
        InputType::Boolean => match (v, text.map(str::to_ascii_lowercase).as_deref()) {
            (Value::Bool(b), _) => Value::Bool(*b),
            (_, Some("true" | "yes" | "1")) => Value::Bool(true),
            (_, Some("false" | "no" | "0")) => Value::Bool(false),
            _ => return Err(wrong("true or false")),
        },
        InputType::Date => match text {
            Some(t) if lumos_api::params::is_date_time(t) => Value::String(t.to_owned()),
            _ => return Err(wrong("a date like 2026-01-31 or 2026-01-31T09:00:00")),
        },
        InputType::Select => {
            let t = match v {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) => n.to_string(),
                _ => return Err(wrong("one of the listed options")),
            };
            let options = options(spec);
            if !options.iter().any(|o| o == &t) {
                let what = spec
                    .options_from
                    .as_deref()
                    .map_or_else(|| "an option".to_owned(), |e| format!("a Lumos {e} value"));
                return Err(format!(
                    "input '{name}': '{t}' is not {what} (valid: {})",
                    options.join(", ")
                ));
            }
            Value::String(t)
        }
    };
    Ok(out)
}

fn bounds(name: &str, spec: &InputSpec, n: f64) -> Result<(), String> {
    if let Some(min) = spec.min
        && n < min
    {
        return Err(format!("input '{name}' must be at least {min}, got {n}"));
    }
    if let Some(max) = spec.max
        && n > max
    {
        return Err(format!("input '{name}' must be at most {max}, got {n}"));
    }
    Ok(())
}

/// The allowed values of a select input.
pub fn options(spec: &InputSpec) -> Vec<String> {
    spec.options
        .clone()
        .or_else(|| {
            spec.options_from
                .as_deref()
                .and_then(|e| lumos_api::Catalog::lumos().enum_values(e))
        })
        .unwrap_or_default()
}

/// Check all given inputs; fill defaults; every declared input is present (null when absent
/// and optional). All problems are reported together.
pub fn resolve(
    declared: &IndexMap<String, Spanned<InputSpec>>,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<String>> {
    let mut problems = Vec::new();
    for k in given.keys() {
        if !declared.contains_key(k) {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            problems.push(format!(
                "unknown input '{k}' (inputs: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ));
        }
    }
    let mut out = Map::new();
    for (name, spec) in declared {
        let spec = &spec.value;
        let value = match given
            .get(name)
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
        {
            Some(v) => match coerce(name, spec, v) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            },
            None if spec.required => {
                problems.push(format!("missing required input '{name}'"));
                continue;
            }
            None => spec.default.clone().unwrap_or(Value::Null),
        };
        out.insert(name.clone(), value);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
