//! When and how long to wait before trying a request again, and proactive pacing when
//! Lumos says the rate-limit budget is nearly spent.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backon::ExponentialBuilder;
use reqwest::header::HeaderMap;
use tokio::sync::Mutex;

/// Bounded retries with exponential backoff and jitter (random per process, so replicas do
/// not retry in lockstep).
///
/// The default gives a read nine attempts within a minute of waiting: at a 30 % failure rate
/// one call still fails only about twice in 100,000, so a walk of a few hundred pages
/// through a flaky proxy completes. Writes are sent again only when Lumos cannot have acted
/// on them (a 429, a connection that was never made).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts after the first one.
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Upper bound on all waiting for one call.
    pub max_total_delay: Duration,
    /// Longest `Retry-After` honoured; a longer one fails the call instead of hanging it.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 8,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_total_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_total_delay(Some(self.max_total_delay))
            .with_jitter()
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(raw).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Time until `x-ratelimit-reset` (Unix seconds, possibly fractional).
fn reset_in(headers: &HeaderMap) -> Option<Duration> {
    let reset: f64 = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(Duration::from_secs_f64((reset - now).clamp(0.0, 60.0)))
}

/// Shared across clones of a client: when Lumos says the budget is spent, every request of
/// this client waits for the window to reset instead of collecting 429s.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    resume_at: Mutex<Option<Instant>>,
}

impl Pacer {
    pub(crate) async fn wait(&self) {
        let until = *self.resume_at.lock().await;
        if let Some(t) = until
            && t > Instant::now()
        {
            tokio::time::sleep_until(t.into()).await;
        }
    }

    pub(crate) async fn observe(&self, headers: &HeaderMap) {
        let remaining: Option<f64> = headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let mut slot = self.resume_at.lock().await;
        match (remaining, reset_in(headers)) {
            (Some(r), Some(wait)) if r < 1.0 => *slot = Some(Instant::now() + wait),
            (Some(_), _) => *slot = None,
            _ => {}
        }
    }

    /// A 429 means stop for a while, whatever the other headers say.
    pub(crate) async fn hold_for(&self, wait: Duration) {
        let mut slot = self.resume_at.lock().await;
        let t = Instant::now() + wait;
        if slot.is_none_or(|cur| cur < t) {
            *slot = Some(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn parses_retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
