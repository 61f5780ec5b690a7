//! How the engine runs: leases, concurrency, the queue, retention and Lumos retries. Every
//! setting has a default that suits one machine; `from_env` reads the `LUMOSFLOW_*`
//! variables operators set (documented in docs/operations.md).

use std::time::Duration;

use lumos_api::RetryPolicy;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long a running run's claim holds without renewal; a crashed process's runs are
    /// failed by a survivor this long (plus one sweep) after it stopped renewing.
    pub lease: Duration,
    /// How often a process looks for cancels of the runs it executes (on top of
    /// PostgreSQL's instant notifications).
    pub cancel_poll: Duration,
    /// Runs one `serve` process executes at once; the rest wait in the queue.
    pub max_concurrent_runs: usize,
    /// Queued runs beyond which new ones are refused (429) until the queue drains.
    pub queue_limit: i64,
    /// Finished runs older than this are deleted by `serve`; `None` keeps them forever.
    pub retention: Option<Duration>,
    /// Retries for Lumos calls.
    pub retry: RetryPolicy,
    /// Longest a single Lumos request may take.
    pub lumos_timeout: Duration,
    /// Template work one run may do, in fuel (an instruction costs one).
    pub run_fuel: u64,
    /// Bytes of step outputs one run may hold at once.
    pub run_max_bytes: u64,
    /// Largest output that is not a listing (a listing's items are stored at any size).
    pub max_output_bytes: u64,
    /// How long console sessions last.
    pub sessions: SessionTimes,
    /// Where people reach lumosflow (`LUMOSFLOW_PUBLIC_URL`), for links in notices.
    pub public_url: Option<String>,
    /// Hosts `http:` steps may call (`LUMOSFLOW_HTTP_ALLOWED_HOSTS`, e.g.
    /// `hooks.slack.com,example.atlassian.net`); none by default.
    pub http_allowed_hosts: Vec<String>,
    /// How often `serve` looks for notices to send.
    pub notice_poll: Duration,
    /// The first retry of a notice that failed waits this long; each next one twice as long
    /// (at most an hour), for a day.
    pub notice_retry_base: Duration,
    /// How often `serve` looks for new Lumos events (`LUMOSFLOW_EVENT_POLL`).
    pub event_poll: Duration,
    /// The Slack Web API's base (`LUMOSFLOW_SLACK_API_URL`; tests point it at a stand-in).
    pub slack_api_url: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            cancel_poll: Duration::from_millis(250),
            max_concurrent_runs: 8,
            // A burst (an agent's fan-out, a bulk update in a ticketing tool) of 10,000 runs
            // waits in line rather than being turned away.
            queue_limit: 10_000,
            retention: Some(Duration::from_secs(90 * 86_400)),
            retry: RetryPolicy::default(),
            lumos_timeout: Duration::from_secs(30),
            run_fuel: 200_000_000,
            run_max_bytes: 256 << 20,
            max_output_bytes: 16 << 20,
            sessions: SessionTimes::default(),
            public_url: None,
            http_allowed_hosts: Vec::new(),
            notice_poll: Duration::from_secs(1),
            notice_retry_base: Duration::from_secs(5),
            event_poll: Duration::from_secs(15),
            slack_api_url: "https://slack.com/api".to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl EngineConfig {
    /// How often the lease is renewed: well inside the lease, so one slow database round
    /// trip never lets it lapse.
    pub fn heartbeat(&self) -> Duration {
        (self.lease / 6).max(Duration::from_millis(200))
    }

    /// How often `serve` looks for runs whose process stopped.
    pub fn sweep_every(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(500))
    }

    /// Defaults, overridden by `LUMOSFLOW_RUN_LEASE`, `LUMOSFLOW_MAX_CONCURRENT_RUNS`,
    /// `LUMOSFLOW_RUN_QUEUE_LIMIT`, `LUMOSFLOW_RUN_RETENTION` (`off` keeps runs forever) and
    /// `LUMOSFLOW_LUMOS_TIMEOUT` where set.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        if let Some(v) = get("LUMOSFLOW_RUN_LEASE") {
            c.lease = duration("LUMOSFLOW_RUN_LEASE", &v, Duration::from_secs(1))?;
        }
        if let Some(v) = get("LUMOSFLOW_MAX_CONCURRENT_RUNS") {
            c.max_concurrent_runs = count("LUMOSFLOW_MAX_CONCURRENT_RUNS", &v)? as usize;
        }
        if let Some(v) = get("LUMOSFLOW_RUN_QUEUE_LIMIT") {
            c.queue_limit = count("LUMOSFLOW_RUN_QUEUE_LIMIT", &v)? as i64;
        }
        if let Some(v) = get("LUMOSFLOW_RUN_RETENTION") {
            c.retention = match v.trim() {
                "off" | "never" | "0" => None,
                other => Some(duration(
                    "LUMOSFLOW_RUN_RETENTION",
                    other,
                    Duration::from_secs(3600),
                )?),
            };
        }
        if let Some(v) = get("LUMOSFLOW_LUMOS_TIMEOUT") {
            c.lumos_timeout = duration("LUMOSFLOW_LUMOS_TIMEOUT", &v, Duration::from_secs(1))?;
        }
        if let Some(v) = get("LUMOSFLOW_RUN_FUEL") {
            c.run_fuel = count("LUMOSFLOW_RUN_FUEL", &v)?;
        }
        if let Some(v) = get("LUMOSFLOW_RUN_MAX_BYTES") {
            c.run_max_bytes = bytes("LUMOSFLOW_RUN_MAX_BYTES", &v)?;
        }
        if let Some(v) = get("LUMOSFLOW_MAX_OUTPUT_BYTES") {
            c.max_output_bytes = bytes("LUMOSFLOW_MAX_OUTPUT_BYTES", &v)?;
        }
        if let Some(v) = get("LUMOSFLOW_PUBLIC_URL").filter(|v| !v.trim().is_empty()) {
            c.public_url = Some(v.trim().to_owned());
        }
        if let Some(v) = get("LUMOSFLOW_HTTP_ALLOWED_HOSTS") {
            c.http_allowed_hosts = v
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
        }
        if let Some(v) = get("LUMOSFLOW_EVENT_POLL") {
            c.event_poll = duration("LUMOSFLOW_EVENT_POLL", &v, Duration::from_secs(1))?;
        }
        if let Some(v) = get("LUMOSFLOW_SLACK_API_URL").filter(|v| !v.trim().is_empty()) {
            let v = v.trim().trim_end_matches('/');
            if !url::Url::parse(v).is_ok_and(|u| u.has_host()) {
                return Err(ConfigError {
                    var: "LUMOSFLOW_SLACK_API_URL",
                    message: format!("'{v}' is not a URL like https://slack.com/api"),
                });
            }
            c.slack_api_url = v.to_owned();
        }
        if let Some(v) = get("LUMOSFLOW_SESSION_IDLE") {
            c.sessions.idle = duration("LUMOSFLOW_SESSION_IDLE", &v, Duration::from_secs(1))?;
        }
        if let Some(v) = get("LUMOSFLOW_SESSION_LIFETIME") {
            c.sessions.lifetime =
                duration("LUMOSFLOW_SESSION_LIFETIME", &v, Duration::from_secs(1))?;
        }
        Ok(c)
    }
}

pub use workflow_lang::duration::parse_duration;

fn duration(var: &'static str, raw: &str, min: Duration) -> Result<Duration, ConfigError> {
    let d = parse_duration(raw).map_err(|message| ConfigError { var, message })?;
    if d < min {
        return Err(ConfigError {
            var,
            message: format!("must be at least {}", humantime::format_duration(min)),
        });
    }
    Ok(d)
}

/// A size: a number of bytes, or with KiB, MiB or GiB.
fn bytes(var: &'static str, raw: &str) -> Result<u64, ConfigError> {
    let t = raw.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&t[..i], t[i..].trim()),
        None => (t, ""),
    };
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" | "K" | "KB" => 1 << 10,
        "MiB" | "M" | "MB" => 1 << 20,
        "GiB" | "G" | "GB" => 1 << 30,
        _ => 0,
    };
    match num.parse::<u64>() {
        Ok(n) if n >= 1 && scale > 0 => Ok(n.saturating_mul(scale)),
        _ => Err(ConfigError {
            var,
            message: format!("'{raw}' is not a size like 268435456, 256MiB or 1GiB"),
        }),
    }
}

fn count(var: &'static str, raw: &str) -> Result<u64, ConfigError> {
    match raw.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(ConfigError {
            var,
            message: format!("'{raw}' is not a whole number of at least 1"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_settings_and_refuses_nonsense() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let c = EngineConfig::from_lookup(env(&[
            ("LUMOSFLOW_RUN_LEASE", "5s"),
            ("LUMOSFLOW_MAX_CONCURRENT_RUNS", "3"),
            ("LUMOSFLOW_RUN_RETENTION", "30d"),
        ]))
        .expect("valid");
        assert_eq!(c.lease, Duration::from_secs(5));
        assert_eq!(c.max_concurrent_runs, 3);
        assert_eq!(c.retention, Some(Duration::from_secs(30 * 86_400)));
        let off =
            EngineConfig::from_lookup(env(&[("LUMOSFLOW_RUN_RETENTION", "off")])).expect("off");
        assert_eq!(off.retention, None);
        let e =
            EngineConfig::from_lookup(env(&[("LUMOSFLOW_RUN_LEASE", "soon")])).expect_err("bad");
        assert!(
            e.to_string()
                .starts_with("LUMOSFLOW_RUN_LEASE: 'soon' is not a duration"),
            "{e}"
        );
        assert!(EngineConfig::from_lookup(env(&[("LUMOSFLOW_MAX_CONCURRENT_RUNS", "0")])).is_err());
        let sized =
            EngineConfig::from_lookup(env(&[("LUMOSFLOW_RUN_MAX_BYTES", "64MiB")])).expect("size");
        assert_eq!(sized.run_max_bytes, 64 << 20);
        assert!(EngineConfig::from_lookup(env(&[("LUMOSFLOW_RUN_MAX_BYTES", "lots")])).is_err());
    }
}

/// A session unused this long ends.
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
/// A session ends this long after sign-in, used or not.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 86_400);

/// How long sessions last; the defaults above unless the deployment says otherwise.
#[derive(Debug, Clone, Copy)]
pub struct SessionTimes {
    pub idle: Duration,
    pub lifetime: Duration,
}

impl Default for SessionTimes {
    fn default() -> Self {
        SessionTimes {
            idle: SESSION_IDLE,
            lifetime: SESSION_LIFETIME,
        }
    }
}
