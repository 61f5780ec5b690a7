//! Run outputs as MCP resources, so an agent can read a large result in pages instead of
//! having it poured into the conversation: `lumosflow://runs/{run_id}/items?offset=&limit=`
//! (a page of items and where the next one is) and `lumosflow://runs/{run_id}/output` (the
//! whole output, when it is small). And the Lumos operation catalog, for a model writing a
//! workflow: `lumosflow://operations` (every operation) and `lumosflow://operations/{name}`
//! (its parameters, body and the fields of its answer).

use engine::{Actor, Engine};
use rmcp::model::{Resource, ResourceContents, ResourceTemplate};
use serde_json::{Value, json};

/// Largest output `…/output` returns whole; bigger ones are read in pages.
const WHOLE_MAX: u64 = 1 << 20;
/// Items per page unless the URI asks for fewer.
const PAGE: u64 = 100;

pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("lumosflow://runs/{run_id}/items{?offset,limit}", "run-items")
            .with_title("A page of a run's output items")
            .with_description(
                "Items of a completed run's listing from offset (default 0), limit at most 1000 (default 100); the answer says where the next page is",
            ),
        ResourceTemplate::new("lumosflow://runs/{run_id}/output", "run-output")
            .with_title("A run's whole output")
            .with_description("A completed run's output as JSON, when it is at most 1 MiB (read bigger ones in pages)"),
        ResourceTemplate::new("lumosflow://operations", "operations")
            .with_title("The Lumos operations a workflow step can call")
            .with_description("Every operation of the Lumos API: its name (for `call:`), method, path, tag, whether it changes Lumos and how it pages"),
        ResourceTemplate::new("lumosflow://operations/{name}", "operation")
            .with_title("One Lumos operation in full")
            .with_description("An operation's parameters (type, required, allowed values), request body and the fields of its answer, for writing a `call:` step"),
    ]
}

/// Resources that exist whatever runs there are: the operation catalog.
pub fn fixed() -> Vec<Resource> {
    vec![
        Resource::new("lumosflow://operations", "operations")
            .with_title("The Lumos operations a workflow step can call")
            .with_mime_type("application/json"),
    ]
}

/// The operation catalog, or one operation in full.
fn operations(name: Option<&str>) -> Result<String, String> {
    let catalog = lumos_api::Catalog::lumos();
    let Some(name) = name else {
        let ops: Vec<Value> = catalog
            .operations()
            .iter()
            .map(|op| {
                json!({"name": op.name(), "method": op.method, "path": op.path, "tag": op.tag,
                "changes_lumos": op.is_mutating(), "pagination": op.pagination.as_str()})
            })
            .collect();
        return serde_json::to_string(&ops).map_err(|e| e.to_string());
    };
    let op = catalog.get(name).ok_or_else(|| {
        format!("no Lumos operation is called '{name}'; read lumosflow://operations for the list")
    })?;
    let schemas = lumos_api::Schemas::lumos();
    let response = &op.response;
    let fields = |schema: Option<&str>| schema.map(|s| schemas.inline(s, None, 1));
    let v = json!({
        "name": op.name(), "operation_id": op.operation_id, "method": op.method, "path": op.path,
        "tag": op.tag, "changes_lumos": op.is_mutating(), "pagination": op.pagination.as_str(),
        "params": op.params, "body": op.body,
        "body_fields": fields(op.body.as_ref().and_then(|b| b.schema.as_deref())),
        "response": {"shape": response.shape, "items_key": response.items_key,
            "item_fields": fields(response.item.as_deref()),
            "fields": fields(response.schema.as_deref().filter(|_| response.item.is_none()))},
    });
    serde_json::to_string(&v).map_err(|e| e.to_string())
}

/// Why a URI cannot be read, for the agent.
pub fn read_error(uri: &str) -> String {
    format!(
        "unknown resource '{uri}': use lumosflow://runs/{{run_id}}/items?offset=0&limit=100, lumosflow://runs/{{run_id}}/output, lumosflow://operations or lumosflow://operations/{{name}}"
    )
}

/// Read a resource URI.
pub async fn read(engine: &Engine, uri: &str, by: &Actor) -> Result<ResourceContents, String> {
    let parsed = url::Url::parse(uri).map_err(|_| read_error(uri))?;
    if parsed.scheme() == "lumosflow" && parsed.host_str() == Some("operations") {
        let name = parsed.path().trim_start_matches('/');
        let text = operations((!name.is_empty()).then_some(name))?;
        return Ok(ResourceContents::TextResourceContents {
            uri: uri.to_owned(),
            mime_type: Some("application/json".into()),
            text,
            meta: None,
        });
    }
    if parsed.scheme() != "lumosflow" || parsed.host_str() != Some("runs") {
        return Err(read_error(uri));
    }
    let parts: Vec<&str> = parsed.path().trim_start_matches('/').split('/').collect();
    let (run_id, what) = match parts.as_slice() {
        [id, what @ ("output" | "items")] => (*id, *what),
        _ => return Err(read_error(uri)),
    };
    // Only a run the caller may see (the run core decides; others are "not found").
    let stored = engine
        .stored_output_for(run_id, by)
        .await
        .map_err(|e| e.to_string())?;
    let text = match what {
        "output" => {
            if stored.info.bytes > WHOLE_MAX {
                return Err(format!(
                    "run {run_id}'s output is {} bytes, more than the {WHOLE_MAX} this resource gives whole; read its items in pages from lumosflow://runs/{run_id}/items?offset=0&limit=100",
                    stored.info.bytes
                ));
            }
            let v = stored.whole(WHOLE_MAX).await.map_err(|e| e.to_string())?;
            serde_json::to_string(&v).map_err(|e| e.to_string())?
        }
        "items" => {
            let mut offset = 0u64;
            let mut limit = PAGE;
            for (k, v) in parsed.query_pairs() {
                let n: u64 = v
                    .parse()
                    .map_err(|_| format!("{k} must be a whole number, not '{v}'"))?;
                match k.as_ref() {
                    "offset" => offset = n,
                    "limit" => limit = n.clamp(1, 1000),
                    other => return Err(format!("unknown parameter '{other}' (offset, limit)")),
                }
            }
            if !stored.has_items() {
                return Err(format!(
                    "run {run_id}'s output has no items; read lumosflow://runs/{run_id}/output"
                ));
            }
            let page = stored
                .page(offset, limit)
                .await
                .map_err(|e| e.to_string())?;
            let items: Vec<Value> = page
                .items
                .iter()
                .filter_map(|r| serde_json::from_str(r.get()).ok())
                .collect();
            let end = offset + items.len() as u64;
            let next = (end < page.count)
                .then(|| format!("lumosflow://runs/{run_id}/items?offset={end}&limit={limit}"));
            json!({"items": items, "offset": offset, "count": page.count, "next": next}).to_string()
        }
        _ => return Err(read_error(uri)),
    };
    Ok(ResourceContents::TextResourceContents {
        uri: uri.to_owned(),
        mime_type: Some("application/json".into()),
        text,
        meta: None,
    })
}
