//! A validated workflow: its definition and the exact text it came from.

use crate::definition::{self, Definition, Invalid};
use crate::template::Templates;
use crate::validate;

#[derive(Debug, Clone)]
pub struct Workflow {
    pub def: Definition,
    pub yaml: String,
}

impl Workflow {
    /// Parse and validate; every problem is reported with its position.
    pub fn load(yaml: &str, templates: &Templates) -> Result<Workflow, Invalid> {
        let def = definition::parse(yaml)?;
        validate::check(&def, templates)?;
        Ok(Workflow {
            def,
            yaml: yaml.to_owned(),
        })
    }

    pub fn id(&self) -> &str {
        &self.def.id.value
    }

    pub fn name(&self) -> &str {
        &self.def.name.value
    }

    /// A stable content hash (FNV-1a), to tell an edited copy from the bundled original.
    pub fn hash(yaml: &str) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in yaml.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}
