//! Where a verifier finds keys: the [`KeySource`] trait and the in-memory
//! [`VerificationKeys`] that local keysets and JWK Sets load into.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::jwk;
use super::key::VerifyingKey;
use crate::crypto::Algorithm;
use crate::error::{KeyRejected, VerifyError};

/// A source of verification keys, consulted once per verification.
///
/// Implemented by [`VerificationKeys`] (a fixed set) and by the remote JWKS client. A
/// lookup must not block on I/O: sources that fetch keys do it in the background and
/// answer from what they hold.
pub trait KeySource: Send + Sync + fmt::Debug {
    /// The key for a token's `kid` and header `alg`.
    ///
    /// With a `kid`: the key with exactly that id, whatever its algorithm (the verifier
    /// then refuses an algorithm mismatch as `unsupported_algorithm`). Without: the only
    /// key for `alg`, if exactly one exists. Otherwise [`VerifyError::UnknownKey`].
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<VerifyingKey>, VerifyError>;
}

/// A fixed set of verification keys.
///
/// ```
/// use gatepass::{Algorithm, KeySource, SigningKey, VerificationKeys};
/// let key = SigningKey::generate(Algorithm::EdDSA)?;
/// let keys = VerificationKeys::new([key.verifying_key().clone()]);
/// assert!(keys.find(Some(key.kid()), Algorithm::EdDSA).is_ok());
/// assert!(keys.find(None, Algorithm::EdDSA).is_ok()); // unambiguous without a kid
/// assert!(keys.find(Some("other"), Algorithm::EdDSA).is_err());
/// # Ok::<(), gatepass::KeyRejected>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct VerificationKeys {
    // A handful of keys: a linear scan beats hashing.
    keys: Vec<Arc<VerifyingKey>>,
}

/// A key left out of a JWK Set, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedKey {
    /// The entry's position in `keys`.
    pub index: usize,
    /// The entry's `kid`, when it has a string one.
    pub kid: Option<String>,
    /// Why it was refused.
    pub reason: KeyRejected,
}

impl fmt::Display for SkippedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kid {
            Some(kid) => write!(f, "key {kid:?} (#{}) skipped: {}", self.index, self.reason),
            None => write!(f, "key #{} skipped: {}", self.index, self.reason),
        }
    }
}

impl VerificationKeys {
    /// A set holding exactly `keys`.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            keys: keys.into_iter().map(Arc::new).collect(),
        }
    }

    /// Parse a JWK Set (`{"keys": [...]}`) for verification, leaving out every key that is
    /// refused, and reporting why. A token naming a left-out key then gets `unknown_key`.
    ///
    /// A JWK Set is public by nature, so only public keys are taken: a symmetric `oct` key
    /// ([`KeyRejected::SecretKeyInPublicSet`]) or a JWK with any private member (`d`, `p`,
    /// `q`, `dp`, `dq`, `qi`, `oth`: [`KeyRejected::PrivateKeyInPublicSet`]) is refused, as
    /// are weak, malformed, unsupported keys, keys whose `use`/`key_ops` forbid
    /// verification, and keys sharing a `kid`. A set from a file and a set fetched by
    /// [`JwksClient`](crate::JwksClient) are read by this one function. (HMAC keys for
    /// verification come from a keyset or [`VerifyingKey::from_jwk`].)
    ///
    /// ```
    /// use gatepass::{KeyRejected, VerificationKeys};
    /// let (keys, skipped) = VerificationKeys::from_jwks_json(br#"{"keys": [
    ///   {"kty": "OKP", "crv": "Ed25519", "kid": "good", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    ///   {"kty": "OKP", "crv": "Ed25519", "kid": "leaked", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    ///    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"},
    ///   {"kty": "oct", "alg": "HS256", "kid": "shared", "k": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}
    /// ]}"#)?;
    /// assert_eq!(keys.len(), 1);
    /// assert_eq!(skipped[0].kid.as_deref(), Some("leaked"));
    /// assert_eq!(skipped[0].reason, KeyRejected::PrivateKeyInPublicSet("d"));
    /// assert_eq!(skipped[1].reason, KeyRejected::SecretKeyInPublicSet);
    /// # Ok::<(), gatepass::KeysetError>(())
    /// ```
    pub fn from_jwks_json(json: &[u8]) -> Result<(Self, Vec<SkippedKey>), crate::KeysetError> {
        Self::parse_public_jwks(json)
    }

    fn parse_public_jwks(json: &[u8]) -> Result<(Self, Vec<SkippedKey>), crate::KeysetError> {
        let entries = jwk::parse_key_array(json)?;
        let parsed: Vec<(usize, Option<String>, Result<VerifyingKey, KeyRejected>)> = entries
            .into_iter()
            .enumerate()
            .map(|(index, entry)| {
                let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
                let key = jwk::check_public_only(&entry).and_then(|()| {
                    jwk::members_from_value(entry)
                        .map_err(|_| KeyRejected::BadEncoding("jwk"))
                        .and_then(|members| VerifyingKey::from_members(&members))
                });
                (index, kid, key)
            })
            .collect();
        // Two keys under one kid make every lookup ambiguous: trust none of them, however
        // many there are, and report each one. (Counting first matters: dropping pairs as
        // they are met would trust a third copy, and would not report the first.)
        let mut kid_counts: HashMap<&str, usize> = HashMap::new();
        for (_, _, key) in &parsed {
            if let Some(kid) = key.as_ref().ok().and_then(VerifyingKey::kid) {
                *kid_counts.entry(kid).or_default() += 1;
            }
        }
        let shared: HashSet<String> = kid_counts
            .into_iter()
            .filter(|(_, count)| *count > 1)
            .map(|(kid, _)| kid.to_owned())
            .collect();
        let mut keys: Vec<Arc<VerifyingKey>> = Vec::new();
        let mut skipped = Vec::new();
        for (index, kid, key) in parsed {
            match key {
                Ok(key) if key.kid().is_some_and(|k| shared.contains(k)) => {
                    skipped.push(SkippedKey {
                        index,
                        kid,
                        reason: KeyRejected::DuplicateKid,
                    });
                }
                Ok(key) => keys.push(Arc::new(key)),
                Err(reason) => skipped.push(SkippedKey { index, kid, reason }),
            }
        }
        Ok((Self { keys }, skipped))
    }

    /// Add a key.
    pub fn push(&mut self, key: VerifyingKey) {
        self.keys.push(Arc::new(key));
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in order.
    pub fn iter(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.iter().map(|k| &**k)
    }
}

impl KeySource for VerificationKeys {
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<VerifyingKey>, VerifyError> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid() == Some(kid)),
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.alg() == alg);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
        .cloned()
        .ok_or(VerifyError::UnknownKey)
    }
}

/// A key source whose keys can be replaced while verifiers hold it: a key rotation swaps
/// the whole set at once, and every verifier built on it sees the new keys at its next
/// verification. Lookups take a read lock just long enough to clone one `Arc`.
///
/// ```
/// use std::sync::Arc;
/// use gatepass::{Algorithm, KeySource, ReloadableKeys, SigningKey, VerificationKeys};
/// let old = SigningKey::generate(Algorithm::EdDSA)?;
/// let new = SigningKey::generate(Algorithm::EdDSA)?;
/// let keys = ReloadableKeys::new(VerificationKeys::new([old.verifying_key().clone()]));
/// assert!(keys.find(Some(new.kid()), Algorithm::EdDSA).is_err());
/// keys.replace(VerificationKeys::new([new.verifying_key().clone()]));
/// assert!(keys.find(Some(new.kid()), Algorithm::EdDSA).is_ok());
/// # Ok::<(), gatepass::KeyRejected>(())
/// ```
#[derive(Debug, Default)]
pub struct ReloadableKeys {
    current: std::sync::RwLock<Arc<VerificationKeys>>,
}

impl ReloadableKeys {
    /// A source holding `keys`.
    pub fn new(keys: VerificationKeys) -> Self {
        Self {
            current: std::sync::RwLock::new(Arc::new(keys)),
        }
    }

    /// Replace every key at once.
    pub fn replace(&self, keys: VerificationKeys) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
    }

    /// The keys now.
    pub fn current(&self) -> Arc<VerificationKeys> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl KeySource for ReloadableKeys {
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<VerifyingKey>, VerifyError> {
        let keys = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.find(kid, alg)
    }
}

impl<S: KeySource + ?Sized> KeySource for Arc<S> {
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<VerifyingKey>, VerifyError> {
        (**self).find(kid, alg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 A.1's public key.
    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn jwks_with_copies(copies: usize) -> Vec<u8> {
        let mut keys = vec![format!(
            r#"{{"kty":"OKP","crv":"Ed25519","kid":"other","x":"{X}"}}"#
        )];
        let copy = format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"dup","x":"{X}"}}"#);
        keys.extend(std::iter::repeat_n(copy, copies));
        format!(r#"{{"keys":[{}]}}"#, keys.join(",")).into_bytes()
    }

    #[test]
    fn a_kid_shared_by_any_number_of_keys_is_trusted_for_none_and_each_is_reported() {
        // Found by the `jwk_import` fuzz target: with three keys under one kid, the first
        // two cancelled out and the third was trusted; with two, the first was dropped
        // without being reported.
        for copies in 2..=4 {
            let (keys, skipped) =
                VerificationKeys::from_jwks_json(&jwks_with_copies(copies)).unwrap();
            assert_eq!(keys.len(), 1, "{copies} copies");
            assert_eq!(
                keys.find(Some("dup"), Algorithm::EdDSA).unwrap_err(),
                VerifyError::UnknownKey
            );
            let indices: Vec<usize> = skipped.iter().map(|s| s.index).collect();
            assert_eq!(indices, (1..=copies).collect::<Vec<_>>());
            assert!(skipped
                .iter()
                .all(|s| s.reason == KeyRejected::DuplicateKid));
        }
    }

    #[test]
    fn a_set_read_for_verification_takes_public_keys_only() {
        let public = format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"k","x":"{X}"}}"#);
        let (keys, skipped) =
            VerificationKeys::from_jwks_json(format!(r#"{{"keys":[{public}]}}"#).as_bytes())
                .unwrap();
        assert_eq!((keys.len(), skipped.len()), (1, 0));
        // Each private member on its own, whatever its value, is enough to refuse the key.
        for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            let leaked = format!(
                r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"k","x":"{X}","{member}":"AAAA"}}]}}"#
            );
            let (keys, skipped) = VerificationKeys::from_jwks_json(leaked.as_bytes()).unwrap();
            assert!(keys.is_empty(), "{member}");
            let reason = KeyRejected::PrivateKeyInPublicSet(member);
            assert_eq!(skipped[0].reason, reason, "{member}");
            assert!(!skipped[0].to_string().contains("AAAA"));
            assert_eq!(
                keys.find(Some("k"), Algorithm::EdDSA).unwrap_err(),
                VerifyError::UnknownKey
            );
        }
        let oct = r#"{"keys":[{"kty":"oct","alg":"HS256","kid":"s","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}]}"#;
        let (keys, skipped) = VerificationKeys::from_jwks_json(oct.as_bytes()).unwrap();
        assert!(keys.is_empty());
        assert_eq!(skipped[0].reason, KeyRejected::SecretKeyInPublicSet);
    }
}
