//! Time in templates, so workflows can ask "pending for more than 7 days" and run on a
//! schedule without today's date as an input: `now()` (UTC, RFC 3339), and filters that read
//! the timestamps Lumos writes (RFC 3339, or naive `YYYY-MM-DDTHH:MM:SS` meaning UTC, or a
//! date), do arithmetic and format them. Times come out as RFC 3339 text in UTC, which sorts
//! and compares as text.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use minijinja::value::Value as JValue;
use minijinja::{Environment, Error as JError, ErrorKind};

pub fn register(env: &mut Environment<'static>) {
    env.add_function("now", now);
    env.add_filter("days_ago", days_ago);
    env.add_filter("add_days", add_days);
    env.add_filter("add_hours", add_hours);
    env.add_filter("date", date);
    env.add_filter("datetime", datetime);
}

fn bad(what: &str, v: &str) -> JError {
    JError::new(
        ErrorKind::InvalidOperation,
        format!(
            "{what}: '{v}' is not a time (use RFC 3339 like 2026-01-31T09:00:00Z, 2026-01-31T09:00:00 or 2026-01-31)"
        ),
    )
}

/// A time as Lumos writes them.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn text(t: DateTime<Utc>) -> JValue {
    JValue::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn read(what: &str, v: &str) -> Result<DateTime<Utc>, JError> {
    parse(v).ok_or_else(|| bad(what, v))
}

/// `now()`: the current time, UTC.
fn now() -> JValue {
    text(Utc::now())
}

/// `t | days_ago`: whole days from `t` to now (negative for a future time).
fn days_ago(v: &str) -> Result<i64, JError> {
    Ok((Utc::now() - read("days_ago", v)?).num_days())
}

/// `t | add_days(n)`: `t` moved by `n` days (negative: back).
fn add_days(v: &str, n: i64) -> Result<JValue, JError> {
    let t = read("add_days", v)?;
    Ok(text(t + chrono::Duration::days(n)))
}

/// `t | add_hours(n)`.
fn add_hours(v: &str, n: i64) -> Result<JValue, JError> {
    let t = read("add_hours", v)?;
    Ok(text(t + chrono::Duration::hours(n)))
}

/// `t | date`: the day, `YYYY-MM-DD`; `t | date('%d %b %Y')`: any strftime format.
fn date(v: &str, format: Option<&str>) -> Result<String, JError> {
    let t = read("date", v)?;
    Ok(t.format(format.unwrap_or("%Y-%m-%d")).to_string())
}

/// `t | datetime`: the time as RFC 3339 UTC, whatever form it came in (so it compares as
/// text with `now()` and other times).
fn datetime(v: &str) -> Result<JValue, JError> {
    Ok(text(read("datetime", v)?))
}
