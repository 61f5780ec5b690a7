//! Timestamps as Lumos writes them: naive UTC `YYYY-MM-DDTHH:MM:SS`.

/// The simulated "now" of generated history: 2026-06-01T00:00:00Z, so data is the same every run.
pub const BASE_EPOCH: i64 = 1_780_272_000;

pub fn ts(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// Wall-clock now, for records created through the API.
pub fn now() -> i64 {
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
    #[test]
    fn formats_naive_utc() {
        assert_eq!(super::ts(super::BASE_EPOCH), "2026-06-01T00:00:00");
        assert_eq!(super::parse("2026-06-01T00:00:00"), Some(super::BASE_EPOCH));
        assert_eq!(super::parse("2026-06-01"), Some(super::BASE_EPOCH));
    }
}
