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

/// A `LIKE … ESCAPE '\'` pattern for "starts with `prefix`": `%`, `_` and `\` in it stand for
/// themselves (a host named `build_01` matches only its own processes).
pub(crate) fn starts_with(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 2);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A `LIKE … ESCAPE '\'` pattern for "contains `part`": `%`, `_` and `\` in it stand for
/// themselves.
pub(crate) fn contains(part: &str) -> String {
    format!("%{}", starts_with(part))
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
    fn a_prefix_pattern_matches_its_own_characters_only() {
        assert_eq!(starts_with("build_01/"), "build\\_01/%");
        assert_eq!(starts_with("a%b\\"), "a\\%b\\\\%");
    }

    #[tokio::test]
    async fn the_pattern_means_starts_with_in_sqlite() {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("sqlite");
        for (holder, want) in [("build_01/7/x", true), ("buildX01/7/x", false)] {
            let (m,): (bool,) = sqlx::query_as("SELECT $1 LIKE $2 ESCAPE '\\'")
                .bind(holder)
                .bind(starts_with("build_01/"))
                .fetch_one(&mut c)
                .await
                .expect("query");
            assert_eq!(m, want, "{holder}");
        }
    }

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
