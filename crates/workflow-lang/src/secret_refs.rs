//! `{{ secrets.NAME }}` in an `http:` step: found when a workflow is checked, marked while
//! templates render, filled in at the last moment, and taken out of everything recorded.
//! (Pure text handling; the engine keeps the stored secrets.)

use std::collections::HashMap;
use std::sync::OnceLock;

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use regex::Regex;
use serde_json::Value;
use zeroize::Zeroizing;

/// Delimits where a secret goes while templates render.
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

/// Why secrets could not be put into a rendered value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    #[error("no secret named '{0}' (an admin sets it: lumosflow secrets set {0})")]
    Unset(String),
    /// Rendered data holds the delimiter: never taken for a secret's place, refused.
    #[error(
        "a value holds the control character U+0001, which lumosflow keeps for placing secrets; refused so that no data can name a secret"
    )]
    Reserved,
}

/// The places of `{{ secrets.NAME }}` in one request, marked with a nonce that is new for
/// each request: only references written in the definition become marks, and data that
/// renders into the request (inputs, payloads, Lumos answers) cannot forge one.
pub struct Marks {
    nonce: String,
    found: Regex,
}

impl Marks {
    /// `nonce`: random, at least 16 characters of `[0-9a-zA-Z-]` (the caller's source of
    /// randomness; a workflow never sees it).
    pub fn new(nonce: &str) -> Result<Marks, String> {
        if nonce.len() < 16 || !nonce.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("a secret mark's nonce must be 16 or more letters, digits or '-'".into());
        }
        let found = Regex::new(&format!(
            "{MARK}{}:([A-Za-z_][A-Za-z0-9_]*){MARK}",
            regex::escape(nonce)
        ))
        .map_err(|e| e.to_string())?;
        Ok(Marks {
            nonce: nonce.to_owned(),
            found,
        })
    }

    /// `{{ secrets.NAME }}` in the definition's own text turned into a mark templates leave
    /// alone.
    pub fn mark(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(
                whole()
                    .replace_all(s, |c: &regex::Captures| {
                        format!("{MARK}{}:{}{MARK}", self.nonce, &c[1])
                    })
                    .into_owned(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.mark(x)).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, x)| (k.clone(), self.mark(x))).collect())
            }
            other => other.clone(),
        }
    }

    /// The marks of this request replaced by the secrets' values. Any other U+0001 in the
    /// rendered value came from data: refused, nothing filled.
    pub fn fill(
        &self,
        v: &mut Value,
        values: &HashMap<String, Zeroizing<String>>,
    ) -> Result<(), FillError> {
        match v {
            Value::String(s) if s.contains(MARK) => {
                if self.found.replace_all(s, "").contains(MARK) {
                    return Err(FillError::Reserved);
                }
                let mut unset = None;
                let out =
                    self.found
                        .replace_all(s, |c: &regex::Captures| match values.get(&c[1]) {
                            Some(value) => value.to_string(),
                            None => {
                                unset.get_or_insert_with(|| c[1].to_owned());
                                String::new()
                            }
                        });
                if let Some(name) = unset {
                    return Err(FillError::Unset(name));
                }
                *s = out.into_owned();
                Ok(())
            }
            Value::Array(a) => a.iter_mut().try_for_each(|x| self.fill(x, values)),
            Value::Object(m) => m.values_mut().try_for_each(|x| self.fill(x, values)),
            _ => Ok(()),
        }
    }
}

/// Where an admin lets a secret go: the hosts it may be sent to (`host` or `host:port`),
/// over https unless plain http is allowed, by the workflows named (any when none are).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretRule {
    pub hosts: Vec<String>,
    pub allow_http: bool,
    pub workflows: Option<Vec<String>>,
}

impl SecretRule {
    /// Why secret `name` may not go with a request of `workflow` to `scheme://host[:port]`,
    /// if it may not.
    pub fn refusal(
        &self,
        name: &str,
        workflow: &str,
        scheme: &str,
        host: &str,
        port: Option<u16>,
    ) -> Option<String> {
        let fix =
            format!("an admin sets where it may go: lumosflow secrets set {name} --hosts HOST");
        if self.hosts.is_empty() {
            return Some(format!(
                "secret '{name}' names no host it may be sent to ({fix})"
            ));
        }
        let with_port = port.map(|p| format!("{host}:{p}"));
        if !self
            .hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host) || with_port.as_deref() == Some(h.as_str()))
        {
            return Some(format!(
                "secret '{name}' may be sent only to {}, not to {host} ({fix})",
                self.hosts.join(", ")
            ));
        }
        if scheme != "https" && !self.allow_http {
            return Some(format!(
                "secret '{name}' goes over https only, and this request is {scheme} (an admin may allow http: lumosflow secrets set {name} --hosts … --allow-http)"
            ));
        }
        if let Some(allowed) = &self.workflows
            && !allowed.iter().any(|w| w == workflow)
        {
            return Some(format!(
                "secret '{name}' is for the workflows {} only, not '{workflow}' (lumosflow secrets set {name} --workflows …)",
                allowed.join(", ")
            ));
        }
        None
    }
}

/// Takes secret values out of text that will be recorded or shown, in every form a request
/// carries them: as written, percent-encoded (a URL's path or query, a form), and in base64
/// (Basic auth, tokens made of several parts), wherever in the encoded text they start.
pub struct Redactor(Vec<String>);

impl Redactor {
    pub fn new(values: &HashMap<String, Zeroizing<String>>) -> Redactor {
        let mut forms: Vec<String> = Vec::new();
        // Short values would blank ordinary words: a secret has at least 4 characters.
        for v in values.values().filter(|v| v.len() >= 4) {
            forms.push(v.to_string());
            for set in [NON_ALPHANUMERIC, PATH, COMPONENT] {
                forms.push(utf8_percent_encode(v, set).to_string());
            }
            forms.push(
                utf8_percent_encode(v, COMPONENT)
                    .to_string()
                    .replace("%20", "+"),
            );
            forms.extend(base64_forms(v.as_bytes()));
        }
        // Longest first: a form that holds another is taken out whole.
        forms.retain(|f| f.len() >= 4);
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        Redactor(forms)
    }

    pub fn text(&self, s: &str) -> String {
        self.0.iter().fold(s.to_owned(), |acc, v| {
            // Percent-encodings also appear in lower-case hex.
            let acc = acc.replace(v.as_str(), "***");
            if v.contains('%') {
                acc.replace(&v.to_lowercase(), "***")
            } else {
                acc
            }
        })
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

/// A path segment's reserved characters, as URLs encode them.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'%')
    .add(b'/');
/// A query or form component's.
const COMPONENT: &AsciiSet = &PATH
    .add(b'&')
    .add(b'=')
    .add(b'+')
    .add(b',')
    .add(b';')
    .add(b'@')
    .add(b':')
    .add(b'$')
    .add(b'[')
    .add(b']')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'\'');

/// The base64 text that stands for `secret` wherever it starts in the encoded bytes (each
/// of the three alignments), in the standard and URL-safe alphabets: only the characters
/// that depend on the secret's bytes alone, so `user:secret` in Basic auth is found too.
fn base64_forms(secret: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut out = Vec::new();
    for k in 0..3usize {
        let mut bytes = vec![0u8; k];
        bytes.extend_from_slice(secret);
        let first = k.div_ceil(3);
        let last = (k + secret.len()) / 3;
        if last <= first {
            continue;
        }
        let whole_groups = &bytes[first * 3..last * 3];
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            out.push(engine.encode(whole_groups));
        }
    }
    out
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
        let marks = Marks::new("0123456789abcdef-nonce").expect("nonce");
        let mut marked = marks.mark(&spec);
        let values: HashMap<String, Zeroizing<String>> = [
            (
                "JIRA_TOKEN".to_owned(),
                Zeroizing::new("s3cr3t-value".to_owned()),
            ),
            ("A_B".to_owned(), Zeroizing::new("abcd".to_owned())),
        ]
        .into_iter()
        .collect();
        marks.fill(&mut marked, &values).expect("all set");
        assert_eq!(marked["Authorization"], "Bearer s3cr3t-value");
        assert_eq!(marked["x"], "abcd-tail");
        let r = Redactor::new(&values);
        assert_eq!(r.value(&marked)["Authorization"], "Bearer ***");
        let mut missing = marks.mark(&json!("{{ secrets.NOPE }}"));
        assert_eq!(
            marks.fill(&mut missing, &values),
            Err(FillError::Unset("NOPE".to_owned()))
        );
    }

    /// Data that renders into a request (an input, a payload, a Lumos answer) holding what
    /// looks like a mark never gets a secret: neither the old form nor a guessed nonce.
    #[test]
    fn data_cannot_name_a_secret() {
        let values: HashMap<String, Zeroizing<String>> =
            [("JIRA".to_owned(), Zeroizing::new("jira-token-1".to_owned()))]
                .into_iter()
                .collect();
        let marks = Marks::new("0123456789abcdef-nonce").expect("nonce");
        for forged in [
            "\u{1}JIRA\u{1}",
            "\u{1}0000000000000000:JIRA\u{1}",
            "summary \u{1}",
        ] {
            // As a rendered body: the definition's own mark beside data with a forged one.
            let mut v =
                json!({"auth": marks.mark(&json!("{{ secrets.JIRA }}")), "comment": forged});
            assert_eq!(
                marks.fill(&mut v, &values),
                Err(FillError::Reserved),
                "{forged:?}"
            );
        }
    }

    #[test]
    fn a_secret_goes_only_where_its_rule_lets_it() {
        let rule = SecretRule {
            hosts: vec!["jira.example.com".into(), "127.0.0.1:8443".into()],
            allow_http: false,
            workflows: Some(vec!["post-to-jira".into()]),
        };
        let ok = |scheme, host, port| rule.refusal("J", "post-to-jira", scheme, host, port);
        assert_eq!(ok("https", "jira.example.com", None), None);
        assert_eq!(ok("https", "JIRA.example.com", None), None);
        assert_eq!(ok("https", "127.0.0.1", Some(8443)), None);
        assert!(ok("https", "evil.example.com", None).is_some_and(|m| m.contains("only to")));
        assert!(ok("https", "127.0.0.1", Some(9000)).is_some());
        assert!(ok("http", "jira.example.com", None).is_some_and(|m| m.contains("https only")));
        assert!(
            rule.refusal("J", "other", "https", "jira.example.com", None)
                .is_some_and(|m| m.contains("not 'other'"))
        );
        assert!(
            SecretRule::default()
                .refusal("J", "w", "https", "jira.example.com", None)
                .is_some_and(|m| m.contains("names no host"))
        );
    }

    #[test]
    fn every_form_of_a_secret_is_taken_out() {
        use base64::Engine as _;
        let values: HashMap<String, Zeroizing<String>> = [(
            "S".to_owned(),
            Zeroizing::new("sp ace\"secret<x>".to_owned()),
        )]
        .into_iter()
        .collect();
        let r = Redactor::new(&values);
        for shown in [
            "/services/T000/sp ace\"secret<x>/x".to_owned(),
            "/services/T000/sp%20ace%22secret%3Cx%3E/x".to_owned(),
            "/services/T000/sp%20ace%22secret%3cx%3e/x".to_owned(),
            "q=sp+ace%22secret%3Cx%3E".to_owned(),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("user:sp ace\"secret<x>")
            ),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("me:sp ace\"secret<x>")
            ),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("sp ace\"secret<x>")
            ),
        ] {
            let out = r.text(&shown);
            assert!(out.contains("***"), "{shown} -> {out}");
            assert!(!out.contains("secret"), "{shown} -> {out}");
            for k in 0..3 {
                let pad = "x".repeat(k);
                let encoded = base64::engine::general_purpose::STANDARD
                    .encode(format!("{pad}sp ace\"secret<x>"));
                // The secret's bytes alone no longer show whole in the encoded text.
                assert!(r.text(&encoded).contains("***"), "{k}: {encoded}");
            }
        }
    }
}
