//! Who holds a run: this process, named `host/pid/nonce`. The host and pid let a restarted
//! process recognise its dead predecessor's runs at once; the nonce tells apart two engines
//! in one process (tests, or a server beside the CLI's own).

use std::fmt;

#[derive(Debug, Clone)]
pub struct Owner {
    id: String,
}

impl Owner {
    pub fn this_process() -> Owner {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        Owner {
            id: format!("{}/{}/{}", host(), std::process::id(), &nonce[..12]),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// `host/` — every holder name of this host starts with it.
    pub fn host_prefix() -> String {
        format!("{}/", host())
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// A holder name taken apart.
pub struct Holder<'a> {
    pub host: &'a str,
    pub pid: Option<u32>,
}

pub fn parse_holder(holder: &str) -> Holder<'_> {
    let mut parts = holder.split('/');
    let host = parts.next().unwrap_or(holder);
    let pid = parts.next().and_then(|p| p.parse().ok());
    Holder { host, pid }
}

/// Why a run whose process is gone was failed, for the run's record.
pub fn orphan_reason(holder: Option<&str>) -> String {
    let who = match holder.map(parse_holder) {
        Some(Holder {
            host,
            pid: Some(pid),
        }) => format!(" (host {host}, pid {pid})"),
        _ => String::new(),
    };
    format!(
        "the process running it stopped{who} — not resumed: its Lumos calls may have had effects"
    )
}

/// Whether a run ended for a reason outside its workflow: its process stopped (a crash, a
/// lost lease) or its server shut down. Such a run may be asked for again.
pub fn interrupted(run: &store::Run) -> bool {
    let error = run.error.as_deref().unwrap_or_default();
    (run.status == store::RunStatus::Failed && error.starts_with("the process running it stopped"))
        || (run.status == store::RunStatus::Canceled
            && run.canceled_by.as_deref() == Some("server shutdown"))
}

/// Whether a process with this pid runs on this machine. Without `/proc` nothing can be
/// told, so it is taken as alive and the lease decides.
pub fn pid_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    !proc.exists() || proc.join(pid.to_string()).exists()
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().replace('/', "-"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_names_say_where_and_who() {
        let me = Owner::this_process();
        let h = parse_holder(me.as_str());
        assert_eq!(h.pid, Some(std::process::id()));
        assert!(me.as_str().starts_with(&Owner::host_prefix()));
        assert!(pid_alive(std::process::id()));
        assert_eq!(
            orphan_reason(Some("web-1/4242/abc")),
            "the process running it stopped (host web-1, pid 4242) — not resumed: its Lumos calls may have had effects"
        );
    }
}
