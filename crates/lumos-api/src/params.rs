//! Validating an operation's parameters against the catalog before anything is sent, and
//! turning them into a concrete path and query string.
//!
//! Values may arrive as JSON of the right type or as text (from a command line or a
//! template); text is converted to the declared type. `null` means "not given".

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::{Location, Operation, Param, ParamKind};

/// Characters left as they are in a path segment (RFC 3986 unreserved).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What is wrong with one parameter. `kind` mirrors the codes FastAPI uses in its 422s.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamProblem {
    pub param: String,
    pub location: &'static str,
    pub kind: ProblemKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    Unknown,
    Missing,
    WrongType,
    TooSmall,
    TooLarge,
    NotInEnum,
}

impl fmt::Display for ParamProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A request ready to send: the concrete path and the encoded query pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRequest {
    pub path: String,
    pub query: Vec<(String, String)>,
}

impl PreparedRequest {
    /// `path?k=v&k=w`, percent-encoded, arrays as repeated keys.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let q: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
            .collect();
        format!("{}?{}", self.path, q.join("&"))
    }
}

fn encode_query(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// Check `params` against `op` and build the request. Every problem is reported at once.
pub fn prepare(
    op: &Operation,
    params: &Map<String, Value>,
) -> Result<PreparedRequest, Vec<ParamProblem>> {
    let mut problems = Vec::new();
    for name in params.keys() {
        if op.param(name).is_none() {
            let valid: Vec<&str> = op.params.iter().map(|p| p.name.as_str()).collect();
            let valid = if valid.is_empty() {
                "none".to_owned()
            } else {
                valid.join(", ")
            };
            problems.push(ParamProblem {
                param: name.clone(),
                location: "query",
                kind: ProblemKind::Unknown,
                message: format!(
                    "unknown parameter '{name}' for {} (valid: {valid})",
                    op.name()
                ),
            });
        }
    }

    let mut path = op.path.clone();
    let mut query = Vec::new();
    for p in &op.params {
        let given = params.get(&p.name).filter(|v| !v.is_null());
        let Some(value) = given else {
            if p.required {
                problems.push(problem(
                    p,
                    ProblemKind::Missing,
                    format!("missing required parameter '{}'", p.name),
                ));
            }
            continue;
        };
        let values: Vec<&Value> = match (p.array, value) {
            (true, Value::Array(items)) => items.iter().collect(),
            (false, Value::Array(_)) => {
                problems.push(problem(
                    p,
                    ProblemKind::WrongType,
                    format!("'{}' takes one value, not a list", p.name),
                ));
                continue;
            }
            _ => vec![value],
        };
        for v in values {
            match check_value(p, v) {
                Ok(text) => match p.location {
                    Location::Path => {
                        if text.is_empty() {
                            problems.push(problem(
                                p,
                                ProblemKind::Missing,
                                format!("'{}' must not be empty", p.name),
                            ));
                        } else if text.chars().all(|c| c == '.') {
                            // URL libraries collapse `.` and `..` segments (encoded or not),
                            // which would aim the request at another resource entirely.
                            problems.push(problem(
                                p,
                                ProblemKind::WrongType,
                                format!("'{}' cannot be '{text}': a path parameter made only of dots would address another resource", p.name),
                            ));
                        }
                        let encoded = utf8_percent_encode(&text, PATH_SEGMENT).to_string();
                        path = path.replace(&format!("{{{}}}", p.name), &encoded);
                    }
                    Location::Query => query.push((p.name.clone(), text)),
                },
                Err(pr) => problems.push(pr),
            }
        }
    }
    if problems.is_empty() {
        Ok(PreparedRequest { path, query })
    } else {
        Err(problems)
    }
}

fn problem(p: &Param, kind: ProblemKind, message: String) -> ParamProblem {
    ParamProblem {
        param: p.name.clone(),
        location: p.location.as_str(),
        kind,
        message,
    }
}

/// Check one scalar value and return its wire text.
pub fn check_value(p: &Param, v: &Value) -> Result<String, ParamProblem> {
    let wrong = |what: &str| {
        problem(
            p,
            ProblemKind::WrongType,
            format!("'{}' must be {what}, got {}", p.name, short(v)),
        )
    };
    let text = match p.kind {
        ParamKind::Integer => {
            let n = match v {
                Value::Number(n) => n.as_i64().ok_or_else(|| wrong("an integer"))?,
                Value::String(s) => s.trim().parse::<i64>().map_err(|_| wrong("an integer"))?,
                _ => return Err(wrong("an integer")),
            };
            check_bounds(p, n as f64)?;
            n.to_string()
        }
        ParamKind::Number => {
            let n = match v {
                Value::Number(n) => n.as_f64().ok_or_else(|| wrong("a number"))?,
                Value::String(s) => s.trim().parse::<f64>().map_err(|_| wrong("a number"))?,
                _ => return Err(wrong("a number")),
            };
            check_bounds(p, n)?;
            n.to_string()
        }
        ParamKind::Boolean => match v {
            Value::Bool(b) => b.to_string(),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => "true".to_owned(),
                "false" | "0" | "no" => "false".to_owned(),
                _ => return Err(wrong("true or false")),
            },
            _ => return Err(wrong("true or false")),
        },
        ParamKind::String => match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(wrong("text")),
        },
    };
    if let Some(values) = &p.values
        && !values.iter().any(|allowed| allowed == &text)
    {
        let enum_name = p.enum_name.as_deref().unwrap_or("value");
        return Err(problem(
            p,
            ProblemKind::NotInEnum,
            format!(
                "'{}' is not a valid {enum_name} for '{}' (valid: {})",
                text,
                p.name,
                values.join(", ")
            ),
        ));
    }
    if p.format.as_deref() == Some("date-time") && !is_date_time(&text) {
        return Err(wrong("a date-time like 2026-01-31T09:00:00"));
    }
    Ok(text)
}

fn check_bounds(p: &Param, n: f64) -> Result<(), ParamProblem> {
    if let Some(min) = p.minimum
        && n < min
    {
        return Err(problem(
            p,
            ProblemKind::TooSmall,
            format!("'{}' must be at least {min}, got {n}", p.name),
        ));
    }
    if let Some(max) = p.maximum
        && n > max
    {
        return Err(problem(
            p,
            ProblemKind::TooLarge,
            format!("'{}' must be at most {max}, got {n}", p.name),
        ));
    }
    Ok(())
}

/// RFC 3339 with or without offset or fraction, or a plain date (pydantic accepts both).
pub fn is_date_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Catalog;

    fn op(name: &str) -> &'static Operation {
        Catalog::lumos().get(name).expect("known op")
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn arrays_become_repeated_keys_and_text_is_coerced() {
        let req = prepare(
            op("getAccounts"),
            &map(json!({"status": ["ACTIVE", "SUSPENDED"], "size": "10", "app_id": null})),
        )
        .expect("valid");
        assert_eq!(
            req.path_and_query(),
            "/accounts?status=ACTIVE&status=SUSPENDED&size=10"
        );
    }

    #[test]
    fn dot_segments_are_refused_before_sending() {
        for bad in ["..", ".", "..."] {
            let problems = prepare(op("getApp"), &map(json!({"app_id": bad}))).expect_err(bad);
            assert!(problems[0].message.contains("only of dots"), "{problems:?}");
        }
        assert!(prepare(op("getApp"), &map(json!({"app_id": "a.b"}))).is_ok());
        assert!(prepare(op("getApp"), &map(json!({"app_id": "..a"}))).is_ok());
    }

    #[test]
    fn path_params_are_percent_encoded() {
        let req = prepare(op("getApp"), &map(json!({"app_id": "a/b c?"}))).expect("valid");
        assert_eq!(req.path, "/apps/a%2Fb%20c%3F");
    }

    #[test]
    fn reports_every_problem_at_once() {
        let errs = prepare(
            op("getAccounts"),
            &map(json!({"status": "DEACTIVATED", "size": 500, "page": "x", "bogus": 1})),
        )
        .expect_err("invalid");
        let kinds: Vec<ProblemKind> = errs.iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&ProblemKind::Unknown));
        assert!(kinds.contains(&ProblemKind::NotInEnum));
        assert!(kinds.contains(&ProblemKind::TooLarge));
        assert!(kinds.contains(&ProblemKind::WrongType));
        let enum_msg = errs
            .iter()
            .find(|e| e.kind == ProblemKind::NotInEnum)
            .map(|e| e.message.clone());
        assert!(enum_msg.unwrap_or_default().contains("ACTIVE, ARCHIVED"));
        let unknown = errs
            .iter()
            .find(|e| e.kind == ProblemKind::Unknown)
            .map(|e| e.message.clone());
        assert!(unknown.unwrap_or_default().contains("valid: app_id"));
    }

    #[test]
    fn missing_required_and_bounds() {
        let errs = prepare(op("getApp"), &Map::new()).expect_err("missing");
        assert_eq!(errs[0].kind, ProblemKind::Missing);
        let errs = prepare(op("listUsers"), &map(json!({"page": 0}))).expect_err("too small");
        assert_eq!(errs[0].kind, ProblemKind::TooSmall);
        let errs =
            prepare(op("getActivityLogs"), &map(json!({"since": "yesterday"}))).expect_err("date");
        assert_eq!(errs[0].kind, ProblemKind::WrongType);
        let errs =
            prepare(op("listUsers"), &map(json!({"exact_match": "maybe"}))).expect_err("bool");
        assert_eq!(errs[0].kind, ProblemKind::WrongType);
    }
}
