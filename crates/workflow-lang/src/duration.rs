//! Durations as people write them in workflows and settings.

use std::time::Duration;

/// A duration like `30s`, `15m`, `2h 30m`, `90d`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw.trim())
        .map_err(|e| format!("'{raw}' is not a duration like 30s, 15m, 2h or 90d ({e})"))
}
