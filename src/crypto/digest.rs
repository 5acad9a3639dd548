//! Hashes and keyed hashes through ring.

use ring::digest;

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
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
