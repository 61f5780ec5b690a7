//! The documentation's examples and schema are checked against the code.

use std::path::PathBuf;

use engine::template::Templates;
use engine::workflow::Workflow;
use serde_json::Value;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Complete workflows (```yaml blocks starting with `id:`) in docs/workflows.md and
/// docs/cookbook.md.
pub fn doc_workflows() -> Vec<String> {
    let mut all = workflows_in("docs/workflows.md");
    all.extend(workflows_in("docs/cookbook.md"));
    all
}

/// Complete workflows in one documentation file.
pub fn workflows_in(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("```yaml\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("closed block");
        if body.starts_with("id:") {
            out.push(body[..end].to_owned());
        }
        rest = &body[end + 3..];
    }
    out
}

#[test]
fn every_workflow_in_the_docs_is_valid() {
    let examples = doc_workflows();
    assert!(!examples.is_empty());
    for yaml in examples {
        Workflow::load(&yaml, &Templates::new()).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    }
}

/// docs/workflow.schema.json is generated from the definition types; regenerate it with
/// `LUMOSFLOW_UPDATE_DOCS=1 cargo test -p engine docs` (or `lumosflow workflows schema`).
#[test]
fn the_documented_json_schema_is_the_generated_one() {
    let generated =
        serde_json::to_string_pretty(&engine::definition::json_schema()).expect("json") + "\n";
    let path = repo("docs/workflow.schema.json");
    if std::env::var_os("LUMOSFLOW_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write");
    }
    let documented = std::fs::read_to_string(&path).expect("schema");
    assert!(
        documented == generated,
        "docs/workflow.schema.json is stale: regenerate it with LUMOSFLOW_UPDATE_DOCS=1 cargo test -p engine docs"
    );
}

#[test]
fn bundled_and_documented_workflows_match_the_json_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("docs/workflow.schema.json")).expect("schema"),
    )
    .expect("json");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let mut files: Vec<String> = engine::bundles::all_ids()
        .map(|id| engine::bundles::source(id).expect("embedded").to_owned())
        .collect();
    files.extend(doc_workflows());
    for yaml in files {
        let doc: Value = serde_saphyr::from_str(&yaml).expect("yaml");
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{yaml}");
    }
    // And the schema rejects what validation rejects.
    let bad: Value = serde_saphyr::from_str(
        "id: Bad Id\nname: x\nsteps:\n  - id: a\n    call: listUsers\n    transform: '{{ 1 }}'\n",
    )
    .expect("yaml");
    assert!(!validator.is_valid(&bad));
}

/// The broken file in docs/workflows.md's Validation section gives exactly the problems
/// printed under it.
#[test]
fn the_documented_broken_file_gives_the_documented_problems() {
    let text = std::fs::read_to_string(repo("docs/workflows.md")).expect("docs");
    let start = text
        .find("```yaml\n# broken.yaml\n")
        .expect("the broken example")
        + 8;
    let yaml = &text[start..start + text[start..].find("```").expect("closed")];
    let after = &text[start + yaml.len() + 3..];
    let shown = after
        .split("```\n")
        .nth(1)
        .expect("the problems block after the file");
    let e = Workflow::load(yaml, &Templates::new()).expect_err("the example is broken");
    assert_eq!(format!("{e}\n"), shown);
}
