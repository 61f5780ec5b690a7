//! A validated workflow: its definition and the exact text it came from.

use crate::definition::{self, Definition, Invalid};
use crate::template::Templates;
use crate::validate;

#[derive(Debug, Clone)]
pub struct Workflow {
    pub def: Definition,
    /// The steps as the executor runs them.
    pub plan: Vec<crate::plan::Planned>,
    pub yaml: String,
    /// The content hash of `yaml` (see [`Workflow::hash`]).
    pub hash: String,
}

impl Workflow {
    /// Parse and validate; every problem is reported with its position.
    pub fn load(yaml: &str, templates: &Templates) -> Result<Workflow, Invalid> {
        let def = definition::parse(yaml)?;
        validate::check(&def, templates)?;
        let plan = crate::plan::build(&def)?;
        Ok(Workflow {
            def,
            plan,
            yaml: yaml.to_owned(),
            hash: Self::hash(yaml),
        })
    }

    pub fn id(&self) -> &str {
        &self.def.id.value
    }

    pub fn name(&self) -> &str {
        &self.def.name.value
    }

    /// The content hash (SHA-256) a version is known by: runs pin the exact definition
    /// they were requested with, and an edited copy is told from the bundled original.
    pub fn hash(yaml: &str) -> String {
        store::content_hash(yaml)
    }

    /// The steps that call a Lumos operation that changes something: (step id, operation).
    pub fn mutating_calls(&self) -> Vec<(&str, &str)> {
        let catalog = lumos_api::Catalog::lumos();
        self.def
            .steps
            .iter()
            .filter_map(|s| {
                let name = s.call.as_ref()?.value.as_str();
                let op = catalog.get(name)?;
                op.is_mutating().then_some((s.id.value.as_str(), op.name()))
            })
            .collect()
    }
}
