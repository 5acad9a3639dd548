//! Randomness from the operating system's CSPRNG, through ring.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

/// The OS random number generator failed. Rare, and never retried silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RandomFailed;

/// Bytes of entropy in a session id: 192 bits, well above the 128 the contract requires,
/// encoded as 32 base64url characters.
pub(crate) const SESSION_ID_BYTES: usize = 24;

/// Fill `out` with random bytes.
pub(crate) fn fill(out: &mut [u8]) -> Result<(), RandomFailed> {
    SystemRandom::new().fill(out).map_err(|_| RandomFailed)
}

/// `N` random bytes.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], RandomFailed> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// A fresh session id: [`SESSION_ID_BYTES`] random bytes, base64url without padding.
pub(crate) fn session_id() -> Result<String, RandomFailed> {
    Ok(URL_SAFE_NO_PAD.encode(bytes::<SESSION_ID_BYTES>()?))
}

/// A fresh RFC 9562 version-4 UUID, for `jti`.
pub(crate) fn uuid_v4() -> Result<uuid::Uuid, RandomFailed> {
    Ok(uuid::Builder::from_random_bytes(bytes::<16>()?).into_uuid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_carry_at_least_128_bits_and_do_not_repeat() {
        let a = session_id().unwrap();
        let b = session_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(URL_SAFE_NO_PAD.decode(&a).unwrap().len() * 8 >= 128);
    }

    #[test]
    fn jti_is_a_version_4_uuid() {
        let id = uuid_v4().unwrap();
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
    }
}
