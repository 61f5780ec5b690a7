//! `lumosflow api operations NAME`: one operation in full, so a workflow can be written
//! from the tool: method, path, parameters (type, required, allowed values, default, bounds),
//! the request body's fields and the response's fields, nested, with their types.

use std::io::Write;

use lumos_api::{Catalog, Operation, Schemas};
use serde_json::{Map, Value, json};

/// How deep nested objects are shown.
const DEPTH: usize = 2;

/// A field's type in words: `string`, `integer`, `[User]`, `SupportRequestStatus (PENDING | …)`.
fn type_of(s: &Value) -> String {
    let schemas = Schemas::lumos();
    if let Some(r) = s.get("ref").and_then(Value::as_str) {
        let values = schemas.enum_values(r);
        if !values.is_empty() {
            return format!("{r} ({})", values.join(" | "));
        }
        return r.to_owned();
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        let parts: Vec<String> = any.iter().map(type_of).collect();
        return parts.join(" or ");
    }
    match s.get("type").and_then(Value::as_str) {
        Some("array") => format!("[{}]", s.get("items").map(type_of).unwrap_or_default()),
        Some(t) => match s.get("format").and_then(Value::as_str) {
            Some(f) => format!("{t} ({f})"),
            None => t.to_owned(),
        },
        None => "any".to_owned(),
    }
}

/// The object schema a field leads to, if any (through refs, lists and nullables).
fn object_of(s: &Value) -> Option<String> {
    if let Some(r) = s.get("ref").and_then(Value::as_str) {
        let schema = Schemas::lumos().get(r)?;
        return schema.get("properties").is_some().then(|| r.to_owned());
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        return any.iter().find_map(object_of);
    }
    s.get("items").and_then(object_of)
}

/// The fields of a named schema, nested `depth` levels: `{field: {type, required, fields}}`.
fn fields(name: &str, depth: usize) -> Map<String, Value> {
    let schemas = Schemas::lumos();
    let required = schemas.required(name);
    let mut out = Map::new();
    let Some(props) = schemas
        .get(name)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return out;
    };
    for (field, s) in props {
        let mut f = Map::new();
        f.insert("type".into(), json!(type_of(s)));
        if required.contains(&field.as_str()) {
            f.insert("required".into(), json!(true));
        }
        if depth > 0
            && let Some(inner) = object_of(s)
            && inner != name
        {
            f.insert("fields".into(), Value::Object(fields(&inner, depth - 1)));
        }
        out.insert(field.clone(), Value::Object(f));
    }
    out
}

/// A bound as people write it: 1, not 1.0.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

pub fn describe(op: &Operation) -> Value {
    let params: Vec<Value> = op
        .params
        .iter()
        .map(|p| {
            let kind = format!("{:?}", p.kind).to_lowercase();
            json!({
                "name": p.name, "in": format!("{:?}", p.location).to_lowercase(),
                "type": if p.array { format!("[{kind}]") } else { kind },
                "required": p.required, "values": p.values, "default": p.default,
                "minimum": p.minimum.map(number), "maximum": p.maximum.map(number),
            })
        })
        .collect();
    let body = op.body.as_ref().map(|b| {
        json!({"schema": b.schema, "required": b.required,
               "fields": b.schema.as_deref().map(|s| fields(s, DEPTH)).unwrap_or_default()})
    });
    let shown = op
        .response
        .item
        .as_deref()
        .or(op.response.schema.as_deref())
        .map(|s| s.trim_start_matches('[').trim_end_matches(']').to_owned());
    json!({
        "name": op.name(), "operation_id": op.operation_id, "method": op.method, "path": op.path,
        "tag": op.tag, "pagination": op.pagination.as_str(), "params": params, "body": body,
        "response": {
            "is": op.response.describe(),
            "items_key": op.response.items_key,
            "schema": shown,
            "fields": shown.as_deref().map(|s| fields(s, DEPTH)).unwrap_or_default(),
        },
    })
}

fn print_fields(
    out: &mut impl Write,
    f: &Map<String, Value>,
    indent: usize,
) -> std::io::Result<()> {
    for (name, v) in f {
        let req = if v["required"] == true {
            " (required)"
        } else {
            ""
        };
        writeln!(
            out,
            "{:indent$}{name}: {}{req}",
            "",
            v["type"].as_str().unwrap_or_default()
        )?;
        if let Some(inner) = v.get("fields").and_then(Value::as_object) {
            print_fields(out, inner, indent + 2)?;
        }
    }
    Ok(())
}

pub fn print(name: &str, as_json: bool) -> anyhow::Result<()> {
    let catalog = Catalog::lumos();
    let op = catalog.get(name).ok_or_else(|| {
        let near = catalog.suggest(name);
        let hint = if near.is_empty() {
            String::new()
        } else {
            format!(" (did you mean {}?)", near.join(", "))
        };
        anyhow::anyhow!(
            "unknown Lumos operation '{name}'{hint}; `lumosflow api operations` lists them"
        )
    })?;
    let d = describe(op);
    let mut out = std::io::stdout().lock();
    if as_json {
        serde_json::to_writer_pretty(&mut out, &d)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} — {} {} ({})",
        op.name(),
        op.method,
        op.path,
        op.tag
    )?;
    writeln!(out, "pagination: {}", op.pagination.as_str())?;
    writeln!(out, "parameters:")?;
    if op.params.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for p in d["params"].as_array().into_iter().flatten() {
        let mut extra = Vec::new();
        if p["required"] == true {
            extra.push("required".to_owned());
        }
        if let Some(v) = p["values"].as_array() {
            let v: Vec<&str> = v.iter().filter_map(Value::as_str).collect();
            extra.push(format!("one of {}", v.join(" | ")));
        }
        if !p["default"].is_null() {
            extra.push(format!("default {}", p["default"]));
        }
        if !p["minimum"].is_null() || !p["maximum"].is_null() {
            extra.push(format!("{}..{}", p["minimum"], p["maximum"]).replace("null", ""));
        }
        writeln!(
            out,
            "  {} ({}, {}){}",
            p["name"].as_str().unwrap_or_default(),
            p["in"].as_str().unwrap_or_default(),
            p["type"].as_str().unwrap_or_default(),
            if extra.is_empty() {
                String::new()
            } else {
                format!(": {}", extra.join(", "))
            }
        )?;
    }
    if let Some(b) = d["body"].as_object() {
        writeln!(out, "body: {}", b["schema"].as_str().unwrap_or("JSON"))?;
        if let Some(f) = b["fields"].as_object() {
            print_fields(&mut out, f, 2)?;
        }
    }
    writeln!(
        out,
        "response: {}",
        d["response"]["is"].as_str().unwrap_or_default()
    )?;
    if let Some(f) = d["response"]["fields"].as_object() {
        print_fields(&mut out, f, 2)?;
    }
    Ok(())
}
