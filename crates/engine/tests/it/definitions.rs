//! Validation of definitions: every problem, with its position.

use engine::template::Templates;
use engine::workflow::Workflow;

fn problems(yaml: &str) -> Vec<String> {
    match Workflow::load(yaml, &Templates::new()) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn every_bundled_workflow_is_valid() {
    for id in engine::bundles::all_ids() {
        let yaml = engine::bundles::source(id).expect("embedded");
        let wf = Workflow::load(yaml, &Templates::new()).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(wf.id(), id);
        let bundle = engine::bundles::bundle_of(id).expect("bundle");
        assert_eq!(wf.def.bundle.as_deref(), Some(bundle.id));
    }
}

#[test]
fn yaml_syntax_errors_have_line_column_and_a_snippet() {
    let p = problems("id: x\nname: X\nsteps:\n  - id: a\n    call: [unclosed\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("line "), "{p:?}");
    let p = problems("id: x\nname: X\nsteps:\n  - id: a\n    colour: blue\n    call: listUsers\n");
    assert!(
        p[0].starts_with("line 5, column 5:") && p[0].contains("unknown field `colour`"),
        "{p:?}"
    );
}

#[test]
fn semantic_problems_are_all_reported_with_positions() {
    let yaml = r#"id: Bad_Id
name: Broken
inputs:
  who: { type: text }
  kind: { type: select }
steps:
  - id: first
    call: listUser
  - id: second
    call: listUsers
    params: { search_term: "{{ inputs.whom }}", size: 500, colour: red }
  - id: second
    transform: "{{ steps.later.output }}"
  - id: later
    call: getApp
  - id: both
    call: listUsers
    transform: "{{ 1 }}"
output: "{{ steps.nothing.output + }}"
"#;
    let p = problems(yaml);
    let has = |needle: &str| p.iter().any(|m| m.contains(needle));
    assert!(
        has("line 1, column 5: id 'Bad_Id' must be a slug"),
        "{p:#?}"
    );
    assert!(
        has("select input 'kind' needs `options` or `options_from`"),
        "{p:#?}"
    );
    assert!(
        has(
            "line 8, column 11: step 'first': unknown Lumos operation 'listUser' (did you mean listUsers"
        ),
        "{p:#?}"
    );
    assert!(has("unknown input 'whom' (declared: kind, who)"), "{p:#?}");
    assert!(has("'size' must be at most 100"), "{p:#?}");
    assert!(has("listUsers has no parameter 'colour'"), "{p:#?}");
    assert!(
        has("line 12, column 9: duplicate step id 'second'"),
        "{p:#?}"
    );
    assert!(
        has("refers to step 'later', which is not an earlier step"),
        "{p:#?}"
    );
    assert!(has("getApp needs parameter 'app_id'"), "{p:#?}");
    assert!(
        has("step 'both' needs exactly one of call, transform, fail, return, workflow, http"),
        "{p:#?}"
    );
    assert!(has("output: bad template"), "{p:#?}");
    assert!(p.len() >= 11, "{p:#?}");
}

#[test]
fn schedules_are_checked() {
    let p =
        problems("id: x\nname: X\nschedule: { every: soon }\nsteps:\n  - id: a\n    return: 1\n");
    assert!(
        p.iter()
            .any(|m| m.contains("every 'soon' is not an interval")),
        "{p:?}"
    );
    let p = problems(
        "id: x\nname: X\nschedule: { every: 5m, inputs: { nope: 1 } }\nsteps:\n  - id: a\n    return: 1\n",
    );
    assert!(
        p.iter()
            .any(|m| m.contains("schedule inputs: unknown input 'nope'")),
        "{p:?}"
    );
    let ok =
        problems("id: x\nname: X\nschedule: { every: 2h }\nsteps:\n  - id: a\n    return: 1\n");
    assert!(ok.is_empty(), "{ok:?}");
}

/// Validation checks the new input kinds: a pattern that is no regular expression, a
/// pattern on a number, an options_from that is no Lumos enum on a list.
#[test]
fn list_and_pattern_inputs_are_checked_when_saved() {
    let yaml = r#"
id: inputs-checked
name: Inputs checked
inputs:
  email: { type: text, pattern: "[unclosed" }
  count: { type: integer, pattern: "[0-9]+" }
  kinds: { type: list, options_from: NoSuchEnum }
  fine: { type: list, options_from: AccountLifecycleStatus, pattern: "[A-Z_]+" }
steps:
  - id: me
    call: currentUser
"#;
    let text = problems(yaml).join("\n");
    assert!(
        text.contains("input 'email': pattern '[unclosed' is not a regular expression"),
        "{text}"
    );
    assert!(
        text.contains("input 'count': pattern is only for text, textarea and list inputs"),
        "{text}"
    );
    assert!(
        text.contains("input 'kinds': options_from 'NoSuchEnum' is not a Lumos enum"),
        "{text}"
    );
    assert!(!text.contains("'fine'"), "{text}");
}

/// A body written as an object is checked against the request's schema when saved: a
/// missing required field and a misspelt one are reported, with the fields it has.
#[test]
fn bodies_are_checked_against_the_request_schema() {
    let yaml = r#"
id: body-checked
name: Body checked
steps:
  - id: request
    call: createAccessRequest
    body: { app_idd: "x", business_justification: "because" }
"#;
    let text = problems(yaml).join("\n");
    assert!(
        text.contains("the body of createAccessRequest needs 'app_id'"),
        "{text}"
    );
    assert!(
        text.contains("has no field 'app_idd' (did you mean app_id?)"),
        "{text}"
    );
    let fine = yaml.replace("app_idd", "app_id");
    assert!(problems(&fine).is_empty(), "{:?}", problems(&fine));
}

/// `wait_until` only on calls that read, not with loops or pages, with sane durations.
#[test]
fn waits_are_checked_when_saved() {
    let yaml = r#"
id: waits-checked
name: Waits checked
steps:
  - id: change
    call: createAccessRequest
    body: { app_id: "x", business_justification: "y" }
    wait_until: { condition: "{{ output.id }}" }
  - id: paged
    call: listUsers
    paginate: true
    wait_until: { condition: "{{ output.total > 0 }}", every: 0s, up_to: 30d }
  - id: typo
    call: currentUser
    wait_until: { condition: "{{ outptu.email }}" }
"#;
    let text = problems(yaml).join("\n");
    assert!(
        text.contains("step 'change': wait_until is for a call that only reads"),
        "{text}"
    );
    assert!(
        text.contains("step 'paged': wait_until does not go with for_each or paginate"),
        "{text}"
    );
    assert!(text.contains("wait_until.every must be from 1s"), "{text}");
    assert!(
        text.contains("wait_until.up_to must be from 1s to 7days"),
        "{text}"
    );
    assert!(text.contains("unknown name 'outptu'"), "{text}");
}
