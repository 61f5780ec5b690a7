//! Checks a definition before it is saved or run, reporting every problem with its position:
//! unknown operations and parameters, wrong types, references to undefined steps or inputs,
//! duplicate step ids, malformed templates.

use std::collections::HashSet;

use lumos_api::{Catalog, Operation, Pagination, params};
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::definition::{
    ActionKind, Definition, InputSpec, InputType, Invalid, Pos, Problem, Step,
};
use crate::template::Templates;

/// What templates see under `run`.
const RUN_FIELDS: &[&str] = &[
    "id",
    "requested_by",
    "requested_for",
    "person",
    "role",
    "dry_run",
    "started_at",
];

/// Functions minijinja offers that are not variables of ours.
const GLOBALS: &[&str] = &[
    "range",
    "now",
    "dict",
    "namespace",
    "debug",
    "lipsum",
    "cycler",
    "joiner",
    "loop",
    "true",
    "false",
    "none",
];

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

struct Checker<'a> {
    templates: &'a Templates,
    problems: Vec<Problem>,
    inputs: HashSet<String>,
    /// The file's lines, when known: a template inside a block (an `output:` or
    /// `transform:` object) is found on its own line instead of the block's first.
    source: Vec<&'a str>,
}

impl Checker<'_> {
    /// Where template `s` is written, at or after `pos` (the position of the block it is
    /// in); `pos` itself when the text does not show it verbatim (escapes, folding).
    fn locate(&self, pos: Pos, s: &str) -> Pos {
        let needle = s.lines().next().unwrap_or_default();
        if needle.len() < 4 {
            return pos;
        }
        let from = usize::try_from(pos.line.saturating_sub(1)).unwrap_or(usize::MAX);
        self.source
            .iter()
            .enumerate()
            .skip(from)
            .find_map(|(i, line)| {
                let at = line.find(needle)?;
                Some(Pos {
                    line: i as u64 + 1,
                    column: line[..at].chars().count() as u64 + 1,
                })
            })
            .unwrap_or(pos)
    }

    fn at(&mut self, pos: Pos, message: impl Into<String>) {
        let problem = Problem {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        };
        // The templates of one mapping share its position: the same typo in several of
        // them is one problem to fix.
        if !self.problems.contains(&problem) {
            self.problems.push(problem);
        }
    }

    /// Check every template inside `v`: syntax, and that names refer to declared inputs,
    /// earlier steps, or (inside a for-each step) the item.
    fn refs(
        &mut self,
        pos: Pos,
        v: &Value,
        earlier: &HashSet<String>,
        locals: &[&str],
        what: &str,
    ) {
        match v {
            Value::String(s) => {
                let pos = self.locate(pos, s);
                let names = match self.templates.references(s) {
                    Ok(n) => n,
                    Err(e) => return self.at(pos, format!("{what}: bad template: {e}")),
                };
                for (name, near) in self.templates.unknown_filters(s) {
                    let hint = if near.is_empty() {
                        String::new()
                    } else {
                        format!(" (did you mean {}?)", near.join(", "))
                    };
                    self.at(pos, format!("{what}: unknown filter '{name}'{hint}"));
                }
                let mut names: Vec<String> = names.into_iter().collect();
                names.sort();
                for name in names {
                    let mut parts = name.split('.');
                    let root = parts.next().unwrap_or_default();
                    let next = parts.next();
                    match root {
                        "inputs" => match next {
                            Some(i) if !self.inputs.contains(i) => {
                                let mut known: Vec<&String> = self.inputs.iter().collect();
                                known.sort();
                                let known: Vec<&str> = known.iter().map(|s| s.as_str()).collect();
                                self.at(pos, format!("{what}: unknown input '{i}' (declared: {})", if known.is_empty() { "none".into() } else { known.join(", ") }));
                            }
                            _ => {}
                        },
                        "steps" => match next {
                            Some(s) if !earlier.contains(s) => {
                                self.at(pos, format!("{what}: refers to step '{s}', which is not an earlier step"));
                            }
                            _ => {}
                        },
                        // The Lumos event that started the run (null for other runs).
                        "event" => {}
                        "run" => match next {
                            Some(f) if !RUN_FIELDS.contains(&f) => {
                                self.at(pos, format!("{what}: unknown run field '{f}' (known: {})", RUN_FIELDS.join(", ")));
                            }
                            _ => {}
                        },
                        r if locals.contains(&r) || GLOBALS.contains(&r) => {}
                        r => self.at(pos, format!("{what}: unknown name '{r}' (use inputs.<name>, steps.<id>.output or run.<field>)")),
                    }
                }
            }
            Value::Array(items) => items
                .iter()
                .for_each(|i| self.refs(pos, i, earlier, locals, what)),
            Value::Object(map) => map
                .values()
                .for_each(|i| self.refs(pos, i, earlier, locals, what)),
            _ => {}
        }
    }

    fn input(&mut self, name: &str, spec: &Spanned<InputSpec>) {
        let pos = Pos::of(spec);
        let s = &spec.value;
        if !is_ident(name) {
            self.at(
                pos,
                format!("input name '{name}' must be an identifier (letters, digits, '_')"),
            );
        }
        if let Some(Err(e)) = crate::inputs::pattern(s) {
            self.at(pos, format!("input '{name}': {e}"));
        }
        if s.pattern.is_some()
            && !matches!(
                s.kind,
                InputType::Text | InputType::Textarea | InputType::List
            )
        {
            self.at(
                pos,
                format!("input '{name}': pattern is only for text, textarea and list inputs"),
            );
        }
        if s.kind == InputType::List {
            if let (_, Some(e)) = (&s.options, &s.options_from)
                && lumos_api::Catalog::lumos().enum_values(e).is_none()
            {
                self.at(pos, format!("input '{name}': options_from '{e}' is not a Lumos enum used by any operation"));
            }
        } else if s.kind == InputType::Select {
            match (&s.options, &s.options_from) {
                (None, None) => self.at(
                    pos,
                    format!("select input '{name}' needs `options` or `options_from`"),
                ),
                (_, Some(e)) if lumos_api::Catalog::lumos().enum_values(e).is_none() => {
                    self.at(pos, format!("input '{name}': options_from '{e}' is not a Lumos enum used by any operation"));
                }
                _ => {}
            }
        } else if s.options.is_some() || s.options_from.is_some() {
            self.at(
                pos,
                format!("input '{name}': options are only for select and list inputs"),
            );
        }
        if (s.min.is_some() || s.max.is_some())
            && !matches!(s.kind, InputType::Integer | InputType::Number)
        {
            self.at(
                pos,
                format!("input '{name}': min/max are only for number and integer inputs"),
            );
        }
        if let Some(d) = &s.default
            && let Err(e) = crate::inputs::coerce(name, s, d)
        {
            self.at(pos, format!("default of {e}"));
        }
    }

    /// `fields:` names fields the operation's items (or answer) have.
    fn fields(&mut self, step: &Step, op: &Operation, f: &Spanned<Vec<String>>) {
        let id = &step.id.value;
        if f.value.is_empty() {
            self.at(
                Pos::of(f),
                format!("step '{id}': fields lists at least one field"),
            );
            return;
        }
        let schema = op
            .response
            .item
            .as_deref()
            .or(op.response.schema.as_deref());
        let known = schema.map_or_else(Vec::new, |s| lumos_api::Schemas::lumos().properties(s));
        if known.is_empty() {
            return;
        }
        for name in f.value.iter().filter(|n| !known.contains(&n.as_str())) {
            let near: Vec<&str> = known
                .iter()
                .copied()
                .filter(|k| strsim::levenshtein(k, name) <= 3)
                .collect();
            let hint = if near.is_empty() {
                format!("fields: {}", known.join(", "))
            } else {
                format!("did you mean {}?", near.join(", "))
            };
            let whose = match op.response.item {
                Some(_) => format!("{} items have", op.name()),
                None => format!("the answer of {} has", op.name()),
            };
            self.at(
                Pos::of(f),
                format!("step '{id}': {whose} no field '{name}' ({hint})"),
            );
        }
    }

    fn call(&mut self, step: &Step, op: &Operation, earlier: &HashSet<String>, locals: &[&str]) {
        let id = &step.id.value;
        if let Some(params) = &step.params {
            for (k, spanned) in &params.value {
                let (pos, v) = (Pos::of(spanned), &spanned.value);
                let Some(p) = op.param(k) else {
                    let valid: Vec<&str> = op.params.iter().map(|p| p.name.as_str()).collect();
                    self.at(
                        pos,
                        format!(
                            "step '{id}': {} has no parameter '{k}' (valid: {})",
                            op.name(),
                            if valid.is_empty() {
                                "none".into()
                            } else {
                                valid.join(", ")
                            }
                        ),
                    );
                    continue;
                };
                // Literal values are checked now; templated ones when the run evaluates them.
                let literal = |v: &Value| {
                    !matches!(v, Value::String(s) if Templates::is_template(s)) && !v.is_null()
                };
                let values: Vec<&Value> = match v {
                    Value::Array(a) if p.array => a.iter().collect(),
                    other => vec![other],
                };
                for v in values.into_iter().filter(|v| literal(v)) {
                    if let Err(e) = params::check_value(p, v) {
                        self.at(pos, format!("step '{id}': {}", e.message));
                    }
                }
                self.refs(pos, v, earlier, locals, &format!("step '{id}' param '{k}'"));
            }
        }
        for p in op.params.iter().filter(|p| p.required) {
            if !step
                .params
                .as_ref()
                .is_some_and(|ps| ps.value.contains_key(&p.name))
            {
                self.at(
                    Pos::of(step.call.as_ref().unwrap_or(&step.id)),
                    format!("step '{id}': {} needs parameter '{}'", op.name(), p.name),
                );
            }
        }
        match (&step.body, &op.body) {
            (Some(b), None) => self.at(
                Pos::of(b),
                format!("step '{id}': {} takes no body", op.name()),
            ),
            (None, Some(b)) if b.required => self.at(
                Pos::of(step.call.as_ref().unwrap_or(&step.id)),
                format!(
                    "step '{id}': {} needs a body ({})",
                    op.name(),
                    b.schema.clone().unwrap_or_else(|| "object".into())
                ),
            ),
            (Some(b), Some(spec)) => {
                self.refs(
                    Pos::of(b),
                    &b.value,
                    earlier,
                    locals,
                    &format!("step '{id}' body"),
                );
                // A body written as an object is checked against the request's schema: a
                // missing required field or a misspelt one would otherwise be a 422 at run
                // time (or, worse, silently ignored by Lumos).
                if let (Some(schema), Value::Object(fields)) = (&spec.schema, &b.value) {
                    let schemas = lumos_api::Schemas::lumos();
                    let known = schemas.properties(schema);
                    for f in schemas.required(schema) {
                        if !fields.contains_key(f) {
                            self.at(
                                Pos::of(b),
                                format!(
                                    "step '{id}': the body of {} needs '{f}' ({schema})",
                                    op.name()
                                ),
                            );
                        }
                    }
                    if !known.is_empty() {
                        for f in fields.keys().filter(|f| !known.contains(&f.as_str())) {
                            let near: Vec<&str> = known
                                .iter()
                                .copied()
                                .filter(|k| strsim::levenshtein(k, f) <= 3)
                                .collect();
                            let hint = if near.is_empty() {
                                format!("fields: {}", known.join(", "))
                            } else {
                                format!("did you mean {}?", near.join(", "))
                            };
                            self.at(
                                Pos::of(b),
                                format!("step '{id}': {schema} has no field '{f}' ({hint})"),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
        if let Some(f) = &step.fields {
            self.fields(step, op, f);
        }
        if let Some(p) = &step.paginate {
            if op.pagination == Pagination::None {
                self.at(
                    Pos::of(p),
                    format!("step '{id}': {} is not paginated", op.name()),
                );
            }
            self.refs(
                Pos::of(p),
                &p.value,
                earlier,
                locals,
                &format!("step '{id}' paginate"),
            );
        }
    }
}

/// Validate a parsed definition against the catalog.
pub fn check(def: &Definition, templates: &Templates) -> Result<(), Invalid> {
    check_source(def, templates, "")
}

/// [`check`], with the text the definition was read from: problems in templates inside a
/// block point at their own lines.
pub fn check_source(def: &Definition, templates: &Templates, source: &str) -> Result<(), Invalid> {
    let mut c = Checker {
        templates,
        problems: Vec::new(),
        inputs: def.inputs.keys().cloned().collect(),
        source: source.lines().collect(),
    };
    if !crate::ids::is_workflow_id(&def.id.value) {
        c.at(
            Pos::of(&def.id),
            format!(
                "id '{}' must be a slug: lowercase letters, digits and '-'",
                def.id.value
            ),
        );
    }
    if def.name.value.trim().is_empty() {
        c.at(Pos::of(&def.name), "name must not be empty");
    }
    for (name, spec) in &def.inputs {
        c.input(name, spec);
    }
    if let Some(a) = &def.approval {
        for problem in a.value.problems() {
            c.at(Pos::of(a), problem);
        }
        for t in a.value.templates() {
            c.refs(Pos::of(a), &t, &HashSet::new(), &[], "approval");
        }
    }
    if let Some(sched) = &def.schedule {
        if let Err(problem) = sched.value.timing() {
            c.at(Pos::of(sched), problem);
        }
        if let Err(problems) = crate::inputs::resolve(&def.inputs, &sched.value.inputs) {
            for p in problems {
                c.at(Pos::of(sched), format!("schedule inputs: {p}"));
            }
        }
    }
    if let Some(on) = &def.on {
        let ev = &on.value.lumos_event;
        let mut templates: Vec<Value> = ev.inputs.values().cloned().collect();
        templates.extend(ev.condition.iter().map(|w| Value::String(w.clone())));
        for t in &templates {
            c.refs(Pos::of(on), t, &HashSet::new(), &[], "on.lumos_event");
        }
        if let Some(k) = ev
            .inputs
            .keys()
            .find(|k| !def.inputs.contains_key(k.as_str()))
        {
            c.at(
                Pos::of(on),
                format!("on.lumos_event.inputs: '{k}' is not an input of this workflow"),
            );
        }
    }
    if def.steps.is_empty() {
        c.at(Pos::of(&def.id), "a workflow needs at least one step");
    }
    let catalog = Catalog::lumos();
    let mut earlier: HashSet<String> = HashSet::new();
    for step in &def.steps {
        let id = step.id.value.clone();
        let pos = Pos::of(&step.id);
        if let Some(r) = &step.retry {
            if r.attempts == 0 || r.attempts > 10 {
                c.at(pos, format!("step '{id}': retry.attempts must be 1 to 10"));
            }
            if let Some(b) = &r.backoff
                && let Err(e) = crate::duration::parse_duration(b)
            {
                c.at(pos, format!("step '{id}': retry.backoff: {e}"));
            }
            let mutating = step
                .call
                .as_ref()
                .and_then(|op| catalog.get(&op.value))
                .is_some_and(|op| op.is_mutating());
            if mutating {
                c.at(pos, format!("step '{id}': retry is for steps that only read (a change tried again may be made twice; the client already retries changes when that is safe)"));
            }
        }
        if let Some(t) = &step.timeout
            && let Err(e) = crate::duration::parse_duration(t)
        {
            c.at(pos, format!("step '{id}': timeout: {e}"));
        }
        if let Some(w) = &step.wait_until {
            let op = step.call.as_ref().and_then(|op| catalog.get(&op.value));
            if step.call.is_none() || op.is_some_and(|op| op.is_mutating()) {
                c.at(pos, format!("step '{id}': wait_until is for a call that only reads (it is made again and again)"));
            }
            if step.for_each.is_some() || step.paginate.is_some() {
                c.at(
                    pos,
                    format!("step '{id}': wait_until does not go with for_each or paginate"),
                );
            }
            for (what, value, min, max) in [
                ("every", &w.every, 1, 86_400),
                ("up_to", &w.up_to, 1, 7 * 86_400),
            ] {
                if let Some(t) = value {
                    match crate::duration::parse_duration(t) {
                        Ok(d) if (min..=max).contains(&d.as_secs()) => {}
                        Ok(_) => c.at(
                            pos,
                            format!(
                                "step '{id}': wait_until.{what} must be from {min}s to {}",
                                humantime::format_duration(std::time::Duration::from_secs(max))
                            ),
                        ),
                        Err(e) => c.at(pos, format!("step '{id}': wait_until.{what}: {e}")),
                    }
                }
            }
            let earlier_now = earlier.clone();
            c.refs(
                pos,
                &Value::String(w.condition.clone()),
                &earlier_now,
                &["output"],
                &format!("step '{id}' wait_until"),
            );
        }
        if let Some(v) = &step.verify {
            let changes = step
                .call
                .as_ref()
                .and_then(|op| catalog.get(&op.value))
                .is_some_and(|op| op.is_mutating());
            if !changes || step.for_each.is_some() {
                c.at(
                    pos,
                    format!(
                        "step '{id}': verify goes with a call that changes Lumos, not in a loop"
                    ),
                );
            }
            match catalog.get(&v.call) {
                None => c.at(
                    pos,
                    format!("step '{id}': verify.call: unknown operation '{}'", v.call),
                ),
                Some(op) if op.is_mutating() => c.at(
                    pos,
                    format!(
                        "step '{id}': verify.call must only read ({} changes Lumos)",
                        op.name()
                    ),
                ),
                Some(op) => {
                    for k in v.params.iter().flatten().map(|(k, _)| k) {
                        if op.param(k).is_none() {
                            let valid: Vec<&str> =
                                op.params.iter().map(|p| p.name.as_str()).collect();
                            c.at(
                                pos,
                                format!(
                                    "step '{id}': verify: {} has no parameter '{k}' (valid: {})",
                                    op.name(),
                                    valid.join(", ")
                                ),
                            );
                        }
                    }
                }
            }
            let earlier_now = earlier.clone();
            c.refs(
                pos,
                &Value::Object(v.params.clone().unwrap_or_default()),
                &earlier_now,
                &[],
                &format!("step '{id}' verify.params"),
            );
            c.refs(
                pos,
                &Value::String(v.found.clone()),
                &earlier_now,
                &["output"],
                &format!("step '{id}' verify.found"),
            );
        }
        if let Some(f) = &step.for_person {
            if step.call.is_none() || step.for_each.is_some() {
                c.at(
                    Pos::of(f),
                    format!("step '{id}': for_person goes with a call that is not in a loop"),
                );
            }
            let earlier_now = earlier.clone();
            c.refs(
                Pos::of(f),
                &Value::String(f.value.clone()),
                &earlier_now,
                &["output"],
                &format!("step '{id}' for_person"),
            );
        }
        if !is_ident(&id) {
            c.at(
                pos,
                format!("step id '{id}' must be an identifier (letters, digits, '_')"),
            );
        }
        if earlier.contains(&id) {
            c.at(pos, format!("duplicate step id '{id}'"));
        }
        let item = step.item_var().to_owned();
        // A malformed `as` is one problem; the name it begins with is what the step's
        // templates mean by it, so they are not each reported again.
        let meant: String = item
            .chars()
            .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
            .collect();
        if !is_ident(&item) {
            c.at(
                pos,
                format!("step '{id}': as '{item}' must be an identifier (letters, digits, '_')"),
            );
        }
        let mut locals: Vec<&str> = Vec::new();
        if let Some(fe) = &step.for_each {
            c.refs(
                Pos::of(fe),
                &Value::String(fe.value.clone()),
                &earlier,
                &[],
                &format!("step '{id}' for_each"),
            );
            locals.push(&item);
            locals.push(&meant);
            locals.push("index");
            if step.concurrency.is_some_and(|n| n == 0 || n > 16) {
                c.at(pos, format!("step '{id}': concurrency must be 1 to 16"));
            }
        } else if step.item_name.is_some() || step.concurrency.is_some() || step.fail_fast.is_some()
        {
            c.at(
                pos,
                format!("step '{id}': `as`, `concurrency` and `fail_fast` go with `for_each`"),
            );
        }
        if let Some(w) = &step.when {
            c.refs(
                Pos::of(w),
                &Value::String(w.value.clone()),
                &earlier,
                &locals,
                &format!("step '{id}' if"),
            );
        }
        match step.action() {
            None => c.at(
                pos,
                format!(
                    "step '{id}' needs exactly one of call, transform, fail, return, workflow, http"
                ),
            ),
            Some(ActionKind::Call) => {
                if step.inputs.is_some() {
                    c.at(
                        pos,
                        format!(
                            "step '{id}': `inputs` goes with `workflow` (a call takes `params`)"
                        ),
                    );
                }
                let call = step
                    .call
                    .as_ref()
                    .map(|c| c.value.as_str())
                    .unwrap_or_default();
                match catalog.get(call) {
                    Some(op) => c.call(step, op, &earlier, &locals),
                    None => {
                        let near = catalog.suggest(call);
                        let hint = if near.is_empty() {
                            " (not in the operation catalog)".to_owned()
                        } else {
                            format!(" (did you mean {}?)", near.join(", "))
                        };
                        c.at(
                            step.call.as_ref().map_or(pos, Pos::of),
                            format!("step '{id}': unknown Lumos operation '{call}'{hint}"),
                        );
                        // Its templates can still be checked: a typo there is a second
                        // problem, not one to find after fixing the first.
                        for (k, v) in step.params.iter().flat_map(|p| &p.value) {
                            let what = format!("step '{id}' param '{k}'");
                            c.refs(Pos::of(v), &v.value, &earlier, &locals, &what);
                        }
                        for (part, v) in [("body", &step.body), ("paginate", &step.paginate)] {
                            if let Some(v) = v {
                                let what = format!("step '{id}' {part}");
                                c.refs(Pos::of(v), &v.value, &earlier, &locals, &what);
                            }
                        }
                    }
                }
            }
            Some(_) => {
                for (field, present) in [
                    ("params", step.params.is_some()),
                    ("body", step.body.is_some()),
                    ("paginate", step.paginate.is_some()),
                    ("fields", step.fields.is_some()),
                ] {
                    if present {
                        c.at(pos, format!("step '{id}': `{field}` goes with `call`"));
                    }
                }
                if let Some(t) = &step.transform {
                    c.refs(
                        Pos::of(t),
                        &t.value,
                        &earlier,
                        &locals,
                        &format!("step '{id}' transform"),
                    );
                }
                if let Some(f) = &step.fail {
                    c.refs(
                        Pos::of(f),
                        &Value::String(f.value.clone()),
                        &earlier,
                        &locals,
                        &format!("step '{id}' fail"),
                    );
                }
                if let Some(r) = &step.ret {
                    c.refs(
                        Pos::of(r),
                        &r.value,
                        &earlier,
                        &locals,
                        &format!("step '{id}' return"),
                    );
                }
                if let Some(w) = &step.workflow {
                    let target = w.value.as_str();
                    if target == def.id.value {
                        c.at(
                            Pos::of(w),
                            format!("step '{id}': a workflow cannot run itself"),
                        );
                    } else if target.is_empty()
                        || !target
                            .chars()
                            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
                    {
                        c.at(
                            Pos::of(w),
                            format!("step '{id}': '{target}' is not a workflow id"),
                        );
                    }
                    match &step.inputs {
                        Some(i) if !i.value.is_object() => c.at(
                            Pos::of(i),
                            format!("step '{id}': inputs is a map of the workflow's inputs"),
                        ),
                        Some(i) => c.refs(
                            Pos::of(i),
                            &i.value,
                            &earlier,
                            &locals,
                            &format!("step '{id}' inputs"),
                        ),
                        None => {}
                    }
                } else if step.inputs.is_some() {
                    c.at(pos, format!("step '{id}': `inputs` goes with `workflow`"));
                }
                if let Some(h) = &step.http {
                    let at = Pos::of(h);
                    let spec = &h.value;
                    if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
                        .contains(&spec.method().as_str())
                    {
                        c.at(at, format!("step '{id}': http.method must be GET, POST, PUT, PATCH, DELETE or HEAD"));
                    }
                    let templated = spec.url.contains("{{");
                    let web = spec.url.starts_with("https://") || spec.url.starts_with("http://");
                    if !templated && !web {
                        c.at(
                            at,
                            format!("step '{id}': http.url must be an http:// or https:// URL"),
                        );
                    }
                    // Secrets go in whole, as `{{ secrets.NAME }}`: the only form that is
                    // replaced at the last moment and redacted from what is recorded.
                    let mut texts: Vec<Value> = vec![Value::String(spec.url.clone())];
                    texts.extend(spec.headers.iter().flat_map(|m| m.values().cloned()));
                    texts.extend(spec.body.iter().cloned());
                    let mut locals_http: Vec<&str> = locals.clone();
                    locals_http.push("secrets");
                    for t in &texts {
                        for bad in crate::secret_refs::misused(t) {
                            c.at(at, format!("step '{id}': write secrets as {{{{ secrets.NAME }}}} on their own, not '{bad}'"));
                        }
                        c.refs(at, t, &earlier, &locals_http, &format!("step '{id}' http"));
                    }
                    if let Some(statuses) = &spec.expect
                        && statuses.iter().any(|s| !(100..=599).contains(s))
                    {
                        c.at(
                            at,
                            format!("step '{id}': http.expect lists HTTP statuses (100 to 599)"),
                        );
                    }
                }
            }
        }
        // A malformed id is reported once, above; references to the name it begins with
        // are most likely meant for this step, so they are not reported again.
        if !is_ident(&id) {
            let meant: String = id
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            earlier.insert(meant);
        }
        earlier.insert(id);
    }
    if let Some(o) = &def.output {
        c.refs(Pos::of(o), &o.value, &earlier, &[], "output");
    }
    if let Some(cols) = &def.columns {
        let mut seen = HashSet::new();
        if cols.value.is_empty() {
            c.at(Pos::of(cols), "columns: name at least one column");
        }
        for col in &cols.value {
            if col.trim().is_empty() {
                c.at(Pos::of(cols), "columns: a column name is empty");
            } else if !seen.insert(col.as_str()) {
                c.at(Pos::of(cols), format!("columns: '{col}' is named twice"));
            }
        }
    }
    if c.problems.is_empty() {
        Ok(())
    } else {
        Err(Invalid {
            problems: c.problems,
        })
    }
}
