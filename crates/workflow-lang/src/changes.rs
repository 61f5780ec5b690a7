//! What a workflow changes in Lumos or the world, as one typed answer built from its plan:
//! each step's own effect, and for a `workflow:` step what the workflow it runs changes
//! (which the caller, who can read installed workflows, finds). Saving, role checks, gates,
//! tries, links and hints all read this one answer.

use serde::Serialize;

use crate::plan::Effect;
use crate::workflow::Workflow;

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

    /// The steps of `wf` that change something; a `workflow:` step changes what `follow`
    /// says its workflow changes (None: nothing).
    pub fn of_plan(wf: &Workflow, mut follow: impl FnMut(&str) -> Option<Change>) -> Changes {
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
