//! Sealing small secrets at rest: a key derived with HKDF-SHA256 from other secret key
//! material, and ChaCha20-Poly1305 with a fresh random nonce per seal.
//!
//! A derived key is a function of its input material, salt and info only, so every process
//! that holds the same material derives the same key: what one node seals, another opens,
//! and so does the same node after a restart.

use std::fmt;

use ring::{aead, hkdf};
use zeroize::Zeroizing;

use super::random;

/// Bytes of the random nonce written in front of every sealed message.
const NONCE_LEN: usize = aead::NONCE_LEN;

/// The derivation failed, or randomness was unavailable while sealing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SealFailed;

/// An AEAD key for sealing data at rest.
pub(crate) struct SealKey(aead::LessSafeKey);

impl SealKey {
    /// The key derived from `secret` (HKDF-SHA256 with `salt`), for the purpose `info`
    /// names. The derived bytes are zeroized once ring holds the key.
    pub(crate) fn derive(secret: &[u8], salt: &[u8], info: &[&[u8]]) -> Result<Self, SealFailed> {
        let algorithm = &aead::CHACHA20_POLY1305;
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(secret);
        let okm = prk.expand(info, algorithm).map_err(|_| SealFailed)?;
        let mut bytes = Zeroizing::new([0u8; 32]);
        let key = bytes.get_mut(..algorithm.key_len()).ok_or(SealFailed)?;
        okm.fill(key).map_err(|_| SealFailed)?;
        let key = aead::UnboundKey::new(algorithm, key).map_err(|_| SealFailed)?;
        Ok(Self(aead::LessSafeKey::new(key)))
    }

    /// `nonce || ciphertext || tag` of `plaintext`, bound to `aad`.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealFailed> {
        let nonce = random::bytes::<NONCE_LEN>().map_err(|_| SealFailed)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + aead::MAX_TAG_LEN);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                &mut body,
            )
            .map_err(|_| SealFailed)?;
        out.append(&mut body);
        Ok(out)
    }

    /// The plaintext of a [`seal`](Self::seal) output, or `None` when it was sealed under
    /// another key or another `aad`, or has been altered.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = Zeroizing::new(body.to_vec());
        let len = self
            .0
            .open_in_place(nonce, aead::Aad::from(aad), &mut body)
            .ok()?
            .len();
        body.truncate(len);
        Some(body)
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_material_derives_the_same_key_and_other_material_another() {
        let one = SealKey::derive(&[1u8; 32], b"salt", &[b"purpose"]).unwrap();
        let again = SealKey::derive(&[1u8; 32], b"salt", &[b"purpose"]).unwrap();
        let other = SealKey::derive(&[2u8; 32], b"salt", &[b"purpose"]).unwrap();
        let purpose = SealKey::derive(&[1u8; 32], b"salt", &[b"another purpose"]).unwrap();
        let sealed = one.seal(b"aad", b"secret").unwrap();
        assert_eq!(again.open(b"aad", &sealed).unwrap().as_slice(), b"secret");
        assert!(other.open(b"aad", &sealed).is_none());
        assert!(purpose.open(b"aad", &sealed).is_none());
        assert!(one.open(b"other aad", &sealed).is_none());
        // A fresh nonce every time: sealing twice never gives the same bytes.
        assert_ne!(one.seal(b"aad", b"secret").unwrap(), sealed);
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert!(one.open(b"aad", &altered).is_none());
        assert!(one.open(b"aad", &sealed[..NONCE_LEN - 1]).is_none());
    }
}
