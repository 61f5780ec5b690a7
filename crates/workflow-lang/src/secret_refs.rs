//! `{{ secrets.NAME }}` in an `http:` step: found when a workflow is checked, marked while
//! templates render, filled in at the last moment, and taken out of everything recorded.
//! (Pure text handling; the engine keeps the stored secrets.)

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;
use zeroize::Zeroizing;

/// Marks where a secret goes while templates render (characters no template writes).
const MARK: char = '\u{1}';

fn whole() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    #[allow(clippy::expect_used)] // a constant pattern, proved by the tests below
    R.get_or_init(|| Regex::new(r"\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}").expect("regex"))
}

fn any_use() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    #[allow(clippy::expect_used)]
    R.get_or_init(|| Regex::new(r"secrets\s*[.\[]").expect("regex"))
}

fn strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, f)),
        Value::Object(m) => m.values().for_each(|x| strings(x, f)),
        _ => {}
    }
}

/// Uses of `secrets` that are not a whole `{{ secrets.NAME }}` (which would not be
/// replaced, and could leak through a filter).
pub fn misused(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    strings(v, &mut |s| {
        let rest = whole().replace_all(s, "");
        if any_use().is_match(&rest) {
            out.push(s.to_owned());
        }
    });
    out
}

/// The secret names a value refers to.
pub fn names_in(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    strings(v, &mut |s| {
        out.extend(whole().captures_iter(s).map(|c| c[1].to_owned()));
    });
    out
}

/// `{{ secrets.NAME }}` turned into a mark templates leave alone.
pub fn mark(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(
            whole()
                .replace_all(s, |c: &regex::Captures| format!("{MARK}{}{MARK}", &c[1]))
                .into_owned(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(mark).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), mark(x))).collect()),
        other => other.clone(),
    }
}

/// The marks replaced by the secrets' values; the name of a secret that is not set, if any.
pub fn fill(
    v: &mut Value,
    values: &HashMap<String, Zeroizing<String>>,
) -> std::result::Result<(), String> {
    match v {
        Value::String(s) if s.contains(MARK) => {
            let mut out = String::new();
            let mut parts = s.split(MARK);
            if let Some(first) = parts.next() {
                out.push_str(first);
            }
            while let Some(name) = parts.next() {
                let value = values.get(name).ok_or_else(|| name.to_owned())?;
                out.push_str(value);
                if let Some(after) = parts.next() {
                    out.push_str(after);
                }
            }
            *s = out;
            Ok(())
        }
        Value::Array(a) => a.iter_mut().try_for_each(|x| fill(x, values)),
        Value::Object(m) => m.values_mut().try_for_each(|x| fill(x, values)),
        _ => Ok(()),
    }
}

/// Takes secret values out of text that will be recorded or shown.
pub struct Redactor(Vec<String>);

impl Redactor {
    pub fn new(values: &HashMap<String, Zeroizing<String>>) -> Redactor {
        // Short values would blank ordinary words: a secret has at least 4 characters.
        Redactor(
            values
                .values()
                .filter(|v| v.len() >= 4)
                .map(|v| v.to_string())
                .collect(),
        )
    }

    pub fn text(&self, s: &str) -> String {
        self.0
            .iter()
            .fold(s.to_owned(), |acc, v| acc.replace(v.as_str(), "***"))
    }

    pub fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, x)| (k.clone(), self.value(x))).collect())
            }
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_go_in_at_the_last_moment_and_come_out_of_records() {
        let spec = json!({"Authorization": "Bearer {{ secrets.JIRA_TOKEN }}", "x": "{{secrets.A_B}}-tail"});
        assert_eq!(names_in(&spec), vec!["JIRA_TOKEN", "A_B"]);
        assert!(misused(&spec).is_empty());
        assert_eq!(misused(&json!("{{ secrets.X | upper }}")).len(), 1);
        assert_eq!(misused(&json!("{{ secrets['X'] }}")).len(), 1);
        let mut marked = mark(&spec);
        let values: HashMap<String, Zeroizing<String>> = [
            (
                "JIRA_TOKEN".to_owned(),
                Zeroizing::new("s3cr3t-value".to_owned()),
            ),
            ("A_B".to_owned(), Zeroizing::new("abcd".to_owned())),
        ]
        .into_iter()
        .collect();
        fill(&mut marked, &values).expect("all set");
        assert_eq!(marked["Authorization"], "Bearer s3cr3t-value");
        assert_eq!(marked["x"], "abcd-tail");
        let r = Redactor::new(&values);
        assert_eq!(r.value(&marked)["Authorization"], "Bearer ***");
        let mut missing = mark(&json!("{{ secrets.NOPE }}"));
        assert_eq!(fill(&mut missing, &values), Err("NOPE".to_owned()));
    }
}
