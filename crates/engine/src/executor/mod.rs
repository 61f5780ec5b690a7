//! Running a workflow: steps in order, templates evaluated against the inputs and earlier
//! outputs, Lumos calls through the client, one record per step sent to the caller.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use chrono::Utc;
use lumos_api::Client;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use store::{RunProgress, StepStatus};

use crate::output::{Produced, Sink};
use workflow_lang::plan::{Action, Planned};
use workflow_lang::template::{EvalCtx, Meter, Templates};
use workflow_lang::workflow::Workflow;

mod attempt;
mod call;
mod for_each;
pub(crate) mod http_request;
mod http_step;
mod record;
mod sub_run;
mod verify;

pub(crate) use verify::refused;

pub use record::{
    LOOP_SAMPLE_COMPLETED, LOOP_SAMPLE_FAILED, LOOP_SUMMARY, LoopCounts, LoopSample, StepKind,
    StepRecord, approx_size, step_output,
};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("step '{step}': {message}")]
    Step { step: String, message: String },
    #[error("{0}")]
    Failed(String),
    #[error("the run was canceled")]
    Canceled,
    /// Stopped before its first change to Lumos, to wait for approval.
    #[error("held for approval before step '{}'", .0.step)]
    Held(Box<Hold>),
}

/// Where a run held before its first change stopped, and what it was about to send.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Hold {
    /// The step it stopped before, and its index in the plan.
    pub step: String,
    pub index: usize,
    /// The outputs of the steps before it, to resume from.
    pub steps: Value,
    /// The calls the step would make (method, path, body), as a dry run describes them.
    pub preview: Value,
    /// When the reads the preview rests on were made.
    pub taken_at: chrono::DateTime<Utc>,
}

impl RunError {
    /// Mark a step's record as ended by this error: canceled, or failed with its message.
    fn mark(&self, rec: &mut StepRecord) {
        rec.status = if matches!(self, RunError::Canceled) {
            StepStatus::Canceled
        } else {
            StepStatus::Failed
        };
        rec.error = Some(self.to_string());
    }

    /// What turns a message into step `step`'s error.
    fn at(step: &str) -> impl Fn(String) -> RunError + Copy + '_ {
        move |message| RunError::Step {
            step: step.to_owned(),
            message,
        }
    }

    /// The message without the step's name (for a step that reports its items' errors).
    fn detail(&self) -> String {
        match self {
            RunError::Step { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

/// The id of the step at `index`, if there is one.
fn index_id(plan: &[Planned], index: Option<usize>) -> Option<String> {
    index.and_then(|i| plan.get(i)).map(|p| p.id.clone())
}

/// A value as it appears in an error: JSON, cut at 60 characters.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// Called with (step id, how far it got) after each page a step walks.
pub type Progress = Arc<dyn Fn(&str, &RunProgress) + Send + Sync>;

#[derive(Clone)]
pub struct RunOptions {
    /// Perform reads, but only describe mutating calls.
    pub dry_run: bool,
    pub cancel: CancellationToken,
    /// When the output is one walk over every page, its pages go here as they arrive
    /// (to the store) instead of being held: flat memory for listings of any size.
    pub sink: Option<Arc<Sink>>,
    pub progress: Option<Progress>,
    /// Template work the run may do, in fuel.
    pub fuel: u64,
    /// Bytes of step outputs the run may hold.
    pub max_bytes: u64,
    /// With an approval gate `before_changes`: which steps change something (followed
    /// through `workflow:` steps); the run stops before the first of them.
    pub hold_before_changes: Option<Arc<workflow_lang::changes::Changes>>,
    /// Go on from where a held run stopped, its approval given.
    pub resume: Option<Hold>,
    /// The run's lease, asked before every request that leaves the run (the Lumos client
    /// asks it too).
    pub fence: Option<Arc<dyn lumos_api::Fence>>,
}

/// `{inputs, run, steps: {id: {output}}}` as JSON, and its template form once something asks.
/// Shared with the templates' view of it, which is dropped before each change, so a change
/// never copies (`Arc::make_mut` finds the data unshared).
struct Scope {
    json: Arc<Value>,
    jinja: OnceLock<minijinja::Value>,
}

impl Scope {
    fn ctx<'a>(&'a self, meter: &'a Meter) -> EvalCtx<'a> {
        EvalCtx::shared(&self.json, &self.jinja).metered(meter)
    }

    fn json_mut(&mut self) -> &mut Value {
        self.jinja = OnceLock::new();
        Arc::make_mut(&mut self.json)
    }

    fn set_output(&mut self, id: String, output: Value) {
        // Built by hand: `json!` would deep-copy `output` through serde.
        let mut step = Map::new();
        step.insert("output".into(), output);
        self.json_mut()["steps"][id] = Value::Object(step);
    }
}

pub struct Executor<'a> {
    pub workflow: &'a Workflow,
    pub client: &'a Client,
    pub templates: &'a Templates,
    pub records: mpsc::UnboundedSender<StepRecord>,
    pub options: RunOptions,
    /// What runs `workflow:` steps (the engine, as recorded sub-runs); none where runs are
    /// not recorded (`workflows try`).
    pub subs: Option<&'a dyn SubRuns>,
    /// What `http:` steps need; none where they do not run.
    pub http: Option<&'a HttpEnv>,
}

/// What `http:` steps need: the hosts an admin allows, the values of the secrets the
/// workflow names, a client.
pub struct HttpEnv {
    pub allowed_hosts: Vec<String>,
    pub secrets: std::collections::HashMap<String, zeroize::Zeroizing<String>>,
    /// Where each of those secrets may go.
    pub rules: std::collections::HashMap<String, workflow_lang::secret_refs::SecretRule>,
    /// Every form of those secrets, taken out of what the run records (built once a run).
    pub redact: workflow_lang::secret_refs::Redactor,
    pub client: reqwest::Client,
}

/// Runs the workflow of a `workflow:` step as a sub-run of the run going on.
pub trait SubRuns: Send + Sync {
    fn run<'s>(
        &'s self,
        workflow: &'s str,
        inputs: Map<String, Value>,
        dry_run: bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<SubRun, String>> + Send + 's>>;
}

/// A finished sub-run: its id (linked to the parent run) and its whole output.
pub struct SubRun {
    pub run_id: String,
    pub output: Value,
}

/// The bytes of step outputs a run holds, against its limit. Counted roughly (the size the
/// values would take as JSON), which is what matters: the order of magnitude. This guards
/// memory; the run's budget is the work it does (`work`).
struct Held {
    max: u64,
    used: AtomicU64,
    work: Meter,
}

impl Held {
    fn add(&self, bytes: u64) -> Result<(), String> {
        let total = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total > self.max {
            return Err(format!(
                "the run holds more than {} of step outputs (keep fewer with `fields:` on large \
                 listings; LUMOSFLOW_RUN_MAX_BYTES raises the limit)",
                if self.max >= 1 << 20 {
                    format!("{} MiB", self.max >> 20)
                } else {
                    format!("{} bytes", self.max)
                }
            ));
        }
        Ok(())
    }
}

/// How a step's call ended: its output, whether its items went to the sink instead.
struct Called {
    value: Value,
    streamed: bool,
}

impl Executor<'_> {
    /// `run` is what templates see as `run`: its id, who asked and for whom.
    /// `event` is the Lumos event that started the run (null otherwise).
    pub async fn run(
        &self,
        inputs: Map<String, Value>,
        run: Value,
        event: Value,
    ) -> Result<Produced, RunError> {
        let held = Held {
            max: self.options.max_bytes,
            used: AtomicU64::new(0),
            work: Meter::new(self.options.fuel),
        };
        let meter = &held.work;
        // The person the run acts for: `for_person:` steps check their answers against it.
        let for_whom = run
            .get("requested_for")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut scope = Scope {
            json: Arc::new(json!({"inputs": inputs, "run": run, "event": event, "steps": {}})),
            jinja: OnceLock::new(),
        };
        let streamed = self
            .options
            .sink
            .as_ref()
            .and(self.workflow.streamed_step())
            .map(str::to_owned);
        let mut streamed_out = false;
        let mut last: Option<String> = None;
        let start = match &self.options.resume {
            Some(h) => {
                scope.json_mut()["steps"] = h.steps.clone();
                last = index_id(&self.workflow.plan, h.index.checked_sub(1));
                h.index
            }
            None => 0,
        };
        for (index, step) in self.workflow.plan.iter().enumerate().skip(start) {
            if self.options.cancel.is_cancelled() {
                return Err(RunError::Canceled);
            }
            let id = step.id.clone();
            let step_err = RunError::at(&id);
            let output = {
                let ctx = scope.ctx(meter);
                let go = match &step.when {
                    Some(w) => self.templates.truthy(w, &ctx).map_err(step_err)?,
                    None => true,
                };
                if !go {
                    self.record(StepRecord {
                        status: StepStatus::Skipped,
                        ..self.blank(&id, 0)
                    });
                    None
                } else if self.options.resume.is_none()
                    && self
                        .options
                        .hold_before_changes
                        .as_ref()
                        .is_some_and(|c| c.at(index))
                {
                    let preview = self.preview(step, &ctx, &held).await?;
                    return Err(RunError::Held(Box::new(Hold {
                        step: id.clone(),
                        index,
                        steps: scope.json["steps"].clone(),
                        preview,
                        taken_at: Utc::now(),
                    })));
                } else if let Some(each) = &step.each {
                    let items = match self
                        .templates
                        .eval_str(&each.list, &ctx)
                        .map_err(step_err)?
                    {
                        Value::Array(a) => a,
                        Value::Null => Vec::new(),
                        other => {
                            return Err(step_err(format!(
                                "for_each needs a list, got {}",
                                kind(&other)
                            )));
                        }
                    };
                    match self.for_each(step, each, &ctx, &items, &held).await {
                        Ok(v) => Some(v),
                        Err(e @ RunError::Step { .. }) if step.continue_on_error => {
                            Some(json!({"error": e.detail()}))
                        }
                        Err(e) => return Err(e),
                    }
                } else {
                    let stream_this = streamed.as_deref() == Some(id.as_str());
                    let (called, returned) =
                        match self.attempt_until(step, &ctx, 0, stream_this, &held).await {
                            Ok(x) => x,
                            Err(e @ RunError::Step { .. })
                                if step.continue_on_error && !stream_this =>
                            {
                                let value = json!({"error": e.detail()});
                                (
                                    Called {
                                        value,
                                        streamed: false,
                                    },
                                    false,
                                )
                            }
                            Err(e) => return Err(e),
                        };
                    if let (Some(tpl), Some(whom)) = (&step.for_person, &for_whom) {
                        self.check_person(step, tpl, &called.value, &ctx, whom)?;
                    }
                    if returned {
                        return Ok(Produced::Value(called.value));
                    }
                    streamed_out |= called.streamed;
                    Some(called.value)
                }
            };
            let output = output.unwrap_or(Value::Null);
            // Listings and loops are counted item by item as they come, the rest here.
            if step.each.is_none() && !step.is_listing() {
                held.add(approx_size(&output)).map_err(step_err)?;
            }
            scope.set_output(id.clone(), output);
            last = Some(id);
        }
        // An output that is just one step's output is moved out, not copied.
        if let Some(id) = self.workflow.output_step() {
            let value = scope.json_mut()["steps"][id]["output"].take();
            return Ok(if streamed_out {
                Produced::Streamed { envelope: value }
            } else {
                Produced::Value(value)
            });
        }
        let value = match &self.workflow.def.output {
            Some(o) => self
                .templates
                .eval(&o.value, &scope.ctx(meter))
                .map_err(|m| RunError::Step {
                    step: "output".into(),
                    message: m,
                }),
            None => Ok(last
                .map(|id| scope.json_mut()["steps"][&id]["output"].take())
                .unwrap_or(Value::Null)),
        };
        value.map(Produced::Value)
    }

    /// A `for_person:` step's answer must belong to the person the run acts for: one of the
    /// emails the template gives (over `output`) is theirs, in any case.
    fn check_person(
        &self,
        step: &Planned,
        template: &str,
        output: &Value,
        ctx: &EvalCtx<'_>,
        whom: &str,
    ) -> Result<(), RunError> {
        let err = RunError::at(&step.id);
        let octx = ctx.with_item("output", output, 0);
        let owners: Vec<String> = match self
            .templates
            .eval_str(template, &octx)
            .map_err(|m| err(format!("for_person: {m}")))?
        {
            Value::String(s) => vec![s],
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        if owners.iter().any(|o| o.eq_ignore_ascii_case(whom)) {
            return Ok(());
        }
        Err(err(format!(
            "this run is for {whom}, and what it found belongs to {}: a run acting for someone acts only on what is theirs",
            if owners.is_empty() {
                "nobody it can name".to_owned()
            } else {
                owners.join(" and ")
            }
        )))
    }

    /// What `step` would send, described as a dry run describes it, nothing sent and no
    /// step recorded.
    async fn preview(
        &self,
        step: &Planned,
        ctx: &EvalCtx<'_>,
        held: &Held,
    ) -> Result<Value, RunError> {
        let (records, _dropped) = mpsc::unbounded_channel();
        let dry = Executor {
            workflow: self.workflow,
            client: self.client,
            templates: self.templates,
            records,
            options: RunOptions {
                dry_run: true,
                sink: None,
                progress: None,
                hold_before_changes: None,
                resume: None,
                ..self.options.clone()
            },
            subs: self.subs,
            http: self.http,
        };
        if let Some(each) = &step.each {
            let items = match dry.templates.eval_str(&each.list, ctx) {
                Ok(Value::Array(a)) => a,
                Ok(Value::Null) => Vec::new(),
                Ok(other) => {
                    return Err(RunError::Step {
                        step: step.id.clone(),
                        message: format!("for_each needs a list, got {}", kind(&other)),
                    });
                }
                Err(m) => {
                    return Err(RunError::Step {
                        step: step.id.clone(),
                        message: m,
                    });
                }
            };
            let values = dry.for_each(step, each, ctx, &items, held).await?;
            let calls = match values {
                Value::Array(a) => a.iter().map(workflow_lang::dry_run::call_of).collect(),
                other => vec![workflow_lang::dry_run::call_of(&other)],
            };
            return Ok(Value::Array(calls));
        }
        let (called, _) = dry.action(step, ctx, 0, false, held).await?;
        Ok(Value::Array(vec![workflow_lang::dry_run::call_of(
            &called.value,
        )]))
    }

    fn blank(&self, id: &str, iteration: i32) -> StepRecord {
        StepRecord {
            step_id: id.to_owned(),
            iteration,
            loop_item: false,
            status: StepStatus::Completed,
            kind: StepKind::Local,
            changed: false,
            sent: None,
            operation: None,
            params: None,
            method: None,
            path: None,
            http_status: None,
            duration_ms: 0,
            error: None,
            started_at: Utc::now(),
            output: None,
        }
    }

    fn record(&self, r: StepRecord) {
        // The receiver outlives the run; a closed channel only means nobody is listening.
        let _ = self.records.send(r);
    }

    /// Run one step's action; `true` when it was a `return`.
    async fn action(
        &self,
        step: &Planned,
        ctx: &EvalCtx<'_>,
        iteration: i32,
        stream: bool,
        held: &Held,
    ) -> Result<(Called, bool), RunError> {
        let id = step.id.as_str();
        let value = |v: Value| Called {
            value: v,
            streamed: false,
        };
        let started = Instant::now();
        let mut rec = self.blank(id, iteration);
        rec.loop_item = step.each.is_some();
        let err = RunError::at(id);
        let result = match &step.action {
            Action::Transform(t) => self
                .templates
                .eval(t, ctx)
                .map(|v| (value(v), false))
                .map_err(err),
            Action::Return(r) => self
                .templates
                .eval(r, ctx)
                .map(|v| (value(v), true))
                .map_err(err),
            Action::Fail(f) => {
                let message = match self.templates.eval_str(f, ctx) {
                    Ok(Value::String(s)) => s,
                    Ok(other) => other.to_string(),
                    Err(m) => m,
                };
                Err(RunError::Failed(message))
            }
            Action::Call(call) => match self.call(id, call, ctx, &mut rec, stream, held).await {
                // A change that failed: was it made? (its fate goes in the record)
                Err(RunError::Step { message, .. }) if call.op.is_mutating() && rec.changed => self
                    .fate(id, step.verify.as_ref(), ctx, &mut rec, &message)
                    .await
                    .map(|c| (c, false)),
                other => other.map(|c| (c, false)),
            },
            Action::Http(spec) => self
                .http_step(id, spec, ctx, &mut rec)
                .await
                .map(|v| (value(v), false)),
            Action::Workflow { id: target, inputs } => {
                rec.operation = Some(format!("workflow {target}"));
                rec.kind = StepKind::Workflow;
                self.sub_run(id, target, inputs, ctx, &mut rec)
                    .await
                    .map(|v| (value(v), false))
            }
        };
        rec.duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok((c, _)) => rec.output = Some(step_output(&c.value)),
            // A failed change's record keeps its fate (`{change: …}`, see `verify`) as its
            // output.
            Err(e) => e.mark(&mut rec),
        }
        self.record(rec);
        result
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
