//! Hashes and keyed hashes through ring.

use ring::digest;

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Whether `a` and `b` are equal, in time that does not depend on where they differ:
/// both are MACed under a fixed key and ring compares the tags in constant time
/// (`ring::hmac::verify`), so the comparison leaks nothing about a secret's prefix.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"gatepass constant-time equality");
    let tag = ring::hmac::sign(&key, a);
    ring::hmac::verify(&key, b, tag.as_ref()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_180_2_abc_vector() {
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let got: String = sha256(b"abc").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}

/// A keyed hash (HMAC-SHA-256) for pseudonymising identifiers in logs: the same input
/// maps to the same output under one key, and nothing about the input can be learnt or
/// confirmed without the key.
#[derive(Clone)]
pub(crate) struct KeyedHasher(ring::hmac::Key);

impl KeyedHasher {
    /// A hasher with a fresh random key (hashes are stable within this process only).
    pub(crate) fn random() -> Result<Self, super::random::RandomFailed> {
        let key = super::random::bytes::<32>()?;
        Ok(Self::with_key(&key))
    }

    /// A hasher with a caller-provided key (several processes agree on hashes).
    pub(crate) fn with_key(key: &[u8]) -> Self {
        Self(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key))
    }

    /// The first 8 bytes of the tag, as 16 hex digits: enough to correlate log lines.
    pub(crate) fn short_hex(&self, data: &[u8]) -> String {
        ring::hmac::sign(&self.0, data)
            .as_ref()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl std::fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyedHasher(<redacted>)")
    }
}
