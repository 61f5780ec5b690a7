//! HTTP conventions of the Lumos API as FastAPI produces them: typed query parameters with
//! pydantic-style 422s, `{"detail": "..."}` errors, and the Knowledge API's `ApiError`.

use lumos_api::catalog::{Location, Operation, ParamKind};
use lumos_api::params::{ParamProblem, ProblemKind, check_value};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// An answer that is not a success.
#[derive(Debug)]
pub enum SimError {
    /// `{"detail": "..."}` with this status.
    Status(u16, String),
    /// 422 with a list of pydantic-style field errors.
    Validation(Vec<Value>),
    /// 429 with `Retry-After` seconds, e.g. while an app sync runs.
    Busy(u64, String),
    /// The Knowledge API's envelope: status, type, code, detail.
    Api(u16, &'static str, &'static str, String),
}

impl SimError {
    pub fn not_found(what: &str) -> Self {
        SimError::Status(404, format!("{what} not found"))
    }
    pub fn forbidden(why: &str) -> Self {
        SimError::Status(403, why.to_owned())
    }
    pub fn conflict(why: impl Into<String>) -> Self {
        SimError::Status(409, why.into())
    }
    pub fn body_field(field: &str, msg: &str, kind: &str) -> Self {
        SimError::Validation(vec![
            json!({"loc": ["body", field], "msg": msg, "type": kind}),
        ])
    }
    /// A reference inside a body (an approver, a webhook, a permission, a review's app) that
    /// names nothing in the domain: 400, whichever field holds it, as Lumos answers an
    /// unknown `app_class_id`. The id a call acts on (its path's, or a create's `app_id`) is
    /// 404 instead, like any id unknown in the domain.
    pub fn unknown_in_body(field: &str, what: &str, id: &str) -> Self {
        SimError::Status(400, format!("Unknown {what} '{id}' in {field}"))
    }
    pub fn missing_body_field(field: &str) -> Self {
        Self::body_field(field, "Field required", "missing")
    }

    pub fn status(&self) -> u16 {
        match self {
            SimError::Status(s, _) | SimError::Api(s, ..) => *s,
            SimError::Validation(_) => 422,
            SimError::Busy(..) => 429,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            SimError::Status(_, d) | SimError::Busy(_, d) => json!({"detail": d}),
            SimError::Validation(errs) => json!({"detail": errs}),
            SimError::Api(_, kind, code, d) => {
                json!({"detail": d, "type": kind, "code": code, "errors": []})
            }
        }
    }
}

pub enum Reply {
    Json(u16, Vec<u8>),
    Empty(u16),
    Text(String),
}

pub fn json<T: Serialize + ?Sized>(status: u16, v: &T) -> Reply {
    Reply::Json(
        status,
        serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec()),
    )
}

pub type Result<T> = std::result::Result<T, SimError>;

/// Query parameters, checked and typed against the operation's declared parameters.
#[derive(Debug, Default)]
pub struct Query {
    values: Map<String, Value>,
}

impl Query {
    pub fn str(&self, k: &str) -> Option<&str> {
        self.values.get(k).and_then(Value::as_str)
    }
    pub fn bool(&self, k: &str) -> Option<bool> {
        self.values.get(k).and_then(Value::as_bool)
    }
    pub fn int(&self, k: &str) -> Option<i64> {
        self.values.get(k).and_then(Value::as_i64)
    }
    pub fn list(&self, k: &str) -> Vec<&str> {
        match self.values.get(k) {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
    pub fn has(&self, k: &str, v: &str) -> bool {
        self.list(k).contains(&v)
    }
    /// `(page, size)` with the API's defaults.
    pub fn page(&self) -> (usize, usize) {
        (
            self.int("page").unwrap_or(1).max(1) as usize,
            self.int("size").unwrap_or(50).clamp(1, 100) as usize,
        )
    }
}

/// Parse and validate the raw query string. Unknown parameters are ignored, as FastAPI does.
pub fn parse_query(op: &Operation, raw: Option<&str>) -> Result<Query> {
    let mut given: Vec<(String, String)> = Vec::new();
    if let Some(raw) = raw {
        given.extend(
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    let mut values = Map::new();
    let mut problems = Vec::new();
    for p in op.params.iter().filter(|p| p.location == Location::Query) {
        let raws: Vec<&String> = given
            .iter()
            .filter(|(k, _)| k == &p.name)
            .map(|(_, v)| v)
            .collect();
        if raws.is_empty() {
            if p.required {
                problems.push(problem_json(
                    p.kind,
                    &ParamProblem {
                        param: p.name.clone(),
                        location: "query",
                        kind: ProblemKind::Missing,
                        message: String::new(),
                    },
                    p,
                    None,
                ));
            } else if let Some(d) = &p.default {
                values.insert(p.name.clone(), d.clone());
            }
            continue;
        }
        // A scalar parameter given twice takes the last value.
        let raws = if p.array {
            raws
        } else {
            raws[raws.len() - 1..].to_vec()
        };
        let mut typed = Vec::new();
        for (i, raw) in raws.iter().enumerate() {
            match check_value(p, &Value::String((*raw).clone())) {
                Ok(text) => typed.push(match p.kind {
                    ParamKind::Integer => {
                        text.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
                    }
                    ParamKind::Number => {
                        text.parse::<f64>().map(Value::from).unwrap_or(Value::Null)
                    }
                    ParamKind::Boolean => Value::Bool(text == "true"),
                    ParamKind::String => Value::String(text),
                }),
                Err(pr) => problems.push(problem_json(
                    p.kind,
                    &pr,
                    p,
                    p.array
                        .then_some(i)
                        .map(|i| (i, raw.as_str()))
                        .or(Some((usize::MAX, raw.as_str()))),
                )),
            }
        }
        let v = if p.array {
            Value::Array(typed)
        } else {
            typed.pop().unwrap_or(Value::Null)
        };
        values.insert(p.name.clone(), v);
    }
    if problems.is_empty() {
        Ok(Query { values })
    } else {
        Err(SimError::Validation(problems))
    }
}

fn problem_json(
    kind: ParamKind,
    pr: &ParamProblem,
    p: &lumos_api::Param,
    at: Option<(usize, &str)>,
) -> Value {
    let mut loc = vec![Value::from("query"), Value::from(p.name.clone())];
    if let Some((i, _)) = at
        && i != usize::MAX
    {
        loc.push(Value::from(i));
    }
    let (msg, kind_code) = match pr.kind {
        ProblemKind::Missing => ("Field required".to_owned(), "missing"),
        ProblemKind::TooSmall => (
            format!(
                "Input should be greater than or equal to {}",
                p.minimum.unwrap_or_default()
            ),
            "greater_than_equal",
        ),
        ProblemKind::TooLarge => (
            format!(
                "Input should be less than or equal to {}",
                p.maximum.unwrap_or_default()
            ),
            "less_than_equal",
        ),
        ProblemKind::NotInEnum => {
            let values: Vec<&str> = p.values.iter().flatten().map(String::as_str).collect();
            (one_of(&values), "enum")
        }
        ProblemKind::WrongType if p.format.as_deref() == Some("date-time") => (
            "Input should be a valid datetime or date, invalid character in year".to_owned(),
            "datetime_from_date_parsing",
        ),
        ProblemKind::WrongType => match kind {
            ParamKind::Integer => (
                "Input should be a valid integer, unable to parse string as an integer".to_owned(),
                "int_parsing",
            ),
            ParamKind::Number => (
                "Input should be a valid number, unable to parse string as a number".to_owned(),
                "float_parsing",
            ),
            ParamKind::Boolean => (
                "Input should be a valid boolean, unable to interpret input".to_owned(),
                "bool_parsing",
            ),
            ParamKind::String => ("Input should be a valid string".to_owned(), "string_type"),
        },
        ProblemKind::Unknown => (
            "Extra inputs are not permitted".to_owned(),
            "extra_forbidden",
        ),
    };
    let input = at.map(|(_, raw)| Value::from(raw)).unwrap_or(Value::Null);
    json!({"loc": loc, "msg": msg, "type": kind_code, "input": input})
}

/// The request body as a JSON object, or a 422 naming what is wrong.
pub fn object(body: &Option<Value>) -> Result<&Map<String, Value>> {
    match body {
        Some(Value::Object(m)) => Ok(m),
        None => Err(SimError::Validation(vec![
            json!({"loc": ["body"], "msg": "Field required", "type": "missing"}),
        ])),
        Some(_) => Err(SimError::Validation(vec![
            json!({"loc": ["body"], "msg": "Input should be a valid dictionary or object", "type": "model_attributes_type"}),
        ])),
    }
}

pub fn req_str<'a>(m: &'a Map<String, Value>, field: &str) -> Result<&'a str> {
    match m.get(field) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(SimError::missing_body_field(field)),
        Some(_) => Err(SimError::body_field(
            field,
            "Input should be a valid string",
            "string_type",
        )),
    }
}

pub fn opt_str<'a>(m: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>> {
    match m.get(field) {
        Some(Value::String(s)) => Ok(Some(s)),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(SimError::body_field(
            field,
            "Input should be a valid string",
            "string_type",
        )),
    }
}

pub fn opt_bool(m: &Map<String, Value>, field: &str) -> Result<Option<bool>> {
    match m.get(field) {
        Some(Value::Bool(b)) => Ok(Some(*b)),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(SimError::body_field(
            field,
            "Input should be a valid boolean",
            "bool_type",
        )),
    }
}

pub fn opt_int(m: &Map<String, Value>, field: &str) -> Result<Option<i64>> {
    match m.get(field) {
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(SimError::body_field(
            field,
            "Input should be a valid integer",
            "int_type",
        )),
    }
}

pub fn opt_str_list(m: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| {
                SimError::body_field(
                    field,
                    "Input should be a valid list of strings",
                    "list_type",
                )
            }),
        Some(_) => Err(SimError::body_field(
            field,
            "Input should be a valid list",
            "list_type",
        )),
    }
}

/// Pydantic's message for a value outside an enum: "Input should be 'A', 'B' or 'C'".
fn one_of(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("Input should be {} or {last}", rest.join(", "))
        }
        _ => format!("Input should be {}", quoted.join("")),
    }
}

/// A 422 for body field `field` holding a value outside `values`.
pub fn enum_error(field: &str, values: &[&str]) -> SimError {
    SimError::body_field(field, &one_of(values), "enum")
}

/// Check a body field against an enum's values.
pub fn opt_enum<'a>(
    m: &'a Map<String, Value>,
    field: &str,
    values: &[&str],
) -> Result<Option<&'a str>> {
    match opt_str(m, field)? {
        Some(v) if !values.contains(&v) => Err(enum_error(field, values)),
        other => Ok(other),
    }
}

/// `{items,total,page,size,pages}` for one page of `total` matches.
#[derive(Serialize)]
pub struct PageOut<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub page: usize,
    pub size: usize,
    pub pages: usize,
}

impl<T> PageOut<T> {
    pub fn new(items: Vec<T>, total: usize, page: usize, size: usize) -> Self {
        Self {
            items,
            total,
            page,
            size,
            pages: total.div_ceil(size),
        }
    }
}

/// The index range of page `page` in a list of `total`.
pub fn window(total: usize, page: usize, size: usize) -> std::ops::Range<usize> {
    let start = (page - 1).saturating_mul(size).min(total);
    start..(start + size).min(total)
}

/// Paginate an in-memory list of JSON values.
pub fn page_of(items: Vec<Value>, q: &Query) -> Reply {
    let (page, size) = q.page();
    let total = items.len();
    let w = window(total, page, size);
    let slice: Vec<Value> = items.into_iter().skip(w.start).take(w.len()).collect();
    json(200, &PageOut::new(slice, total, page, size))
}

/// Case-insensitive substring match, or equality with `exact`.
pub fn matches(hay: &str, needle: &str, exact: bool) -> bool {
    if exact {
        hay.eq_ignore_ascii_case(needle)
    } else {
        hay.to_lowercase().contains(&needle.to_lowercase())
    }
}
