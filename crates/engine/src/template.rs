//! Templates and expressions (minijinja). A string that is exactly one `{{ … }}` is evaluated
//! as an expression and keeps its JSON type; any other string with `{{` renders to text.
//! Evaluation is bounded by fuel, so a template cannot loop forever.

use std::collections::{BTreeMap, HashSet};

use minijinja::value::{Kwargs, Value as JValue};
use minijinja::{Environment, Error as JError, ErrorKind, UndefinedBehavior};
use serde_json::Value;

/// Instructions one evaluation may spend.
const FUEL: u64 = 2_000_000;

pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// Convert JSON for templates (done once per step output, not per evaluation).
pub fn to_jinja(v: &Value) -> JValue {
    JValue::from(minijinja::value::Serde(v))
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(64);
        env.add_filter("merge", merge);
        env.add_filter("principals", principals);
        Self { env }
    }

    /// The single expression inside `s`, if `s` is exactly `{{ expr }}`.
    pub fn whole_expression(s: &str) -> Option<&str> {
        let t = s.trim();
        let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
        (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
    }

    pub fn is_template(s: &str) -> bool {
        s.contains("{{") || s.contains("{%")
    }

    /// Evaluate every templated string inside a JSON value.
    pub fn eval(&self, v: &Value, ctx: &JValue) -> Result<Value, String> {
        match v {
            Value::String(s) => self.eval_str(s, ctx),
            Value::Array(items) => items
                .iter()
                .map(|i| self.eval(i, ctx))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.eval(v, ctx)?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    pub fn eval_str(&self, s: &str, ctx: &JValue) -> Result<Value, String> {
        if let Some(expr) = Self::whole_expression(s) {
            let compiled = self.env.compile_expression(expr).map_err(describe)?;
            let out = compiled.eval(ctx.clone()).map_err(describe)?;
            return from_jinja(&out);
        }
        if !Self::is_template(s) {
            return Ok(Value::String(s.to_owned()));
        }
        self.env
            .render_str(s, ctx.clone())
            .map(Value::String)
            .map_err(describe)
    }

    /// Evaluate to a boolean with Jinja truthiness.
    pub fn truthy(&self, s: &str, ctx: &JValue) -> Result<bool, String> {
        Ok(match self.eval_str(s, ctx)? {
            Value::Null => false,
            Value::Bool(b) => b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.is_empty() && s != "false",
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        })
    }

    /// Check syntax and list the variables a string refers to (`inputs.x`, `steps.y.output`).
    pub fn references(&self, s: &str) -> Result<HashSet<String>, String> {
        if let Some(expr) = Self::whole_expression(s) {
            let compiled = self.env.compile_expression(expr).map_err(describe)?;
            return Ok(compiled.undeclared_variables(true));
        }
        if !Self::is_template(s) {
            return Ok(HashSet::new());
        }
        let tmpl = self.env.template_from_str(s).map_err(describe)?;
        Ok(tmpl.undeclared_variables(true))
    }
}

fn from_jinja(v: &JValue) -> Result<Value, String> {
    if v.is_undefined() {
        return Ok(Value::Null);
    }
    serde_json::to_value(v).map_err(|e| format!("the result is not JSON: {e}"))
}

fn describe(e: JError) -> String {
    let mut msg = match e.kind() {
        ErrorKind::OutOfFuel => "the expression ran too long (evaluation is bounded)".to_owned(),
        _ => e
            .detail()
            .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind())),
    };
    if let Some(line) = e.line() {
        msg.push_str(&format!(" (template line {line})"));
    }
    msg
}

/// `a | merge(b)`: a copy of object `a` with `b`'s keys set.
fn merge(a: JValue, b: JValue) -> Result<JValue, JError> {
    let mut out: BTreeMap<String, JValue> = BTreeMap::new();
    for v in [&a, &b] {
        if v.is_none() || v.is_undefined() {
            continue;
        }
        let keys = v
            .try_iter()
            .map_err(|_| JError::new(ErrorKind::InvalidOperation, "merge needs objects"))?;
        for k in keys {
            let key = k
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| k.to_string());
            out.insert(key, v.get_item(&k)?);
        }
    }
    Ok(JValue::from(out))
}

/// `{users: [User], groups: [Group]} | principals(stage=N)`: Lumos approvers or admins as a
/// flat list of `{type, id, name, email}` (and `stage` when given).
fn principals(v: JValue, kwargs: Kwargs) -> Result<JValue, JError> {
    let stage: Option<i64> = kwargs.get("stage")?;
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    if v.is_none() || v.is_undefined() {
        return Ok(JValue::from(out));
    }
    let field = |obj: &JValue, k: &str| {
        obj.get_attr(k)
            .ok()
            .filter(|x| !x.is_undefined() && !x.is_none())
    };
    for (key, kind) in [("users", "USER"), ("groups", "GROUP")] {
        let Some(list) = field(&v, key) else { continue };
        for p in list.try_iter()? {
            let mut m: BTreeMap<&str, JValue> = BTreeMap::new();
            m.insert("type", JValue::from(kind));
            m.insert("id", field(&p, "id").unwrap_or(JValue::from(())));
            let name = if kind == "USER" {
                let parts: Vec<String> = ["given_name", "family_name"]
                    .iter()
                    .filter_map(|k| field(&p, k))
                    .map(|x| x.to_string())
                    .collect();
                if parts.is_empty() {
                    field(&p, "email").unwrap_or(JValue::from(()))
                } else {
                    JValue::from(parts.join(" "))
                }
            } else {
                field(&p, "name").unwrap_or(JValue::from(()))
            };
            m.insert("name", name);
            if kind == "USER" {
                m.insert("email", field(&p, "email").unwrap_or(JValue::from(())));
            }
            if let Some(s) = stage {
                m.insert("stage", JValue::from(s));
            }
            out.push(JValue::from(m));
        }
    }
    Ok(JValue::from(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ctx() -> JValue {
        to_jinja(
            &json!({"inputs": {"n": 3, "name": "ann", "none": null}, "steps": {"a": {"output": {"items": [{"x": 1}, {"x": 2}]}}}}),
        )
    }

    #[test]
    fn whole_expressions_keep_their_type() {
        let t = Templates::new();
        assert_eq!(t.eval_str("{{ inputs.n }}", &ctx()), Ok(json!(3)));
        assert_eq!(t.eval_str("{{ inputs.none }}", &ctx()), Ok(Value::Null));
        assert_eq!(
            t.eval_str(
                "{{ steps.a.output.items | map(attribute='x') | list }}",
                &ctx()
            ),
            Ok(json!([1, 2]))
        );
        assert_eq!(
            t.eval_str("hi {{ inputs.name }}", &ctx()),
            Ok(json!("hi ann"))
        );
        assert_eq!(t.eval_str("{{ [1] + [2] }}", &ctx()), Ok(json!([1, 2])));
        assert_eq!(
            t.eval_str(r#"{{ {"a": 1} | merge({"b": inputs.n}) }}"#, &ctx()),
            Ok(json!({"a": 1, "b": 3}))
        );
        assert_eq!(t.eval_str("plain", &ctx()), Ok(json!("plain")));
    }

    #[test]
    fn undefined_names_and_runaway_loops_fail() {
        let t = Templates::new();
        assert!(t.eval_str("{{ inputs.nope.deeper }}", &ctx()).is_err());
        let err = t
            .eval_str(
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                &ctx(),
            )
            .expect_err("fuel");
        assert!(err.contains("bounded"), "{err}");
    }

    #[test]
    fn principals_flattens_users_and_groups() {
        let t = Templates::new();
        let c = to_jinja(
            &json!({"p": {"users": [{"id": "u1", "given_name": "Ann", "family_name": "Lee", "email": "a@x"}], "groups": [{"id": "g1", "name": "IT"}]}}),
        );
        assert_eq!(
            t.eval_str("{{ p | principals(stage=2) }}", &c),
            Ok(json!([
                {"type": "USER", "id": "u1", "name": "Ann Lee", "email": "a@x", "stage": 2},
                {"type": "GROUP", "id": "g1", "name": "IT", "stage": 2}
            ]))
        );
    }

    #[test]
    fn references_are_listed() {
        let t = Templates::new();
        let refs = t
            .references("{{ steps.a.output.total + inputs.n }}")
            .expect("ok");
        assert!(refs.iter().any(|r| r.starts_with("steps.a")));
        assert!(refs.iter().any(|r| r == "inputs.n"));
        assert!(t.references("{{ 1 + }}").is_err());
    }
}
