//! Printing a run's output on stdout: as a table for a person (the first rows), or whole as
//! JSON, NDJSON or CSV. A listing whose items the run streams is printed page by page as
//! it arrives, on a thread of its own, so memory stays flat and a slow terminal or pipe
//! never stalls the run's other work.

use std::io::Write;
use std::sync::Arc;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use engine::output::{Format, Formatter, value_cell};
use engine::{OutputKind, RunProgress};
use lumos_api::RawPage;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Rows a table shows; the rest are counted and left to the machine formats.
pub const TABLE_ROWS: usize = 100;

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Table,
    Machine(Format),
}

/// What the printer did with the pages it was given.
pub struct Printed {
    /// Items printed (or, for a table, seen).
    pub items: u64,
    /// The first rows, for a table.
    pub rows: Vec<Value>,
    /// The output being written, when pages came (the caller closes it).
    pub formatter: Option<Formatter>,
    /// Stdout went away (a closed pipe): nothing more can be printed.
    pub closed: bool,
}

/// Print the pages sent to the returned tap as they come. When stdout is closed the run
/// is asked to stop (`stop`).
pub fn spawn(
    style: Style,
    columns: Option<Vec<String>>,
    stop: CancellationToken,
) -> (mpsc::Sender<Arc<RawPage>>, tokio::task::JoinHandle<Printed>) {
    let (tx, mut rx) = mpsc::channel::<Arc<RawPage>>(8);
    let handle = tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
        let mut printed = Printed {
            items: 0,
            rows: Vec::new(),
            formatter: None,
            closed: false,
        };
        let mut columns = columns;
        while let Some(page) = rx.blocking_recv() {
            printed.items += page.len() as u64;
            match style {
                Style::Table => {
                    let room = TABLE_ROWS.saturating_sub(printed.rows.len());
                    printed.rows.extend(
                        page.items()
                            .take(room)
                            .filter_map(|raw| serde_json::from_slice(raw).ok()),
                    );
                }
                Style::Machine(format) => {
                    let f = printed.formatter.get_or_insert_with(|| {
                        Formatter::new(format, OutputKind::Listing, columns.take())
                    });
                    for raw in page.items() {
                        f.item(raw);
                    }
                    if out.write_all(&f.take()).is_err() {
                        printed.closed = true;
                        stop.cancel();
                        break;
                    }
                }
            }
        }
        if out.flush().is_err() {
            printed.closed = true;
        }
        printed
    });
    (tx, handle)
}

/// Write bytes to stdout; `false` when stdout is closed.
pub fn emit(bytes: &[u8]) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).is_ok()
}

/// Columns of a list of objects, in first-seen order, leaving out those empty everywhere.
fn table_columns(items: &[Value]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for item in items {
        if let Value::Object(m) = item {
            for (k, v) in m {
                if !v.is_null() && !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
    }
    cols
}

/// A value as a table shows it to a person: an object by its name, label or email (a
/// requester shows as their email, as in the console), a list of objects by its length;
/// anything else as CSV writes it. The whole value is in `--json` / `--csv`.
fn shown_cell(v: Option<&Value>) -> String {
    match v {
        Some(Value::Object(m)) => ["name", "label", "user_friendly_label", "email", "id"]
            .iter()
            .find_map(|k| m.get(*k).filter(|x| !x.is_null()))
            .map_or_else(|| value_cell(v), |named| value_cell(Some(named))),
        Some(Value::Array(items)) if items.iter().any(Value::is_object) => {
            let n = items.len();
            format!("{n} {}", if n == 1 { "item" } else { "items" })
        }
        _ => value_cell(v),
    }
}

/// The longest cell a table shows a person; the whole value is in `--json` / `--csv`.
const CELL_CHARS: usize = 100;

/// `text` cut to what a table cell shows, marked with `…` when cut.
pub fn cell_text(text: String) -> String {
    if text.chars().count() <= CELL_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(CELL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A table of `rows` (the first of `count` items) for a person: the workflow's `columns:`
/// when it declares them (what most answers need), else every field the rows have.
pub fn table(
    out: &mut impl Write,
    rows: &[Value],
    count: u64,
    declared: Option<&[String]>,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "(no items)");
    }
    let cols = match declared {
        Some(c) if rows.iter().any(Value::is_object) => c.to_vec(),
        _ => table_columns(rows),
    };
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if cols.is_empty() {
        // A list of plain values (texts, numbers): one column of them.
        table.set_header(["value"]);
        for item in rows {
            table.add_row([cell_text(value_cell(Some(item)))]);
        }
    } else {
        table.set_header(cols.clone());
        for item in rows {
            table.add_row(
                cols.iter()
                    .map(|c| cell_text(shown_cell(item.get(c))))
                    .collect::<Vec<_>>(),
            );
        }
    }
    writeln!(out, "{table}")?;
    if count > rows.len() as u64 {
        writeln!(out, "the first {} of {count} items", rows.len())?;
    }
    Ok(())
}

/// A whole output for a person: a listing or list as a table (with its paging), anything
/// else as indented JSON.
pub fn output_table(
    out: &mut impl Write,
    output: &Value,
    declared: Option<&[String]>,
) -> std::io::Result<()> {
    let items = match output {
        Value::Array(items) => items,
        Value::Object(m) => match m.get("items") {
            Some(Value::Array(items)) => items,
            _ => return pretty(out, output),
        },
        _ => return pretty(out, output),
    };
    let shown = &items[..items.len().min(TABLE_ROWS)];
    let total = output.get("total").and_then(Value::as_u64);
    table(out, shown, items.len() as u64, declared)?;
    match (
        output.get("page").and_then(Value::as_u64),
        output.get("pages").and_then(Value::as_u64),
    ) {
        (Some(p), Some(n)) => {
            let next = output
                .get("next_page")
                .and_then(Value::as_u64)
                .map(|n| format!("; next: -i page={n}"))
                .unwrap_or_default();
            writeln!(
                out,
                "page {p} of {n} ({} total){next}",
                total.unwrap_or(items.len() as u64)
            )
        }
        _ => writeln!(out, "{} items", total.unwrap_or(items.len() as u64)),
    }
}

fn pretty(out: &mut impl Write, v: &Value) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)
}

/// A progress bar on stderr for runs that walk pages: items of the total when Lumos gives
/// one, pages, rate.
pub fn progress_bar() -> (indicatif::ProgressBar, engine::executor::Progress) {
    let bar = indicatif::ProgressBar::new_spinner();
    let counting = indicatif::ProgressStyle::with_template(
        "{spinner} {prefix}: {human_pos} items, {msg} pages ({per_sec})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    let of_total = indicatif::ProgressStyle::with_template(
        "{prefix}: [{bar:30}] {human_pos}/{human_len} items, {msg} pages ({per_sec}, {eta} left)",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(counting);
    let shown = bar.clone();
    let report: engine::executor::Progress = Arc::new(move |step: &str, p: &RunProgress| {
        if shown.length().is_none()
            && let Some(total) = p.total
        {
            shown.set_length(total);
            shown.set_style(of_total.clone());
        }
        shown.set_prefix(step.to_owned());
        shown.set_message(p.pages.to_string());
        shown.set_position(p.items);
    });
    (bar, report)
}

/// A step record's status, with a loop's counts on the record that sums it up
/// (`completed: 300 items, 300 completed`).
pub fn step_status(s: &engine::StepRow) -> String {
    let counts = (s.iteration == engine::executor::LOOP_SUMMARY)
        .then(|| s.output.as_ref().map(|o| &o.0["loop"]))
        .flatten()
        .filter(|l| l.is_object());
    let Some(l) = counts else {
        return s.status.to_string();
    };
    let n = |k: &str| l[k].as_u64().unwrap_or(0);
    let said: Vec<String> = [
        ("completed", "completed"),
        ("failed", "failed"),
        ("skipped", "left out by if"),
        ("not_run", "not run"),
    ]
    .iter()
    .filter(|(k, _)| n(k) > 0)
    .map(|(k, words)| format!("{} {words}", n(k)))
    .collect();
    let items = n("items");
    format!(
        "{}: {items} item{}{}{}",
        s.status,
        if items == 1 { "" } else { "s" },
        if said.is_empty() { "" } else { ", " },
        said.join(", ")
    )
}

/// A step record's `#`: the item of a loop, or `loop` for the record that sums a loop up.
pub fn iteration(i: i32) -> String {
    if i == engine::executor::LOOP_SUMMARY {
        "loop".into()
    } else {
        i.to_string()
    }
}
