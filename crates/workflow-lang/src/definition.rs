//! The workflow definition format: YAML that users and bundles write alike.
//!
//! Parsing keeps the line and column of every part an error can point at.

use std::fmt;

use indexmap::IndexMap;
use schemars::JsonSchema;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    Text,
    Textarea,
    Number,
    Integer,
    Boolean,
    Select,
    Date,
    /// A list of text values (a JSON list, or text split at commas and new lines); with
    /// `options` or `options_from`, a multi-select.
    List,
}

/// An input of a workflow: what a form field, a tool argument or `-i name=value` gives.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
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
    /// Allowed values of a `select` (or of each element of a `list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    /// Take a `select`'s values from a Lumos enum, e.g. `AccountLifecycleStatus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options_from: Option<String>,
    /// A regular expression the whole value (each element of a `list`) must match, e.g.
    /// `[^@\s]+@example-corp\.com` for a company email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// `for: requested_for`: this input names the person the run acts for. A run asked for
    /// on someone's behalf fills it with that person when it is left out, and is refused
    /// when it names anyone else, at every door.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_whom: Option<ForWhom>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Whom an input names (see [`InputSpec::for_whom`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForWhom {
    /// The person the run is for (`requested_for`).
    RequestedFor,
    /// The person running it: the one it is for when someone asks on their behalf, else the
    /// requester themself. Nobody acts as anyone else; an admin may name another person
    /// only in a workflow that changes nothing (to look on their behalf).
    Me,
}

/// Run on a timer while a server runs: every interval (first run when a server first sees
/// it), or on a cron calendar in a time zone.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// An interval: `30s`, `15m`, `2h 30m`, `1d`.
    #[serde(default)]
    pub every: Option<String>,
    /// A cron pattern: `0 9 * * MON-FRI` (minute hour day month weekday), with an optional
    /// leading seconds field (6 fields).
    #[serde(default)]
    pub cron: Option<String>,
    /// The time zone of `cron` (an IANA name such as `Europe/Berlin`; default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Inputs of the scheduled runs.
    #[serde(default)]
    pub inputs: Map<String, Value>,
}

/// What starts runs besides people and schedules.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct On {
    pub lumos_event: LumosEvent,
}

/// A Lumos event source followed by `serve`: one run per event for which `where` is true,
/// with the event as `event` in templates.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LumosEvent {
    pub source: EventSource,
    /// A condition over `event` (a template); every event when absent.
    #[serde(default, rename = "where")]
    pub condition: Option<String>,
    /// Inputs of the runs (templates over `event`).
    #[serde(default)]
    pub inputs: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// Changes to people's attributes (`getIdentityEvents`).
    IdentityEvents,
    /// What was done in Lumos (`getActivityLogs`).
    ActivityLogs,
}

/// When a schedule fires.
#[derive(Debug, Clone)]
pub enum Timing {
    Every(std::time::Duration),
    Cron(Box<croner::Cron>, chrono_tz::Tz),
}

impl Schedule {
    /// When it fires, or what is wrong with it.
    pub fn timing(&self) -> Result<Timing, String> {
        match (&self.every, &self.cron) {
            (Some(e), None) => {
                if self.timezone.is_some() {
                    return Err("timezone goes with cron, not every".into());
                }
                humantime::parse_duration(e.trim())
                    .ok()
                    .filter(|d| *d >= std::time::Duration::from_secs(1))
                    .map(Timing::Every)
                    .ok_or_else(|| {
                        format!("schedule.every '{e}' is not an interval of at least 1s like 30s, 15m, 2h or 1d")
                    })
            }
            (None, Some(c)) => {
                let cron: croner::Cron = c
                    .parse()
                    .map_err(|e| format!("schedule.cron '{c}' is not a cron pattern: {e}"))?;
                let tz: chrono_tz::Tz = match &self.timezone {
                    Some(t) => t.parse().map_err(|_| {
                        format!("schedule.timezone '{t}' is not a time zone (use an IANA name such as Europe/Berlin)")
                    })?,
                    None => chrono_tz::UTC,
                };
                Ok(Timing::Cron(Box::new(cron), tz))
            }
            (Some(_), Some(_)) => Err("a schedule has every or cron, not both".into()),
            (None, None) => Err("a schedule needs every (an interval) or cron (a pattern)".into()),
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"required": ["call"]}, {"required": ["transform"]}, {"required": ["fail"]}, {"required": ["return"]},
    {"required": ["workflow"]}, {"required": ["http"]}
]))]
pub struct Step {
    /// Later steps read this step's result as `steps.<id>.output`.
    #[schemars(with = "String", regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub id: Spanned<String>,
    /// A label for people; the id is what templates use.
    #[serde(default)]
    pub name: Option<String>,
    /// Run the step only when this template is truthy; otherwise its output is null. On a
    /// `for_each` step, an `if` that names the element (or `index`) is checked for each
    /// element instead: only those for which it holds run, and the output lists their
    /// results.
    #[serde(default, rename = "if")]
    #[schemars(with = "Option<String>")]
    pub when: Option<Spanned<String>>,
    /// Run the action once per element of this list (a template); the output is the list of
    /// results.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub for_each: Option<Spanned<String>>,
    /// The name of the element inside a `for_each` step (default: `item`); `index` is its
    /// position.
    #[serde(default, rename = "as")]
    pub item_name: Option<String>,
    /// For-each elements in flight at once (default 4).
    #[serde(default)]
    #[schemars(range(min = 1, max = 16))]
    pub concurrency: Option<usize>,
    /// With `for_each`: stop at the first failing item (the default) or run them all and
    /// report every failure.
    #[serde(default)]
    pub fail_fast: Option<bool>,
    /// Any Lumos operation id or alias (`lumosflow api operations`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub call: Option<Spanned<String>>,
    /// Path and query parameters (templates allowed); null values are left out.
    #[serde(default)]
    #[schemars(with = "Option<Map<String, Value>>")]
    // Each value keeps its position: a problem with one points at its own line.
    pub params: Option<Spanned<IndexMap<String, Spanned<Value>>>>,
    /// The JSON body of the call (templates allowed).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub body: Option<Spanned<Value>>,
    /// `true` (or a template) to fetch every page: the output becomes `{items, total}`.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub paginate: Option<Spanned<Value>>,
    /// Keep only these fields of each item the call returns (a listing's items, a list's
    /// elements, or the answer itself): a listing of a million accounts held for a set
    /// difference needs two fields of each, not all of them.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    pub fields: Option<Spanned<Vec<String>>>,
    /// Compute a value: JSON with templates.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub transform: Option<Spanned<Value>>,
    /// End the run as failed with this message (a template).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub fail: Option<Spanned<String>>,
    /// Call a web service outside Lumos (a host an admin allows): post to Slack, comment on
    /// a ticket. Secrets go in as `{{ secrets.NAME }}`.
    #[serde(default)]
    #[schemars(with = "Option<HttpSpec>")]
    pub http: Option<Spanned<HttpSpec>>,
    /// Run another installed workflow (its id) as a sub-run, recorded as its own run and
    /// linked to this one; the step's output is its output.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub workflow: Option<Spanned<String>>,
    /// The inputs of the `workflow:` step's workflow (templates allowed).
    #[serde(default)]
    #[schemars(with = "Option<Map<String, Value>>")]
    pub inputs: Option<Spanned<Value>>,
    /// End the run now with this output (JSON with templates).
    #[serde(default, rename = "return")]
    #[schemars(with = "Option<Value>")]
    pub ret: Option<Spanned<Value>>,
    /// Try a step that only reads again when it fails: `{attempts: 3, backoff: 2s}` (the
    /// wait doubles each time).
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// Fail the step (each element of a `for_each`) when it takes longer: `30s`, `5m`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// On failure, go on: the step's output is `{error: "<what went wrong>"}`.
    #[serde(default)]
    pub continue_on_error: bool,
    /// Call again until a condition on the answer holds (a call that only reads): e.g.
    /// until an access request is decided.
    #[serde(default)]
    pub wait_until: Option<WaitSpec>,
    /// Whose the answer is: a template over `output` giving an email or a list of emails
    /// (e.g. an access request's requester and target). A run acting for someone fails here
    /// when none of them is that person; other runs are not affected.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub for_person: Option<Spanned<String>>,
    /// For a call that changes Lumos: when it fails without a clear answer (a server error,
    /// a timeout, a lost connection), a call that only reads to find whether the change was
    /// made anyway. Found: the step completes with what was found. Not found: it fails
    /// saying the change was not made (safe to try again).
    #[serde(default)]
    pub verify: Option<VerifySpec>,
}

/// `verify:` — did a change whose answer was lost happen anyway?
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// A Lumos operation that only reads, e.g. `getAccessRequests`.
    pub call: String,
    /// Its parameters (templates over inputs and earlier steps).
    #[serde(default)]
    pub params: Option<Map<String, Value>>,
    /// A template over `output` (the check's answer): the change made, or nothing (null,
    /// false, an empty list or text) when it was not.
    pub found: String,
}

/// `http:` — one request to a web service.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// GET (default), POST, PUT, PATCH, DELETE or HEAD.
    #[serde(default)]
    pub method: Option<String>,
    /// The URL (a template); its host must be in `LUMOSFLOW_HTTP_ALLOWED_HOSTS`.
    pub url: String,
    /// Request headers (templates; `{{ secrets.NAME }}` for credentials).
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    /// A JSON body (templates).
    #[serde(default)]
    pub body: Option<Value>,
    /// Statuses that count as success (default: any 2xx).
    #[serde(default)]
    pub expect: Option<Vec<u16>>,
}

impl HttpSpec {
    pub fn method(&self) -> String {
        self.method.as_deref().unwrap_or("GET").to_ascii_uppercase()
    }

    /// Whether it may change something (anything but GET and HEAD).
    pub fn mutates(&self) -> bool {
        !matches!(self.method().as_str(), "GET" | "HEAD")
    }
}

/// `wait_until:` — poll a reading call.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitSpec {
    /// A template over `output` (the call's latest answer), e.g.
    /// `{{ output.status in ['APPROVED', 'DENIED'] }}`.
    pub condition: String,
    /// Time between calls (default 15s, at least 1s).
    #[serde(default)]
    pub every: Option<String>,
    /// How long to wait in all (default 1h, at most 7d); then the step fails saying so.
    #[serde(default)]
    pub up_to: Option<String>,
}

/// How a failing step is tried again.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Tries in all, 1 to 10.
    pub attempts: u32,
    /// The first wait (default 1s); each next one is twice as long.
    #[serde(default)]
    pub backoff: Option<String>,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Call,
    Transform,
    Fail,
    Return,
    Workflow,
    Http,
}

impl Step {
    pub fn action(&self) -> Option<ActionKind> {
        let set: Vec<ActionKind> = [
            (self.call.is_some(), ActionKind::Call),
            (self.transform.is_some(), ActionKind::Transform),
            (self.fail.is_some(), ActionKind::Fail),
            (self.ret.is_some(), ActionKind::Return),
            (self.workflow.is_some(), ActionKind::Workflow),
            (self.http.is_some(), ActionKind::Http),
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

/// A lumosflow workflow definition (YAML). Templates are minijinja: a string that is exactly
/// one `{{ expression }}` keeps its JSON type.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "lumosflow workflow")]
pub struct Definition {
    /// A slug, unique among installed workflows.
    #[schemars(with = "String", regex(pattern = r"^[a-z0-9][a-z0-9-]{0,63}$"))]
    pub id: Spanned<String>,
    #[schemars(with = "String", length(min = 1))]
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The bundle id, for bundled workflows (`appstore`, `directory-and-apps`).
    #[serde(default)]
    pub bundle: Option<String>,
    /// The inputs, by name (letters, digits, `_`).
    #[serde(default)]
    #[schemars(
        with = "IndexMap<String, InputSpec>",
        extend("propertyNames" = {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"})
    )]
    pub inputs: IndexMap<String, Spanned<InputSpec>>,
    /// Runs wait in `pending_approval` until approved: a sentence saying what is being
    /// approved (any admin decides), or a policy with ordered steps and their approvers.
    #[serde(default)]
    #[schemars(with = "Option<crate::policy::ApprovalSpec>")]
    pub approval: Option<Spanned<crate::policy::ApprovalSpec>>,
    #[serde(default)]
    #[schemars(with = "Option<Schedule>")]
    pub schedule: Option<Spanned<Schedule>>,
    /// Start a run for each Lumos event that matches, while a server runs.
    #[serde(default)]
    #[schemars(with = "Option<On>")]
    pub on: Option<Spanned<On>>,
    #[schemars(length(min = 1))]
    pub steps: Vec<Step>,
    /// The run's output: any JSON with templates. Default: the last step's output.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub output: Option<Spanned<Value>>,
    /// The CSV columns of the output's items, in order. Default: the fields of the
    /// operation's item type when the output is a listing, else the fields the first items
    /// have.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>", length(min = 1))]
    pub columns: Option<Spanned<Vec<String>>>,
}

/// The JSON Schema of the definition format, as `docs/workflow.schema.json` carries it (for
/// editors: completion and checks as you type).
pub fn json_schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Definition)).unwrap_or_default();
    if let Value::Object(m) = &mut schema {
        m.insert(
            "$id".into(),
            Value::from("https://lumosflow.dev/schemas/workflow.schema.json"),
        );
    }
    schema
}

/// The message of a parse error without the location and snippet the crate adds (a
/// problem carries its own line and column).
pub(crate) fn parse_message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    serde_saphyr::UserMessageFormatter
        .format_message(e.without_snippet())
        .into_owned()
}

/// Parse YAML into a definition; a syntax or shape error carries its line and column
/// (the first only: [`crate::workflow::Workflow::load`] reads on past it).
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
                message: parse_message(&e),
            }],
        }
    })
}
