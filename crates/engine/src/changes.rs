//! Whether a workflow changes Lumos or the world, answered once: from its plan, following
//! its `workflow:` steps down into the workflows they run. Saving, uninstalling, role
//! checks, gates (`before_changes` holds before the first step listed here), `workflows
//! try`, the console's links and MCP's annotations all read this one answer.

use std::collections::HashSet;

use serde::Serialize;

use crate::Engine;
use crate::error::Result;
use workflow_lang::plan::Effect;
use workflow_lang::workflow::Workflow;

/// How deep `workflow:` steps are followed: as deep as runs may nest.
pub const MAX_NESTING: u8 = 4;

/// The steps of a workflow that change something, in plan order.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Changes {
    pub steps: Vec<StepChange>,
}

/// One step that changes something, and what.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StepChange {
    pub step: String,
    /// Its place in the plan.
    #[serde(skip)]
    pub index: usize,
    pub change: Change,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A Lumos operation that writes: its name and HTTP method.
    Lumos { operation: String, method: String },
    /// A web request that may change something.
    Http { method: String },
    /// A workflow that changes something, run by this step: its id and its first change.
    Workflow {
        workflow: String,
        first: Box<Change>,
    },
    /// Workflows that run each other in a loop or nest deeper than runs may: never shown
    /// harmless, so counted as a change.
    Unfollowed { why: String },
}

impl Change {
    /// In words, for errors: `createAccessRequest`, `an http POST`, `cancelAccessRequest
    /// (through workflow 'x')`.
    pub fn describe(&self) -> String {
        match self {
            Change::Lumos { operation, .. } => operation.clone(),
            Change::Http { method } => format!("an http {method}"),
            Change::Workflow { workflow, first } => {
                format!("{} through workflow '{workflow}'", first.describe())
            }
            Change::Unfollowed { why } => why.clone(),
        }
    }

    /// The HTTP method of the change in the end (for MCP's hints).
    pub fn method(&self) -> &str {
        match self {
            Change::Lumos { method, .. } | Change::Http { method } => method,
            Change::Workflow { first, .. } => first.method(),
            Change::Unfollowed { .. } => "POST",
        }
    }
}

impl Changes {
    pub fn any(&self) -> bool {
        !self.steps.is_empty()
    }

    pub fn first(&self) -> Option<&StepChange> {
        self.steps.first()
    }

    /// Whether the step at `index` of the plan changes something.
    pub fn at(&self, index: usize) -> bool {
        self.steps.iter().any(|s| s.index == index)
    }

    /// The first change in words: `cancelAccessRequest in step 'cancel'`.
    pub fn describe_first(&self) -> Option<String> {
        self.first()
            .map(|s| format!("{} in step '{}'", s.change.describe(), s.step))
    }

    /// What `wf` changes when its `workflow:` steps cannot be followed: each of them
    /// counted as a change.
    pub fn assumed(wf: &Workflow) -> Changes {
        Changes::of_plan(wf, |id| {
            Some(Change::Unfollowed {
                why: format!("workflow '{id}' (could not be read)"),
            })
        })
    }

    /// The steps of `wf` whose own action changes something; `workflow:` steps are left to
    /// `follow` (None: the caller cannot follow them).
    fn of_plan(wf: &Workflow, mut follow: impl FnMut(&str) -> Option<Change>) -> Changes {
        let steps = wf
            .plan
            .iter()
            .enumerate()
            .filter_map(|(index, p)| {
                let change = match p.effect() {
                    Effect::None => return None,
                    Effect::Lumos(op) => Change::Lumos {
                        operation: op.name().to_owned(),
                        method: op.method.to_ascii_uppercase(),
                    },
                    Effect::Http(method) => Change::Http { method },
                    Effect::Workflow(id) => follow(&id)?,
                };
                Some(StepChange {
                    step: p.id.clone(),
                    index,
                    change,
                })
            })
            .collect();
        Changes { steps }
    }
}

impl Engine {
    /// What `wf` changes, its `workflow:` steps followed into the workflows installed now.
    /// A workflow that is not installed changes nothing yet (running it fails); one nested
    /// deeper than runs may nest, or that runs itself again, is counted as a change: it
    /// can never be shown harmless.
    pub async fn changes(&self, wf: &Workflow) -> Result<Changes> {
        let mut seen = HashSet::from([wf.id().to_owned()]);
        self.changes_below(wf, 0, &mut seen).await
    }

    async fn changes_below(
        &self,
        wf: &Workflow,
        depth: u8,
        seen: &mut HashSet<String>,
    ) -> Result<Changes> {
        let mut found = std::collections::HashMap::new();
        for p in &wf.plan {
            let Effect::Workflow(id) = p.effect() else {
                continue;
            };
            if found.contains_key(&id) {
                continue;
            }
            let first = if depth + 1 >= MAX_NESTING || seen.contains(&id) {
                Some(Change::Unfollowed {
                    why: format!(
                        "workflow '{id}' (workflows that run each other in a loop or more than {MAX_NESTING} deep)"
                    ),
                })
            } else {
                match self.load(&id, None).await {
                    Ok((sub, _)) => {
                        seen.insert(id.clone());
                        let below = Box::pin(self.changes_below(&sub, depth + 1, seen)).await?;
                        seen.remove(&id);
                        below.first().map(|c| Change::Workflow {
                            workflow: id.clone(),
                            first: Box::new(c.change.clone()),
                        })
                    }
                    Err(crate::EngineError::NotInstalled { .. }) => None,
                    Err(e) => return Err(e),
                }
            };
            found.insert(id, first);
        }
        Ok(Changes::of_plan(wf, |id| found.get(id).cloned().flatten()))
    }
}
