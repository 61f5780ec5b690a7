//! Jinja's attribute filters, strict: `selectattr('stauts', …)` on items that have no
//! `stauts` field silently matched nothing (or, with `rejectattr`, everything), so a typo
//! gave a wrong answer. Here a field that an object item lacks entirely is an error naming
//! the field and the item's fields; a field that is present but null is fine. Each filter
//! then does exactly what minijinja's own does.

use std::borrow::Cow;

use minijinja::value::{Kwargs, Rest, Value as JValue, ValueKind, ValueOrKwargs, from_args};
use minijinja::{Environment, Error as JError, ErrorKind, State};

/// Register the strict versions over the built-in ones.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("selectattr", selectattr);
    env.add_filter("rejectattr", rejectattr);
    env.add_filter("map", map);
    env.add_filter("sort", sort);
    env.add_filter("groupby", groupby);
    env.add_filter("unique", unique);
    env.add_filter("sum", sum);
}

/// The value at a dotted path (`app.name`, `tags.0`) as Jinja reads it; `None` when a step
/// of the path is not there.
fn lookup(item: &JValue, path: &str) -> Option<JValue> {
    let mut cur = item.clone();
    for part in path.split('.') {
        let next = match part.parse::<usize>() {
            Ok(i) if cur.kind() == ValueKind::Seq => cur.get_item_by_index(i).ok()?,
            _ => cur.get_attr(part).ok()?,
        };
        if next.is_undefined() {
            return None;
        }
        cur = next;
    }
    Some(cur)
}

/// Fails when an object item of `items` has no `path` at all.
fn require(items: &JValue, path: &str, filter: &str) -> Result<(), JError> {
    // Not a list: the built-in filter says so in its own words.
    let Ok(iter) = items.try_iter() else {
        return Ok(());
    };
    for (i, item) in iter.enumerate() {
        // The built-in filter walks the list again: two items of work each.
        crate::filter_work::filter_work(2);
        if item.kind() != ValueKind::Map {
            continue;
        }
        let found = lookup(&item, path).is_some_and(|v| !v.is_undefined());
        if !found {
            let fields: Vec<String> = item
                .try_iter()
                .map(|keys| keys.take(15).map(|k| k.to_string()).collect())
                .unwrap_or_default();
            return Err(JError::new(
                ErrorKind::UndefinedError,
                format!(
                    "{filter}: item {i} has no field '{path}' (its fields: {})",
                    fields.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn selectattr(
    state: &mut State,
    value: JValue,
    attr: Cow<'_, str>,
    test: Option<Cow<'_, str>>,
    args: Rest<ValueOrKwargs>,
) -> Result<Vec<JValue>, JError> {
    require(&value, &attr, "selectattr")?;
    minijinja::filters::selectattr(state, value, attr, test, args)
}

fn rejectattr(
    state: &mut State,
    value: JValue,
    attr: Cow<'_, str>,
    test: Option<Cow<'_, str>>,
    args: Rest<ValueOrKwargs>,
) -> Result<Vec<JValue>, JError> {
    require(&value, &attr, "rejectattr")?;
    minijinja::filters::rejectattr(state, value, attr, test, args)
}

/// `map(attribute='x')` checks the field unless a `default=` says what a missing one is;
/// `map('filter')` is the built-in's.
fn map(state: &mut State, value: JValue, args: Rest<ValueOrKwargs>) -> Result<Vec<JValue>, JError> {
    let values = args.into_values();
    {
        let (_, kwargs): (&[JValue], Kwargs) = from_args(&values)?;
        if let Some(attr) = kwargs.peek::<Option<Cow<'_, str>>>("attribute")?
            && !kwargs.has("default")
        {
            require(&value, &attr, "map")?;
        }
    }
    let rest = values
        .iter()
        .map(|v| from_args::<(ValueOrKwargs,)>(std::slice::from_ref(v)).map(|(x,)| x))
        .collect::<Result<Vec<_>, _>>()?;
    minijinja::filters::map(state, value, Rest(rest))
}

fn sort(state: &State, value: JValue, kwargs: Kwargs) -> Result<JValue, JError> {
    if let Some(attr) = kwargs.peek::<Option<Cow<'_, str>>>("attribute")? {
        for part in attr.split(',') {
            require(&value, part.trim(), "sort")?;
        }
    }
    minijinja::filters::sort(state, value, kwargs)
}

fn groupby(value: JValue, attribute: Option<&str>, kwargs: Kwargs) -> Result<JValue, JError> {
    let attr = match attribute {
        Some(a) => Some(Cow::Borrowed(a)),
        None => kwargs.peek::<Option<Cow<'_, str>>>("attribute")?,
    };
    if let Some(a) = &attr
        && !kwargs.has("default")
    {
        require(&value, a, "groupby")?;
    }
    minijinja::filters::groupby(value, attribute, kwargs)
}

fn unique(state: &State, value: JValue, kwargs: Kwargs) -> Result<JValue, JError> {
    if let Some(attr) = kwargs.peek::<Option<Cow<'_, str>>>("attribute")? {
        require(&value, &attr, "unique")?;
    }
    minijinja::filters::unique(state, value, kwargs)
}

fn sum(
    state: &State,
    value: JValue,
    attribute: Option<&str>,
    start: Option<JValue>,
    kwargs: Kwargs,
) -> Result<JValue, JError> {
    let attr = match attribute {
        Some(a) => Some(Cow::Borrowed(a)),
        None => kwargs.peek::<Option<Cow<'_, str>>>("attribute")?,
    };
    if let Some(a) = &attr {
        require(&value, a, "sum")?;
    }
    minijinja::filters::sum(state, value, attribute, start, kwargs)
}
