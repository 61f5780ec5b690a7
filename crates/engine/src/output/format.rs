//! Writing an output as JSON, NDJSON or CSV, piece by piece: the opening, each item's JSON
//! text as it comes, the closing with the rest of the output object. What is written
//! gathers in a buffer the caller drains (`take`) into stdout or an HTTP body, so memory
//! stays flat whatever the number of items.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use store::OutputKind;

/// Items a CSV without declared columns looks at to choose them.
const SAMPLE: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The output object (`{"items": [...], "total": N}` for a listing).
    Json,
    /// One item per line.
    Ndjson,
    /// One item per row, with a header.
    Csv,
}

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(Format::Json),
            "ndjson" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            other => Err(format!("unknown format '{other}': json, ndjson or csv")),
        }
    }
}

/// One output being written.
pub struct Formatter {
    format: Format,
    kind: OutputKind,
    out: Vec<u8>,
    items: u64,
    csv: Option<CsvRows>,
}

impl Formatter {
    /// Start writing an output of `kind`; `columns` are the CSV columns when known up front.
    pub fn new(format: Format, kind: OutputKind, columns: Option<Vec<String>>) -> Formatter {
        let mut f = Formatter {
            format,
            kind,
            out: Vec::with_capacity(64 << 10),
            items: 0,
            csv: (format == Format::Csv).then(|| CsvRows::new(columns)),
        };
        if format == Format::Json {
            match kind {
                OutputKind::Listing => f.out.extend_from_slice(b"{\"items\":["),
                OutputKind::List => f.out.push(b'['),
                OutputKind::Value => {}
            }
        }
        f
    }

    /// One item's JSON text.
    pub fn item(&mut self, raw: &[u8]) {
        match self.format {
            Format::Json => {
                if self.items > 0 {
                    self.out.push(b',');
                }
                self.out.extend_from_slice(raw);
            }
            Format::Ndjson => {
                self.out.extend_from_slice(raw);
                self.out.push(b'\n');
            }
            Format::Csv => {
                if let Some(c) = &mut self.csv {
                    c.item(raw);
                }
            }
        }
        self.items += 1;
    }

    /// A whole value (an output that is no list).
    pub fn value(&mut self, v: &Value) {
        match self.format {
            Format::Json | Format::Ndjson => {
                // Writing a `Value` to a Vec cannot fail.
                let _ = serde_json::to_writer(&mut self.out, v);
                self.out.push(b'\n');
            }
            Format::Csv => {
                if let (Some(c), Ok(raw)) = (&mut self.csv, serde_json::to_vec(v)) {
                    c.item(&raw);
                }
            }
        }
    }

    /// Close the output; `envelope` holds a listing's other fields (`total`, …).
    pub fn end(&mut self, envelope: Option<&Value>) {
        match (self.format, self.kind) {
            (Format::Json, OutputKind::Listing) => {
                self.out.push(b']');
                if let Some(Value::Object(m)) = envelope {
                    for (k, v) in m.iter().filter(|(k, _)| *k != "items") {
                        self.out.push(b',');
                        let _ = serde_json::to_writer(&mut self.out, k);
                        self.out.push(b':');
                        let _ = serde_json::to_writer(&mut self.out, v);
                    }
                }
                self.out.extend_from_slice(b"}\n");
            }
            (Format::Json, OutputKind::List) => self.out.extend_from_slice(b"]\n"),
            (Format::Csv, _) => {
                if let Some(c) = &mut self.csv {
                    c.finish();
                }
            }
            _ => {}
        }
    }

    /// Bytes written so far and not yet taken.
    pub fn pending(&self) -> usize {
        self.out.len() + self.csv.as_ref().map_or(0, |c| c.w.get_ref().len())
    }

    /// Take what was written so far.
    pub fn take(&mut self) -> Vec<u8> {
        if let Some(c) = &mut self.csv {
            let w = std::mem::replace(&mut c.w, csv_writer());
            // Flushing into a Vec cannot fail.
            return w.into_inner().unwrap_or_default();
        }
        std::mem::replace(&mut self.out, Vec::with_capacity(64 << 10))
    }

    /// Write `output` whole: a listing's items, a list's, or one value.
    pub fn write_value(format: Format, output: &Value, columns: Option<Vec<String>>) -> Vec<u8> {
        let (kind, items) = split(output);
        let mut f = Formatter::new(format, kind, columns);
        match items {
            Some(items) => {
                let mut raw = Vec::new();
                for item in items {
                    raw.clear();
                    let _ = serde_json::to_writer(&mut raw, item);
                    f.item(&raw);
                }
            }
            None => f.value(output),
        }
        f.end(Some(output));
        f.take()
    }
}

/// What an output is, and its items when it has them.
pub fn split(output: &Value) -> (OutputKind, Option<&Vec<Value>>) {
    match output {
        Value::Object(m) => match m.get("items") {
            Some(Value::Array(items)) => (OutputKind::Listing, Some(items)),
            _ => (OutputKind::Value, None),
        },
        Value::Array(items) => (OutputKind::List, Some(items)),
        _ => (OutputKind::Value, None),
    }
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::with_capacity(64 << 10))
}

/// CSV rows: columns declared, or chosen from the first items (kept until then).
struct CsvRows {
    columns: Option<Vec<String>>,
    sample: Vec<Vec<u8>>,
    w: csv::Writer<Vec<u8>>,
}

impl CsvRows {
    fn new(columns: Option<Vec<String>>) -> CsvRows {
        let mut rows = CsvRows {
            columns: None,
            sample: Vec::new(),
            w: csv_writer(),
        };
        if let Some(c) = columns.filter(|c| !c.is_empty()) {
            rows.start(c);
        }
        rows
    }

    fn start(&mut self, columns: Vec<String>) {
        // Writing into a Vec cannot fail.
        let _ = self.w.write_record(&columns);
        self.columns = Some(columns);
        for raw in std::mem::take(&mut self.sample) {
            self.write(&raw);
        }
    }

    fn item(&mut self, raw: &[u8]) {
        if self.columns.is_some() {
            self.write(raw);
        } else {
            self.sample.push(raw.to_vec());
            if self.sample.len() >= SAMPLE {
                let columns = sample_columns(&self.sample);
                self.start(columns);
            }
        }
    }

    fn finish(&mut self) {
        if self.columns.is_none() {
            let columns = sample_columns(&self.sample);
            self.start(columns);
        }
    }

    fn write(&mut self, raw: &[u8]) {
        let Some(columns) = &self.columns else { return };
        // Writing into a Vec cannot fail.
        match Fields::parse(raw) {
            Some(fields) => {
                for c in columns {
                    write_cell(&mut self.w, fields.get(c));
                }
            }
            // Not an object: the item itself in the first column.
            None => {
                let whole = serde_json::from_slice::<&RawValue>(raw).ok();
                write_cell(&mut self.w, whole);
                for _ in 1..columns.len() {
                    let _ = self.w.write_field(b"");
                }
            }
        }
        let _ = self.w.write_record(None::<&[u8]>);
    }
}

/// An item's fields, borrowed from its text where it can be (in order, the last of a
/// repeated key winning, as when parsed into a value).
enum Fields<'a> {
    Borrowed(Vec<(&'a str, &'a RawValue)>),
    /// Keys with escapes cannot be borrowed.
    Owned(HashMap<String, Box<RawValue>>),
}

struct Pairs<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> Deserialize<'de> for Pairs<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Pairs<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs<'de>, A::Error> {
                let mut pairs = Vec::with_capacity(16);
                while let Some(pair) = map.next_entry::<&'de str, &'de RawValue>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Fields<'a> {
    fn parse(raw: &'a [u8]) -> Option<Fields<'a>> {
        if let Ok(Pairs(p)) = serde_json::from_slice::<Pairs<'a>>(raw) {
            return Some(Fields::Borrowed(p));
        }
        serde_json::from_slice::<HashMap<String, Box<RawValue>>>(raw)
            .ok()
            .map(Fields::Owned)
    }

    fn get(&self, key: &str) -> Option<&RawValue> {
        match self {
            Fields::Borrowed(p) => p.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| *v),
            Fields::Owned(m) => m.get(key).map(AsRef::as_ref),
        }
    }
}

/// Write a field's cell (see [`cell`]) without building a string for the common cases: text
/// without escapes, numbers, booleans, null.
fn write_cell(w: &mut csv::Writer<Vec<u8>>, raw: Option<&RawValue>) {
    let text = raw.map_or("", |r| r.get().trim());
    let _ = match text.as_bytes().first() {
        None | Some(b'n') => w.write_field(b""),
        Some(b'"') => match &text.as_bytes()[1..text.len() - 1] {
            inner
                if !inner.contains(&b'\\')
                    && !inner.first().is_some_and(|b| FORMULA.contains(b)) =>
            {
                w.write_field(inner)
            }
            _ => w.write_field(cell(raw)),
        },
        Some(b'[' | b'{') => w.write_field(cell(raw)),
        // A number or a boolean, as written.
        _ => w.write_field(text),
    };
}

/// What starts a formula in a spreadsheet.
const FORMULA: &[u8] = b"=+-@\t\r";

/// Columns of the first items: their keys in first-seen order, leaving out those empty in
/// every one; `value` when none is an object.
fn sample_columns(sample: &[Vec<u8>]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for raw in sample {
        if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(raw) {
            for (k, v) in m {
                if !v.is_null() && !cols.contains(&k) {
                    cols.push(k);
                }
            }
        }
    }
    if cols.is_empty() {
        cols.push("value".to_owned());
    }
    cols
}

/// A CSV cell from a field's JSON text: text as it is, numbers and booleans as written,
/// null as empty, a list of plain values joined with "; ", anything nested as JSON text.
/// Text a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
/// carriage return) gets a leading quote, as OWASP recommends; numbers stay numbers.
pub fn cell(raw: Option<&RawValue>) -> String {
    let Some(raw) = raw else {
        return String::new();
    };
    let text = raw.get().trim();
    let s = match text.as_bytes().first() {
        None | Some(b'n') => return String::new(),
        Some(b'"') => string(text),
        Some(b'[') => match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(list) if list.iter().all(|v| !v.get().starts_with(['[', '{'])) => list
                .iter()
                .map(|v| cell(Some(v)))
                .collect::<Vec<_>>()
                .join("; "),
            _ => text.to_owned(),
        },
        _ => text.to_owned(),
    };
    defuse(s)
}

fn string(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => inner.to_owned(),
        _ => serde_json::from_str::<String>(text).unwrap_or_default(),
    }
}

/// Text as a CSV cell: one a spreadsheet would run as a formula gets a leading `'`.
pub fn defuse_cell(s: &str) -> String {
    defuse(s.to_owned())
}

fn defuse(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s
    }
}

/// The cells of a JSON object's fields, for callers that hold values (tables on a terminal).
pub fn value_cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(v) => serde_json::value::to_raw_value(v)
            .map(|raw| cell(Some(&raw)))
            .unwrap_or_default(),
    }
}

/// The fields of `m` other than `items` (a listing's envelope).
pub fn envelope(m: &Map<String, Value>) -> Value {
    Value::Object(
        m.iter()
            .filter(|(k, _)| *k != "items")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn raw(v: Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&v).expect("raw")
    }

    #[test]
    fn cells_read_as_a_person_expects() {
        assert_eq!(cell(Some(&raw(json!("a \"b\"")))), "a \"b\"");
        assert_eq!(cell(Some(&raw(json!(12.5)))), "12.5");
        assert_eq!(cell(Some(&raw(json!(null)))), "");
        assert_eq!(
            cell(Some(&raw(json!(["OKTA", "JUMPCLOUD"])))),
            "OKTA; JUMPCLOUD"
        );
        assert_eq!(cell(Some(&raw(json!({"a": 1})))), "{\"a\":1}");
        assert_eq!(cell(Some(&raw(json!([{"a": 1}])))), "[{\"a\":1}]");
        assert_eq!(cell(Some(&raw(json!("=HYPERLINK(1)")))), "'=HYPERLINK(1)");
        assert_eq!(cell(Some(&raw(json!("-12")))), "-12");
        assert_eq!(cell(None), "");
    }

    #[test]
    fn json_of_a_listing_is_the_output_object() {
        let mut f = Formatter::new(Format::Json, OutputKind::Listing, None);
        f.item(br#"{"id":1}"#);
        f.item(br#"{"id":2}"#);
        f.end(Some(&json!({"total": 2})));
        let v: Value = serde_json::from_slice(&f.take()).expect("json");
        assert_eq!(v, json!({"items": [{"id": 1}, {"id": 2}], "total": 2}));
    }

    #[test]
    fn csv_columns_come_from_the_first_items_when_not_declared() {
        let out = Formatter::write_value(
            Format::Csv,
            &json!({"items": [{"id": 1, "x": null}, {"id": 2, "name": "=cmd", "x": null}], "total": 2}),
            None,
        );
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "id,name\n1,\n2,'=cmd\n"
        );
    }

    #[test]
    fn keys_with_escapes_still_find_their_column() {
        let mut f = Formatter::new(Format::Csv, OutputKind::List, Some(vec!["a\"b".into()]));
        f.item(br#"{"a\"b":"x"}"#);
        f.end(None);
        assert_eq!(
            String::from_utf8(f.take()).expect("utf8"),
            "\"a\"\"b\"\nx\n"
        );
    }
}
