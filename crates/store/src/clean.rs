//! Text from outside (Lumos answers, user input) made storable on both backends.
//! PostgreSQL refuses a NUL character in `text` and `\u0000` in `jsonb`; SQLite stores both.
//! Replacing it with U+FFFD keeps every other character and never turns a run's record into
//! a database error.

use std::borrow::Cow;

use serde_json::Value;

const REPLACEMENT: char = '\u{FFFD}';

pub(crate) fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', &REPLACEMENT.to_string()))
    } else {
        Cow::Borrowed(s)
    }
}

pub(crate) fn opt_text(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(text)
}

/// A JSON value with NULs replaced in every string and key; borrowed when there are none.
pub(crate) fn json(v: &Value) -> Cow<'_, Value> {
    if has_nul(v) {
        Cow::Owned(replace(v))
    } else {
        Cow::Borrowed(v)
    }
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn replace(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(text(s).into_owned()),
        Value::Array(a) => Value::Array(a.iter().map(replace).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (text(k).into_owned(), replace(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_is_replaced_everywhere_and_nothing_else_changes() {
        assert_eq!(text("a\0b"), "a\u{FFFD}b");
        assert!(matches!(text("ab"), Cow::Borrowed(_)));
        let v = json!({"k\u{0}": ["x\u{0}", 1, {"y": "ok"}]});
        assert_eq!(
            json(&v).into_owned(),
            json!({"k\u{FFFD}": ["x\u{FFFD}", 1, {"y": "ok"}]})
        );
        let clean = json!({"a": [1, "b"]});
        assert!(matches!(json(&clean), Cow::Borrowed(_)));
    }
}
