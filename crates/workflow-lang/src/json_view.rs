//! What templates see of the JSON a run holds: a view, not a copy. A list of a million
//! accounts is read where it lies, an item at a time, as a template touches it. Copying
//! every step output into template values before the first expression more than doubled a
//! run's memory and took seconds on large listings.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as JValue};
use serde_json::Value;

/// One step down from a list or object.
#[derive(Debug, Clone)]
enum Seg {
    Key(Arc<str>),
    Index(usize),
}

/// A list or object inside `root`, found by `path` (looked up on each access: a few map
/// lookups, and no pointer into the tree to keep sound).
#[derive(Debug)]
struct JsonView {
    root: Arc<Value>,
    path: Vec<Seg>,
}

/// `root` as a template value, sharing its data.
pub fn view(root: &Arc<Value>) -> JValue {
    match &**root {
        Value::Array(_) | Value::Object(_) => JValue::from_object(JsonView {
            root: root.clone(),
            path: Vec::new(),
        }),
        scalar => scalar_value(scalar),
    }
}

fn scalar_value(v: &Value) -> JValue {
    match v {
        Value::Null => JValue::from(()),
        Value::Bool(b) => JValue::from(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                JValue::from(i)
            } else if let Some(u) = n.as_u64() {
                JValue::from(u)
            } else {
                JValue::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => JValue::from(s.as_str()),
        // Not reached: containers become views.
        other => JValue::from(minijinja::value::Serde(other)),
    }
}

static NULL: Value = Value::Null;

impl JsonView {
    fn target(&self) -> &Value {
        let mut cur = &*self.root;
        for seg in &self.path {
            cur = match (seg, cur) {
                (Seg::Key(k), Value::Object(m)) => m.get(&**k).unwrap_or(&NULL),
                (Seg::Index(i), Value::Array(a)) => a.get(*i).unwrap_or(&NULL),
                _ => &NULL,
            };
        }
        cur
    }

    fn child(&self, seg: Seg, v: &Value) -> JValue {
        match v {
            Value::Array(_) | Value::Object(_) => {
                let mut path = Vec::with_capacity(self.path.len() + 1);
                path.extend(self.path.iter().cloned());
                path.push(seg);
                JValue::from_object(JsonView {
                    root: self.root.clone(),
                    path,
                })
            }
            scalar => scalar_value(scalar),
        }
    }
}

impl Object for JsonView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.target() {
            Value::Array(_) => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        match self.target() {
            Value::Array(a) => {
                let i = key.as_usize()?;
                a.get(i).map(|v| self.child(Seg::Index(i), v))
            }
            Value::Object(m) => {
                let k = key.as_str()?;
                m.get(k).map(|v| self.child(Seg::Key(k.into()), v))
            }
            _ => None,
        }
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<JValue> {
        match self.target() {
            Value::Object(m) => m.get(key).map(|v| self.child(Seg::Key(key.into()), v)),
            _ => self.get_value(&JValue::from(key)),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.target() {
            Value::Array(a) => Enumerator::Seq(a.len()),
            // Keys in sorted order, as templates have always seen objects (minijinja's own
            // maps are sorted): a view must not change what a template prints.
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Enumerator::Values(keys.into_iter().map(|k| JValue::from(k.as_str())).collect())
            }
            _ => Enumerator::Empty,
        }
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        match self.target() {
            Value::Array(a) => Some(a.len()),
            Value::Object(m) => Some(m.len()),
            _ => Some(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The view and a full copy render every template the same.
    #[test]
    fn a_view_renders_like_a_copy() {
        let data = Arc::new(json!({
            "users": [
                {"id": 1, "name": "Ann", "tags": ["a", "b"], "boss": null, "ok": true},
                {"id": 2, "name": "Bo", "tags": [], "boss": {"id": 1}, "ok": false, "x": 1.5}
            ],
            "n": 18446744073709551615u64
        }));
        let env = minijinja::Environment::new();
        for t in [
            "{{ users | length }} {{ users[-1].name }} {{ users[0]['tags'] | join(',') }}",
            "{{ users | selectattr('ok') | map(attribute='name') | list }}",
            "{{ users | tojson }} {{ n }} {{ users[1].boss.id }} {{ users[0].boss is none }}",
            "{% for k, v in users[1] | items %}{{ k }}={{ v }};{% endfor %}",
            "{{ users[0] == {'id': 1, 'name': 'Ann', 'tags': ['a', 'b'], 'boss': none, 'ok': true} }}",
            "{{ users | sort(attribute='name', reverse=true) | first }} {{ users[0].missing is undefined }}",
            "{{ (users | list)[1:] | length }} {{ 'name' in users[0] }} {{ users[1].tags or 'none' }}",
        ] {
            let copy = env
                .render_str(
                    t,
                    minijinja::context! { ..JValue::from(minijinja::value::Serde(&*data)) },
                )
                .expect("copy");
            let viewed = env
                .render_str(t, minijinja::context! { ..view(&data) })
                .expect("view");
            assert_eq!(viewed, copy, "{t}");
        }
    }
}
