//! Grace successors sealed before they reach the store.
//!
//! With a grace window, a store keeps the pair a rotated refresh token was answered with,
//! so a retry gets the same answer. Kept in clear, anyone who can read the store (a file
//! journal, a Redis dump) could take live tokens from it. So the session layer seals each
//! token of the pair (ChaCha20-Poly1305, a fresh random nonce per seal) under a key derived
//! from the private key that signed the pair; the stores keep opaque strings.
//!
//! The sealing key is derived from key material every node loads from the same keyset, so
//! any node sharing a store opens what another sealed, also after a restart. Each sealed
//! token names its signing key's `kid` (a key rotation does not strand a grace answer while
//! the old key still verifies) and is bound to its session id, generation and role, so it
//! cannot be moved to another session or swapped with its partner. When the key is gone,
//! the answer cannot be opened and the retry is refused (`invalid_grant`: log in again).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::crypto::seal::{SealFailed, SealKey};
use crate::keys::{Keyset, SigningKey};
use crate::revocation::IssuedPair;

/// What the sealing keys are derived for: nothing else is sealed under them.
const PURPOSE: &[u8] = b"gatepass grace successor";

/// The version prefix of a sealed token in a store.
const PREFIX: &str = "gps1.";

/// Which token of the pair a sealed string holds.
#[derive(Clone, Copy)]
enum Role {
    Access,
    Refresh,
}

impl Role {
    fn name(self) -> &'static [u8] {
        match self {
            Self::Access => b"access",
            Self::Refresh => b"refresh",
        }
    }
}

/// The associated data of one sealed token: every part length-prefixed, so no two
/// different (role, kid, sid, gen) give the same bytes.
fn aad(role: Role, kid: &str, sid: &str, gen: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + kid.len() + sid.len());
    for part in [role.name(), kid.as_bytes(), sid.as_bytes()] {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&gen.to_be_bytes());
    out
}

/// Seals successor pairs with the signing key that signed them, and opens them with any
/// key of the keyset that still verifies.
pub(super) struct SuccessorSeal {
    /// `(kid, key)` of every active or retiring key.
    keys: Vec<(String, SealKey)>,
}

impl fmt::Debug for SuccessorSeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuccessorSeal")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl SuccessorSeal {
    /// Opening keys for the keyset's active and retiring keys (the keys whose tokens
    /// still verify: a pair signed by any other would be refused anyway).
    pub(super) fn new(keyset: &Keyset) -> Result<Self, SealFailed> {
        let keys = keyset
            .entries()
            .iter()
            .filter(|entry| entry.state().verifies())
            .map(|entry| Ok((entry.kid().to_owned(), entry.key().sealing_key(PURPOSE)?)))
            .collect::<Result<_, SealFailed>>()?;
        Ok(Self { keys })
    }

    /// `pair` as the store keeps it: each token sealed under `signer` (the key that
    /// signed the pair), for session `sid` at generation `gen`.
    pub(super) fn seal(
        signer: &SigningKey,
        sid: &str,
        gen: u64,
        pair: &IssuedPair,
    ) -> Result<IssuedPair, SealFailed> {
        let key = signer.sealing_key(PURPOSE)?;
        let kid = signer.kid();
        let one = |role: Role, token: &str| -> Result<String, SealFailed> {
            let sealed = key.seal(&aad(role, kid, sid, gen), token.as_bytes())?;
            Ok(format!(
                "{PREFIX}{}.{}",
                URL_SAFE_NO_PAD.encode(kid),
                URL_SAFE_NO_PAD.encode(sealed)
            ))
        };
        Ok(IssuedPair::new(
            one(Role::Access, &pair.access_token)?,
            one(Role::Refresh, &pair.refresh_token)?,
            pair.expires_in,
        ))
    }

    /// The pair a store kept for session `sid` at generation `gen`, or `None` when it
    /// cannot be opened: its key is gone, it was sealed for another session or generation,
    /// it was altered, or it is not a sealed pair at all.
    pub(super) fn open(&self, sid: &str, gen: u64, stored: &IssuedPair) -> Option<IssuedPair> {
        Some(IssuedPair::new(
            self.open_one(Role::Access, sid, gen, &stored.access_token)?,
            self.open_one(Role::Refresh, sid, gen, &stored.refresh_token)?,
            stored.expires_in,
        ))
    }

    fn open_one(&self, role: Role, sid: &str, gen: u64, stored: &str) -> Option<String> {
        let (kid, sealed) = stored.strip_prefix(PREFIX)?.split_once('.')?;
        let kid = String::from_utf8(URL_SAFE_NO_PAD.decode(kid).ok()?).ok()?;
        let sealed = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let (_, key) = self.keys.iter().find(|(k, _)| *k == kid)?;
        let token = key.open(&aad(role, &kid, sid, gen), &sealed)?;
        String::from_utf8(token.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Algorithm, GenerateOptions, KeySelector};

    fn keyset() -> Keyset {
        let mut keyset = Keyset::new();
        keyset
            .generate(Algorithm::EdDSA, GenerateOptions::default(), 0)
            .unwrap();
        keyset
    }

    fn pair() -> IssuedPair {
        IssuedPair::new(
            "header.access.signature".into(),
            "header.refresh.sig".into(),
            300,
        )
    }

    #[test]
    fn a_sealed_pair_opens_only_for_its_own_session_and_generation() {
        let keyset = keyset();
        let signer = keyset.signing_key(&KeySelector::Preferred).unwrap();
        let seal = SuccessorSeal::new(&keyset).unwrap();
        let sealed = SuccessorSeal::seal(&signer, "sid-a", 3, &pair()).unwrap();
        for part in [&sealed.access_token, &sealed.refresh_token] {
            assert!(part.starts_with(PREFIX));
            assert!(!part.contains(&pair().access_token));
            assert!(!part.contains(&pair().refresh_token));
        }
        assert_eq!(seal.open("sid-a", 3, &sealed), Some(pair()));
        assert_eq!(seal.open("sid-b", 3, &sealed), None, "another session");
        assert_eq!(seal.open("sid-a", 4, &sealed), None, "another generation");
        let swapped = IssuedPair::new(
            sealed.refresh_token.clone(),
            sealed.access_token.clone(),
            300,
        );
        assert_eq!(seal.open("sid-a", 3, &swapped), None, "roles swapped");
        assert_eq!(seal.open("sid-a", 3, &pair()), None, "a pair kept in clear");
    }

    #[test]
    fn another_node_with_the_keyset_opens_it_and_a_removed_key_does_not() {
        let mut keyset = keyset();
        let signer = keyset.signing_key(&KeySelector::Preferred).unwrap();
        let sealed = SuccessorSeal::seal(&signer, "sid", 1, &pair()).unwrap();
        // Another process loading the same keyset file.
        let reloaded = Keyset::from_json(&keyset.to_json()).unwrap();
        let other_node = SuccessorSeal::new(&reloaded).unwrap();
        assert_eq!(other_node.open("sid", 1, &sealed), Some(pair()));
        // Rotated: the old key is retiring and still opens.
        let next = keyset
            .generate(
                Algorithm::EdDSA,
                GenerateOptions::default().state(crate::keys::KeyState::Pending),
                0,
            )
            .unwrap();
        keyset.activate(&next, 1).unwrap();
        let rotated = SuccessorSeal::new(&keyset).unwrap();
        assert_eq!(rotated.open("sid", 1, &sealed), Some(pair()));
        // Revoked: gone.
        keyset.revoke(signer.kid(), 2).unwrap();
        let revoked = SuccessorSeal::new(&keyset).unwrap();
        assert_eq!(revoked.open("sid", 1, &sealed), None);
        // A fresh keyset with a key of its own does not open it either.
        assert_eq!(
            SuccessorSeal::new(&self::keyset())
                .unwrap()
                .open("sid", 1, &sealed),
            None
        );
    }
}
