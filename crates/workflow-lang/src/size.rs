//! How big a value is, roughly: what budgets and bounded records count.

use serde_json::Value;

/// About how many bytes `v` takes as JSON.
pub fn approx_size(v: &Value) -> u64 {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() as u64 + 2,
        Value::Array(a) => 2 + a.iter().map(|x| approx_size(x) + 1).sum::<u64>(),
        Value::Object(m) => {
            2 + m
                .iter()
                .map(|(k, x)| k.len() as u64 + 4 + approx_size(x))
                .sum::<u64>()
        }
    }
}
