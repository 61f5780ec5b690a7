//! The `lumosflow` binary end to end.

mod api;
mod connect;
mod demo;
mod deploy;
mod mcp;
mod people;
mod replicas;
mod run;
mod sim;
mod slack;
mod trust;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lumosflow"))
}

/// `lumosflow sim` on a free port; returns the child and its base URL once it listens.
pub fn spawn_sim(extra: &[&str]) -> (Child, String, String) {
    let mut child = bin()
        .args(["sim", "--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sim starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    // The line is printed only after the socket is bound, so reading it is the readiness check.
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let rest = line
        .strip_prefix("Lumos simulator listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let (url, token) = rest
        .trim_end()
        .split_once(" (token: ")
        .expect("url and token");
    (
        child,
        url.to_owned(),
        token.trim_end_matches(')').to_owned(),
    )
}

pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
