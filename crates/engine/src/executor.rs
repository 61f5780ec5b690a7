//! Running a workflow: steps in order, templates evaluated against the inputs and earlier
//! outputs, Lumos calls through the client, one record per step sent to the caller.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use lumos_api::{CallOptions, Client, Operation, Pagination};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use store::{RunProgress, StepStatus};

use crate::output::{Produced, Sink};
use workflow_lang::plan::{Action, Call, ForEach, Planned};
pub use workflow_lang::size::approx_size;
use workflow_lang::template::{EvalCtx, Meter, Templates};
use workflow_lang::workflow::Workflow;

/// What a step's action reached: nothing outside the run, Lumos, another web service, or
/// another workflow (a sub-run, whose own calls are its own records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Local,
    Lumos,
    Http,
    Workflow,
}

/// What happened in one step (or one item of a for-each step).
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step_id: String,
    pub iteration: i32,
    pub status: StepStatus,
    pub kind: StepKind,
    /// Whether a request that changes something went out (a Lumos write, an http write):
    /// what the audit trail records.
    pub changed: bool,
    pub operation: Option<String>,
    pub params: Option<Value>,
    /// The request that went to Lumos (method and path, no query), once one did.
    pub method: Option<String>,
    pub path: Option<String>,
    pub http_status: Option<u16>,
    pub duration_ms: u64,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    /// What the step gave, bounded (see [`step_output`]), for debugging from the record.
    pub output: Option<Value>,
}

/// Largest step output recorded whole; bigger ones are summarised.
const STEP_OUTPUT_MAX: u64 = 16 << 10;
/// Items kept in the summary of a big list.
const STEP_OUTPUT_ITEMS: usize = 5;

/// A step's output as its record keeps it: whole when small; for a big listing its other
/// fields, how many items and the first few; for any other big value, its size.
pub fn step_output(v: &Value) -> Value {
    if approx_size(v) <= STEP_OUTPUT_MAX {
        return v.clone();
    }
    let first = |items: &[Value]| -> Vec<Value> {
        items
            .iter()
            .take(STEP_OUTPUT_ITEMS)
            .filter(|i| approx_size(i) <= STEP_OUTPUT_MAX / STEP_OUTPUT_ITEMS as u64)
            .cloned()
            .collect()
    };
    match v {
        Value::Array(items) => json!({
            "truncated": true, "count": items.len(), "first": first(items),
        }),
        Value::Object(m) if m.get("items").is_some_and(Value::is_array) => {
            let items = m["items"].as_array().map(Vec::as_slice).unwrap_or_default();
            let mut out = Map::new();
            for (k, x) in m {
                if k != "items" && approx_size(x) <= 1024 {
                    out.insert(k.clone(), x.clone());
                }
            }
            out.insert("truncated".into(), json!(true));
            out.insert("items_count".into(), json!(items.len()));
            out.insert("first_items".into(), Value::Array(first(items)));
            Value::Object(out)
        }
        other => json!({"truncated": true, "bytes": approx_size(other)}),
    }
}

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
    /// Stop before the first step that changes Lumos (an approval gate `before_changes`).
    pub hold_before_changes: bool,
    /// Which steps change something (followed through `workflow:` steps).
    pub changes: Arc<workflow_lang::changes::Changes>,
    /// Go on from where a held run stopped, its approval given.
    pub resume: Option<Hold>,
    /// The run's lease, asked before every request that leaves the run (the Lumos client
    /// asks it too).
    pub fence: Option<Arc<dyn lumos_api::Fence>>,
}

/// Parameter names whose values never reach records or logs.
fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "api_key",
        "apikey",
        "authorization",
        "credential",
    ]
    .iter()
    .any(|s| n.contains(s))
}

fn redact(params: &Map<String, Value>) -> Value {
    Value::Object(
        params
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if is_secret(k) {
                        json!("[redacted]")
                    } else {
                        v.clone()
                    },
                )
            })
            .collect(),
    )
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
    pub client: reqwest::Client,
}

/// Largest answer an `http:` step keeps.
const HTTP_ANSWER_MAX: usize = 1 << 20;

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
                } else if self.options.hold_before_changes
                    && self.options.resume.is_none()
                    && self.options.changes.at(index)
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

    /// An `http:` step: rendered, secrets put in at the last moment, sent to an allowed host
    /// (described instead in a dry run when it may change something), its answer kept with
    /// the secrets taken out.
    async fn http_step(
        &self,
        id: &str,
        spec: &workflow_lang::definition::HttpSpec,
        ctx: &EvalCtx<'_>,
        rec: &mut StepRecord,
    ) -> Result<Value, RunError> {
        use workflow_lang::secret_refs;
        let fail = RunError::at(id);
        let Some(env) = self.http else {
            return Err(fail(
                "http steps run only in recorded runs (install the workflow and run it)".into(),
            ));
        };
        let redact = secret_refs::Redactor::new(&env.secrets);
        let render = |v: &Value| -> Result<Value, RunError> {
            let mut out = self
                .templates
                .eval(&secret_refs::mark(v), ctx)
                .map_err(|m| fail(redact.text(&m)))?;
            secret_refs::fill(&mut out, &env.secrets).map_err(|name| {
                fail(format!(
                    "no secret named '{name}' (an admin sets it: lumosflow secrets set {name})"
                ))
            })?;
            Ok(out)
        };
        let method = spec.method();
        let url = match render(&Value::String(spec.url.clone()))? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let shown = redact.text(&url);
        let parsed = url::Url::parse(&url)
            .map_err(|e| fail(format!("http.url '{shown}' is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(fail(format!("http.url '{shown}' is not http or https")));
        }
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        let with_port = parsed.port().map(|p| format!("{host}:{p}"));
        if !env
            .allowed_hosts
            .iter()
            .any(|a| *a == host || with_port.as_deref() == Some(a.as_str()))
        {
            return Err(fail(format!(
                "{host} is not a host http steps may call; an admin allows hosts with LUMOSFLOW_HTTP_ALLOWED_HOSTS (now: {})",
                if env.allowed_hosts.is_empty() {
                    "none".to_owned()
                } else {
                    env.allowed_hosts.join(", ")
                }
            )));
        }
        let mut headers = Vec::new();
        for (k, v) in spec.headers.iter().flatten() {
            let value = match render(v)? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            headers.push((k.clone(), value));
        }
        let body = spec.body.as_ref().map(&render).transpose()?;
        rec.operation = Some(format!("http {method} {host}"));
        rec.kind = StepKind::Http;
        rec.method = Some(method.clone());
        rec.path = Some(parsed.path().to_owned());
        rec.params = Some(json!({
            "url": shown,
            "headers": headers.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        }));
        if self.options.dry_run && spec.mutates() {
            rec.status = StepStatus::DryRun;
            return Ok(json!({
                "dry_run": true, "method": method, "url": shown,
                "body": body.as_ref().map(|b| redact.value(b)),
            }));
        }
        if self.options.cancel.is_cancelled() {
            return Err(RunError::Canceled);
        }
        let verb = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| fail(format!("'{method}' is not an HTTP method")))?;
        // The same fence as Lumos calls: a process that lost the run sends nothing more.
        if let Some(fence) = &self.options.fence {
            fence
                .check()
                .map_err(|reason| fail(format!("not sent: {reason}")))?;
        }
        rec.changed = spec.mutates();
        let mut req = env.client.request(verb, parsed);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = tokio::select! {
            biased;
            () = self.options.cancel.cancelled() => return Err(RunError::Canceled),
            r = req.send() => r.map_err(|e| fail(redact.text(&format!("{method} {host}: {e}"))))?,
        };
        let status = resp.status().as_u16();
        rec.http_status = Some(status);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| fail(redact.text(&format!("{method} {host}: reading the answer: {e}"))))?;
        if bytes.len() > HTTP_ANSWER_MAX {
            return Err(fail(format!(
                "{method} {host} answered {} bytes; http steps keep answers up to 1 MiB",
                bytes.len()
            )));
        }
        let answer = serde_json::from_slice::<Value>(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        let answer = redact.value(&answer);
        let ok = match &spec.expect {
            Some(list) => list.contains(&status),
            None => (200..300).contains(&status),
        };
        if !ok {
            return Err(fail(format!(
                "{method} {host} answered HTTP {status}: {}",
                short(&answer)
            )));
        }
        Ok(json!({"status": status, "body": answer}))
    }

    /// A `workflow:` step: its inputs rendered, the workflow run as a recorded sub-run
    /// (stopped with this run), its output as the step's.
    async fn sub_run(
        &self,
        id: &str,
        target: &str,
        inputs: &Map<String, Value>,
        ctx: &EvalCtx<'_>,
        rec: &mut StepRecord,
    ) -> Result<Value, RunError> {
        let fail = RunError::at(id);
        let Some(subs) = self.subs else {
            return Err(fail(format!(
                "workflow '{target}' runs only inside a recorded run (install this workflow and run it)"
            )));
        };
        let given = match self
            .templates
            .eval(&Value::Object(inputs.clone()), ctx)
            .map_err(|m| fail(format!("inputs: {m}")))?
        {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        rec.params = Some(json!({"workflow": target, "inputs": redact(&given)}));
        let sub = tokio::select! {
            biased;
            () = self.options.cancel.cancelled() => return Err(RunError::Canceled),
            r = subs.run(target, given, self.options.dry_run) => r.map_err(fail)?,
        };
        rec.params = Some(json!({"workflow": target, "run_id": sub.run_id}));
        Ok(sub.output)
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

    /// [`Self::attempt`], again and again while a `wait_until:` condition does not hold.
    async fn attempt_until(
        &self,
        step: &Planned,
        ctx: &EvalCtx<'_>,
        iteration: i32,
        stream: bool,
        held: &Held,
    ) -> Result<(Called, bool), RunError> {
        let Some(wait) = &step.wait else {
            return self.attempt(step, ctx, iteration, stream, held).await;
        };
        let began = std::time::Instant::now();
        loop {
            let (called, returned) = self.attempt(step, ctx, iteration, stream, held).await?;
            let octx = ctx.with_item("output", &called.value, 0);
            let done =
                self.templates
                    .truthy(&wait.condition, &octx)
                    .map_err(|m| RunError::Step {
                        step: step.id.clone(),
                        message: format!("wait_until: {m}"),
                    })?;
            if done || self.options.dry_run {
                return Ok((called, returned));
            }
            if began.elapsed() + wait.every > wait.up_to {
                return Err(RunError::Step {
                    step: step.id.clone(),
                    message: format!(
                        "waited {} and the condition never held (last answer: {})",
                        humantime::format_duration(wait.up_to),
                        short(&called.value)
                    ),
                });
            }
            tokio::select! {
                () = self.options.cancel.cancelled() => return Err(RunError::Canceled),
                () = tokio::time::sleep(wait.every) => {}
            }
        }
    }

    /// `action` with the step's timeout and retries. A walk whose pages went to the store
    /// as they came is never tried again (its pages would be stored twice).
    async fn attempt(
        &self,
        step: &Planned,
        ctx: &EvalCtx<'_>,
        iteration: i32,
        stream: bool,
        held: &Held,
    ) -> Result<(Called, bool), RunError> {
        let attempts = if stream { 1 } else { step.attempts.max(1) };
        let mut wait = step.backoff;
        let mut n = 1;
        loop {
            let fut = self.action(step, ctx, iteration, stream, held);
            let r = match step.timeout {
                Some(t) => tokio::time::timeout(t, fut).await.unwrap_or_else(|_| {
                    Err(RunError::Step {
                        step: step.id.clone(),
                        message: format!("took longer than {}", humantime::format_duration(t)),
                    })
                }),
                None => fut.await,
            };
            match r {
                Err(RunError::Step { .. }) if n < attempts => {
                    tokio::select! {
                        () = self.options.cancel.cancelled() => return Err(RunError::Canceled),
                        () = tokio::time::sleep(wait) => {}
                    }
                    wait = wait.saturating_mul(2);
                    n += 1;
                }
                Err(RunError::Step { step, message }) if n > 1 => {
                    return Err(RunError::Step {
                        step,
                        message: format!("{message} (tried {n} times)"),
                    });
                }
                other => return other,
            }
        }
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
                hold_before_changes: false,
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

    /// Run a step once per item, `concurrency` at a time. By default the first failure
    /// stops the loop: no new item starts and those in flight are dropped (with their
    /// requests), so a mutating loop sends nothing more after one change failed. With
    /// `fail_fast: false` every item runs and every failure is reported.
    async fn for_each(
        &self,
        step: &Planned,
        each: &ForEach,
        ctx: &EvalCtx<'_>,
        items: &[Value],
        held: &Held,
    ) -> Result<Value, RunError> {
        let (n, fail_fast) = (each.concurrency, each.fail_fast);
        let id = step.id.as_str();
        // A per-element `if:` picks the elements that run; the others are left out of the
        // output (the loop's output lists what was done).
        let chosen: Vec<usize> = match &each.only_if {
            None => (0..items.len()).collect(),
            Some(cond) => {
                let mut chosen = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let ictx = ctx.with_item(&each.item, item, i);
                    let go = self
                        .templates
                        .truthy(cond, &ictx)
                        .map_err(|m| RunError::Step {
                            step: id.to_owned(),
                            message: format!("item {i} ({}): if: {m}", short(item)),
                        })?;
                    if go {
                        chosen.push(i);
                    }
                }
                chosen
            }
        };
        // Indices, not references, go through the stream, so the run future stays Send for
        // any lifetime (it is spawned by the server).
        let mut results = std::pin::pin!(
            stream::iter(chosen.iter().copied())
                .map(|i| {
                    let ictx = ctx.with_item(&each.item, &items[i], i);
                    async move {
                        let r = self.attempt(step, &ictx, i as i32, false, held).await;
                        (i, r.map(|(c, _)| c.value))
                    }
                })
                .buffer_unordered(n)
        );
        let mut outputs: Vec<Option<Value>> = vec![None; items.len()];
        let mut failures: Vec<String> = Vec::new();
        while let Some((i, r)) = results.next().await {
            match r {
                Ok(v) => {
                    if let Err(m) = held.add(approx_size(&v)) {
                        return Err(RunError::Step {
                            step: id.to_owned(),
                            message: format!("item {i}: {m}"),
                        });
                    }
                    outputs[i] = Some(v);
                }
                Err(RunError::Canceled) => return Err(RunError::Canceled),
                Err(e) => {
                    let what = format!("item {i} ({}): {}", short(&items[i]), e.detail());
                    if fail_fast {
                        return Err(RunError::Step {
                            step: id.to_owned(),
                            message: what,
                        });
                    }
                    failures.push(what);
                }
            }
        }
        if !failures.is_empty() {
            return Err(RunError::Step {
                step: id.to_owned(),
                message: format!(
                    "{} of {} items failed: {}",
                    failures.len(),
                    chosen.len(),
                    failures.join("; ")
                ),
            });
        }
        Ok(Value::Array(outputs.into_iter().flatten().collect()))
    }

    fn blank(&self, id: &str, iteration: i32) -> StepRecord {
        StepRecord {
            step_id: id.to_owned(),
            iteration,
            status: StepStatus::Completed,
            kind: StepKind::Local,
            changed: false,
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
            Action::Call(call) => self
                .call(id, call, ctx, &mut rec, stream, held)
                .await
                .map(|c| (c, false)),
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
            Err(e) => {
                rec.status = if matches!(e, RunError::Canceled) {
                    StepStatus::Canceled
                } else {
                    StepStatus::Failed
                };
                rec.error = Some(e.to_string());
            }
        }
        self.record(rec);
        result
    }

    async fn call(
        &self,
        id: &str,
        call: &Call,
        ctx: &EvalCtx<'_>,
        rec: &mut StepRecord,
        stream: bool,
        held: &Held,
    ) -> Result<Called, RunError> {
        let err = RunError::at(id);
        let op: &Operation = call.op;
        let name = op.name();
        rec.operation = Some(name.to_owned());
        rec.kind = StepKind::Lumos;
        let mut params = Map::new();
        for (k, v) in &call.params {
            let v = self
                .templates
                .eval(v, ctx)
                .map_err(|m| err(format!("param '{k}': {m}")))?;
            // An absent optional input drops its parameter.
            if !v.is_null() {
                params.insert(k.clone(), v);
            }
        }
        rec.params = Some(redact(&params));
        let body = match &call.body {
            Some(b) => Some(
                self.templates
                    .eval(b, ctx)
                    .map_err(|m| err(format!("body: {m}")))?,
            ),
            None => None,
        };
        let paginate = match &call.paginate {
            Some(p) => match self.templates.eval(p, ctx).map_err(err)? {
                Value::Bool(b) => b,
                Value::Null => false,
                Value::String(s) => s == "true",
                other => return Err(err(format!("paginate must be true or false, got {other}"))),
            },
            None => false,
        };
        let (_, prepared) = self
            .client
            .prepare(name, &params)
            .map_err(|e| err(e.to_string()))?;
        if self.options.dry_run && op.is_mutating() {
            rec.status = StepStatus::DryRun;
            return Ok(Called {
                value: workflow_lang::dry_run::placeholder(
                    op,
                    &prepared.path_and_query(),
                    body.as_ref(),
                ),
                streamed: false,
            });
        }
        // Nothing goes out after a cancel, not even the first request of a step.
        if self.options.cancel.is_cancelled() {
            return Err(RunError::Canceled);
        }
        rec.method = Some(op.method.clone());
        rec.path = Some(prepared.path.clone());
        rec.changed = op.is_mutating();
        if paginate {
            let sink = match (&self.options.sink, stream) {
                (Some(sink), true) => Some(sink.as_ref()),
                _ => None,
            };
            return self.walk(id, call, &params, sink, rec, held).await;
        }
        let resp = tokio::select! {
            biased;
            () = self.options.cancel.cancelled() => return Err(RunError::Canceled),
            r = self.client.execute(op, &prepared, body.as_ref(), CallOptions::default()) => r,
        };
        let resp = resp.map_err(|e| {
            rec.http_status = e.status();
            err(e.to_string())
        })?;
        rec.http_status = Some(resp.status);
        let mut out = resp.body;
        if op.pagination == Pagination::Page
            && let Value::Object(m) = &mut out
        {
            let page = m.get("page").and_then(Value::as_u64);
            let pages = m.get("pages").and_then(Value::as_u64);
            let next = match (page, pages) {
                (Some(p), Some(n)) if p < n => json!(p + 1),
                _ => Value::Null,
            };
            m.insert("next_page".into(), next);
        }
        if let Some(fields) = &call.fields {
            keep_fields_of_answer(&mut out, op.response.items_key.as_deref(), fields);
        }
        Ok(Called {
            value: out,
            streamed: false,
        })
    }

    /// Walk every page of a listing: its items go to `sink` as they arrive, or are held
    /// (counted against the run's budget) to become the step's output.
    async fn walk(
        &self,
        id: &str,
        call: &Call,
        params: &Map<String, Value>,
        sink: Option<&Sink>,
        rec: &mut StepRecord,
        held: &Held,
    ) -> Result<Called, RunError> {
        let (name, fields) = (call.op.name(), call.fields.as_deref());
        let err = RunError::at(id);
        // One cancellation future for the whole walk, not one per page.
        let mut pages = std::pin::pin!(
            self.client
                .pages(name, params)
                .take_until(self.options.cancel.clone().cancelled_owned())
        );
        let mut items = Vec::new();
        let mut progress = RunProgress::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                rec.http_status = e.status();
                err(e.to_string())
            })?;
            if progress.pages == 0 {
                progress.total = page.total;
            }
            progress.pages += 1;
            progress.items += page.len() as u64;
            held.work.charge(page.len() as u64).map_err(err)?;
            match sink {
                Some(sink) => sink.page(page).await.map_err(|e| err(e.to_string()))?,
                None => {
                    let mut values = page
                        .values()
                        .map_err(|e| err(format!("an item of a page is not JSON: {e}")))?;
                    let bytes = match fields {
                        Some(fields) => values
                            .iter_mut()
                            .map(|v| {
                                keep_fields(v, fields);
                                approx_size(v)
                            })
                            .sum(),
                        None => page.item_bytes() as u64,
                    };
                    held.add(bytes).map_err(err)?;
                    items.extend(values);
                }
            }
            if let Some(p) = &self.options.progress {
                p(id, &progress);
            }
        }
        if self.options.cancel.is_cancelled() {
            return Err(RunError::Canceled);
        }
        rec.http_status = Some(200);
        let mut out = Map::new();
        if sink.is_none() {
            out.insert("items".into(), Value::Array(items));
        }
        out.insert("total".into(), Value::from(progress.items));
        Ok(Called {
            value: Value::Object(out),
            streamed: sink.is_some(),
        })
    }
}

/// `fields:` on one item: an object keeps only those fields, in that order (other values
/// stay whole). A new map, not `retain`: that would keep the room of every field dropped.
fn keep_fields(v: &mut Value, fields: &[String]) {
    if let Value::Object(m) = v {
        *m = fields
            .iter()
            .filter_map(|f| m.remove(f).map(|x| (f.clone(), x)))
            .collect();
    }
}

/// `fields:` on a whole answer: a listing's items, a list's elements, or the object.
fn keep_fields_of_answer(v: &mut Value, items_key: Option<&str>, fields: &[String]) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(|i| keep_fields(i, fields)),
        Value::Object(m) => match items_key.and_then(|k| m.get_mut(k)) {
            Some(Value::Array(items)) => items.iter_mut().for_each(|i| keep_fields(i, fields)),
            _ => keep_fields(v, fields),
        },
        _ => {}
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
