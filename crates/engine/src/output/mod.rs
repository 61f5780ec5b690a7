//! Run outputs at any size. A listing's items are stored as they arrive (chunks of
//! compressed NDJSON, see `chunks`), never held whole and never cut; other outputs are
//! stored whole up to a limit. Stored outputs are read back in any format (`format`) from
//! any item on (`read`), by the CLI, the HTTP API, the console and MCP alike.

mod chunks;
mod format;
mod read;
mod schema;
mod view;

use std::sync::Arc;

use lumos_api::{RawPage, Schemas, Shape};
use serde_json::Value;
use serde_json::value::RawValue;
use store::{OutputInfo, OutputKind, Run, RunStatus, Store, StoreError};
use tokio::sync::mpsc;

pub(crate) use chunks::ChunkWriter;
pub use format::{Format, Formatter, cell, defuse_cell, envelope, split, value_cell};
pub use read::{ItemBlock, StoredItems};
pub use schema::output_schema;
pub use view::{SortBy, ViewCache, ViewSpec, natural};

use workflow_lang::plan::Action;
use workflow_lang::size::approx_size;
use workflow_lang::workflow::Workflow;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("the run's output could not be stored: {0}")]
    Store(#[from] StoreError),
    #[error("the run's output could not be encoded: {0}")]
    Encode(String),
    #[error("the stored output is damaged: {0}")]
    Corrupt(String),
    #[error(
        "the run's output is about {} MiB, above the {} MiB kept for outputs that are not listings (LUMOSFLOW_MAX_OUTPUT_BYTES raises the limit; an output with `items` is stored at any size)",
        .bytes >> 20, .max >> 20
    )]
    TooLarge { bytes: u64, max: u64 },
}

/// What a run produced.
pub enum Produced {
    /// An output held in memory.
    Value(Value),
    /// A listing whose items went to the store as they arrived; the rest of the output
    /// object (`total`).
    Streamed { envelope: Value },
}

/// What goes in the run row beside the stored items.
pub(crate) struct Kept {
    /// The run row's `output`: a value whole, a listing's other fields, or nothing for a list.
    pub output: Option<Value>,
    pub info: OutputInfo,
}

/// Where the pages of a streamed listing go: to whoever taps the run (the CLI printing
/// them), and into the store.
pub struct Sink {
    writer: tokio::sync::Mutex<Option<ChunkWriter>>,
    tap: Option<mpsc::Sender<Arc<RawPage>>>,
}

impl Sink {
    pub(crate) fn new(writer: ChunkWriter, tap: Option<mpsc::Sender<Arc<RawPage>>>) -> Sink {
        Sink {
            writer: tokio::sync::Mutex::new(Some(writer)),
            tap,
        }
    }

    /// Print (when tapped) and store one page.
    pub(crate) async fn page(&self, page: RawPage) -> Result<(), OutputError> {
        let page = Arc::new(page);
        if let Some(t) = &self.tap {
            // A closed tap means nobody reads any more; the output is still stored in full.
            let _ = t.send(page.clone()).await;
        }
        match self.writer.lock().await.as_mut() {
            Some(w) => w.page(&page).await,
            None => Err(OutputError::Encode("the output was already closed".into())),
        }
    }

    /// The writer, once the run is over.
    pub(crate) async fn into_writer(self) -> Option<ChunkWriter> {
        self.writer.into_inner()
    }
}

/// Store the rest of what a run produced and say what its output is.
pub(crate) async fn keep(
    mut writer: ChunkWriter,
    produced: &Produced,
    columns: Option<Vec<String>>,
    max_value_bytes: u64,
) -> Result<Kept, OutputError> {
    match keep_in(&mut writer, produced, columns, max_value_bytes).await {
        Ok(kept) => Ok(kept),
        Err(e) => {
            writer.settle().await;
            Err(e)
        }
    }
}

async fn keep_in(
    writer: &mut ChunkWriter,
    produced: &Produced,
    columns: Option<Vec<String>>,
    max_value_bytes: u64,
) -> Result<Kept, OutputError> {
    let (output, kind) = match produced {
        Produced::Streamed { envelope } => (Some(envelope.clone()), OutputKind::Listing),
        Produced::Value(v) => match split(v) {
            (OutputKind::Listing, Some(items)) => {
                writer.values(items).await?;
                let Value::Object(m) = v else {
                    return Err(OutputError::Encode("a listing that is no object".into()));
                };
                (Some(envelope(m)), OutputKind::Listing)
            }
            (OutputKind::List, Some(items)) => {
                writer.values(items).await?;
                (None, OutputKind::List)
            }
            _ => {
                let bytes = approx_size(v);
                if bytes > max_value_bytes {
                    return Err(OutputError::TooLarge {
                        bytes,
                        max: max_value_bytes,
                    });
                }
                return Ok(Kept {
                    output: Some(v.clone()),
                    info: OutputInfo {
                        kind: OutputKind::Value,
                        items: 0,
                        bytes,
                        columns,
                    },
                });
            }
        },
    };
    writer.flush().await?;
    let bytes = writer.bytes() + output.as_ref().map_or(0, approx_size);
    Ok(Kept {
        output,
        info: OutputInfo {
            kind,
            items: writer.items(),
            bytes,
            columns,
        },
    })
}

/// The CSV columns of a workflow's output items, when they can be known before it runs:
/// the workflow's own `columns`, else the fields of the item type of the listing that is
/// the output.
pub fn planned_columns(wf: &Workflow) -> Option<Vec<String>> {
    if let Some(c) = &wf.def.columns {
        return Some(c.value.clone());
    }
    let id = wf.output_step()?;
    let step = wf.plan.iter().find(|s| s.id == id)?;
    let Action::Call(call) = &step.action else {
        return None;
    };
    if call.op.response.shape != Shape::Listing {
        return None;
    }
    // The items keep only these: the columns are what they kept, in that order.
    if let Some(fields) = &call.fields {
        return Some(fields.clone());
    }
    let item = call.op.response.item.as_deref()?;
    let props = Schemas::lumos().properties(item);
    (!props.is_empty()).then(|| props.into_iter().map(str::to_owned).collect())
}

/// A completed run's stored output, ready to be read.
pub struct StoredOutput {
    pub run: Run,
    pub info: OutputInfo,
    /// For a listing, its other fields; for a value, the value.
    pub output: Option<Value>,
    pub(crate) store: Arc<Store>,
}

/// A page of a run's output items.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ItemsPage {
    #[schemars(with = "Vec<Value>")]
    pub items: Vec<Box<RawValue>>,
    pub offset: u64,
    /// Items in the whole output.
    pub count: u64,
    /// Items that match the filter, when the page is of a filtered or sorted view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<u64>,
    /// The offset of the next page, when there is one.
    pub next_offset: Option<u64>,
}

impl StoredOutput {
    pub(crate) fn new(run: Run, store: Arc<Store>) -> Result<StoredOutput, String> {
        match run.status {
            RunStatus::Completed => {}
            s if s.is_final() => {
                return Err(format!(
                    "run {} {s} and has no output{}",
                    run.id,
                    run.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ));
            }
            s => {
                return Err(format!(
                    "run {} is {s}; its output is there once it has completed",
                    run.id
                ));
            }
        }
        let info = match &run.output_info {
            Some(i) => i.0.clone(),
            // Runs recorded before outputs were stored apart: their output is whole.
            None => OutputInfo {
                kind: OutputKind::Value,
                items: 0,
                bytes: run.output.as_ref().map_or(0, |o| approx_size(&o.0)),
                columns: None,
            },
        };
        let output = run.output.as_ref().map(|o| o.0.clone());
        Ok(StoredOutput {
            run,
            info,
            output,
            store,
        })
    }

    /// Whether the output has items stored apart (a listing or a list).
    pub fn has_items(&self) -> bool {
        self.info.kind != OutputKind::Value
    }

    /// Items `from ..` to the end.
    pub fn items(&self, from: u64) -> StoredItems {
        let end = if self.has_items() { self.info.items } else { 0 };
        StoredItems::new(self.store.clone(), &self.run.id, from, end)
    }

    /// Up to `limit` items from `offset`.
    pub async fn page(&self, offset: u64, limit: u64) -> Result<ItemsPage, OutputError> {
        let count = if self.has_items() { self.info.items } else { 0 };
        let end = offset.saturating_add(limit).min(count);
        let mut reader = StoredItems::new(self.store.clone(), &self.run.id, offset, end);
        let mut items = Vec::new();
        while let Some(block) = reader.next_block().await? {
            for raw in block.items() {
                let text =
                    std::str::from_utf8(raw).map_err(|e| OutputError::Corrupt(e.to_string()))?;
                items.push(
                    RawValue::from_string(text.to_owned())
                        .map_err(|e| OutputError::Corrupt(e.to_string()))?,
                );
            }
        }
        Ok(ItemsPage {
            items,
            offset,
            count,
            matched: None,
            next_offset: (end < count).then_some(end),
        })
    }

    /// The output with at most `limit` of its items: a listing's object with its first items,
    /// a list's first items, or the value.
    pub async fn preview(&self, limit: u64) -> Result<Value, OutputError> {
        if !self.has_items() {
            return Ok(self.output.clone().unwrap_or(Value::Null));
        }
        let page = self.page(0, limit).await?;
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|r| serde_json::from_str(r.get()))
            .collect::<Result<_, _>>()
            .map_err(|e| OutputError::Corrupt(e.to_string()))?;
        Ok(match (&self.info.kind, &self.output) {
            (OutputKind::Listing, Some(Value::Object(env))) => {
                let mut m = serde_json::Map::new();
                m.insert("items".into(), Value::Array(items));
                for (k, v) in env {
                    m.insert(k.clone(), v.clone());
                }
                Value::Object(m)
            }
            (OutputKind::Listing, _) => serde_json::json!({ "items": items }),
            _ => Value::Array(items),
        })
    }

    /// The whole output in `format`, piece by piece (each about a chunk of items).
    pub fn bytes(
        self,
        format: Format,
    ) -> impl futures_util::Stream<Item = Result<bytes::Bytes, OutputError>> + Send + 'static {
        let columns = self.info.columns.clone();
        let state = Writing {
            formatter: None,
            items: self.items(0),
            out: self,
            format,
            columns,
            done: false,
        };
        futures_util::stream::unfold(state, |mut s| async move {
            if s.done {
                return None;
            }
            match s.step().await {
                Ok(Some(b)) => Some((Ok(b), s)),
                Ok(None) => None,
                Err(e) => {
                    s.done = true;
                    Some((Err(e), s))
                }
            }
        })
    }
}

struct Writing {
    out: StoredOutput,
    format: Format,
    columns: Option<Vec<String>>,
    formatter: Option<Formatter>,
    items: StoredItems,
    done: bool,
}

impl Writing {
    /// The next piece of the output; `None` after the last.
    async fn step(&mut self) -> Result<Option<bytes::Bytes>, OutputError> {
        if !self.out.has_items() {
            self.done = true;
            let v = self.out.output.clone().unwrap_or(Value::Null);
            return Ok(Some(
                Formatter::write_value(self.format, &v, self.columns.take()).into(),
            ));
        }
        let f = self.formatter.get_or_insert_with(|| {
            Formatter::new(self.format, self.out.info.kind, self.columns.take())
        });
        match self.items.next_block().await? {
            Some(block) => {
                for raw in block.items() {
                    f.item(raw);
                }
            }
            None => {
                f.end(self.out.output.as_ref());
                self.done = true;
            }
        }
        Ok(Some(f.take().into()))
    }
}
