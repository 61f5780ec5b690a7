//! Who the CLI acts as: the local operator, who holds the database and its master key. Runs
//! and audit events name them by `LUMOSFLOW_ACTOR` (an email) where set, else by their OS
//! user (`cli:alice`).

/// The operator's label, or an error when `LUMOSFLOW_ACTOR` is not an email.
fn label() -> anyhow::Result<String> {
    if let Ok(v) = std::env::var("LUMOSFLOW_ACTOR")
        && !v.trim().is_empty()
    {
        let v = v.trim();
        engine::access::check_email(v).map_err(|e| anyhow::anyhow!("LUMOSFLOW_ACTOR: {e}"))?;
        return Ok(v.to_owned());
    }
    let user = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|u| !u.trim().is_empty()))
        .or_else(os_user)
        .unwrap_or_else(|| "unknown".to_owned());
    Ok(format!("cli:{}", user.trim()))
}

/// The account this process runs as, when the environment does not say (cron, systemd-run,
/// containers): its uid's name in /etc/passwd, else `uid-N`.
#[cfg(unix)]
fn os_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's own (effective) user.
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    });
    Some(name.unwrap_or_else(|| format!("uid-{uid}")))
}

#[cfg(not(unix))]
fn os_user() -> Option<String> {
    None
}

/// Checked once at start-up, so `me` can be infallible.
pub fn check() -> anyhow::Result<()> {
    label().map(|_| ())
}

pub fn me() -> engine::Actor {
    engine::Actor::operator_named(&label().unwrap_or_else(|_| "cli".to_owned()))
}
