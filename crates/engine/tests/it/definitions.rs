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
fn yaml_syntax_errors_have_a_line_and_column_and_no_repeated_location() {
    let p = problems("id: x\nname: X\nsteps:\n  - id: a\n    call: [unclosed\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("line "), "{p:?}");
    // A file that is not a mapping at all: one problem, not an echo about the end of file.
    let p = problems("x");
    assert_eq!(p, ["line 1, column 1: expected mapping start"]);
    let p = problems("id: x\nname: X\nsteps:\n  - id: a\n    colour: blue\n    call: listUsers\n");
    assert_eq!(
        p,
        [
            "line 5, column 5: unknown field `colour`, expected one of id, name, if, for_each, \
          as, concurrency, fail_fast, call, params, body, paginate, fields, transform, fail, http, \
          workflow, inputs, return, retry, timeout, continue_on_error, wait_until, for_person, verify"
        ]
    );
}

/// The parser stops at the first error; validation must not. Each mistake below is
/// reported on its own line, and nothing else (no echo of the lines set aside).
#[test]
fn a_syntax_error_does_not_hide_the_rest_of_the_file() {
    let yaml = r#"id: offboarding-check
name: Offboarding: check
inputs:
  email: { type: text, required: true }
steps:
  - id: person
    call: listUsers
    params:
      search_term: "{{ inputs.email }}
      exact_match: true
  - id: accounts
    call: listUsers
    params:
      search_term: "{{ steps.person.output.items[0].email }}"
      sise: 10
  - id: apps
    call: listAppz
    params: { q: "{{ inputs.emial }}" }
  - id: summary
    colour: red
    transform: "{{ steps.accounts.output.items | length }}"
output: "{{ steps.sumary.output }}"
"#;
    let p = problems(yaml);
    let at = |line: u64, needle: &str| {
        assert!(
            p.iter()
                .any(|m| m.starts_with(&format!("line {line}, ")) && m.contains(needle)),
            "no '{needle}' on line {line} in {p:#?}"
        );
    };
    at(
        2,
        "mapping values are not allowed in this context (it was read as plain text",
    );
    at(
        9,
        "(noticed at line 14, column 21; it was read as plain text to check the rest)",
    );
    at(15, "listUsers has no parameter 'sise'");
    at(
        17,
        "unknown Lumos operation 'listAppz' (did you mean listApps?)",
    );
    at(18, "unknown input 'emial'");
    at(20, "unknown field `colour`");
    at(22, "refers to step 'sumary'");
    assert_eq!(p.len(), 7, "{p:#?}");
}

#[test]
fn an_unclosed_bracket_is_traced_to_its_line() {
    let yaml = "id: x\nname: X\nsteps:\n  - id: a\n    call: listUsers\n    params: {size: 5\n  - id: b\n    call: getUzer\n";
    let p = problems(yaml);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].starts_with("line 6, column 5: ")
            && p[0].contains("(noticed at line 7, column 7; it was skipped"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("line 8, ") && p[1].contains("'getUzer'"),
        "{p:#?}"
    );
}

#[test]
fn a_step_missing_its_id_does_not_hide_the_other_steps() {
    let yaml = "id: x\nname: X\nsteps:\n  - call: listUsers\n  - id: b\n    call: getUzer\n";
    let p = problems(yaml);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].starts_with("line 4, ") && p[0].contains("missing field `id`"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("line 6, ") && p[1].contains("'getUzer'"),
        "{p:#?}"
    );
    // The only step unreadable: one problem, not an echo about an empty list.
    let p = problems("id: x\nname: X\nsteps:\n  - call: listUsers\n");
    assert_eq!(p.len(), 1, "{p:#?}");
}

#[test]
fn each_parameter_problem_points_at_its_own_line() {
    let yaml = "id: x\nname: X\nsteps:\n  - id: a\n    call: listUsers\n    params:\n      search_term: ann\n      size: lots\n      colour: red\n";
    let p = problems(yaml);
    assert!(p.len() == 2, "{p:#?}");
    assert!(
        p[0].starts_with("line 8, ") && p[0].contains("'size' must be an integer"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("line 9, ") && p[1].contains("no parameter 'colour'"),
        "{p:#?}"
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

/// Reading on past a mistake must never panic, point outside the file or report echoes
/// of itself, wherever the mistake is: every line of every bundled workflow is broken in turn, three ways.
#[test]
fn broken_lines_anywhere_give_problems_inside_the_file() {
    for id in engine::bundles::all_ids() {
        let yaml = engine::bundles::source(id).expect("embedded");
        let lines: Vec<&str> = yaml.lines().collect();
        for i in 0..lines.len() {
            for breakage in [" \"oops", ": :", "\t"] {
                let mut broken = lines.clone();
                let changed = if breakage == "\t" {
                    format!("\t{}", lines[i])
                } else {
                    format!("{}{breakage}", lines[i])
                };
                broken[i] = &changed;
                let text = broken.join("\n");
                if let Err(e) = Workflow::load(&text, &Templates::new()) {
                    // One broken line is one or two problems, not a cascade of echoes.
                    let n = e.problems.len();
                    assert!(
                        (1..=2).contains(&n),
                        "{id} line {} {breakage:?}: {e}",
                        i + 1
                    );
                    for p in &e.problems {
                        assert!(
                            p.line as usize <= lines.len() + 1,
                            "{id} line {}: {p}",
                            i + 1
                        );
                    }
                }
            }
        }
    }
}

/// Lines indented with tabs are read with spaces, so what they hold is still checked, and
/// the problem is on the tab's line.
#[test]
fn tab_indented_lines_are_checked_too() {
    let yaml = "id: x\nname: X\ninputs:\n  email: { type: text }\nsteps:\n  - id: users\n    call: listUsers\n    params:\n\tsearch_term: \"{{ inputs.emial }}\"\n\tsize: 500\n";
    let p = problems(yaml);
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(
        p[0].starts_with("line 9, ") && p[0].contains("lines 9-10 were read indented with spaces"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("line 9, ") && p[1].contains("unknown input 'emial'"),
        "{p:#?}"
    );
    assert!(
        p[2].starts_with("line 10, ") && p[2].contains("'size' must be at most 100"),
        "{p:#?}"
    );
}

/// A template inside an `output:` or `transform:` object is reported on its own line, not
/// on the object's first.
#[test]
fn problems_inside_a_block_point_at_their_own_lines() {
    let yaml = "id: x\nname: X\ninputs:\n  days: { type: integer }\nsteps:\n  - id: t\n    transform:\n      a: 1\n      b: \"{{ inputs.day }}\"\noutput:\n  n: \"{{ steps.t.output }}\"\n  m: \"{{ steps.tt.output }}\"\n";
    let p = problems(yaml);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].starts_with("line 9, column 11: ") && p[0].contains("unknown input 'day'"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("line 12, column 7: ") && p[1].contains("step 'tt'"),
        "{p:#?}"
    );
}

/// A key borrowed from another tool, or a template left unquoted, is told what was meant.
#[test]
fn common_slips_get_a_hint() {
    let p =
        problems("id: x\nname: X\nsteps:\n  - id: a\n    call: listUsers\n    with: { size: 5 }\n");
    assert!(
        p[0].starts_with(
            "line 6, column 5: unknown field `with` (did you mean `params`?); expected one of id,"
        ),
        "{p:#?}"
    );
    let p = problems(
        "id: x\nname: X\ninputs:\n  who: { type: text }\nsteps:\n  - id: a\n    call: listUsers\n    params:\n      search_term: {{ inputs.who }}\n",
    );
    assert!(
        p[0].starts_with("line 9, ")
            && p[0].ends_with("(a value that starts with `{{` must be quoted: \"{{ … }}\")"),
        "{p:#?}"
    );
}

/// A misspelt filter is found when saving, with the nearest names; a `|` in plain text or
/// inside a string is no filter.
#[test]
fn unknown_filters_are_found_when_saving() {
    let yaml = "id: x\nname: X\nsteps:\n  - id: a\n    transform:\n      n: \"{{ [1, 2] | lenght }}\"\n      ok: \"Status | open: {{ 'a|b' | upper }} {% if [1] | lst %}x{% endif %}\"\n";
    let p = problems(yaml);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].starts_with("line 6, ")
            && p[0].contains("unknown filter 'lenght' (did you mean length?)"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("line 7, ") && p[1].contains("unknown filter 'lst'"),
        "{p:#?}"
    );
}
