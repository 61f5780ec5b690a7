//! The engine's front door: install, edit and list workflows; start, record, list and cancel
//! runs. Every interface (CLI, HTTP, MCP) goes through here.

use std::sync::Arc;

use chrono::Duration;
use serde::Serialize;
use serde_json::{Map, Value, json};
use store::{NewRun, Run, SaveWorkflow, StepRow, Store, StoreError, WorkflowRow, WorkflowVersion};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::bundles;
use crate::connections::{self, ConnectError};
use crate::definition::Invalid;
use crate::executor::{Executor, Progress, RunError, RunOptions, StepRecord};
use crate::inputs;
use crate::template::Templates;
use crate::workflow::Workflow;

/// Outputs larger than this are stored truncated (the caller still gets all of it).
const MAX_STORED_OUTPUT: usize = 1 << 20;
const LEASE_SECONDS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("invalid inputs: {}", .0.join("; "))]
    Inputs(Vec<String>),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Connection(#[from] ConnectError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => EngineError::NotFound(format!("{what} not found")),
            other => EngineError::Store(other),
        }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;

#[derive(Debug, Clone, Serialize)]
pub struct BundleRef {
    pub id: &'static str,
    pub name: &'static str,
}

/// A workflow as lists show it: installable, installed, or both.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub bundle: Option<BundleRef>,
    pub installed: bool,
    pub installable: bool,
    pub version: Option<i32>,
    /// The installed copy differs from the bundled original.
    pub edited: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstallOutcome {
    pub id: String,
    /// installed, unchanged, reinstalled, or kept (edited copy left alone; use force)
    pub result: &'static str,
    pub version: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: Run,
    pub steps: Vec<StepRow>,
}

/// How to run.
#[derive(Clone, Default)]
pub struct RunRequest {
    pub connection: Option<String>,
    pub started_by: Option<String>,
    pub dry_run: bool,
    pub cancel: CancellationToken,
    pub stream: Option<mpsc::Sender<Value>>,
    pub progress: Option<Progress>,
    /// Run this version instead of the current one.
    pub version: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub status: String,
    pub output: Option<Value>,
    pub error: Option<String>,
}

pub struct Engine {
    pub store: Arc<Store>,
    pub templates: Templates,
    owner: String,
    /// Parsed workflows by (id, version): versions never change once saved.
    parsed: std::sync::Mutex<std::collections::HashMap<(String, i32), Arc<Workflow>>>,
    /// One client per connection, so runs share keep-alive connections and rate-limit
    /// pacing; rebuilt when the connection is saved again.
    clients: std::sync::Mutex<std::collections::HashMap<String, CachedClient>>,
    /// Runs executing in this process, to cancel them at once.
    active: std::sync::Mutex<std::collections::HashMap<String, CancellationToken>>,
    observers: Observers,
    bundled: std::sync::OnceLock<std::collections::HashMap<&'static str, Arc<Workflow>>>,
}

/// Called with (workflow id, step record).
pub type StepHook = Arc<dyn Fn(&str, &StepRecord) + Send + Sync>;
/// Called with (workflow id, final status, seconds).
pub type RunHook = Arc<dyn Fn(&str, &str, f64) + Send + Sync>;

/// Hooks for metrics: each step record, and each finished run.
#[derive(Clone, Default)]
pub struct Observers {
    pub on_step: Option<StepHook>,
    pub on_run: Option<RunHook>,
}

/// A connection's client and the connection's `updated_at` it was built from.
type CachedClient = (chrono::DateTime<chrono::Utc>, lumos_api::Client);

/// A recorded run that has not executed yet.
pub struct Started {
    pub run_id: String,
    workflow: Arc<Workflow>,
    client: lumos_api::Client,
    inputs: Map<String, Value>,
    req: RunRequest,
    began: std::time::Instant,
    /// Waiting for approval: `execute` leaves it so.
    pending: bool,
}

fn bundle_ref(id: &str) -> Option<BundleRef> {
    bundles::bundle_of(id).map(|b| BundleRef {
        id: b.id,
        name: b.name,
    })
}

impl Engine {
    pub fn new(store: Arc<Store>) -> Self {
        let owner = format!(
            "pid-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        Self {
            store,
            templates: Templates::new(),
            owner,
            parsed: Default::default(),
            clients: Default::default(),
            active: Default::default(),
            observers: Observers::default(),
            bundled: std::sync::OnceLock::new(),
        }
    }

    pub fn with_observers(mut self, observers: Observers) -> Self {
        self.observers = observers;
        self
    }

    /// Close out runs whose process died (no heartbeat within the lease).
    pub async fn recover(&self) -> Result<u64> {
        Ok(self.store.fail_abandoned_runs().await?)
    }

    pub fn validate(&self, yaml: &str) -> std::result::Result<Workflow, Invalid> {
        Workflow::load(yaml, &self.templates)
    }

    /// A bundled workflow, parsed once per engine: the files are embedded and never change.
    /// (Tests validate them all; a broken one would be a build defect.)
    fn bundled(&self, id: &str) -> Option<Arc<Workflow>> {
        self.bundled
            .get_or_init(|| {
                bundles::all_ids()
                    .filter_map(|id| {
                        Some((id, Arc::new(self.validate(bundles::source(id)?).ok()?)))
                    })
                    .collect()
            })
            .get(id)
            .cloned()
    }

    pub async fn list(&self) -> Result<Vec<Listing>> {
        let installed = self.store.workflows().await?;
        let mut out = Vec::new();
        for id in bundles::all_ids() {
            let Some(wf) = self.bundled(id) else { continue };
            let row = installed.iter().find(|r| r.id == id);
            let edited = match row {
                Some(r) => {
                    self.store.workflow_version(&r.id, None).await?.hash != Workflow::hash(&wf.yaml)
                }
                None => false,
            };
            out.push(Listing {
                id: id.to_owned(),
                name: row.map_or_else(|| wf.name().to_owned(), |r| r.name.clone()),
                description: wf.def.description.clone(),
                bundle: bundle_ref(id),
                installed: row.is_some(),
                installable: true,
                version: row.map(|r| r.current_version),
                edited,
            });
        }
        for r in installed
            .iter()
            .filter(|r| bundles::source(&r.id).is_none())
        {
            let description = self
                .store
                .workflow_version(&r.id, None)
                .await
                .ok()
                .and_then(|v| {
                    crate::definition::parse(&v.yaml)
                        .ok()
                        .and_then(|d| d.description)
                });
            out.push(Listing {
                id: r.id.clone(),
                name: r.name.clone(),
                description,
                bundle: None,
                installed: true,
                installable: false,
                version: Some(r.current_version),
                edited: false,
            });
        }
        Ok(out)
    }

    /// Install bundles or workflow ids (or everything). An installed copy that was edited is
    /// kept unless `force`.
    pub async fn install(
        &self,
        targets: &[String],
        all: bool,
        force: bool,
        by: Option<&str>,
    ) -> Result<Vec<InstallOutcome>> {
        let mut ids: Vec<String> = Vec::new();
        if all {
            ids.extend(bundles::all_ids().map(str::to_owned));
        }
        let mut unknown = Vec::new();
        for t in targets {
            match (bundles::bundle(t), bundles::source(t)) {
                (Some(b), _) => ids.extend(b.workflows.iter().map(|w| (*w).to_owned())),
                (None, Some(_)) => ids.push(t.clone()),
                (None, None) => unknown.push(t.clone()),
            }
        }
        if !unknown.is_empty() {
            let bundles: Vec<&str> = bundles::BUNDLES.iter().map(|b| b.id).collect();
            return Err(EngineError::NotFound(format!(
                "nothing installable is called {} (bundles: {}; workflows: {})",
                unknown.join(", "),
                bundles.join(", "),
                bundles::all_ids().collect::<Vec<_>>().join(", ")
            )));
        }
        if ids.is_empty() {
            return Err(EngineError::Inputs(vec![
                "name a bundle or workflow to install, or use --all".into(),
            ]));
        }
        let mut seen = std::collections::HashSet::new();
        ids.retain(|i| seen.insert(i.clone()));
        // Check every file first, so a bad one installs nothing.
        let mut loaded = Vec::new();
        for id in ids.iter().map(String::as_str) {
            let wf = self
                .bundled(id)
                .ok_or_else(|| EngineError::NotFound(format!("bundled workflow '{id}'")))?;
            loaded.push((id, wf));
        }
        let mut out = Vec::new();
        for (id, wf) in loaded {
            let hash = Workflow::hash(&wf.yaml);
            let current = match self.store.workflow(id).await? {
                Some(_) => Some(self.store.workflow_version(id, None).await?),
                None => None,
            };
            let result = match &current {
                Some(v) if v.hash == hash => {
                    out.push(InstallOutcome {
                        id: id.to_owned(),
                        result: "unchanged",
                        version: v.version,
                    });
                    continue;
                }
                Some(v) if !force => {
                    out.push(InstallOutcome {
                        id: id.to_owned(),
                        result: "kept",
                        version: v.version,
                    });
                    continue;
                }
                Some(_) => "reinstalled",
                None => "installed",
            };
            let version = self.save(&wf, "bundle", by).await?;
            out.push(InstallOutcome {
                id: id.to_owned(),
                result,
                version,
            });
        }
        Ok(out)
    }

    async fn save(&self, wf: &Workflow, origin: &str, by: Option<&str>) -> Result<i32> {
        let hash = Workflow::hash(&wf.yaml);
        Ok(self
            .store
            .save_workflow(&SaveWorkflow {
                id: wf.id(),
                name: wf.name(),
                bundle: wf.def.bundle.as_deref(),
                origin,
                yaml: &wf.yaml,
                hash: &hash,
                by,
            })
            .await?)
    }

    /// Save a new custom workflow; its id must be free.
    pub async fn create(&self, yaml: &str, by: Option<&str>) -> Result<(String, i32)> {
        let wf = self.validate(yaml)?;
        if self.store.workflow(wf.id()).await?.is_some() {
            return Err(EngineError::Conflict(format!(
                "a workflow with id '{}' is already installed; use `workflows edit {}` to change it",
                wf.id(),
                wf.id()
            )));
        }
        let origin = if bundles::source(wf.id()).is_some() {
            "bundle"
        } else {
            "custom"
        };
        let v = self.save(&wf, origin, by).await?;
        Ok((wf.id().to_owned(), v))
    }

    /// Save a new version of an installed workflow.
    pub async fn edit(&self, id: &str, yaml: &str, by: Option<&str>) -> Result<i32> {
        let row = self.installed_row(id).await?;
        let wf = self.validate(yaml)?;
        if wf.id() != id {
            return Err(EngineError::Conflict(format!(
                "the file's id is '{}', not '{id}'; ids cannot change",
                wf.id()
            )));
        }
        self.save(&wf, &row.origin, by).await
    }

    async fn installed_row(&self, id: &str) -> Result<WorkflowRow> {
        self.store.workflow(id).await?.ok_or_else(|| {
            let hint = if bundles::source(id).is_some() {
                format!("; install it with `lumosflow workflows install {id}`")
            } else {
                " (see `lumosflow workflows list`)".to_owned()
            };
            EngineError::NotFound(format!("workflow '{id}' is not installed{hint}"))
        })
    }

    pub async fn show(
        &self,
        id: &str,
        version: Option<i32>,
    ) -> Result<(WorkflowRow, WorkflowVersion)> {
        let row = self.installed_row(id).await?;
        let v = self.store.workflow_version(id, version).await?;
        Ok((row, v))
    }

    pub async fn uninstall(&self, id: &str) -> Result<()> {
        self.installed_row(id).await?;
        self.store.delete_workflow(id).await?;
        Ok(())
    }

    /// The installed workflow to run, parsed from the stored version.
    pub async fn load(&self, id: &str, version: Option<i32>) -> Result<(Arc<Workflow>, i32)> {
        let row = self.installed_row(id).await?;
        let want = version.unwrap_or(row.current_version);
        if let Some(wf) = self
            .parsed
            .lock()
            .ok()
            .and_then(|m| m.get(&(id.to_owned(), want)).cloned())
        {
            return Ok((wf, want));
        }
        let v = self.store.workflow_version(id, Some(want)).await?;
        let wf = Arc::new(self.validate(&v.yaml)?);
        if let Ok(mut m) = self.parsed.lock() {
            m.insert((id.to_owned(), v.version), wf.clone());
        }
        Ok((wf, v.version))
    }

    /// Check inputs, then run and record. Bad inputs and connection problems are errors
    /// before anything is stored; everything after is a recorded run.
    pub async fn run(
        &self,
        id: &str,
        given: &Map<String, Value>,
        req: RunRequest,
    ) -> Result<RunOutcome> {
        let started = self.start(id, given, req).await?;
        self.execute(started).await
    }

    /// Validate and record a run without executing it yet (`execute` does), so callers can
    /// answer with the run id at once.
    pub async fn start(
        &self,
        id: &str,
        given: &Map<String, Value>,
        req: RunRequest,
    ) -> Result<Started> {
        let (wf, version) = self.load(id, req.version).await?;
        let inputs = inputs::resolve(&wf.def.inputs, given).map_err(EngineError::Inputs)?;
        let connection = req
            .connection
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let client = self.client(&connection).await?;
        let run_id = uuid::Uuid::now_v7().to_string();
        let inputs_json = Value::Object(inputs.clone());
        // A dry run changes nothing, so it needs no approval.
        let gated = wf.def.approval.is_some() && !req.dry_run;
        self.store
            .create_run(&NewRun {
                id: &run_id,
                workflow_id: id,
                workflow_version: version,
                status: if gated { "pending_approval" } else { "running" },
                inputs: &inputs_json,
                connection: Some(&connection),
                started_by: req.started_by.as_deref(),
                dry_run: req.dry_run,
                owner: &self.owner,
                lease: Duration::seconds(LEASE_SECONDS),
            })
            .await?;
        if gated {
            let message = wf
                .def
                .approval
                .as_ref()
                .map(|a| a.value.clone())
                .unwrap_or_default();
            self.store.request_approval(&run_id, &message).await?;
        } else if let Ok(mut active) = self.active.lock() {
            active.insert(run_id.clone(), req.cancel.clone());
        }
        Ok(Started {
            run_id,
            workflow: wf,
            client,
            inputs,
            req,
            began: std::time::Instant::now(),
            pending: gated,
        })
    }

    /// Approve a run waiting for approval and execute it.
    pub async fn approve(&self, run_id: &str, by: &str, req: RunRequest) -> Result<RunOutcome> {
        let run = self
            .store
            .run(run_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("run '{run_id}' not found")))?;
        if run.status != "pending_approval" {
            return Err(EngineError::Conflict(format!(
                "run '{run_id}' is not waiting for approval ({})",
                run.status
            )));
        }
        let (wf, _) = self
            .load(&run.workflow_id, Some(run.workflow_version))
            .await?;
        let connection = run
            .connection
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let client = self.client(&connection).await?;
        if !self
            .store
            .decide_approval(
                run_id,
                true,
                by,
                &self.owner,
                Duration::seconds(LEASE_SECONDS),
            )
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "run '{run_id}' was decided meanwhile"
            )));
        }
        let inputs = run.inputs.0.as_object().cloned().unwrap_or_default();
        if let Ok(mut active) = self.active.lock() {
            active.insert(run_id.to_owned(), req.cancel.clone());
        }
        self.execute(Started {
            run_id: run_id.to_owned(),
            workflow: wf,
            client,
            inputs,
            req,
            began: std::time::Instant::now(),
            pending: false,
        })
        .await
    }

    /// Deny a run waiting for approval.
    pub async fn deny(&self, run_id: &str, by: &str) -> Result<Run> {
        if !self
            .store
            .decide_approval(run_id, false, by, &self.owner, Duration::seconds(0))
            .await?
        {
            return match self.store.run(run_id).await? {
                None => Err(EngineError::NotFound(format!("run '{run_id}' not found"))),
                Some(r) => Err(EngineError::Conflict(format!(
                    "run '{run_id}' is not waiting for approval ({})",
                    r.status
                ))),
            };
        }
        self.store
            .run(run_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("run '{run_id}' not found")))
    }

    /// Execute a started run to its end and record the outcome.
    pub async fn execute(&self, started: Started) -> Result<RunOutcome> {
        if started.pending {
            return Ok(RunOutcome {
                run_id: started.run_id,
                status: "pending_approval".into(),
                output: None,
                error: None,
            });
        }
        let Started {
            run_id,
            workflow: wf,
            client,
            inputs,
            req,
            began,
            ..
        } = started;
        let (tx, mut rx) = mpsc::unbounded_channel::<StepRecord>();
        let store = self.store.clone();
        let rid = run_id.clone();
        let on_step = self.observers.on_step.clone();
        let wf_id = wf.id().to_owned();
        let recorder = tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                if let Some(f) = &on_step {
                    f(&wf_id, &r);
                }
                let row = StepRow {
                    step_id: r.step_id,
                    iteration: r.iteration,
                    status: r.status.to_owned(),
                    operation: r.operation,
                    params: r.params.map(store::Json),
                    http_status: r.http_status.map(i32::from),
                    duration_ms: Some(r.duration_ms as i64),
                    error: r.error,
                    output: None,
                    started_at: r.started_at,
                    finished_at: Some(chrono::Utc::now()),
                };
                if let Err(e) = store.add_step(&rid, &row).await {
                    tracing::warn!(run = %rid, error = %e, "could not record a step");
                }
            }
        });
        // Keep the lease fresh; a cancel recorded elsewhere stops this run.
        let cancel = req.cancel.clone();
        let hb_store = self.store.clone();
        let hb_id = run_id.clone();
        let heartbeat = tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(std::time::Duration::from_secs((LEASE_SECONDS / 3) as u64));
            tick.tick().await;
            loop {
                tick.tick().await;
                match hb_store
                    .heartbeat(&hb_id, Duration::seconds(LEASE_SECONDS))
                    .await
                {
                    Ok(false) => {
                        cancel.cancel();
                        break;
                    }
                    Ok(true) => {}
                    Err(e) => tracing::warn!(run = %hb_id, error = %e, "heartbeat failed"),
                }
            }
        });
        let executor = Executor {
            workflow: &wf,
            client: &client,
            templates: &self.templates,
            records: tx,
            options: RunOptions {
                dry_run: req.dry_run,
                cancel: req.cancel.clone(),
                stream: req.stream.clone(),
                progress: req.progress.clone(),
            },
        };
        let result = executor.run(inputs).await;
        drop(executor);
        heartbeat.abort();
        let _ = recorder.await;
        if let Ok(mut active) = self.active.lock() {
            active.remove(&run_id);
        }

        let (status, output, error) = match result {
            Ok(out) => ("completed", Some(out), None),
            Err(RunError::Canceled) => ("canceled", None, Some(self.cancel_reason(&run_id).await)),
            Err(e) => ("failed", None, Some(e.to_string())),
        };
        let stored = output.as_ref().map(truncate_for_storage);
        let set = self
            .store
            .finish_run(&run_id, status, stored.as_ref(), error.as_deref())
            .await?;
        let status = if set {
            status.to_owned()
        } else {
            // Someone else finished it first (a cancel): report what is recorded.
            self.store
                .run(&run_id)
                .await?
                .map_or_else(|| status.to_owned(), |r| r.status)
        };
        if let Some(f) = &self.observers.on_run {
            f(wf.id(), &status, began.elapsed().as_secs_f64());
        }
        Ok(RunOutcome {
            run_id,
            status,
            output,
            error,
        })
    }

    async fn cancel_reason(&self, run_id: &str) -> String {
        match self.store.run(run_id).await {
            Ok(Some(r)) if r.status == "canceled" => r.error.unwrap_or_else(|| "canceled".into()),
            _ => "canceled".into(),
        }
    }

    /// Cancel every run this engine is executing (graceful shutdown).
    pub fn cancel_all(&self) -> usize {
        self.active.lock().map_or(0, |a| {
            a.values().for_each(CancellationToken::cancel);
            a.len()
        })
    }

    pub fn active_run_ids(&self) -> Vec<String> {
        self.active
            .lock()
            .map_or_else(|_| Vec::new(), |a| a.keys().cloned().collect())
    }

    pub fn active_runs(&self) -> usize {
        self.active.lock().map_or(0, |a| a.len())
    }

    /// The client of a saved connection.
    pub async fn client(&self, name: &str) -> Result<lumos_api::Client> {
        let conn = self
            .store
            .connection(name)
            .await?
            .ok_or_else(|| ConnectError::NotFound(name.to_owned()))?;
        if let Some((at, c)) = self.clients.lock().ok().and_then(|m| m.get(name).cloned())
            && at == conn.updated_at
        {
            return Ok(c);
        }
        let client = connections::client_for(&self.store, name).await?;
        if let Ok(mut m) = self.clients.lock() {
            m.insert(name.to_owned(), (conn.updated_at, client.clone()));
        }
        Ok(client)
    }

    pub async fn runs(&self, filter: &store::RunFilter<'_>) -> Result<Vec<Run>> {
        let filter = store::RunFilter {
            limit: filter.limit.clamp(1, 1000),
            ..*filter
        };
        Ok(self.store.runs(&filter).await?)
    }

    pub async fn run_detail(&self, id: &str) -> Result<RunDetail> {
        let run = self
            .store
            .run(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("run '{id}' not found")))?;
        let steps = self.store.run_steps(id).await?;
        Ok(RunDetail { run, steps })
    }

    /// Cancel a run that has not finished.
    pub async fn cancel(&self, id: &str, by: Option<&str>) -> Result<Run> {
        let run = self
            .store
            .run(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("run '{id}' not found")))?;
        if store::FINAL.contains(&run.status.as_str()) {
            return Err(EngineError::Conflict(format!(
                "run '{id}' already finished ({})",
                run.status
            )));
        }
        let reason = format!("canceled by {}", by.unwrap_or("a user"));
        self.store
            .finish_run(id, "canceled", None, Some(&reason))
            .await?;
        self.store
            .run(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("run '{id}' not found")))
    }
}

fn truncate_for_storage(v: &Value) -> Value {
    let Some(items) = v.get("items").and_then(Value::as_array) else {
        let size = serde_json::to_vec(v).map_or(0, |b| b.len());
        if size <= MAX_STORED_OUTPUT {
            return v.clone();
        }
        return json!({"truncated": true, "note": format!("output of {size} bytes not stored (limit {MAX_STORED_OUTPUT})")});
    };
    // Measure item by item and stop at the budget, so a huge listing costs only what is kept.
    let mut used = 0;
    let mut keep = 0;
    for item in items {
        // The item and the comma after it.
        used += serde_json::to_vec(item).map_or(0, |b| b.len()) + 1;
        if used > MAX_STORED_OUTPUT {
            break;
        }
        keep += 1;
    }
    if keep == items.len() {
        return v.clone();
    }
    let mut out = match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "items")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    out["truncated"] = json!(true);
    out["note"] = json!(format!(
        "output stored truncated: {keep} of {} items kept (limit {MAX_STORED_OUTPUT} bytes)",
        items.len()
    ));
    out["items"] = Value::Array(items[..keep].to_vec());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_outputs_are_stored_truncated_with_a_note() {
        let items: Vec<Value> = (0..30_000)
            .map(|i| json!({"id": format!("user-{i:08}"), "email": format!("u{i}@example.com")}))
            .collect();
        let big = json!({"items": items, "total": 30_000});
        let stored = truncate_for_storage(&big);
        assert_eq!(stored["truncated"], true);
        assert_eq!(stored["total"], 30_000);
        let kept = stored["items"].as_array().map_or(0, Vec::len);
        assert!(kept > 1000 && kept < 30_000, "{kept}");
        assert!(serde_json::to_vec(&stored).map_or(0, |b| b.len()) <= MAX_STORED_OUTPUT + 1024);
        assert!(
            stored["note"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("{kept} of 30000 items"))
        );
        let small = json!({"items": [{"id": 1}], "total": 1});
        assert_eq!(truncate_for_storage(&small), small);
        let blob = json!({"text": "x".repeat(MAX_STORED_OUTPUT + 10)});
        assert_eq!(truncate_for_storage(&blob)["truncated"], true);
    }
}
