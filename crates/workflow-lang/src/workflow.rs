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
        let def = match definition::parse(yaml) {
            Ok(def) => def,
            Err(first) => return Err(Self::every_problem(yaml, templates, first)),
        };
        validate::check_source(&def, templates, yaml)?;
        let plan = crate::plan::build(&def)?;
        Ok(Workflow {
            def,
            plan,
            yaml: yaml.to_owned(),
            hash: Self::hash(yaml),
        })
    }

    /// A file the parser rejects: the problems of what can still be read, not only the
    /// first one.
    fn every_problem(yaml: &str, templates: &Templates, first: Invalid) -> Invalid {
        let salvaged = crate::salvage::read(yaml);
        let mut problems = salvaged.problems.clone();
        if let Some(def) = &salvaged.def {
            let checked =
                validate::check_source(def, templates, yaml).and_then(|()| crate::plan::build(def));
            if let Err(invalid) = checked {
                problems.extend(invalid.problems.into_iter().filter(|p| salvaged.keeps(p)));
            }
        }
        if problems.is_empty() {
            return first;
        }
        problems.sort_by_key(|p| (p.line, p.column));
        problems.dedup();
        // A value that fits no form of an either-or block (an approval policy) is reported
        // at each line the reader tried: once is the mistake, the rest are echoes.
        let mut seen_untagged = false;
        problems.retain(|p| {
            if !p
                .message
                .contains("did not match any variant of untagged enum")
            {
                return true;
            }
            !std::mem::replace(&mut seen_untagged, true)
        });
        Invalid { problems }
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
        use sha2::{Digest, Sha256};
        // Lower-case hex of SHA-256: the form the store keeps versions under.
        Sha256::digest(yaml.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The step whose output is the workflow's whole output (`output: "{{ steps.X.output }}"`).
    pub fn output_step(&self) -> Option<&str> {
        let out = self.def.output.as_ref()?.value.as_str()?;
        let expr = Templates::whole_expression(out)?;
        let id = expr.strip_prefix("steps.")?.strip_suffix(".output")?;
        self.plan.iter().any(|s| s.id == id).then_some(id)
    }

    /// The step whose items can go to the store as they arrive, never held: a walk over
    /// every page whose output is the workflow's output, with no step after it that reads
    /// step outputs or returns something else.
    pub fn streamed_step(&self) -> Option<&str> {
        let id = self.output_step()?;
        let at = self.plan.iter().position(|s| s.id == id)?;
        // Items streamed go out as Lumos sent them: a step that keeps some fields is held.
        if !self.plan[at].is_listing()
            || matches!(&self.plan[at].action, crate::plan::Action::Call(c) if c.fields.is_some())
        {
            return None;
        }
        let later = &self.plan[at + 1..];
        later
            .iter()
            .all(|s| !s.reads_steps() && !matches!(s.action, crate::plan::Action::Return(_)))
            .then_some(id)
    }
}
