//! The workflow definition format: YAML that users and bundles write alike.
//!
//! Parsing keeps the line and column of every part an error can point at.

use std::fmt;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

/// A position in the YAML source, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    pub fn of<T>(s: &Spanned<T>) -> Pos {
        Pos {
            line: s.referenced.line(),
            column: s.referenced.column(),
        }
    }
}

/// One thing wrong with a definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

/// Every problem found, reported together.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
pub struct Invalid {
    pub problems: Vec<Problem>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "the workflow is invalid ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    Text,
    Textarea,
    Number,
    Integer,
    Boolean,
    Select,
    Date,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    #[serde(rename = "type")]
    pub kind: InputType,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Allowed values of a `select`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    /// Take a `select`'s values from a Lumos enum, e.g. `AccountLifecycleStatus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// An interval: `30s`, `15m`, `2h`, `1d`.
    pub every: String,
    /// Inputs of the scheduled runs.
    #[serde(default)]
    pub inputs: Map<String, Value>,
}

impl Schedule {
    /// The interval, if `every` is a number and a unit (s, m, h, d) of at least a second.
    pub fn interval(&self) -> Option<std::time::Duration> {
        let t = self.every.trim();
        let unit = t.chars().last()?;
        let n: u64 = t[..t.len() - unit.len_utf8()].trim().parse().ok()?;
        let secs = match unit {
            's' => n,
            'm' => n.checked_mul(60)?,
            'h' => n.checked_mul(3600)?,
            'd' => n.checked_mul(86_400)?,
            _ => return None,
        };
        (secs >= 1).then(|| std::time::Duration::from_secs(secs))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: Spanned<String>,
    /// A label for people; the id is what templates use.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "if")]
    pub when: Option<Spanned<String>>,
    #[serde(default)]
    pub for_each: Option<Spanned<String>>,
    #[serde(default, rename = "as")]
    pub item_name: Option<String>,
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// With `for_each`: stop at the first failing item (the default) or run them all and
    /// report every failure.
    #[serde(default)]
    pub fail_fast: Option<bool>,
    #[serde(default)]
    pub call: Option<Spanned<String>>,
    #[serde(default)]
    pub params: Option<Spanned<Map<String, Value>>>,
    #[serde(default)]
    pub body: Option<Spanned<Value>>,
    #[serde(default)]
    pub paginate: Option<Spanned<Value>>,
    #[serde(default)]
    pub transform: Option<Spanned<Value>>,
    #[serde(default)]
    pub fail: Option<Spanned<String>>,
    #[serde(default, rename = "return")]
    pub ret: Option<Spanned<Value>>,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Call,
    Transform,
    Fail,
    Return,
}

impl Step {
    pub fn action(&self) -> Option<ActionKind> {
        let set: Vec<ActionKind> = [
            (self.call.is_some(), ActionKind::Call),
            (self.transform.is_some(), ActionKind::Transform),
            (self.fail.is_some(), ActionKind::Fail),
            (self.ret.is_some(), ActionKind::Return),
        ]
        .into_iter()
        .filter_map(|(on, a)| on.then_some(a))
        .collect();
        (set.len() == 1).then(|| set[0])
    }

    /// The variable a `for_each` step sees each element as.
    pub fn item_var(&self) -> &str {
        self.item_name.as_deref().unwrap_or("item")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub bundle: Option<String>,
    #[serde(default)]
    pub inputs: IndexMap<String, Spanned<InputSpec>>,
    /// Runs wait in `pending_approval` until someone approves them (`runs approve`).
    #[serde(default)]
    pub approval: Option<Spanned<String>>,
    /// Run on a timer while `serve` runs.
    #[serde(default)]
    pub schedule: Option<Spanned<Schedule>>,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub output: Option<Spanned<Value>>,
}

/// Parse YAML into a definition; syntax and shape errors carry line, column and a snippet.
pub fn parse(yaml: &str) -> Result<Definition, Invalid> {
    const MAX_BYTES: usize = 1 << 20;
    if yaml.len() > MAX_BYTES {
        return Err(Invalid {
            problems: vec![Problem {
                line: 0,
                column: 0,
                message: format!("the file is larger than {MAX_BYTES} bytes"),
            }],
        });
    }
    // serde-saphyr's default budget bounds depth, aliases and node counts.
    serde_saphyr::from_str(yaml).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        Invalid {
            problems: vec![Problem {
                line,
                column,
                message: e.to_string(),
            }],
        }
    })
}
