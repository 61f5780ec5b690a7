//! Timestamps as Lumos writes them (naive UTC `YYYY-MM-DDTHH:MM:SS`), and the simulator's
//! clock: the seeded history is laid out back from its "now" (the real time unless
//! `--now` sets it), and records made through the API are stamped with that clock as it runs.

/// The simulator's clock: its "now" at start, moving on with real time. Kept as an offset
/// from the wall clock in whole seconds, so a simulator on real time stamps exactly what a
/// client's clock reads (counting seconds from a truncated start lagged it by up to a second,
/// and a client following events from "now" missed the ones stamped in that second).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub start: i64,
    offset: i64,
}

impl Clock {
    pub fn starting_at(start: i64) -> Clock {
        let w = wall();
        // A start within a second of the wall clock is the real time (read a moment ago).
        let offset = if (start - w).abs() <= 1 { 0 } else { start - w };
        Clock { start, offset }
    }

    pub fn now(&self) -> i64 {
        wall() + self.offset
    }
}

pub fn ts(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// Wall-clock now.
pub fn wall() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn parse(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc().timestamp());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    /// 2026-06-01T00:00:00Z.
    const BASE_EPOCH: i64 = 1_780_272_000;

    #[test]
    fn formats_naive_utc() {
        assert_eq!(super::ts(BASE_EPOCH), "2026-06-01T00:00:00");
        assert_eq!(super::parse("2026-06-01T00:00:00"), Some(BASE_EPOCH));
        assert_eq!(super::parse("2026-06-01"), Some(BASE_EPOCH));
    }
}
