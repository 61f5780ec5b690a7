//! Whether a workflow changes Lumos or the world, answered once: from its plan, following
//! its `workflow:` steps down into the workflows installed now. Saving, uninstalling, role
//! checks, gates (`before_changes` holds before the first step listed here), `workflows
//! try`, the console's links and MCP's annotations all read this one answer.

use std::collections::HashSet;

pub use workflow_lang::changes::{Change, Changes, StepChange};
use workflow_lang::plan::Effect;
use workflow_lang::workflow::Workflow;

use crate::engine::Engine;
use crate::error::Result;

/// How deep `workflow:` steps are followed: as deep as runs may nest.
pub const MAX_NESTING: u8 = 4;

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
                    Err(crate::error::EngineError::NotInstalled { .. }) => None,
                    Err(e) => return Err(e),
                }
            };
            found.insert(id, first);
        }
        Ok(Changes::of_plan(wf, |id| found.get(id).cloned().flatten()))
    }
}
