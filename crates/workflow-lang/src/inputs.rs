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
        InputType::Text | InputType::Textarea => {
            // A number or a boolean is taken as its text, and checked as text is.
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(wrong("text")),
            };
            matches(name, spec, &s)?;
            Value::String(s)
        }
        InputType::List => {
            // A list, or text from a command line or a form: split at commas and new lines.
            let items: Vec<String> = match v {
                Value::Array(a) => a
                    .iter()
                    .map(|x| match x {
                        Value::String(s) => Ok(s.trim().to_owned()),
                        Value::Number(n) => Ok(n.to_string()),
                        _ => Err(wrong("a list of text values")),
                    })
                    .collect::<Result<_, _>>()?,
                Value::String(s) => s.split([',', '\n']).map(|x| x.trim().to_owned()).collect(),
                _ => return Err(wrong("a list of text values")),
            };
            let items: Vec<String> = items.into_iter().filter(|x| !x.is_empty()).collect();
            let allowed = options(spec);
            for item in &items {
                if !allowed.is_empty() && !allowed.contains(item) {
                    return Err(format!(
                        "input '{name}': '{item}' is not one of the options (valid: {})",
                        allowed.join(", ")
                    ));
                }
                matches(name, spec, item)?;
            }
            Value::Array(items.into_iter().map(Value::String).collect())
        }
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

/// The input's `pattern`, anchored: the whole value must match.
pub fn pattern(spec: &InputSpec) -> Option<Result<regex::Regex, String>> {
    spec.pattern.as_deref().map(|p| {
        regex::Regex::new(&format!("^(?:{p})$"))
            .map_err(|e| format!("pattern '{p}' is not a regular expression: {e}"))
    })
}

fn matches(name: &str, spec: &InputSpec, value: &str) -> Result<(), String> {
    match pattern(spec) {
        Some(Ok(re)) if !re.is_match(value) => Err(format!(
            "input '{name}': '{value}' does not match the pattern {}",
            spec.pattern.as_deref().unwrap_or_default()
        )),
        Some(Err(e)) => Err(format!("input '{name}': {e}")),
        _ => Ok(()),
    }
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

/// Who a run is by and for, as inputs that name a person are bound to.
pub struct People<'a> {
    /// The person it acts for, when someone asks on their behalf.
    pub requested_for: Option<&'a str>,
    /// The requester's own email, when the requester is a person.
    pub requester: Option<&'a str>,
    /// How the requester is named in errors.
    pub requester_label: &'a str,
    /// Whether the requester may name another person in a `for: me` input (an admin, in a
    /// workflow that changes nothing).
    pub may_look_for_others: bool,
}

/// The inputs of a run, bound to the people it is by and for: an input marked
/// `for: requested_for` is the person the run acts for when left out, and may name nobody
/// else; one marked `for: me` is the person running it (the one it acts for, else the
/// requester), filled when left out, and names someone else only when `may_look_for_others`
/// (compared without case).
pub fn bind_person(
    declared: &IndexMap<String, Spanned<InputSpec>>,
    given: &Map<String, Value>,
    people: &People<'_>,
) -> Result<Map<String, Value>, String> {
    let mut out = given.clone();
    for (name, spec) in declared {
        if spec.value.for_whom == Some(crate::definition::ForWhom::Me) {
            let me = people.requested_for.or(people.requester);
            let named = given.get(name).filter(|v| !v.is_null()).map(|v| {
                v.as_str()
                    .map_or_else(|| v.to_string(), |s| s.trim().to_owned())
            });
            match (me, named) {
                (Some(me), None) => {
                    out.insert(name.clone(), Value::String(me.to_owned()));
                }
                (Some(me), Some(n)) if n.eq_ignore_ascii_case(me) => {}
                (_, Some(_)) if people.requested_for.is_none() && people.may_look_for_others => {}
                (Some(me), Some(n)) => {
                    return Err(format!(
                        "input '{name}' is {n}, but this run is {}{me}: it acts only as them",
                        if people.requested_for.is_some() {
                            "for "
                        } else {
                            "by "
                        }
                    ));
                }
                (None, _) => {
                    return Err(format!(
                        "input '{name}' is the person running the workflow, and {} is not a person: run it as one (on the CLI, LUMOSFLOW_ACTOR=you@example-corp.com), or on someone's behalf (requested_for, --for)",
                        people.requester_label
                    ));
                }
            }
            continue;
        }
        if spec.value.for_whom != Some(crate::definition::ForWhom::RequestedFor) {
            continue;
        }
        let Some(whom) = people.requested_for else {
            continue;
        };
        match given.get(name) {
            None | Some(Value::Null) => {
                out.insert(name.clone(), Value::String(whom.to_owned()));
            }
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case(whom) => {}
            Some(other) => {
                let named = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned);
                return Err(format!(
                    "input '{name}' is {named}, but this run is for {whom}: a run asked for on someone's behalf acts only for them"
                ));
            }
        }
    }
    Ok(out)
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
        let value = match given.get(name).filter(|v| {
            !v.is_null() && v.as_str() != Some("") && v.as_array().is_none_or(|a| !a.is_empty())
        }) {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(yaml: &str) -> InputSpec {
        serde_saphyr::from_str(yaml).expect("spec")
    }

    #[test]
    fn lists_come_as_lists_or_as_text_and_keep_to_their_options() {
        let teams = spec("{type: list, options: [Identity, Finance, Sales]}");
        assert_eq!(
            coerce("teams", &teams, &json!("Identity, Finance\nSales")),
            Ok(json!(["Identity", "Finance", "Sales"]))
        );
        assert_eq!(
            coerce("teams", &teams, &json!(["Sales", " "])),
            Ok(json!(["Sales"]))
        );
        let e = coerce("teams", &teams, &json!(["Legal"])).expect_err("not an option");
        assert!(e.contains("'Legal' is not one of the options"), "{e}");
        let e = coerce("teams", &teams, &json!({"a": 1})).expect_err("not a list");
        assert!(e.contains("must be a list of text values"), "{e}");
    }

    #[test]
    fn patterns_match_the_whole_value() {
        let email = spec(r#"{type: text, pattern: '[^@\s]+@example-corp\.com'}"#);
        assert!(coerce("email", &email, &json!("ann@example-corp.com")).is_ok());
        let e =
            coerce("email", &email, &json!("ann@example-corp.com.evil.io")).expect_err("anchored");
        assert!(e.contains("does not match the pattern"), "{e}");
        let tickets = spec("{type: list, pattern: '[A-Z]+-[0-9]+'}");
        assert!(coerce("t", &tickets, &json!("DESK-1, DESK-22")).is_ok());
        assert!(coerce("t", &tickets, &json!("DESK-1, oops")).is_err());
        // A number is taken as its text, and must match as text does.
        let e = coerce("email", &email, &json!(42)).expect_err("a number is not an email");
        assert!(e.contains("'42' does not match the pattern"), "{e}");
        let ticket = spec("{type: text, pattern: '[0-9]+'}");
        assert_eq!(coerce("t", &ticket, &json!(1234)), Ok(json!("1234")));
        let e = coerce("t", &ticket, &json!(["1"])).expect_err("a list is not text");
        assert!(e.contains("must be text"), "{e}");
    }
}
