//! Read what can be read of a workflow file that YAML or the format rejects, so one
//! mistake does not hide the others.
//!
//! The parser stops at the first error. To go on, the offending lines are set aside in a
//! copy of the text (a value read as plain text, or a block blanked out) and the copy is
//! parsed again, at most a few rounds. Line numbers never change, so every later problem
//! still points at the user's file. The definition read this way is checked like any
//! other, minus what setting lines aside could have caused (a step or input that was
//! skipped and is then missed).

use std::collections::BTreeSet;

use serde_saphyr::Error;

use crate::definition::{Definition, Problem, parse_message as message};

/// Rounds of set-aside-and-parse-again before giving up on the rest of the file.
const MAX_ROUNDS: usize = 24;
/// How far back (in lines with content) a syntax error's cause is looked for: an
/// unclosed quote or bracket is reported where the parser noticed, often lines later.
const LOOK_BACK: usize = 12;
/// Files larger than this get the first error only: each round parses the whole text.
const MAX_SALVAGE_BYTES: usize = 64 * 1024;

/// What could be read of a file with problems.
#[derive(Default)]
pub struct Salvaged {
    /// The definition read from what remained, when it could be read at all.
    pub def: Option<Definition>,
    /// The problems found while reading, in the order met.
    pub problems: Vec<Problem>,
    /// Lines set aside or read differently: later problems there are side effects.
    touched: BTreeSet<u64>,
    /// Names of steps and keys in blanked lines: a reference to one is not a new problem.
    skipped_names: BTreeSet<String>,
    /// Whether a step was skipped entirely (so "needs at least one step" is a side effect).
    skipped_step: bool,
    /// The text as finally read.
    text: Option<Lines>,
}

impl Salvaged {
    /// Whether a problem found by checking the salvaged definition is worth reporting,
    /// rather than a consequence of the lines set aside.
    pub fn keeps(&self, p: &Problem) -> bool {
        if self.touched.contains(&p.line) {
            return false;
        }
        if self.skipped_step && p.message.contains("at least one step") {
            return false;
        }
        // A step that "needs" something may have had it on a line set aside.
        if p.message.contains(" needs ")
            && let Some(text) = &self.text
            && p.line > 0
        {
            let at = usize::try_from(p.line - 1).unwrap_or(usize::MAX);
            if let Some(line) = text.lines.get(at) {
                let key = content_column(line) as u64 + 1;
                if text.blanked_in_mapping(p.line, key) {
                    return false;
                }
            }
        }
        !self.skipped_names.iter().any(|n| {
            p.message.contains(&format!("refers to step '{n}'"))
                || p.message.contains(&format!("unknown input '{n}'"))
        })
    }
}

fn location(e: &Error) -> (u64, u64) {
    e.location().map_or((0, 0), |l| (l.line(), l.column()))
}

enum Kind {
    /// The format's complaint about a readable part, pointing at it.
    Shape,
    /// A mapping lacks a field: reported at its last key.
    MissingField,
    /// The YAML itself cannot be read from here on.
    Syntax,
}

fn kind(e: &Error) -> Kind {
    match e.without_snippet() {
        Error::SerdeMissingField { .. } => Kind::MissingField,
        Error::SerdeUnknownField { .. }
        | Error::SerdeInvalidType { .. }
        | Error::SerdeInvalidValue { .. }
        | Error::SerdeInvalidLength { .. }
        | Error::SerdeUnknownVariant { .. }
        | Error::DuplicateMappingKey { .. }
        | Error::Unexpected { .. }
        | Error::InvalidScalar { .. }
        | Error::NullIntoString { .. }
        | Error::InvalidBooleanStrict { .. }
        | Error::Message { .. } => Kind::Shape,
        _ => Kind::Syntax,
    }
}

/// The parse error's message, with what a person most likely meant when it is clear: the
/// key a misspelt or borrowed one stands for, or the quotes a template needs.
fn hinted(e: &Error, line: Option<&String>) -> String {
    let mut m = message(e);
    if let Error::SerdeUnknownField {
        field, expected, ..
    } = e.without_snippet()
    {
        let borrowed = match field.as_str() {
            "with" | "args" | "arguments" | "parameters" | "param" | "query" => Some("params"),
            "op" | "operation" | "action" | "run" => Some("call"),
            "when" | "condition" | "only_if" => Some("if"),
            "foreach" | "for-each" | "loop" | "each" => Some("for_each"),
            "input" => Some("inputs"),
            "outputs" | "result" => Some("output"),
            _ => None,
        };
        let meant = borrowed.filter(|b| expected.contains(b)).or_else(|| {
            expected
                .iter()
                .copied()
                .find(|x| strsim::levenshtein(x, field) <= 2)
        });
        if let Some(meant) = meant {
            m = format!("unknown field `{field}` (did you mean `{meant}`?); {}", {
                m.split_once(", ")
                    .map_or(String::new(), |(_, rest)| rest.to_owned())
            });
        }
    }
    let unquoted_template = line.is_some_and(|l| {
        l.split_once(": ")
            .is_some_and(|(_, v)| v.trim_start().starts_with("{{"))
    });
    if unquoted_template {
        m.push_str(" (a value that starts with `{{` must be quoted: \"{{ … }}\")");
    }
    m
}

fn parse(text: &str) -> Result<Definition, Error> {
    serde_saphyr::from_str(text)
}

/// Read `yaml`, going past each problem that leaves something readable after it.
pub fn read(yaml: &str) -> Salvaged {
    let mut out = Salvaged::default();
    let mut text = Lines::new(yaml);
    for _ in 0..MAX_ROUNDS {
        let e = match parse(&text.joined()) {
            Ok(def) => {
                out.def = Some(def);
                out.text = Some(text);
                return out;
            }
            Err(e) => e,
        };
        let (line, column) = location(&e);
        let problem = Problem {
            line,
            column,
            message: hinted(&e, text.lines.get(line.saturating_sub(1) as usize)),
        };
        if yaml.len() > MAX_SALVAGE_BYTES || line == 0 {
            out.problems.push(problem);
            return out;
        }
        let before = text.clone();
        match kind(&e) {
            Kind::Shape => {
                // A list or mapping whose every entry was set aside reads as empty: that
                // complaint is an echo of the problems already reported.
                // So does a line read differently to get past a syntax error.
                let ours = out.touched.contains(&line);
                if !text.set_aside_owner(line, column, &mut out) && !ours {
                    out.problems.push(problem);
                }
            }
            Kind::MissingField => {
                let caused_by_us = text.blanked_in_mapping(line, column);
                if !caused_by_us {
                    // The parser notices at the mapping's last key; point at its first.
                    let (start, _, _) = text.mapping_lines(line, column);
                    let at = &text.lines[start];
                    out.problems.push(Problem {
                        line: start as u64 + 1,
                        column: content_column(at) as u64 + 1,
                        ..problem
                    });
                }
                // A step without a field is skipped whole; a missing top-level field
                // leaves nothing to check against.
                if !text.skip_list_item(line, column, &mut out) {
                    return out;
                }
            }
            Kind::Syntax => match text.best_repair(line, column, &problem.message) {
                Some(repair) => {
                    let (Repair::Requote { line: at, .. }
                    | Repair::Detab { line: at, .. }
                    | Repair::BlankLine { line: at }
                    | Repair::Blank { line: at, .. }) = &repair;
                    let at_column = content_column(&text.lines[*at]) as u64 + 1;
                    let (first, last) = text.apply(&repair, &mut out);
                    let note = match (&repair, first == last) {
                        (Repair::Requote { .. }, _) => "it was read as plain text".to_owned(),
                        (Repair::Detab { .. }, true) => {
                            "it was read indented with spaces".to_owned()
                        }
                        (Repair::Detab { .. }, false) => format!(
                            "lines {}-{} were read indented with spaces",
                            first + 1,
                            last + 1
                        ),
                        (_, true) => "it was skipped".to_owned(),
                        (_, false) => format!("lines {}-{} were skipped", first + 1, last + 1),
                    };
                    // Point at the line the mistake is on (an unclosed quote's opening
                    // line, the line a tab indents), saying where the parser noticed.
                    let (message, line, column) = if first as u64 + 1 == line {
                        (
                            format!("{} ({note} to check the rest)", problem.message),
                            line,
                            column,
                        )
                    } else {
                        let what = match &repair {
                            Repair::Detab { .. } => {
                                "a tab indents this line (YAML indents with spaces only)".to_owned()
                            }
                            _ => problem.message.clone(),
                        };
                        (
                            format!(
                                "{what} (noticed at line {line}, column {column}; {note} to \
                                 check the rest)"
                            ),
                            first as u64 + 1,
                            at_column,
                        )
                    };
                    out.problems.push(Problem {
                        line,
                        column,
                        message,
                    });
                }
                None => {
                    out.problems.push(problem);
                    return out;
                }
            },
        }
        // Nothing changed, or nothing is left to read: what the parser says next would be
        // about the lines set aside ("unexpected end of file"), not a new mistake.
        if text.lines == before.lines || text.lines.iter().all(|l| indent(l).is_none()) {
            return out;
        }
    }
    out
}

/// A way to go past a syntax error.
enum Repair {
    /// Read the value on this line (0-based) as plain text.
    Requote { line: usize, text: String },
    /// Read this line's leading tabs as spaces.
    Detab { line: usize, lines: Vec<String> },
    /// Blank this line only.
    BlankLine { line: usize },
    /// Blank this line from this column, and the lines nested under it.
    Blank { line: usize, column: usize },
}

/// The file as lines, some of them set aside. Positions stay those of the original.
#[derive(Clone)]
struct Lines {
    lines: Vec<String>,
    blanked: BTreeSet<usize>,
    /// Lines a syntax repair changed.
    repaired: BTreeSet<usize>,
}

/// Leading spaces, or None for a line without content (blank or a comment).
fn indent(line: &str) -> Option<usize> {
    let trimmed = line.trim_start_matches(' ');
    if trimmed.trim().is_empty() || trimmed.starts_with('#') {
        None
    } else {
        Some(line.len() - trimmed.len())
    }
}

/// Whether a line opens a double quote, a single-quoted value or a bracket that it does
/// not close (comments aside).
fn unbalanced(line: &str) -> bool {
    let (mut in_double, mut escaped, mut depth) = (false, false, 0i32);
    for c in line.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_double => escaped = true,
            '"' => in_double = !in_double,
            '[' | '{' if !in_double => depth += 1,
            ']' | '}' if !in_double => depth -= 1,
            '#' if !in_double => break,
            _ => {}
        }
    }
    let value = line[content_column(line)..]
        .split_once(": ")
        .map_or("", |(_, v)| v.trim());
    let single_open = value.starts_with('\'') && (value.len() == 1 || !value.ends_with('\''));
    in_double || depth != 0 || single_open
}

/// The column (0-based) where a line's node starts, after its indentation and any
/// `- ` sequence markers.
fn content_column(line: &str) -> usize {
    let mut at = line.len() - line.trim_start_matches(' ').len();
    while line[at..].starts_with("- ") {
        at += 2;
        at += line[at..].len() - line[at..].trim_start_matches(' ').len();
    }
    at
}

/// Whether a mapping key (a plain name then `:`) starts at byte `at` of `line`.
fn key_at(line: &str, at: usize) -> bool {
    let rest = line.get(at..).unwrap_or_default();
    let name_len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    name_len > 0 && rest[name_len..].starts_with(':')
}

/// The names a blanked line declares: a key, or a step's id.
fn names_in(line: &str) -> Vec<String> {
    let at = content_column(line);
    let rest = &line[at..];
    let Some((key, value)) = rest.split_once(':') else {
        return Vec::new();
    };
    let mut names = vec![key.trim().to_owned()];
    if key.trim() == "id" {
        let id: String = value
            .trim()
            .trim_start_matches(['"', '\''])
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !id.is_empty() {
            names.push(id);
        }
    }
    names
}

impl Lines {
    fn new(yaml: &str) -> Lines {
        Lines {
            lines: yaml.split('\n').map(str::to_owned).collect(),
            blanked: BTreeSet::new(),
            repaired: BTreeSet::new(),
        }
    }

    fn joined(&self) -> String {
        self.lines.join("\n")
    }

    /// A 1-based position to a line index and a byte column, clamped to the text.
    fn at(&self, line: u64, column: u64) -> (usize, usize) {
        let l = usize::try_from(line.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(self.lines.len().saturating_sub(1));
        let text = &self.lines[l];
        let c = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
        let byte = text.char_indices().nth(c).map_or(text.len(), |(b, _)| b);
        (l, byte)
    }

    /// Blank `line` from byte `column`, and every following line nested deeper; the
    /// first and last line blanked.
    fn blank(&mut self, line: usize, column: usize, out: &mut Salvaged) -> (usize, usize) {
        let own_indent = indent(&self.lines[line]).unwrap_or(0);
        let nested_below = column.max(own_indent);
        let record = |lines: &mut Vec<String>, i: usize, from: usize, out: &mut Salvaged| {
            let cut = &lines[i][from..];
            out.skipped_names.extend(names_in(cut));
            let prefix = lines[i][..from].to_owned();
            // Keep a `- ` marker so the item stays, as an item of what follows it.
            lines[i] = if prefix.trim().is_empty() {
                String::new()
            } else {
                prefix
            };
            out.touched.insert(i as u64 + 1);
        };
        if line < self.lines.len() && column <= self.lines[line].len() {
            // A whole list item (a step, usually) goes.
            if self.lines[line][column..].starts_with('-') {
                out.skipped_step = true;
            }
            record(&mut self.lines, line, column, out);
            self.blanked.insert(line);
        }
        let mut last = line;
        for i in line + 1..self.lines.len() {
            match indent(&self.lines[i]) {
                Some(n) if n > nested_below => {
                    record(&mut self.lines, i, 0, out);
                    self.blanked.insert(i);
                    last = i;
                }
                Some(_) => break,
                None => {}
            }
        }
        (line, last)
    }

    /// Set aside the part a shape error points at: the key there, the key whose value is
    /// there, or (for a value on its own lines) the key above it. True when lines in
    /// that part had been set aside already.
    fn set_aside_owner(&mut self, line: u64, column: u64, out: &mut Salvaged) -> bool {
        let (l, c) = self.at(line, column);
        let text = self.lines[l].clone();
        let start = content_column(&text);
        let (line, column) = if key_at(&text, c) {
            (l, c)
        } else if c > start {
            (l, start)
        } else if let Some(parent) = self.parent_of(l) {
            (parent, content_column(&self.lines[parent]))
        } else {
            (l, start)
        };
        let nested = column.max(indent(&self.lines[line]).unwrap_or(0));
        let end = (line + 1..self.lines.len())
            .find(|&i| indent(&self.lines[i]).is_some_and(|n| n <= nested))
            .unwrap_or(self.lines.len());
        let echo = self.blanked.range(line + 1..end).next().is_some();
        self.blank(line, column, out);
        echo
    }

    /// The nearest line above `l` that is less indented: what `l` belongs to.
    fn parent_of(&self, l: usize) -> Option<usize> {
        let own = indent(&self.lines[l])?;
        (0..l)
            .rev()
            .find(|&i| indent(&self.lines[i]).is_some_and(|n| n < own))
    }

    /// The lines of the mapping whose key (at `column`) is on `line`: up to the first
    /// less indented line above (or the `- ` item that opens it), down to the last line
    /// nested in it.
    fn mapping_lines(&self, line: u64, column: u64) -> (usize, usize, bool) {
        let (l, c) = self.at(line, column);
        let opens_item = |i: usize| {
            let text = &self.lines[i];
            content_column(text) == c && text.trim_start().starts_with('-')
        };
        let (mut start, mut item) = (l, opens_item(l));
        if !item {
            for i in (0..l).rev() {
                match indent(&self.lines[i]) {
                    None => {}
                    Some(n) if n >= c => start = i,
                    Some(_) => {
                        if opens_item(i) {
                            (start, item) = (i, true);
                        }
                        break;
                    }
                }
            }
        }
        // Blank lines count too: lines blanked out of the mapping are what is looked for.
        let end = (l + 1..self.lines.len())
            .find(|&i| indent(&self.lines[i]).is_some_and(|n| n < c))
            .map_or(self.lines.len() - 1, |next| next - 1);
        (start, end, item)
    }

    /// Whether lines were blanked inside the mapping a missing-field error names: then
    /// the field was most likely in them.
    fn blanked_in_mapping(&self, line: u64, column: u64) -> bool {
        let (start, end, _) = self.mapping_lines(line, column);
        self.blanked.range(start..=end).next().is_some()
    }

    /// Skip the list item (a step, say) that holds a mapping; false when it is no item.
    fn skip_list_item(&mut self, line: u64, column: u64, out: &mut Salvaged) -> bool {
        let (start, _, item) = self.mapping_lines(line, column);
        if !item {
            return false;
        }
        let dash = self.lines[start].len() - self.lines[start].trim_start_matches(' ').len();
        self.blank(start, dash, out);
        true
    }

    /// Line `l` indented with spaces instead of its leading tabs, at each depth it could
    /// have meant: the line above's, one step deeper, the line below's, or any other
    /// the file uses.
    fn detabbed(&self, l: usize) -> Vec<Vec<String>> {
        let text = &self.lines[l];
        if !text.starts_with('\t') || text.trim().is_empty() {
            return Vec::new();
        }
        // The lines indented with tabs from here on are read with one tab width.
        let run: Vec<&String> = self.lines[l..]
            .iter()
            .take_while(|t| t.starts_with('\t'))
            .collect();
        let lead = |t: &str| {
            let ws = &t[..t.len() - t.trim_start_matches([' ', '\t']).len()];
            (ws.matches('\t').count(), ws.matches(' ').count(), ws.len())
        };
        let (tabs, spaces, _) = lead(text);
        let above = (0..l).rev().find(|&i| indent(&self.lines[i]).is_some());
        let depth_above = above.and_then(|i| indent(&self.lines[i])).unwrap_or(0);
        // Under a line that opens a block (`params:`), one step deeper comes first.
        let opens = above.is_some_and(|i| self.lines[i].trim_end().ends_with(':'));
        let below = (l + run.len()..self.lines.len()).find_map(|i| indent(&self.lines[i]));
        let used: BTreeSet<usize> = self.lines.iter().filter_map(|t| indent(t)).collect();
        let mut depths = if opens {
            vec![depth_above + 2, depth_above]
        } else {
            vec![depth_above, depth_above + 2]
        };
        depths.extend(below);
        depths.extend(used);
        let mut seen = BTreeSet::new();
        depths
            .into_iter()
            .filter(|d| seen.insert(*d) && *d >= spaces && (d - spaces) % tabs == 0)
            .map(|d| {
                let width = (d - spaces) / tabs;
                run.iter()
                    .map(|t| {
                        let (tabs, spaces, len) = lead(t);
                        format!("{}{}", " ".repeat(tabs * width + spaces), &t[len..])
                    })
                    .collect()
            })
            .collect()
    }

    /// Line `l` with its value quoted as plain text, when it is `key: value`.
    fn requoted(&self, l: usize) -> Option<String> {
        let text = &self.lines[l];
        let start = content_column(text);
        let (key, value) = text[start..].split_once(": ")?;
        let value = value.trim();
        if value.is_empty() || value.starts_with(['|', '>', '#']) || !key_at(&format!("{key}:"), 0)
        {
            return None;
        }
        let quoted = format!("{}{key}: '{}'", &text[..start], value.replace('\'', "''"));
        (quoted != *text).then_some(quoted)
    }

    /// A copy with `repair` applied, and the first and last line it changed.
    fn applied(&self, repair: &Repair) -> (Lines, (usize, usize)) {
        let mut copy = self.clone();
        let changed = copy.apply(repair, &mut Salvaged::default());
        (copy, changed)
    }

    /// Apply a repair; the first and last line it changed.
    fn apply(&mut self, repair: &Repair, out: &mut Salvaged) -> (usize, usize) {
        let changed = match repair {
            Repair::Detab { line, lines } => {
                // The same content, indented: what it holds is checked like the rest.
                for (i, text) in lines.iter().enumerate() {
                    self.lines[line + i] = text.clone();
                }
                (*line, line + lines.len().max(1) - 1)
            }
            Repair::Requote { line, text } => {
                // A step id read differently is not the id the rest refers to.
                out.skipped_names.extend(names_in(&self.lines[*line]));
                self.lines[*line] = text.clone();
                out.touched.insert(*line as u64 + 1);
                (*line, *line)
            }
            Repair::BlankLine { line } => {
                out.skipped_names.extend(names_in(&self.lines[*line]));
                self.lines[*line] = String::new();
                self.blanked.insert(*line);
                out.touched.insert(*line as u64 + 1);
                (*line, *line)
            }
            Repair::Blank { line, column } => self.blank(*line, *column, out),
        };
        self.repaired.extend(changed.0..=changed.1);
        changed
    }

    /// The repair that lets the parser read on, looked for on the error's own line and
    /// up to [`LOOK_BACK`] lines above it (where an unclosed quote or bracket began).
    ///
    /// The cheapest repair after which the whole file reads wins, unless a repair nearer
    /// the error that changes fewer lines shows a different problem further on (then
    /// there were two mistakes, and both are reported). Next comes a repair after which
    /// the YAML reads but the format has a complaint; last, one after which the same
    /// complaint only moves further (the same unclosed thing noticed later).
    fn best_repair(&self, line: u64, column: u64, complaint: &str) -> Option<Repair> {
        let (l, _) = self.at(line, column);
        let last_content = (0..self.lines.len())
            .rev()
            .find(|&i| indent(&self.lines[i]).is_some())
            .unwrap_or(0) as u64
            + 1;
        let mut readable: Option<(usize, Repair)> = None;
        let mut onward: Option<(usize, Repair)> = None;
        let mut shaped = None;
        let mut fallback = None;
        // A tab that starts the next line is reported at the end of this one.
        let next_tab = (l + 1..self.lines.len())
            .find(|&i| !self.lines[i].trim().is_empty())
            .filter(|&i| self.lines[i].starts_with('\t'));
        // Lines that open a quote or bracket they do not close come first, however far
        // back: the parser notices such a thing only where it ends.
        let unbalanced = (0..=l)
            .rev()
            .filter(|&i| unbalanced(&self.lines[i]))
            .take(4);
        let near = (0..=l)
            .rev()
            .filter(|&i| indent(&self.lines[i]).is_some())
            .take(LOOK_BACK);
        let mut seen = BTreeSet::new();
        // A line is repaired once at most: repairs never compound.
        let candidates = next_tab
            .into_iter()
            .chain(unbalanced)
            .chain(near)
            .filter(|i| !self.repaired.contains(i) && seen.insert(*i));
        for i in candidates {
            let mut repairs: Vec<Repair> = self
                .detabbed(i)
                .into_iter()
                .map(|lines| Repair::Detab { line: i, lines })
                .collect();
            if let Some(text) = self.requoted(i) {
                repairs.push(Repair::Requote { line: i, text });
            }
            repairs.push(Repair::BlankLine { line: i });
            repairs.push(Repair::Blank {
                line: i,
                column: indent(&self.lines[i]).unwrap_or(0),
            });
            for repair in repairs {
                let (copy, (first, last)) = self.applied(&repair);
                let cost = last + 1 - first;
                match parse(&copy.joined()) {
                    Ok(_) if cost == 1 => return Some(repair),
                    Ok(_) => {
                        if readable.as_ref().is_none_or(|(c, _)| cost < *c) {
                            readable = Some((cost, repair));
                        }
                    }
                    // The YAML reads, and what remains is the format's complaint about a
                    // part (checked in its own round).
                    Err(e) if !matches!(kind(&e), Kind::Syntax) => {
                        if shaped.is_none() {
                            shaped = Some(repair);
                        }
                    }
                    Err(e) => {
                        let at = location(&e);
                        if at <= (line, column) {
                            continue;
                        }
                        // A complaint on the very next line is most likely about what the
                        // repair orphaned (a key's nested lines), not a second mistake.
                        let next = (last + 1..self.lines.len())
                            .find(|&i| !self.lines[i].trim().is_empty())
                            .map_or(u64::MAX, |i| i as u64 + 1);
                        if at.0 <= last_content && at.0 != next && message(&e) != complaint {
                            if onward.is_none() {
                                onward = Some((cost, repair));
                            }
                        } else if fallback.is_none() {
                            fallback = Some(repair);
                        }
                    }
                }
            }
        }
        match (readable, onward) {
            (Some((rc, r)), Some((oc, _))) if rc <= oc => Some(r),
            (_, Some((_, o))) => Some(o),
            (Some((_, r)), None) => Some(r),
            (None, None) => shaped.or(fallback),
        }
    }
}
