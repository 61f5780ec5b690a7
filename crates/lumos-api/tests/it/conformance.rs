//! The catalog against the official OpenAPI document, operation by operation.

use lumos_api::{Catalog, ParamKind};
use serde_json::Value;

fn spec() -> Option<Value> {
    testkit::official_spec()
}

fn non_null(schema: &Value) -> &Value {
    if let Some(alts) = schema.get("anyOf").and_then(Value::as_array) {
        let real: Vec<&Value> = alts
            .iter()
            .filter(|a| a.get("type") != Some(&Value::from("null")))
            .collect();
        if real.len() == 1 {
            return real[0];
        }
    }
    schema
}

fn enum_values(spec: &Value, schema: &Value) -> Option<Vec<String>> {
    let target = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => &spec["components"]["schemas"][r.rsplit('/').next().unwrap_or_default()],
        None => schema,
    };
    target.get("enum").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    })
}

#[test]
fn catalog_matches_the_official_spec() {
    let Some(spec) = spec() else { return };
    let catalog = Catalog::lumos();
    let mut count = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let id = op["operationId"].as_str().expect("operationId");
            count += 1;
            let entry = catalog
                .get(id)
                .unwrap_or_else(|| panic!("{id} missing from catalog"));
            assert_eq!(entry.method, method.to_uppercase(), "{id} method");
            assert_eq!(&entry.path, path, "{id} path");
            assert_eq!(entry.auth, op.get("security").is_some(), "{id} auth");
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            assert_eq!(entry.params.len(), params.len(), "{id} parameter count");
            for p in &params {
                let name = p["name"].as_str().expect("name");
                let cp = entry
                    .param(name)
                    .unwrap_or_else(|| panic!("{id}: param {name} missing"));
                assert_eq!(
                    cp.location.as_str(),
                    p["in"].as_str().expect("in"),
                    "{id}.{name} location"
                );
                assert_eq!(
                    cp.required,
                    p.get("required").and_then(Value::as_bool).unwrap_or(false),
                    "{id}.{name} required"
                );
                let schema = non_null(&p["schema"]);
                let is_array = schema.get("type").and_then(Value::as_str) == Some("array");
                assert_eq!(cp.array, is_array, "{id}.{name} array");
                let item = if is_array { &schema["items"] } else { schema };
                let values = enum_values(&spec, item);
                assert_eq!(cp.values, values, "{id}.{name} enum values");
                if values.is_none() {
                    let kind = match item.get("type").and_then(Value::as_str) {
                        Some("integer") => ParamKind::Integer,
                        Some("number") => ParamKind::Number,
                        Some("boolean") => ParamKind::Boolean,
                        _ => ParamKind::String,
                    };
                    assert_eq!(cp.kind, kind, "{id}.{name} type");
                }
                assert_eq!(
                    cp.minimum,
                    schema.get("minimum").and_then(Value::as_f64),
                    "{id}.{name} minimum"
                );
                assert_eq!(
                    cp.maximum,
                    schema.get("maximum").and_then(Value::as_f64),
                    "{id}.{name} maximum"
                );
                assert_eq!(
                    cp.default.as_ref(),
                    schema.get("default"),
                    "{id}.{name} default"
                );
            }
            let success = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .filter(|c| c.starts_with('2'))
                .filter_map(|c| c.parse::<u16>().ok())
                .min()
                .expect("a 2xx");
            assert_eq!(entry.success_status, success, "{id} success status");
            assert_eq!(
                entry.body.is_some(),
                op.get("requestBody").is_some(),
                "{id} body"
            );
        }
    }
    assert_eq!(count, 86);
    assert_eq!(catalog.len(), count);
}
