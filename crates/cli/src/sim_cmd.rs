//! `lumosflow sim`: the offline Lumos API simulator.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use lumos_sim::{OrgSize, SimConfig, Simulator};

#[derive(Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8787")]
    addr: String,
    /// An accepted admin token (repeatable). Without one, a fixed default is used and printed.
    #[arg(long = "token")]
    tokens: Vec<String>,
    /// Seed of the synthetic organization; the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 500)]
    users: usize,
    #[arg(long, default_value_t = 40)]
    apps: usize,
    #[arg(long, default_value_t = 60)]
    groups: usize,
    #[arg(long, default_value_t = 6)]
    accounts_per_user: usize,
    /// Requests per second per token before 429s.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Share of requests answered with a 5xx (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Delay added to every response.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// The simulator's "now" (RFC 3339 or YYYY-MM-DD): the seeded history (access requests
    /// of the last 90 days, last activity, discovery) ends here. Default: the real time.
    #[arg(long)]
    now: Option<String>,
}

impl SimArgs {
    pub fn config(&self) -> anyhow::Result<SimConfig> {
        if !(0.0..=1.0).contains(&self.fault_rate) {
            anyhow::bail!(
                "--fault-rate must be between 0 and 1, got {}",
                self.fault_rate
            );
        }
        for t in &self.tokens {
            lumos_api::ApiToken::parse(t).with_context(|| "--token".to_owned())?;
        }
        let now = match &self.now {
            None => None,
            Some(text) => Some(
                chrono::DateTime::parse_from_rfc3339(text)
                    .map(|t| t.timestamp())
                    .or_else(|_| {
                        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp())
                    })
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "--now must be a time (2026-12-07T09:00:00Z) or a date (2026-12-07), not '{text}'"
                        )
                    })?,
            ),
        };
        Ok(SimConfig {
            addr: self.addr.clone(),
            tokens: self.tokens.clone(),
            seed: self.seed,
            size: OrgSize {
                users: self.users,
                apps: self.apps,
                groups: self.groups,
                accounts_per_user: self.accounts_per_user,
            },
            rate_limit: self.rate_limit.filter(|&n| n > 0),
            fault_rate: self.fault_rate,
            latency: Duration::from_millis(self.latency_ms),
            now,
        })
    }
}

pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let sim = Simulator::start(args.config()?)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!(
        "Lumos simulator listening on {} (token: {})",
        sim.base_url, sim.token
    );
    shutdown_signal().await;
    sim.stop().await;
    Ok(())
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
