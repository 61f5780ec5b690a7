//! Templates and expressions (minijinja). A string that is exactly one `{{ … }}` is evaluated
//! as an expression and keeps its JSON type; any other string with `{{` renders to text.
//!
//! Each evaluation is bounded by fuel, so a template cannot loop forever, and what it spends
//! is charged to its run's [`Meter`], so a run cannot spend without end either. The meter
//! counts work done, not memory: an instruction is one unit, and so is each item a built-in
//! filter walks (`difference_by` over a million accounts is a million units, one
//! instruction to the template engine). Evaluations
//! run off the async worker threads (`block_in_place` on a multi-threaded runtime): a
//! CPU-heavy template must not hold up requests and other runs.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use minijinja::value::{Kwargs, Value as JValue};
use minijinja::{Environment, Error as JError, ErrorKind, UndefinedBehavior};
use serde_json::Value;

use crate::filter_work::{filter_work, take_filter_work};

/// Fuel one evaluation may spend (an instruction costs one; data a byte per 64).
const FUEL: u64 = 2_000_000;

/// Filter names offered when a filter name is misspelt (the common ones; any filter
/// minijinja or lumosflow has is accepted).
const KNOWN_FILTERS: &[&str] = &[
    "abs",
    "add_days",
    "add_hours",
    "attr",
    "batch",
    "capitalize",
    "count",
    "date",
    "datetime",
    "days_ago",
    "default",
    "dictsort",
    "difference_by",
    "first",
    "flatten",
    "float",
    "groupby",
    "index_by",
    "int",
    "intersection_by",
    "items",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "merge",
    "min",
    "principals",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "select",
    "selectattr",
    "slice",
    "sort",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "zip",
];

/// Where a template's result is kept while its fuel is read.
const RESULT: &str = "__lumosflow_result";

/// A run's budget of work: template instructions, items walked by filters and items
/// fetched from listings, summed over the run.
#[derive(Debug)]
pub struct Meter {
    budget: u64,
    spent: AtomicU64,
}

impl Meter {
    pub fn new(budget: u64) -> Meter {
        Meter {
            budget,
            spent: AtomicU64::new(0),
        }
    }

    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    pub fn charge(&self, units: u64) -> Result<(), String> {
        let total = self.spent.fetch_add(units, Ordering::Relaxed) + units;
        if total > self.budget {
            return Err(format!(
                "the run used up its work budget ({total} of {} units: template instructions, \
                 and items fetched or walked by filters; LUMOSFLOW_RUN_FUEL raises it)",
                self.budget
            ));
        }
        Ok(())
    }
}

/// Run CPU work off the async workers where the runtime allows it.
fn off_async<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

pub struct Templates {
    env: Environment<'static>,
    /// Filter names probed so far, and whether each exists (the set never changes).
    filters: std::sync::Mutex<std::collections::HashMap<String, bool>>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// Convert JSON for templates.
pub fn to_jinja(v: &Value) -> JValue {
    JValue::from(minijinja::value::Serde(v))
}

/// What templates see: `{inputs, steps}` as JSON, plus a for-each item. Conversion for
/// minijinja happens only when a template is more than a plain path, and once per context.
pub struct EvalCtx<'a> {
    base: &'a Value,
    /// The same data, shared: templates then read it in place instead of a copy.
    shared: Option<&'a std::sync::Arc<Value>>,
    base_jinja: &'a OnceLock<JValue>,
    local: Option<(&'a str, &'a Value, usize)>,
    meter: Option<&'a Meter>,
}

impl<'a> EvalCtx<'a> {
    pub fn new(base: &'a Value, cache: &'a OnceLock<JValue>) -> Self {
        Self {
            base,
            shared: None,
            base_jinja: cache,
            local: None,
            meter: None,
        }
    }

    /// Over data a run holds: templates read it where it lies (see [`crate::json_view`]).
    pub fn shared(base: &'a std::sync::Arc<Value>, cache: &'a OnceLock<JValue>) -> Self {
        Self {
            base,
            shared: Some(base),
            base_jinja: cache,
            local: None,
            meter: None,
        }
    }

    /// Charge what evaluations spend to `meter`.
    pub fn metered(mut self, meter: &'a Meter) -> Self {
        self.meter = Some(meter);
        self
    }

    pub fn with_item(&self, var: &'a str, item: &'a Value, index: usize) -> EvalCtx<'a> {
        EvalCtx {
            base: self.base,
            shared: self.shared,
            base_jinja: self.base_jinja,
            local: Some((var, item, index)),
            meter: self.meter,
        }
    }

    fn charge(&self, fuel: u64) -> Result<(), String> {
        match self.meter {
            Some(m) => m.charge(fuel),
            None => Ok(()),
        }
    }

    fn jinja(&self) -> JValue {
        let base = self
            .base_jinja
            .get_or_init(|| match self.shared {
                Some(shared) => crate::json_view::view(shared),
                None => to_jinja(self.base),
            })
            .clone();
        match self.local {
            None => base,
            Some((var, item, index)) => {
                let mut extra: BTreeMap<String, JValue> = BTreeMap::new();
                extra.insert(var.to_owned(), to_jinja(item));
                extra.insert("index".to_owned(), JValue::from(index));
                minijinja::context! { ..JValue::from(extra), ..base }
            }
        }
    }

    fn root(&self, name: &str) -> Option<Value> {
        match self.local {
            Some((var, item, _)) if var == name => return Some(item.clone()),
            Some((_, _, index)) if name == "index" => return Some(Value::from(index)),
            _ => {}
        }
        self.base.get(name).cloned()
    }
}

/// `a.b['c'][0]` as segments, if the expression is nothing but a path.
fn simple_path(expr: &str) -> Option<Vec<Seg<'_>>> {
    let mut segs = Vec::new();
    let mut rest = expr.trim();
    let ident = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let n = ident(rest);
    if n == 0 || rest.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    segs.push(Seg::Key(&rest[..n]));
    rest = &rest[n..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let n = ident(r);
            if n == 0 {
                return None;
            }
            segs.push(Seg::Key(&r[..n]));
            rest = &r[n..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            segs.push(Seg::Key(&r[..end]));
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            segs.push(Seg::Index(r[..end].trim().parse().ok()?));
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(segs)
}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(64);
        env.add_filter("merge", merge);
        env.add_filter("principals", principals);
        env.add_filter("flatten", flatten);
        crate::strict_filters::register(&mut env);
        crate::dates::register(&mut env);
        crate::set_filters::register(&mut env);
        Self {
            env,
            filters: Default::default(),
        }
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
    pub fn eval(&self, v: &Value, ctx: &EvalCtx<'_>) -> Result<Value, String> {
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

    pub fn eval_str(&self, s: &str, ctx: &EvalCtx<'_>) -> Result<Value, String> {
        if let Some(expr) = Self::whole_expression(s) {
            // Plain paths (`steps.users.output`) are read straight from the JSON: no
            // conversion of large outputs into template values and back.
            if let Some(path) = simple_path(expr)
                && let Some(v) = resolve(ctx, &path)
            {
                return v;
            }
            // As a template that keeps the value, so the fuel it spent can be read.
            let source = format!("{{% set {RESULT} = ({expr}) %}}");
            return off_async(|| {
                take_filter_work();
                let captured = self
                    .env
                    .template_from_str(&source)
                    .and_then(|t| t.render_captured(ctx.jinja()))
                    .map_err(describe);
                let walked = take_filter_work();
                let captured = captured?;
                let state = captured.state();
                ctx.charge(state.fuel_levels().map_or(0, |(used, _)| used) + walked)?;
                match state.lookup(RESULT) {
                    Some(v) => from_jinja(&v),
                    None => Ok(Value::Null),
                }
            });
        }
        if !Self::is_template(s) {
            return Ok(Value::String(s.to_owned()));
        }
        off_async(|| {
            take_filter_work();
            let captured = self
                .env
                .template_from_str(s)
                .and_then(|t| t.render_captured(ctx.jinja()))
                .map_err(describe);
            let walked = take_filter_work();
            let captured = captured?;
            let used = captured.state().fuel_levels().map_or(0, |(used, _)| used);
            ctx.charge(used + walked)?;
            Ok(Value::String(captured.output().to_owned()))
        })
    }

    /// Evaluate to a boolean with Jinja truthiness.
    pub fn truthy(&self, s: &str, ctx: &EvalCtx<'_>) -> Result<bool, String> {
        Ok(match self.eval_str(s, ctx)? {
            Value::Null => false,
            Value::Bool(b) => b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.is_empty() && s != "false",
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        })
    }

    /// Whether `name` is a filter: probed the first time by applying it (minijinja keeps its
    /// list to itself); only an unknown filter fails with `UnknownFilter`.
    fn is_filter(&self, name: &str) -> bool {
        let mut known = self.filters.lock().unwrap_or_else(|e| e.into_inner());
        *known.entry(name.to_owned()).or_insert_with(|| {
            let probe = format!("{{{{ none | {name} }}}}");
            !matches!(
                self.env.render_str(&probe, ()),
                Err(e) if e.kind() == ErrorKind::UnknownFilter
            )
        })
    }

    /// The filters `s` uses that do not exist, each with the nearest known names: a typo in
    /// a filter is found when the workflow is saved, not when it runs.
    pub fn unknown_filters(&self, s: &str) -> Vec<(String, Vec<&'static str>)> {
        // Filter names follow `|` inside `{{ }}` and `{% %}`, outside string literals.
        let mut code = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(open) = rest.find(['{']) {
            let after = &rest[open..];
            let close = match () {
                () if after.starts_with("{{") => "}}",
                () if after.starts_with("{%") => "%}",
                () => {
                    rest = &after[1..];
                    continue;
                }
            };
            let inner = &after[2..];
            let end = inner.find(close).unwrap_or(inner.len());
            let mut quote: Option<char> = None;
            for c in inner[..end].chars() {
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if c == '\'' || c == '"' => quote = Some(c),
                    None => code.push(c),
                }
            }
            // Each block apart: a `|` never joins two.
            code.push_str(" ; ");
            rest = &inner[end..];
        }
        let mut out: Vec<(String, Vec<&'static str>)> = Vec::new();
        for part in code.split('|').skip(1) {
            let name: String = part
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() || out.iter().any(|(n, _)| *n == name) || self.is_filter(&name) {
                continue;
            }
            let near = KNOWN_FILTERS
                .iter()
                .copied()
                .filter(|k| strsim::levenshtein(k, &name) <= 2)
                .collect();
            out.push((name, near));
        }
        out
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

/// A path's value with minijinja's strict semantics: a missing last key is null, a missing
/// key on the way is an error. `None` defers to minijinja (e.g. a name that is a function).
fn resolve(ctx: &EvalCtx<'_>, path: &[Seg<'_>]) -> Option<Result<Value, String>> {
    let Seg::Key(root) = path[0] else { return None };
    let mut cur = ctx.root(root)?;
    for (i, seg) in path.iter().enumerate().skip(1) {
        let next = match (seg, &cur) {
            (Seg::Key(k), Value::Object(m)) => m.get(*k).cloned(),
            (Seg::Index(n), Value::Array(a)) => a.get(*n).cloned(),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None if i == path.len() - 1 && cur.is_object() => return Some(Ok(Value::Null)),
            None => return None,
        }
    }
    Some(Ok(cur))
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

/// `lists | flatten`: the elements of a list of lists, one level down, in order (a null
/// element counts as empty; anything else that is not a list is an error).
fn flatten(v: JValue) -> Result<JValue, JError> {
    let mut out = Vec::new();
    let outer = v
        .try_iter()
        .map_err(|_| JError::new(ErrorKind::InvalidOperation, "flatten needs a list of lists"))?;
    for inner in outer {
        filter_work(1);
        if inner.is_none() || inner.is_undefined() {
            continue;
        }
        if inner.as_str().is_some()
            || inner
                .as_object()
                .is_some_and(|o| o.repr() == minijinja::value::ObjectRepr::Map)
        {
            return Err(JError::new(
                ErrorKind::InvalidOperation,
                format!(
                    "flatten needs a list of lists; one element is {}",
                    inner.kind()
                ),
            ));
        }
        let items = inner.try_iter().map_err(|_| {
            JError::new(
                ErrorKind::InvalidOperation,
                format!(
                    "flatten needs a list of lists; one element is {}",
                    inner.kind()
                ),
            )
        })?;
        let before = out.len();
        out.extend(items);
        filter_work(out.len() - before);
    }
    Ok(JValue::from(out))
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

    fn base() -> Value {
        json!({"inputs": {"n": 3, "name": "ann", "none": null}, "steps": {"a": {"output": {"items": [{"x": 1}, {"x": 2}]}}}})
    }

    macro_rules! ctx {
        () => {
            &EvalCtx::new(&base(), &OnceLock::new())
        };
    }

    #[test]
    fn whole_expressions_keep_their_type() {
        let t = Templates::new();
        assert_eq!(t.eval_str("{{ inputs.n }}", ctx!()), Ok(json!(3)));
        assert_eq!(t.eval_str("{{ inputs.none }}", ctx!()), Ok(Value::Null));
        assert_eq!(
            t.eval_str(
                "{{ steps.a.output.items | map(attribute='x') | list }}",
                ctx!()
            ),
            Ok(json!([1, 2]))
        );
        assert_eq!(
            t.eval_str("hi {{ inputs.name }}", ctx!()),
            Ok(json!("hi ann"))
        );
        assert_eq!(t.eval_str("{{ [1] + [2] }}", ctx!()), Ok(json!([1, 2])));
        assert_eq!(
            t.eval_str(r#"{{ {"a": 1} | merge({"b": inputs.n}) }}"#, ctx!()),
            Ok(json!({"a": 1, "b": 3}))
        );
        assert_eq!(t.eval_str("plain", ctx!()), Ok(json!("plain")));
    }

    #[test]
    fn plain_paths_take_the_fast_road_with_the_same_answers() {
        let t = Templates::new();
        // Each path against minijinja's own answer: wrapped in parentheses, an expression is
        // no plain path and goes the slow way.
        for path in [
            "steps.a.output['items'][1].x",
            "steps.a.output.items[0]",
            "steps.a.output.missing",
            "steps.a.nothing.deeper",
            "inputs.none",
            "inputs.n",
            "steps.a.output['items'][5]",
        ] {
            let fast = t.eval_str(&format!("{{{{ {path} }}}}"), ctx!());
            let slow = t.eval_str(&format!("{{{{ ({path}) }}}}"), ctx!());
            assert_eq!(fast.is_ok(), slow.is_ok(), "{path}: {fast:?} vs {slow:?}");
            if let (Ok(f), Ok(s)) = (&fast, &slow) {
                assert_eq!(f, s, "{path}");
            }
        }
        assert_eq!(
            t.eval_str("{{ steps.a.output['items'][1].x }}", ctx!()),
            Ok(json!(2))
        );
        let item = json!({"id": 7});
        let base = base();
        let cache = OnceLock::new();
        let c = EvalCtx::new(&base, &cache);
        let ic = c.with_item("p", &item, 4);
        assert_eq!(t.eval_str("{{ p.id }}", &ic), Ok(json!(7)));
        assert_eq!(t.eval_str("{{ index }}", &ic), Ok(json!(4)));
        assert_eq!(t.eval_str("{{ p.id + index }}", &ic), Ok(json!(11)));
        assert!(
            cache.get().is_some(),
            "a real expression converts the context once"
        );
    }

    #[test]
    fn a_typo_in_a_field_name_is_an_error_not_an_answer() {
        let t = Templates::new();
        let base = json!({"inputs": {}, "steps": {"a": {"output": [
            {"status": "ACTIVE", "app": {"name": "x"}, "owner": null},
            {"status": "SUSPENDED", "app": {"name": "y"}, "owner": null}
        ]}}});
        let cache = OnceLock::new();
        let c = EvalCtx::new(&base, &cache);
        for expr in [
            "steps.a.output | rejectattr('stauts', 'in', ['SUSPENDED']) | list",
            "steps.a.output | selectattr('stauts', 'equalto', 'ACTIVE') | list",
            "steps.a.output | map(attribute='stauts') | list",
            "steps.a.output | map(attribute='app.nmae') | list",
            "steps.a.output | sort(attribute='stauts') | list",
            "steps.a.output | groupby('stauts') | list",
            "steps.a.output | unique(attribute='stauts') | list",
        ] {
            let e = t
                .eval_str(&format!("{{{{ {expr} }}}}"), &c)
                .expect_err(expr);
            assert!(e.contains("has no field '"), "{expr}: {e}");
            assert!(
                e.contains("its fields: status, app, owner")
                    || e.contains("its fields: app, owner, status"),
                "{expr}: {e}"
            );
        }
        // Present fields (null ones too) and explicit defaults work as before.
        assert_eq!(
            t.eval_str("{{ steps.a.output | rejectattr('status', 'in', ['SUSPENDED']) | map(attribute='app.name') | list }}", &c),
            Ok(json!(["x"]))
        );
        assert_eq!(
            t.eval_str(
                "{{ steps.a.output | selectattr('owner', 'none') | list | length }}",
                &c
            ),
            Ok(json!(2))
        );
        assert_eq!(
            t.eval_str(
                "{{ steps.a.output | map(attribute='team', default='none') | list }}",
                &c
            ),
            Ok(json!(["none", "none"]))
        );
        assert_eq!(
            t.eval_str("{{ [[1], [2, 3], none] | flatten }}", &c),
            Ok(json!([1, 2, 3]))
        );
    }

    #[test]
    fn time_is_read_compared_and_moved() {
        let t = Templates::new();
        let base = base();
        let cache = OnceLock::new();
        let c = &EvalCtx::new(&base, &cache);
        let now = t.eval_str("{{ now() }}", c).expect("now");
        assert!(
            crate::dates::parse(now.as_str().expect("text")).is_some(),
            "{now}"
        );
        assert_eq!(
            t.eval_str("{{ '2026-01-31T09:00:00' | add_days(2) }}", c),
            Ok(json!("2026-02-02T09:00:00Z"))
        );
        assert_eq!(
            t.eval_str("{{ '2026-01-31' | add_hours(-1) | date }}", c),
            Ok(json!("2026-01-30"))
        );
        assert_eq!(
            t.eval_str("{{ (now() | add_days(-10)) | days_ago }}", c),
            Ok(json!(10))
        );
        assert_eq!(
            t.eval_str(
                "{{ '2026-01-31T09:00:00+02:00' | datetime < '2026-01-31T08:00:00' | datetime }}",
                c
            ),
            Ok(json!(true))
        );
        let e = t
            .eval_str("{{ 'soon' | days_ago }}", c)
            .expect_err("not a time");
        assert!(e.contains("'soon' is not a time"), "{e}");
    }

    #[test]
    fn set_work_is_linear_and_strict() {
        let t = Templates::new();
        let users: Vec<Value> = (0..100_000)
            .map(|i| json!({"id": format!("u{i}")}))
            .collect();
        let accounts: Vec<Value> = (0..100_000)
            .filter(|i| i % 10 != 0)
            .map(|i| json!({"user_id": format!("u{i}")}))
            .collect();
        let base =
            json!({"inputs": {}, "steps": {"u": {"output": users}, "a": {"output": accounts}}});
        let cache = OnceLock::new();
        let c = EvalCtx::new(&base, &cache);
        assert_eq!(
            t.eval_str(
                "{{ steps.u.output | difference_by(steps.a.output, 'id', 'user_id') | length }}",
                &c
            ),
            Ok(json!(10_000))
        );
        assert_eq!(
            t.eval_str(
                "{{ steps.u.output | intersection_by(steps.a.output, 'id', 'user_id') | length }}",
                &c
            ),
            Ok(json!(90_000))
        );
        assert_eq!(
            t.eval_str("{{ (steps.u.output | index_by('id'))['u7'].id }}", &c),
            Ok(json!("u7"))
        );
        assert_eq!(
            t.eval_str("{{ [1, 2] | zip(['a', 'b']) }}", &c),
            Ok(json!([[1, "a"], [2, "b"]]))
        );
        let e = t
            .eval_str(
                "{{ steps.u.output | difference_by(steps.a.output, 'id', 'usr_id') }}",
                &c,
            )
            .expect_err("typo");
        assert!(e.contains("has no field 'usr_id'"), "{e}");
        let e = t
            .eval_str("{{ [{'k': 1}, {'k': 1}] | index_by('k') }}", &c)
            .expect_err("twice");
        assert!(e.contains("two items have 'k' = 1"), "{e}");
    }

    #[test]
    fn undefined_names_and_runaway_loops_fail() {
        let t = Templates::new();
        assert!(t.eval_str("{{ inputs.nope.deeper }}", ctx!()).is_err());
        let err = t
            .eval_str(
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                ctx!(),
            )
            .expect_err("fuel");
        assert!(err.contains("bounded"), "{err}");
    }

    #[test]
    fn principals_flattens_users_and_groups() {
        let t = Templates::new();
        let base = json!({"p": {"users": [{"id": "u1", "given_name": "Ann", "family_name": "Lee", "email": "a@x"}], "groups": [{"id": "g1", "name": "IT"}]}});
        let cache = OnceLock::new();
        let c = EvalCtx::new(&base, &cache);
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
