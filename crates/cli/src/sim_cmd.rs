//! `lumosflow sim`: the offline Lumos API simulator.

use clap::Args;

#[derive(Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8787")]
    addr: String,
}

pub async fn run(_args: SimArgs) -> anyhow::Result<()> {
    anyhow::bail!("the simulator is not built yet")
}
