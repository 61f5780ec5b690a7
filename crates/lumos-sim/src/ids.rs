//! Identifiers: UUID-shaped strings that encode what they name and its index, so the
//! simulator finds any record from its id without a lookup table (1M accounts stay cheap).

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Kind {
    User = 1,
    App = 2,
    Group = 3,
    Account = 4,
    Permission = 5,
    AccessRequest = 6,
    Task = 7,
    PreApprovalRule = 8,
    AccessPolicy = 9,
    AccessReview = 10,
    ReviewApp = 11,
    Knowledge = 12,
    VendorAgreement = 13,
    Webhook = 14,
    Job = 15,
    IdentityEvent = 16,
}

pub const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The splitmix64 finalizer: a cheap, well-spread hash of one word.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Ids of one organization: the first group is derived from the seed.
#[derive(Debug, Clone, Copy)]
pub struct IdSpace {
    tag: u32,
}

impl IdSpace {
    pub fn new(seed: u64) -> Self {
        // Different seeds give unrelated-looking prefixes.
        Self {
            tag: mix64(seed.wrapping_add(GOLDEN)) as u32,
        }
    }

    pub fn id(&self, kind: Kind, index: usize) -> String {
        let mut s = String::with_capacity(36);
        self.write(&mut s, kind, index);
        s
    }

    pub fn write(&self, out: &mut String, kind: Kind, index: usize) {
        let _ = write!(
            out,
            "{:08x}-{:04x}-4000-8000-{:012x}",
            self.tag, kind as u16, index
        );
    }

    /// The index behind `id` if it is an id of `kind` in this organization.
    pub fn parse(&self, kind: Kind, id: &str) -> Option<usize> {
        // Ids are ASCII: anything else is no id, and slicing it by bytes could cut a
        // character in two.
        if id.len() != 36 || !id.is_ascii() {
            return None;
        }
        let tag = u32::from_str_radix(&id[0..8], 16).ok()?;
        let k = u16::from_str_radix(&id[9..13], 16).ok()?;
        if tag != self.tag || k != kind as u16 || &id[13..24] != "-4000-8000-" {
            return None;
        }
        usize::from_str_radix(&id[24..36], 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_kinds() {
        let ids = IdSpace::new(42);
        let id = ids.id(Kind::User, 12345);
        assert_eq!(id.len(), 36);
        assert_eq!(ids.parse(Kind::User, &id), Some(12345));
        assert_eq!(ids.parse(Kind::App, &id), None);
        assert_eq!(IdSpace::new(43).parse(Kind::User, &id), None);
        assert_eq!(ids.parse(Kind::User, "nope"), None);
        assert_eq!(ids.parse(Kind::User, "ééééééééééééééééééé-ééééééééé"), None);
        // A multi-byte character across any of the places an id is cut.
        for at in [7, 8, 12, 13, 23, 24, 34] {
            let mut bad = id.clone();
            bad.replace_range(at..at + 2, "é");
            assert_eq!(bad.len(), 36);
            assert_eq!(ids.parse(Kind::User, &bad), None, "{bad}");
        }
    }
}
