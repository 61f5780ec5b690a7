//! Random secrets and their stored form.

use sha2::{Digest, Sha256};

/// `prefix` + 64 hex characters: 256 bits from the operating system's random source.
pub(crate) fn new(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let mut s = String::with_capacity(prefix.len() + 64);
    s.push_str(prefix);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    Ok(s)
}

/// What the database keeps of a secret: its SHA-256, in hex. The secrets are long random
/// strings, so a fast hash is enough and lookups stay cheap.
pub(crate) fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_long_distinct_and_hashed() {
        let a = super::new("lfk_").expect("random");
        let b = super::new("lfk_").expect("random");
        assert_eq!(a.len(), 68);
        assert_ne!(a, b);
        assert!(a[4..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(super::hash(&a).len(), 64);
        assert_ne!(super::hash(&a), a);
    }
}
