//! A validated definition as what the executor does: each step with exactly one action, its
//! operation already looked up. Built only from a definition that passed validation, so the
//! executor has nothing left to check.

use lumos_api::{Catalog, Operation};
use serde_json::{Map, Value};

use crate::definition::{Definition, Invalid, Problem, Step};

/// One step, ready to run.
#[derive(Debug, Clone)]
pub struct Planned {
    pub id: String,
    /// `if:` — run only when truthy.
    pub when: Option<String>,
    pub each: Option<ForEach>,
    pub action: Action,
    /// Tries in all, and the first wait between them.
    pub attempts: u32,
    pub backoff: std::time::Duration,
    pub timeout: Option<std::time::Duration>,
    pub continue_on_error: bool,
    /// `wait_until:` — call again until this holds.
    pub wait: Option<Wait>,
    /// `for_person:` — whose the answer is (a template over `output`).
    pub for_person: Option<String>,
    /// `verify:` — how to find whether a change whose answer was lost was made.
    pub verify: Option<Verify>,
}

/// A call that only reads, made after a change's answer was lost, and what in its answer
/// is the change made.
#[derive(Debug, Clone)]
pub struct Verify {
    pub op: &'static Operation,
    pub params: Map<String, Value>,
    /// A template over `output`.
    pub found: String,
}

#[derive(Debug, Clone)]
pub struct Wait {
    /// A template over `output`.
    pub condition: String,
    pub every: std::time::Duration,
    pub up_to: std::time::Duration,
}

/// What a step may change, seen from its own definition: the one place that says which
/// actions change something. A `workflow:` step changes what its workflow changes, which
/// the engine finds by following it.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Reads, computes or fails: changes nothing.
    None,
    /// A Lumos operation that writes (POST, PUT, PATCH, DELETE).
    Lumos(&'static Operation),
    /// A request to a web service other than GET or HEAD (its method).
    Http(String),
    /// Runs another workflow (its id).
    Workflow(String),
}

impl Planned {
    pub fn effect(&self) -> Effect {
        match &self.action {
            Action::Call(c) if c.op.is_mutating() => Effect::Lumos(c.op),
            Action::Http(h) if h.mutates() => Effect::Http(h.method()),
            Action::Workflow { id, .. } => Effect::Workflow(id.clone()),
            _ => Effect::None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ForEach {
    pub list: String,
    /// The name each element has in templates (`item` unless `as:` says otherwise).
    pub item: String,
    pub concurrency: usize,
    pub fail_fast: bool,
    /// `if:` that names the element (or `index`): checked for each element, which runs only
    /// when it holds.
    pub only_if: Option<String>,
}

/// Whether a template names `var` (as a whole word): an `if:` that does is about each
/// element of a loop, not about the step.
fn names(template: &str, var: &str) -> bool {
    template
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == var)
}

#[derive(Debug, Clone)]
pub enum Action {
    Call(Call),
    Transform(Value),
    Fail(String),
    Return(Value),
    /// Run another installed workflow: its id and inputs (templates).
    Workflow {
        id: String,
        inputs: Map<String, Value>,
    },
    /// A request to a web service outside Lumos.
    Http(crate::definition::HttpSpec),
}

#[derive(Debug, Clone)]
pub struct Call {
    pub op: &'static Operation,
    pub params: Map<String, Value>,
    pub body: Option<Value>,
    /// `paginate:` — a boolean or a template giving one.
    pub paginate: Option<Value>,
    /// `fields:` — the only fields of each item to keep.
    pub fields: Option<Vec<String>>,
}

impl Planned {
    /// A call that walks every page, not inside a loop: its items can be streamed.
    pub fn is_listing(&self) -> bool {
        // `paginate: false` written out is one page, not a walk.
        self.each.is_none()
            && matches!(&self.action, Action::Call(c)
                if c.paginate.as_ref().is_some_and(|p| *p != Value::Bool(false)))
    }

    /// Whether any of the step's templates may read earlier steps' outputs (conservatively:
    /// whether the word `steps` appears in them).
    pub fn reads_steps(&self) -> bool {
        let in_action = match &self.action {
            Action::Call(c) => {
                c.params
                    .iter()
                    .any(|(k, v)| k.contains("steps") || mentions_steps(v))
                    || c.body.as_ref().is_some_and(mentions_steps)
                    || c.paginate.as_ref().is_some_and(mentions_steps)
            }
            Action::Transform(v) | Action::Return(v) => mentions_steps(v),
            Action::Fail(f) => f.contains("steps"),
            Action::Workflow { inputs, .. } => inputs.values().any(mentions_steps),
            Action::Http(h) => {
                h.url.contains("steps")
                    || h.headers
                        .as_ref()
                        .is_some_and(|m| m.values().any(mentions_steps))
                    || h.body.as_ref().is_some_and(mentions_steps)
            }
        };
        in_action
            || self.when.as_ref().is_some_and(|w| w.contains("steps"))
            || self.each.as_ref().is_some_and(|e| e.list.contains("steps"))
    }
}

/// Whether `v` holds the word `steps` anywhere (a key or text).
fn mentions_steps(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("steps"),
        Value::Array(a) => a.iter().any(mentions_steps),
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.contains("steps") || mentions_steps(v)),
        _ => false,
    }
}

fn step(s: &Step) -> Result<Planned, String> {
    let id = s.id.value.clone();
    let action = match (&s.call, &s.transform, &s.fail, &s.ret) {
        (None, None, None, None) if s.http.is_some() && s.workflow.is_none() => match &s.http {
            Some(h) => Action::Http(h.value.clone()),
            None => return Err(format!("step '{id}' has no http request")),
        },
        (None, None, None, None) if s.workflow.is_some() => Action::Workflow {
            id: s
                .workflow
                .as_ref()
                .map(|w| w.value.clone())
                .unwrap_or_default(),
            inputs: s
                .inputs
                .as_ref()
                .and_then(|i| i.value.as_object().cloned())
                .unwrap_or_default(),
        },
        (Some(call), None, None, None) => {
            let op = Catalog::lumos()
                .get(&call.value)
                .ok_or_else(|| format!("step '{id}': unknown Lumos operation '{}'", call.value))?;
            Action::Call(Call {
                op,
                params: s
                    .params
                    .iter()
                    .flat_map(|p| &p.value)
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect(),
                body: s.body.as_ref().map(|b| b.value.clone()),
                paginate: s.paginate.as_ref().map(|p| p.value.clone()),
                fields: s.fields.as_ref().map(|f| f.value.clone()),
            })
        }
        (None, Some(t), None, None) => Action::Transform(t.value.clone()),
        (None, None, Some(f), None) => Action::Fail(f.value.clone()),
        (None, None, None, Some(r)) => Action::Return(r.value.clone()),
        _ => {
            return Err(format!(
                "step '{id}' needs exactly one of call, transform, fail, return, workflow, http"
            ));
        }
    };
    let when = s.when.as_ref().map(|w| w.value.clone());
    let per_item = s.for_each.is_some()
        && when
            .as_deref()
            .is_some_and(|w| names(w, s.item_var()) || names(w, "index"));
    Ok(Planned {
        when: if per_item { None } else { when.clone() },
        each: s.for_each.as_ref().map(|fe| ForEach {
            list: fe.value.clone(),
            item: s.item_var().to_owned(),
            concurrency: s.concurrency.unwrap_or(4).clamp(1, 16),
            fail_fast: s.fail_fast.unwrap_or(true),
            only_if: if per_item { when } else { None },
        }),
        id,
        action,
        attempts: s.retry.as_ref().map_or(1, |r| r.attempts.clamp(1, 10)),
        backoff: s
            .retry
            .as_ref()
            .and_then(|r| r.backoff.as_deref())
            .and_then(|b| crate::duration::parse_duration(b).ok())
            .unwrap_or(std::time::Duration::from_secs(1)),
        timeout: s
            .timeout
            .as_deref()
            .and_then(|t| crate::duration::parse_duration(t).ok()),
        continue_on_error: s.continue_on_error,
        for_person: s.for_person.as_ref().map(|f| f.value.clone()),
        verify: match &s.verify {
            None => None,
            Some(v) => Some(Verify {
                op: Catalog::lumos()
                    .get(&v.call)
                    .ok_or_else(|| format!("verify: unknown operation '{}'", v.call))?,
                params: v.params.clone().unwrap_or_default(),
                found: v.found.clone(),
            }),
        },
        wait: s.wait_until.as_ref().map(|w| {
            let d = |t: &Option<String>, default: u64| {
                t.as_deref()
                    .and_then(|t| crate::duration::parse_duration(t).ok())
                    .unwrap_or(std::time::Duration::from_secs(default))
            };
            Wait {
                condition: w.condition.clone(),
                every: d(&w.every, 15),
                up_to: d(&w.up_to, 3600),
            }
        }),
    })
}

/// The steps of a validated definition.
pub fn build(def: &Definition) -> Result<Vec<Planned>, Invalid> {
    def.steps
        .iter()
        .map(|s| {
            step(s).map_err(|message| Invalid {
                problems: vec![Problem {
                    line: s.id.referenced.line(),
                    column: s.id.referenced.column(),
                    message,
                }],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::template::Templates;
    use crate::workflow::Workflow;

    fn plan(paginate: &str) -> Workflow {
        let yaml = format!(
            "id: x\nname: X\nsteps:\n  - id: users\n    call: listUsers\n    paginate: {paginate}\n"
        );
        Workflow::load(&yaml, &Templates::new()).expect("valid")
    }

    #[test]
    fn only_a_walk_is_a_listing() {
        assert!(!plan("false").plan[0].is_listing(), "one page");
        assert!(plan("true").plan[0].is_listing());
        assert!(
            plan("\"{{ true }}\"").plan[0].is_listing(),
            "decided at run time"
        );
    }
}
