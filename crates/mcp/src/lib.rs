//! Installed workflows as Model Context Protocol tools, for AI help-desk agents.
//!
//! Each installed workflow is a tool: its id is the name, its description the description,
//! its inputs the JSON Schema. A call starts a real, recorded run. Bad input is a tool error
//! the agent can read, not a protocol error. The tool list is re-read on every request and
//! watched, so installs and uninstalls notify connected clients.

use std::sync::Arc;
use std::time::Duration;

use engine::RunStatus;
use engine::definition::{InputSpec, InputType};
use engine::{Actor, Engine, EngineError, RunRequest};
mod authoring;
mod prompts;
mod resources;
mod schemas;

use rmcp::ErrorData as McpError;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ServerCapabilities,
    ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

/// The installed set's fingerprint (ids and versions), watched by one task for every
/// session: sessions subscribe, and a closed session's listener ends with it.
pub struct ToolsWatch {
    engine: Arc<Engine>,
    tx: tokio::sync::watch::Sender<String>,
    started: OnceCell<()>,
}

impl ToolsWatch {
    pub fn new(engine: Arc<Engine>) -> Arc<Self> {
        let (tx, _) = tokio::sync::watch::channel(String::new());
        Arc::new(Self {
            engine,
            tx,
            started: OnceCell::new(),
        })
    }

    /// Sessions listening for changes now.
    pub fn listeners(&self) -> usize {
        self.tx.receiver_count()
    }

    async fn fingerprint(&self) -> String {
        self.engine
            .installed_fingerprint()
            .await
            .unwrap_or_default()
    }

    /// A receiver of changes; the poller starts with the first one and reads the database
    /// only while someone listens.
    async fn subscribe(self: &Arc<Self>) -> tokio::sync::watch::Receiver<String> {
        if self.started.set(()).is_ok() {
            self.tx.send_replace(self.fingerprint().await);
            let me = Arc::downgrade(self);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    let Some(me) = me.upgrade() else { return };
                    if me.tx.receiver_count() == 0 {
                        continue;
                    }
                    let now = me.fingerprint().await;
                    me.tx.send_if_modified(|cur| {
                        let changed = *cur != now;
                        *cur = now;
                        changed
                    });
                }
            });
        }
        let mut rx = self.tx.subscribe();
        rx.mark_unchanged();
        rx
    }
}

/// Where a tool call's run executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// In this process (`lumosflow mcp` over stdio: a local process of its own).
    Here,
    /// Through the run queue, like every run `serve` starts; the call waits for the result.
    Queue,
}

#[derive(Clone)]
pub struct WorkflowTools {
    engine: Arc<Engine>,
    /// Who runs are recorded as started by when the transport says nothing (stdio).
    actor: Actor,
    launch: Launch,
    watch: Arc<ToolsWatch>,
    watching: Arc<OnceCell<()>>,
}

impl WorkflowTools {
    pub fn new(engine: Arc<Engine>, actor: Actor, launch: Launch, watch: Arc<ToolsWatch>) -> Self {
        Self {
            engine,
            actor,
            launch,
            watch,
            watching: Arc::new(OnceCell::new()),
        }
    }

    /// Run a workflow for a tool call: here, or queued and waited for.
    async fn run(
        &self,
        id: &str,
        args: &Map<String, Value>,
        req: RunRequest,
    ) -> Result<engine::RunOutcome, EngineError> {
        match self.launch {
            Launch::Here => self.engine.run(id, args, req).await,
            Launch::Queue => {
                let cancel = req.cancel.clone();
                let by = req.actor.label.clone();
                let submitted = self.engine.submit(id, args, req).await?;
                if !submitted.will_run() {
                    return Ok(engine::RunOutcome::without_output(
                        submitted.run_id,
                        submitted.status,
                        None,
                    ));
                }
                self.engine
                    .wait_submitted(&submitted, Some(&cancel), &by)
                    .await
            }
        }
    }

    /// What an agent gets back: a value as it is; a listing's first items with the total
    /// and where the rest are, so a million accounts do not flood the conversation.
    async fn preview(&self, out: engine::RunOutcome) -> Result<Value, EngineError> {
        let Some(info) = out
            .output_info
            .as_ref()
            .filter(|i| i.kind != engine::OutputKind::Value)
        else {
            return Ok(out.output.unwrap_or(Value::Null));
        };
        let count = info.items;
        let stored = self.engine.stored_output(&out.run_id).await?;
        let mut preview = match stored.preview(PREVIEW_ITEMS).await? {
            Value::Object(m) => m,
            // A bare list: the same shape as a listing, for a structured result.
            items => {
                let mut m = serde_json::Map::new();
                m.insert("items".into(), items);
                m.insert("total".into(), Value::from(count));
                m
            }
        };
        preview.insert("run_id".into(), Value::from(out.run_id.clone()));
        if count > PREVIEW_ITEMS {
            // Not the whole page: a `next_page` here would skip the items not shown, so the
            // result carries none, and says where the rest of this page is.
            preview.remove("next_page");
            preview.insert(
                "more".into(),
                Value::from(format!(
                    "these are the first {PREVIEW_ITEMS} of {count} items; read the rest with the resource lumosflow://runs/{}/items?offset={PREVIEW_ITEMS}&limit=100 (its `next` gives the offset after that)",
                    out.run_id
                )),
            );
        }
        Ok(Value::Object(preview))
    }

    /// Where a run stands, for an agent: status, the approval step and who decides while it
    /// is held, the output (first items) or the error once it is over.
    async fn status(&self, run_id: &str, by: &Actor) -> Result<Value, EngineError> {
        let d = self.engine.run_detail_for(run_id, by).await?;
        let mut out = serde_json::Map::new();
        out.insert("run_id".into(), json!(d.run.id));
        out.insert("workflow_id".into(), json!(d.run.workflow_id));
        out.insert("run_status".into(), json!(d.run.status));
        if let Some(a) = &d.approval
            && let Some(step) = a.step.and_then(|i| a.steps.get(i))
        {
            out.insert(
                "waiting_for".into(),
                json!({"step": step.name, "who": step.who, "approvals_needed": step.min, "reason": a.reason, "expires_at": a.expires_at}),
            );
            out.insert(
                "message".into(),
                json!(format!(
                    "Run {} is waiting for approval at step '{}' ({}). Nothing has been changed in Lumos. Check again later with get-run-status.",
                    d.run.id, step.name, step.who
                )),
            );
        }
        if d.run.status == RunStatus::Completed {
            out.insert(
                "output".into(),
                d.run
                    .output
                    .as_ref()
                    .map(|o| o.0.clone())
                    .unwrap_or(Value::Null),
            );
            if let Some(items) = &d.items {
                out.insert(
                    "items".into(),
                    json!({"count": items.count, "shown": items.shown}),
                );
                if items.count > items.shown {
                    out.insert(
                        "more".into(),
                        json!(format!(
                            "the output shows the first {} of {} items; read the rest with the resource lumosflow://runs/{}/items?offset={}&limit=100 (its `next` gives the offset after that)",
                            items.shown, items.count, d.run.id, items.shown
                        )),
                    );
                }
            }
        }
        if let Some(e) = &d.run.error {
            out.insert("error".into(), json!(e));
        }
        // A run that stopped short: whether it changed anything, and whether trying again
        // is safe.
        if let Some(w) = &d.writes {
            out.insert("changes".into(), json!(w));
        }
        Ok(Value::Object(out))
    }

    /// Whether the installed workflow `id` declares an input called `name`.
    async fn has_input(&self, id: &str, name: &str) -> bool {
        self.engine
            .load(id, None)
            .await
            .is_ok_and(|(wf, _)| wf.def.inputs.contains_key(name))
    }

    /// Who calls: the person or key the HTTP request was authenticated as, else this
    /// server's own actor (stdio).
    fn caller(&self, context: &RequestContext<RoleServer>) -> Actor {
        context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<Actor>())
            .cloned()
            .unwrap_or_else(|| self.actor.clone())
    }

    /// The tools `caller` may call: `get-run-status`, then one per installed workflow its key
    /// scope allows (the run core's own rule, `KeyScope::refusal`, so what is listed is what
    /// may be called).
    pub async fn tools(&self, caller: &Actor) -> Result<Vec<Tool>, EngineError> {
        let mut status = Tool::new(
            RUN_STATUS_TOOL,
            "Where a run stands: its status; for a held run, the approval step it waits at and who decides; for a finished one, its output (first items) or error",
            Arc::new(
                json!({
                    "type": "object",
                    "properties": {"run_id": {"type": "string", "description": "The run id a tool result gave"}},
                    "required": ["run_id"],
                    "additionalProperties": false
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ),
        );
        status.title = Some("Get run status".to_owned());
        status.annotations = Some(
            ToolAnnotations::with_title("Get run status")
                .read_only(true)
                .open_world(false),
        );
        status.output_schema = Some(Arc::new(schemas::for_run_status()));
        let mut tools = vec![status];
        let authors = authoring::offered_to(caller);
        if authors {
            tools.extend(authoring::tools());
        }
        for l in self.engine.list().await?.into_iter().filter(|l| {
            l.installed
                && l.id != RUN_STATUS_TOOL
                && !(authors && authoring::is_authoring(&l.id))
                && caller.scope.lists(&l.id)
        }) {
            let (wf, _) = self.engine.load(&l.id, None).await?;
            let changes = self.engine.changes(&wf).await?;
            if caller
                .scope
                .refusal(&caller.label, &l.id, changes.describe_first().as_deref())
                .is_some()
            {
                continue;
            }
            let description = wf
                .def
                .description
                .clone()
                .unwrap_or_else(|| wf.name().to_owned())
                + &gated_note(&wf).unwrap_or_default();
            let mut inputs = input_schema(&wf.def.inputs);
            if wf.def.columns.is_some()
                && !wf.def.inputs.contains_key(schemas::ALL_FIELDS)
                && let Some(Value::Object(p)) = inputs.get_mut("properties")
            {
                p.insert(
                    schemas::ALL_FIELDS.into(),
                    json!({"type": "boolean", "default": false,
                        "description": "Every field of each item; by default only the fields most answers need"}),
                );
            }
            let mut tool = Tool::new(l.id.clone(), description, Arc::new(inputs));
            tool.title = Some(wf.name().to_owned());
            tool.annotations = Some(annotations(&wf, &changes));
            tool.output_schema = Some(Arc::new(schemas::for_workflow(&wf)));
            tools.push(tool);
        }
        Ok(tools)
    }

    /// Tell this session's client when the tool list changes, until the session ends.
    async fn watch(&self, peer: rmcp::Peer<RoleServer>) {
        let mut changes = self.watch.subscribe().await;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = changes.changed() => {
                        if changed.is_err() || peer.notify_tool_list_changed().await.is_err() {
                            return;
                        }
                    }
                    () = tokio::time::sleep(Duration::from_secs(2)) => {
                        if peer.is_transport_closed() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// JSON Schema of a workflow's inputs.
/// The tool that tells an agent where a run stands (a held one, later).
pub const RUN_STATUS_TOOL: &str = "get-run-status";

/// The tool argument that names the end user an agent acts for.
pub const REQUESTED_FOR: &str = "requested_for";

pub fn input_schema(inputs: &Inputs) -> Map<String, Value> {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (name, spec) in inputs {
        props.insert(name.clone(), property(&spec.value));
        if spec.value.required {
            required.push(json!(name));
        }
    }
    if !inputs.contains_key(REQUESTED_FOR) {
        props.insert(
            REQUESTED_FOR.into(),
            json!({
                "type": "string",
                "description": "The email of the person you act for (the end user who asked), recorded on the run"
            }),
        );
    }
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(props));
    schema.insert("required".into(), Value::Array(required));
    schema.insert("additionalProperties".into(), json!(false));
    schema
}

/// A workflow's declared inputs, in order.
type Inputs = indexmap::IndexMap<String, serde_saphyr::Spanned<InputSpec>>;

fn property(spec: &InputSpec) -> Value {
    let mut p = match spec.kind {
        InputType::Text | InputType::Textarea => json!({"type": "string"}),
        InputType::Date => {
            json!({"type": "string", "description": "A date, 2026-01-31 or 2026-01-31T09:00:00"})
        }
        InputType::Integer => json!({"type": "integer"}),
        InputType::Number => json!({"type": "number"}),
        InputType::Boolean => json!({"type": "boolean"}),
        InputType::Select => json!({"type": "string", "enum": engine::inputs::options(spec)}),
        InputType::List => {
            let options = engine::inputs::options(spec);
            let mut item = json!({"type": "string"});
            if !options.is_empty() {
                item["enum"] = json!(options);
            }
            if let Some(p) = &spec.pattern {
                item["pattern"] = json!(format!("^(?:{p})$"));
            }
            json!({"type": "array", "items": item})
        }
    };
    if let (InputType::Text | InputType::Textarea, Some(pat)) = (spec.kind, &spec.pattern) {
        p["pattern"] = json!(format!("^(?:{pat})$"));
    }
    if let Some(h) = spec.help.as_ref().or(spec.label.as_ref()) {
        p["description"] = json!(h);
    }
    if let Some(d) = &spec.default {
        p["default"] = d.clone();
    }
    if let Some(m) = spec.min {
        p["minimum"] = json!(m);
    }
    if let Some(m) = spec.max {
        p["maximum"] = json!(m);
    }
    p
}

/// Hints for clients that ask people before acting: a workflow that only reads is
/// read-only; one that only adds (POST) is not destructive; deletes are; PUT and DELETE
/// repeat without more effect.
fn annotations(
    wf: &engine::workflow::Workflow,
    changes: &engine::changes::Changes,
) -> ToolAnnotations {
    let methods: Vec<&str> = changes.steps.iter().map(|s| s.change.method()).collect();
    let base = ToolAnnotations::with_title(wf.name()).open_world(true);
    if methods.is_empty() {
        return base.read_only(true);
    }
    base.read_only(false)
        .destructive(methods.iter().any(|m| m.eq_ignore_ascii_case("DELETE")))
        // A repeated DELETE (a cancel) answers an error, not the same result: only PUTs
        // repeat without more effect.
        .idempotent(methods.iter().all(|m| m.eq_ignore_ascii_case("PUT")))
}

/// A gated workflow's description says so: who decides, and what to tell the person.
fn gated_note(wf: &engine::workflow::Workflow) -> Option<String> {
    let spec = &wf.def.approval.as_ref()?.value;
    let summary = spec.summary();
    let who: Vec<String> = summary["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["who"].as_str().map(str::to_owned))
        .collect();
    Some(format!(
        " Every run is held for approval first (decided by {}); nothing changes until then. Tell the person their request waits for that approval, and check on it with get-run-status.",
        if who.is_empty() {
            "an admin".to_owned()
        } else {
            who.join(", then ")
        }
    ))
}

fn structured(v: Value) -> CallToolResponse {
    // Structured content is an object; other outputs travel under `result`.
    let v = match v {
        Value::Object(_) => v,
        other => json!({"result": other}),
    };
    let mut result = CallToolResult::structured(v);
    result.meta = None;
    CallToolResponse::Complete(result)
}

fn tool_error(message: impl Into<String>) -> CallToolResponse {
    CallToolResponse::Complete(CallToolResult::error(vec![ContentBlock::text(
        message.into(),
    )]))
}

impl ServerHandler for WorkflowTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new("lumosflow", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Each tool runs an installed lumosflow workflow against the organization's Lumos \
                 (identity governance): find users, apps, accounts, groups, app approvers and \
                 requestable permissions; request access and follow requests. List tools take \
                 page, size and all, and answer with the first items: read the rest from the \
                 resource lumosflow://runs/{run_id}/items. Pass requested_for (the email of the \
                 person you help) on every call.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(resources::fixed()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let actor = self.caller(&context);
        match resources::read(&self.engine, &request.uri, &actor).await {
            Ok(contents) => Ok(ReadResourceResult::new(vec![contents]).into()),
            Err(m) => Err(McpError::invalid_params(m, None)),
        }
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(prompts::list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let args = request.arguments.unwrap_or_default();
        match prompts::get(&request.name, &args) {
            Ok(messages) => Ok(GetPromptResult::new(messages).into()),
            Err(m) => Err(McpError::invalid_params(m, None)),
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        if self.watching.set(()).is_ok() {
            self.watch(context.peer.clone()).await;
        }
        let tools = self
            .tools(&self.caller(&context))
            .await
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let actor = self.caller(&context);
        let mut args = request.arguments.unwrap_or_default();
        if request.name == RUN_STATUS_TOOL {
            let Some(id) = args.get("run_id").and_then(Value::as_str) else {
                return Ok(tool_error("get-run-status needs run_id"));
            };
            return match self.status(id, &actor).await {
                Ok(v) => Ok(structured(v)),
                Err(e @ EngineError::RunNotFound(_)) => Ok(tool_error(e.to_string())),
                Err(e) => Err(McpError::internal_error(e.to_string(), None)),
            };
        }
        if authoring::is_authoring(&request.name) && authoring::offered_to(&actor) {
            return match authoring::call(&self.engine, &request.name, &args, &actor).await {
                Ok(authoring::Answer::Ok(v)) => Ok(structured(v)),
                Ok(authoring::Answer::Refused(m)) => Ok(tool_error(m)),
                Err(e) => Err(McpError::internal_error(e.to_string(), None)),
            };
        }
        // The end user the agent acts for travels beside the inputs, unless the workflow
        // has an input of that name itself.
        let requested_for = match args.get(REQUESTED_FOR) {
            Some(Value::String(_)) if !self.has_input(&request.name, REQUESTED_FOR).await => args
                .remove(REQUESTED_FOR)
                .and_then(|v| v.as_str().map(str::to_owned)),
            _ => None,
        };
        // Every field of a listing's items, or only the workflow's columns (the default).
        let columns = match self.engine.load(&request.name, None).await {
            Ok((wf, _)) if !wf.def.inputs.contains_key(schemas::ALL_FIELDS) => {
                let all = match args.remove(schemas::ALL_FIELDS) {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => b,
                    Some(other) => {
                        return Ok(tool_error(format!(
                            "{} must be true or false, not {other}",
                            schemas::ALL_FIELDS
                        )));
                    }
                };
                wf.def
                    .columns
                    .as_ref()
                    .filter(|_| !all)
                    .map(|c| c.value.clone())
            }
            _ => None,
        };
        let req = RunRequest {
            actor: actor.clone(),
            origin: engine::Origin::Mcp,
            requested_for,
            cancel: context.ct.clone(),
            ..RunRequest::default()
        };
        match self.run(&request.name, &args, req).await {
            Ok(out) if out.status == RunStatus::Completed => {
                let run_id = out.run_id.clone();
                let output = self
                    .preview(out)
                    .await
                    .map_err(|e| McpError::internal_error(e.to_string(), None))?;
                // Every result names its run, for get-run-status and the run's output.
                let mut output = match output {
                    Value::Object(mut m) => {
                        m.entry("run_id").or_insert(Value::String(run_id));
                        Value::Object(m)
                    }
                    other => json!({"result": other, "run_id": run_id}),
                };
                output["run_status"] = json!(RunStatus::Completed);
                if let Some(columns) = &columns {
                    schemas::only_columns(&mut output, columns);
                }
                Ok(structured(output))
            }
            // Held: not an error, a run that waits; the agent can check on it later.
            Ok(out) if out.status == RunStatus::PendingApproval => self
                .status(&out.run_id, &actor)
                .await
                .map(structured)
                .map_err(|e| McpError::internal_error(e.to_string(), None)),
            // Failed: what it changed, so an agent knows whether trying again is safe.
            Ok(out) => {
                let changed = self
                    .engine
                    .run_detail(&out.run_id)
                    .await
                    .ok()
                    .and_then(|d| d.writes)
                    .map(|w| format!(" ({})", w.said))
                    .unwrap_or_default();
                Ok(tool_error(format!(
                    "run {} {}: {}{changed}",
                    out.run_id,
                    out.status,
                    out.error.unwrap_or_default()
                )))
            }
            Err(EngineError::NotInstalled { .. }) => Ok(tool_error(format!(
                "unknown tool '{}': no installed workflow has that id (list the tools again)",
                request.name
            ))),
            Err(
                e @ (EngineError::Inputs(_)
                | EngineError::Invalid(_)
                | EngineError::Connection(_)
                | EngineError::Conflict(_)
                | EngineError::QueueFull { .. }),
            ) => Ok(tool_error(e.to_string())),
            Err(e) => Err(McpError::internal_error(e.to_string(), None)),
        }
    }
}

/// Items of a listing a tool result shows; the rest stay in the run.
pub const PREVIEW_ITEMS: u64 = 50;

/// Serve over standard input and output until the client goes away.
pub async fn serve_stdio(engine: Arc<Engine>) -> std::io::Result<()> {
    use rmcp::ServiceExt;
    let watch = ToolsWatch::new(engine.clone());
    let service = WorkflowTools::new(engine, Actor::system("mcp-stdio"), Launch::Here, watch)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    service
        .waiting()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(())
}

/// MCP's live sessions over HTTP, shared with the server so it can tell a session that
/// ended (or never began) from one that is open.
pub type HttpSessions =
    Arc<rmcp::transport::streamable_http_server::session::local::LocalSessionManager>;

/// Whether an HTTP session is open.
pub async fn session_open(sessions: &HttpSessions, id: &str) -> bool {
    use rmcp::transport::streamable_http_server::session::SessionManager;
    sessions
        .has_session(&id.to_owned().into())
        .await
        .unwrap_or(false)
}

/// The streamable HTTP service to mount at `/mcp` (put authentication in front of it).
pub fn http_service(
    engine: Arc<Engine>,
    watch: Arc<ToolsWatch>,
    cancel: tokio_util::sync::CancellationToken,
    allowed_hosts: Vec<String>,
    sessions: HttpSessions,
) -> rmcp::transport::streamable_http_server::StreamableHttpService<
    WorkflowTools,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
> {
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    // The `Host` must be one the server is meant to be reached by (DNS-rebinding
    // protection, as the MCP specification requires); a browser `Origin` must be that host.
    let origins: Vec<String> = allowed_hosts
        .iter()
        .flat_map(|h| [format!("http://{h}:*"), format!("https://{h}:*")])
        .collect();
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(cancel)
        .with_allowed_hosts(allowed_hosts)
        .with_allowed_origins(origins);
    StreamableHttpService::new(
        move || {
            Ok(WorkflowTools::new(
                engine.clone(),
                Actor::system("mcp-http"),
                Launch::Queue,
                watch.clone(),
            ))
        },
        sessions,
        config,
    )
}
