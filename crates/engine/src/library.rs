//! The workflow library: bundled workflows to install, installed ones with their numbered
//! versions, and the parsed form of each version (parsed once: versions never change).

use std::sync::Arc;

use serde::Serialize;
use store::{SaveWorkflow, WorkflowRow, WorkflowVersion};

use crate::actor::Actor;
use crate::bundles;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use workflow_lang::Role;
use workflow_lang::definition::Invalid;
use workflow_lang::workflow::Workflow;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BundleRef {
    pub id: &'static str,
    pub name: &'static str,
}

/// A workflow as lists show it: installable, installed, or both.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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

/// What installing did to one workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstallResult {
    Installed,
    /// The installed copy already is the bundled one.
    Unchanged,
    /// An edited copy replaced by the bundled one, as asked (`force`).
    Reinstalled,
    /// An edited copy left alone (ask with `force` to replace it).
    Kept,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct InstallOutcome {
    pub id: String,
    pub result: InstallResult,
    pub version: i32,
}

fn bundle_ref(id: &str) -> Option<BundleRef> {
    bundles::bundle_of(id).map(|b| BundleRef {
        id: b.id,
        name: b.name,
    })
}

impl Engine {
    pub fn validate(&self, yaml: &str) -> std::result::Result<Workflow, Invalid> {
        Workflow::load(yaml, &self.templates)
    }

    /// A bundled workflow, parsed once per engine: the files are embedded and never change.
    /// (Tests validate them all; a broken one would be a build defect.)
    fn bundled(&self, id: &str) -> Option<Arc<Workflow>> {
        self.library
            .bundled
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
                    workflow_lang::definition::parse(&v.yaml)
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
        by: &Actor,
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
                "name a bundle or workflow to install, or install them all".into(),
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
        // Check every permission first too, so a refused one installs nothing.
        let mut current_of = Vec::new();
        for (id, wf) in &loaded {
            let current = match self.store.workflow(id).await? {
                Some(_) => Some(self.store.workflow_version(id, None).await?),
                None => None,
            };
            let changes = current
                .as_ref()
                .is_none_or(|v| force && v.hash != Workflow::hash(&wf.yaml));
            if changes {
                let old = current.as_ref().and_then(|v| self.validate(&v.yaml).ok());
                self.may_save(wf, old.as_ref(), by).await?;
            }
            current_of.push(current);
        }
        let mut out = Vec::new();
        for ((id, wf), current) in loaded.into_iter().zip(current_of) {
            let hash = Workflow::hash(&wf.yaml);
            let result = match &current {
                Some(v) if v.hash == hash => {
                    out.push(InstallOutcome {
                        id: id.to_owned(),
                        result: InstallResult::Unchanged,
                        version: v.version,
                    });
                    continue;
                }
                Some(v) if !force => {
                    out.push(InstallOutcome {
                        id: id.to_owned(),
                        result: InstallResult::Kept,
                        version: v.version,
                    });
                    continue;
                }
                Some(_) => InstallResult::Reinstalled,
                None => InstallResult::Installed,
            };
            let version = self.save(&wf, "bundle", by).await?;
            out.push(InstallOutcome {
                id: id.to_owned(),
                result,
                version,
            });
        }
        self.audit(
            by,
            "workflows.install",
            &targets.join(","),
            Some(serde_json::json!(out)),
        )
        .await;
        Ok(out)
    }

    /// Builders may save workflows that only read Lumos. A workflow that changes Lumos, or
    /// an edit that removes or changes an approval gate, needs an admin: otherwise a builder
    /// could give themselves an admin's power over Lumos, or take away the check on it.
    async fn may_save(&self, new: &Workflow, current: Option<&Workflow>, by: &Actor) -> Result<()> {
        crate::access::need(by, Role::Builder, "saving workflows")?;
        if by.may(Role::Admin) {
            return Ok(());
        }
        if let Some(first) = self.changes(new).await?.describe_first() {
            return Err(EngineError::Forbidden(format!(
                "workflow '{}' changes Lumos or the world ({first}); saving it needs the admin role",
                new.id()
            )));
        }
        let gate = |w: &Workflow| w.def.approval.as_ref().map(|a| a.value.clone());
        // Any change to the policy (its reason, steps, approvers, expiry) is a change of gate.
        if let Some(old) = current
            && gate(old).is_some()
            && gate(old) != gate(new)
        {
            return Err(EngineError::Forbidden(format!(
                "this edit removes or changes the approval gate of '{}'; that needs the admin role",
                new.id()
            )));
        }
        Ok(())
    }

    /// Lumos groups named in an approval policy must exist, or nobody could approve at
    /// that step: checked against Lumos through the `default` connection when there is one
    /// (without one, they are checked when someone decides).
    async fn check_policy_groups(&self, wf: &Workflow) -> Result<()> {
        let Some(crate::approval::ApprovalSpec::Policy(p)) =
            wf.def.approval.as_ref().map(|a| &a.value)
        else {
            return Ok(());
        };
        let named: Vec<(&str, &str)> = p
            .steps
            .iter()
            .flat_map(|s| {
                s.approvers
                    .lumos_groups
                    .iter()
                    .map(move |g| (s.name.as_str(), g.as_str()))
            })
            .collect();
        if named.is_empty() || self.store.connection("default").await?.is_none() {
            return Ok(());
        }
        let client = self.client("default").await?;
        let mut missing = Vec::new();
        for (step, group) in named {
            let mut by_name = serde_json::Map::new();
            by_name.insert("name".into(), serde_json::json!(group));
            by_name.insert("exact_match".into(), serde_json::json!(true));
            by_name.insert("size".into(), serde_json::json!(1));
            let found = client
                .call("getGroups", &by_name, None)
                .await
                .map_err(|e| {
                    EngineError::Conflict(format!("cannot check the approval groups in Lumos: {e}"))
                })?;
            if found["items"].as_array().is_some_and(|a| !a.is_empty()) {
                continue;
            }
            let mut by_id = serde_json::Map::new();
            by_id.insert("group_id".into(), serde_json::json!(group));
            match client.call("getGroup", &by_id, None).await {
                Ok(_) => {}
                Err(lumos_api::Error::NotFound { .. } | lumos_api::Error::InvalidInput { .. }) => {
                    missing.push(format!(
                        "approval step '{step}': Lumos has no group named (or with id) '{group}'"
                    ));
                }
                Err(e) => {
                    return Err(EngineError::Conflict(format!(
                        "cannot check the approval groups in Lumos: {e}"
                    )));
                }
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(EngineError::Inputs(missing))
        }
    }

    async fn save(&self, wf: &Workflow, origin: &str, by: &Actor) -> Result<i32> {
        let hash = Workflow::hash(&wf.yaml);
        let saved = self
            .store
            .save_workflow(&SaveWorkflow {
                id: wf.id(),
                name: wf.name(),
                bundle: wf.def.bundle.as_deref(),
                origin,
                yaml: &wf.yaml,
                hash: &hash,
                by: Some(&by.label),
            })
            .await;
        self.library.rows.forget();
        Ok(saved?)
    }

    /// Save a new custom workflow; its id must be free.
    pub async fn create(&self, yaml: &str, by: &Actor) -> Result<(String, i32)> {
        let wf = self.validate(yaml)?;
        if self.store.workflow(wf.id()).await?.is_some() {
            return Err(EngineError::Conflict(format!(
                "a workflow with id '{}' is already installed; edit it to change it",
                wf.id()
            )));
        }
        self.may_save(&wf, None, by).await?;
        self.check_policy_groups(&wf).await?;
        let origin = if bundles::source(wf.id()).is_some() {
            "bundle"
        } else {
            "custom"
        };
        let v = self.save(&wf, origin, by).await?;
        self.audit(
            by,
            "workflow.create",
            wf.id(),
            Some(serde_json::json!({"version": v})),
        )
        .await;
        Ok((wf.id().to_owned(), v))
    }

    /// Save a new version of an installed workflow.
    pub async fn edit(&self, id: &str, yaml: &str, by: &Actor) -> Result<i32> {
        let row = self.installed_row(id).await?;
        let wf = self.validate(yaml)?;
        if wf.id() != id {
            return Err(EngineError::Conflict(format!(
                "the file's id is '{}', not '{id}'; ids cannot change",
                wf.id()
            )));
        }
        let (current, current_version) = self.load(id, None).await?;
        self.may_save(&wf, Some(&current), by).await?;
        // The same file again is the same version: no new version for a save that changed
        // nothing.
        if current.hash == wf.hash {
            return Ok(current_version);
        }
        self.check_policy_groups(&wf).await?;
        let v = self.save(&wf, &row.origin, by).await?;
        self.audit(
            by,
            "workflow.edit",
            id,
            Some(serde_json::json!({"version": v})),
        )
        .await;
        Ok(v)
    }

    async fn installed_row(&self, id: &str) -> Result<WorkflowRow> {
        let not_installed = || EngineError::NotInstalled {
            id: id.to_owned(),
            bundled: bundles::source(id).is_some(),
        };
        if !crate::ids::is_workflow_id(id) {
            return Err(not_installed());
        }
        if let Some(row) = self.library.rows.get(id) {
            return Ok(row);
        }
        let row = self.store.workflow(id).await?.ok_or_else(not_installed)?;
        self.library.rows.keep(row.id.clone(), row.clone());
        Ok(row)
    }

    /// Every saved version of a workflow, oldest first.
    pub async fn workflow_versions(&self, id: &str) -> Result<Vec<WorkflowVersion>> {
        self.installed_row(id).await?;
        Ok(self.store.workflow_versions(id).await?)
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

    /// Uninstall a workflow. Its versions are kept, so a later workflow of the same id
    /// continues their numbering and runs keep pointing at what they ran.
    pub async fn uninstall(&self, id: &str, by: &Actor) -> Result<()> {
        crate::access::need(by, Role::Builder, "uninstalling workflows")?;
        self.installed_row(id).await?;
        // Uninstalling takes as much as installing: a builder cannot remove what only an
        // admin may put back (a workflow that changes Lumos, or one with an approval gate).
        if !by.may(Role::Admin) {
            let (current, _) = self.load(id, None).await?;
            if let Some(first) = self.changes(&current).await?.describe_first() {
                return Err(EngineError::Forbidden(format!(
                    "workflow '{id}' changes Lumos or the world ({first}); uninstalling it needs the admin role"
                )));
            }
            if current.def.approval.is_some() {
                return Err(EngineError::Forbidden(format!(
                    "workflow '{id}' has an approval gate; uninstalling it needs the admin role"
                )));
            }
        }
        let gone = self.store.uninstall_workflow(id).await;
        self.library.rows.forget();
        gone?;
        self.audit(by, "workflow.uninstall", id, None).await;
        Ok(())
    }

    /// The installed workflow to run, parsed from the stored version, and its number.
    pub async fn load(&self, id: &str, version: Option<i32>) -> Result<(Arc<Workflow>, i32)> {
        let row = self.installed_row(id).await?;
        let want = version.unwrap_or(row.current_version);
        Ok((self.load_version(id, want).await?, want))
    }

    /// Version `version` of workflow `id`, read from the store once: a saved version is never
    /// rewritten (saving adds the next one), so (id, version) always names the same text.
    pub(crate) async fn load_version(&self, id: &str, version: i32) -> Result<Arc<Workflow>> {
        let key = (id.to_owned(), version);
        let cached = self
            .library
            .by_version
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned());
        if let Some(wf) = cached {
            return Ok(wf);
        }
        let v = self.store.workflow_version(id, Some(version)).await?;
        let wf = self.parsed(&v.yaml, &v.hash)?;
        if let Ok(mut m) = self.library.by_version.lock() {
            m.insert(key, wf.clone());
        }
        Ok(wf)
    }

    /// A stored version by its content hash, whether or not the workflow is still installed:
    /// what a pinned run executes. `None` when that exact definition is gone.
    pub(crate) async fn load_pinned(
        &self,
        id: &str,
        version: i32,
        hash: &str,
    ) -> Result<Option<Arc<Workflow>>> {
        // The hash is of the definition's text: parsed once, it is that definition (the
        // caller has checked the workflow was not uninstalled since).
        let wf = match self.parsed_before(hash).filter(|wf| wf.id() == id) {
            Some(wf) => wf,
            None => {
                let v = match self.store.workflow_version(id, Some(version)).await {
                    Ok(v) => v,
                    Err(store::StoreError::NotFound(_)) => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                if v.hash != hash {
                    return Ok(None);
                }
                self.parsed(&v.yaml, &v.hash)?
            }
        };
        // (id, version) names this text for good: a run started here later finds it too.
        if let Ok(mut m) = self.library.by_version.lock() {
            m.entry((id.to_owned(), version))
                .or_insert_with(|| wf.clone());
        }
        Ok(Some(wf))
    }

    /// The definition of content hash `hash`, if parsed before.
    fn parsed_before(&self, hash: &str) -> Option<Arc<Workflow>> {
        self.library
            .parsed
            .lock()
            .ok()
            .and_then(|m| m.get(hash).cloned())
    }

    /// Parse a definition once per content hash: the same text is the same workflow.
    fn parsed(&self, yaml: &str, hash: &str) -> Result<Arc<Workflow>> {
        if let Some(wf) = self.parsed_before(hash) {
            return Ok(wf);
        }
        let wf = Arc::new(self.validate(yaml)?);
        if let Ok(mut m) = self.library.parsed.lock() {
            m.insert(hash.to_owned(), wf.clone());
        }
        Ok(wf)
    }
}
