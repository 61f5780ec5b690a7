//! Filters for set work over large lists, linear time: `users | difference_by(accounts,
//! 'id', 'user_id')` (users with no account), `items | index_by('id')` (an object by key),
//! `a | zip(b)` (pairs). Keys are compared by kind and value (`1` is not `"1"`), and an
//! object item without the key field is an error, like the other attribute filters.

use std::collections::{BTreeMap, HashSet};

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error as JError, ErrorKind};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("difference_by", difference_by);
    env.add_filter("intersection_by", intersection_by);
    env.add_filter("index_by", index_by);
    env.add_filter("zip", zip);
}

fn err(m: String) -> JError {
    JError::new(ErrorKind::InvalidOperation, m)
}

/// The item's value at a dotted `path`, as a key tagged with its kind.
fn key(item: &JValue, path: &str, filter: &str, i: usize) -> Result<String, JError> {
    let mut cur = item.clone();
    for part in path.split('.') {
        let next = cur.get_attr(part).unwrap_or(JValue::UNDEFINED);
        if next.is_undefined() {
            return Err(JError::new(
                ErrorKind::UndefinedError,
                format!("{filter}: item {i} has no field '{path}'"),
            ));
        }
        cur = next;
    }
    Ok(format!("{:?}:{cur}", cur.kind()))
}

fn list(v: &JValue, what: &str) -> Result<Vec<JValue>, JError> {
    if v.kind() != ValueKind::Seq && v.kind() != ValueKind::Iterable {
        return Err(err(format!("{what} needs a list, got {}", v.kind())));
    }
    let items: Vec<JValue> = v.try_iter()?.collect();
    crate::filter_work::filter_work(items.len());
    Ok(items)
}

/// The keys of `b`'s items, read one item at a time: a million accounts are never all
/// template values at once, only their keys are kept.
fn keys_of(b: &JValue, attr: &str, filter: &str) -> Result<HashSet<String>, JError> {
    if b.kind() != ValueKind::Seq && b.kind() != ValueKind::Iterable {
        return Err(err(format!("{filter} needs a list, got {}", b.kind())));
    }
    let mut keys = HashSet::with_capacity(b.len().unwrap_or(0));
    let mut walked = 0;
    for (i, x) in b.try_iter()?.enumerate() {
        keys.insert(key(&x, attr, filter, i)?);
        walked += 1;
    }
    crate::filter_work::filter_work(walked);
    Ok(keys)
}

/// `a | difference_by(b, attr_a, attr_b=attr_a)`: items of `a` whose key is not in `b`.
fn difference_by(a: JValue, b: JValue, attr: &str, other: Option<&str>) -> Result<JValue, JError> {
    let seen = keys_of(&b, other.unwrap_or(attr), "difference_by")?;
    let mut out = Vec::new();
    for (i, x) in list(&a, "difference_by")?.into_iter().enumerate() {
        if !seen.contains(&key(&x, attr, "difference_by", i)?) {
            out.push(x);
        }
    }
    Ok(JValue::from(out))
}

/// `a | intersection_by(b, attr_a, attr_b=attr_a)`: items of `a` whose key is in `b`.
fn intersection_by(
    a: JValue,
    b: JValue,
    attr: &str,
    other: Option<&str>,
) -> Result<JValue, JError> {
    let seen = keys_of(&b, other.unwrap_or(attr), "intersection_by")?;
    let mut out = Vec::new();
    for (i, x) in list(&a, "intersection_by")?.into_iter().enumerate() {
        if seen.contains(&key(&x, attr, "intersection_by", i)?) {
            out.push(x);
        }
    }
    Ok(JValue::from(out))
}

/// `items | index_by(attr)`: an object from each item's key (as text) to the item; a key
/// seen twice is an error, so nothing is silently dropped.
fn index_by(items: JValue, attr: &str) -> Result<JValue, JError> {
    let mut out: BTreeMap<String, JValue> = BTreeMap::new();
    for (i, x) in list(&items, "index_by")?.into_iter().enumerate() {
        key(&x, attr, "index_by", i)?;
        let k = attr
            .split('.')
            .try_fold(x.clone(), |cur, part| cur.get_attr(part))?
            .to_string();
        if out.insert(k.clone(), x).is_some() {
            return Err(err(format!(
                "index_by: two items have '{attr}' = {k}; use groupby to keep both"
            )));
        }
    }
    Ok(JValue::from(out))
}

/// `a | zip(b)`: `[[a0, b0], [a1, b1], …]`; lists of different lengths are an error.
fn zip(a: JValue, b: JValue) -> Result<JValue, JError> {
    let (a, b) = (list(&a, "zip")?, list(&b, "zip")?);
    if a.len() != b.len() {
        return Err(err(format!(
            "zip: the lists have {} and {} items",
            a.len(),
            b.len()
        )));
    }
    Ok(JValue::from(
        a.into_iter()
            .zip(b)
            .map(|(x, y)| JValue::from(vec![x, y]))
            .collect::<Vec<_>>(),
    ))
}
