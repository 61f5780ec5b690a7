//! One behavioural suite, run on a SQLite file and on a real PostgreSQL server.

mod audit_chain;
mod suite;

use store::KeySource;
use zeroize::Zeroizing;

pub fn env_key(b64: &str) -> KeySource {
    KeySource::Env(Zeroizing::new(b64.to_owned()))
}
