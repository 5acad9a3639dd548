//! The keyset: every key an issuer holds, with its rotation state (docs/REFERENCE.md §4).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::jwk::{self, split_key_array, JwkMembers};
use super::key::SigningKey;
use super::source::VerificationKeys;
use super::state::KeyState;
use super::KeysetError;
use crate::clock::UnixTime;
use crate::crypto::{Algorithm, AlgorithmFamily};

/// One key of a [`Keyset`] with its state and dates.
#[derive(Clone, Debug)]
pub struct KeyEntry {
    key: Arc<SigningKey>,
    state: KeyState,
    created_at: Option<UnixTime>,
    activated_at: Option<UnixTime>,
    retired_at: Option<UnixTime>,
    extra: BTreeMap<String, Value>,
}

impl KeyEntry {
    /// The key.
    pub fn key(&self) -> &Arc<SigningKey> {
        &self.key
    }

    /// The key's id.
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The key's algorithm.
    pub fn alg(&self) -> Algorithm {
        self.key.alg()
    }

    /// The key's rotation state.
    pub fn state(&self) -> KeyState {
        self.state
    }

    /// When the key was created (unix seconds), if recorded.
    pub fn created_at(&self) -> Option<UnixTime> {
        self.created_at
    }

    /// When the key last became active.
    pub fn activated_at(&self) -> Option<UnixTime> {
        self.activated_at
    }

    /// When the key stopped signing (retired or revoked).
    pub fn retired_at(&self) -> Option<UnixTime> {
        self.retired_at
    }

    fn to_members(&self) -> JwkMembers {
        let mut members = self.key.to_members();
        members.state = Some(self.state);
        members.created_at = self.created_at;
        members.activated_at = self.activated_at;
        members.retired_at = self.retired_at;
        members.extra = self.extra.clone();
        members
    }
}

/// How to pick the key that signs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySelector {
    /// The active key of the most preferred family present: EdDSA, then ECDSA, then HMAC
    /// (publishable keys first). Deterministic, and stable across rotations.
    #[default]
    Preferred,
    /// The active key for this algorithm's family, which must be of this algorithm.
    Algorithm(Algorithm),
    /// This key, which must be active.
    Kid(String),
}

/// Options for [`Keyset::generate`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct GenerateOptions {
    /// The `kid`; the RFC 7638 thumbprint when `None`.
    pub kid: Option<String>,
    /// The initial state: `Active` when `None` and the family has no active key, else
    /// `Pending`. Asking for `Active` retires the family's current active key.
    pub state: Option<KeyState>,
}

impl GenerateOptions {
    /// Options with a chosen kid.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Options with a chosen initial state.
    pub fn state(mut self, state: KeyState) -> Self {
        self.state = Some(state);
        self
    }
}

/// Every key an issuer holds, each with its rotation state.
///
/// The invariants hold for every value of this type: `kid`s are unique, every key is
/// valid for its algorithm, and each algorithm family has at most one active key.
///
/// ```
/// use gatepass::{Algorithm, GenerateOptions, KeyState, Keyset};
/// let mut keyset = Keyset::new();
/// let first = keyset.generate(Algorithm::EdDSA, GenerateOptions::default(), 1_700_000_000)?;
/// assert_eq!(keyset.get(&first).unwrap().state(), KeyState::Active);
/// let next = keyset.generate(Algorithm::EdDSA, GenerateOptions::default(), 1_700_000_100)?;
/// assert_eq!(keyset.get(&next).unwrap().state(), KeyState::Pending);
/// keyset.activate(&next, 1_700_000_200)?;
/// assert_eq!(keyset.get(&first).unwrap().state(), KeyState::Retiring);
/// let reloaded = gatepass::Keyset::from_json(&keyset.to_json())?;
/// assert_eq!(reloaded.len(), 2);
/// # Ok::<(), gatepass::KeysetError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Keyset {
    entries: Vec<KeyEntry>,
    extra: Map<String, Value>,
}

impl Keyset {
    /// An empty keyset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse and validate a keyset document (docs/REFERENCE.md §4). A refused key, a duplicate
    /// `kid`, or two active keys in one family make the whole keyset invalid.
    pub fn from_json(bytes: &[u8]) -> Result<Self, KeysetError> {
        let (raw_entries, extra) = split_key_array(bytes)?;
        let mut keyset = Self {
            entries: Vec::with_capacity(raw_entries.len()),
            extra,
        };
        for (index, raw) in raw_entries.into_iter().enumerate() {
            let label = raw
                .get("kid")
                .and_then(Value::as_str)
                .map_or_else(|| format!("#{index}"), str::to_owned);
            let members = jwk::members_from_value(raw)
                .map_err(|why| KeysetError::Format(format!("key {label}: {why}")))?;
            let entry = Self::entry_from_members(members, &label)?;
            if keyset.get(entry.kid()).is_some() {
                return Err(KeysetError::DuplicateKid(entry.kid().to_owned()));
            }
            keyset.entries.push(entry);
        }
        keyset.check_one_active_per_family()?;
        Ok(keyset)
    }

    fn entry_from_members(mut members: JwkMembers, label: &str) -> Result<KeyEntry, KeysetError> {
        let kid = match members.kid.as_deref() {
            Some("") | None => {
                return Err(KeysetError::Format(format!(
                    "key {label}: a non-empty \"kid\" is required"
                )))
            }
            Some(kid) => kid.to_owned(),
        };
        let state = members
            .state
            .ok_or_else(|| KeysetError::Format(format!("key {label}: no \"state\"")))?;
        let key = SigningKey::from_members(&members).map_err(|reason| KeysetError::Key {
            kid: kid.clone(),
            reason,
        })?;
        // Keep whatever else the entry carried, minus the private members that only the
        // key itself may write back.
        let mut extra = std::mem::take(&mut members.extra);
        extra.retain(|name, _| !matches!(name.as_str(), "p" | "q" | "dp" | "dq" | "qi" | "oth"));
        Ok(KeyEntry {
            key: Arc::new(key),
            state,
            created_at: members.created_at,
            activated_at: members.activated_at,
            retired_at: members.retired_at,
            extra,
        })
    }

    fn check_one_active_per_family(&self) -> Result<(), KeysetError> {
        let mut seen: Vec<AlgorithmFamily> = Vec::new();
        for entry in self.entries.iter().filter(|e| e.state == KeyState::Active) {
            let family = entry.alg().family();
            if seen.contains(&family) {
                return Err(KeysetError::SeveralActive {
                    family: family.as_str(),
                });
            }
            seen.push(family);
        }
        Ok(())
    }

    /// The keyset document, pretty-printed JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let keys: Vec<Value> = self
            .entries
            .iter()
            .map(|entry| serde_json::to_value(entry.to_members()).unwrap_or(Value::Null))
            .collect();
        let mut top = self.extra.clone();
        top.insert("keys".into(), Value::Array(keys));
        let mut out = serde_json::to_vec_pretty(&Value::Object(top)).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// How many keys the keyset holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the keyset is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&KeyEntry> {
        self.entries.iter().find(|e| e.kid() == kid)
    }

    fn get_mut(&mut self, kid: &str) -> Result<&mut KeyEntry, KeysetError> {
        self.entries
            .iter_mut()
            .find(|e| e.kid() == kid)
            .ok_or_else(|| KeysetError::NoSuchKey(kid.to_owned()))
    }

    /// The active key of `family`, if any.
    pub fn active(&self, family: AlgorithmFamily) -> Option<&KeyEntry> {
        self.entries
            .iter()
            .find(|e| e.state == KeyState::Active && e.alg().family() == family)
    }

    /// Add a freshly generated key and return its `kid`.
    pub fn generate(
        &mut self,
        alg: Algorithm,
        options: GenerateOptions,
        now: UnixTime,
    ) -> Result<String, KeysetError> {
        let key = SigningKey::generate_with_kid(alg, options.kid.as_deref()).map_err(|reason| {
            KeysetError::Key {
                kid: options.kid.clone().unwrap_or_default(),
                reason,
            }
        })?;
        if key.kid().is_empty() {
            return Err(KeysetError::Format("a kid must not be empty".into()));
        }
        self.insert(key, options.state, now)
    }

    /// Add an existing key (for example one imported from a JWK) and return its `kid`.
    /// The initial state follows the same rule as [`generate`](Self::generate).
    pub fn insert(
        &mut self,
        key: SigningKey,
        state: Option<KeyState>,
        now: UnixTime,
    ) -> Result<String, KeysetError> {
        if self.get(key.kid()).is_some() {
            return Err(KeysetError::DuplicateKid(key.kid().to_owned()));
        }
        let family = key.alg().family();
        let state = state.unwrap_or(if self.active(family).is_some() {
            KeyState::Pending
        } else {
            KeyState::Active
        });
        let kid = key.kid().to_owned();
        self.entries.push(KeyEntry {
            key: Arc::new(key),
            state: KeyState::Pending,
            created_at: Some(now),
            activated_at: None,
            retired_at: None,
            extra: BTreeMap::new(),
        });
        match state {
            KeyState::Pending => {}
            KeyState::Active => self.activate(&kid, now)?,
            KeyState::Retiring => self.retire(&kid, now)?,
            KeyState::Revoked => self.revoke(&kid, now)?,
        }
        Ok(kid)
    }

    /// Make `kid` the active key of its family; the family's previous active key becomes
    /// retiring. Activating the active key is a no-op; a revoked key cannot come back.
    pub fn activate(&mut self, kid: &str, now: UnixTime) -> Result<(), KeysetError> {
        let entry = self.get_mut(kid)?;
        match entry.state {
            KeyState::Active => return Ok(()),
            KeyState::Revoked => {
                return Err(KeysetError::Transition {
                    kid: kid.to_owned(),
                    reason: "a revoked key cannot be activated again; generate a new one".into(),
                })
            }
            KeyState::Pending | KeyState::Retiring => {}
        }
        let family = entry.alg().family();
        for other in &mut self.entries {
            if other.state == KeyState::Active && other.alg().family() == family {
                other.state = KeyState::Retiring;
                other.retired_at = Some(now);
            }
        }
        let entry = self.get_mut(kid)?;
        entry.state = KeyState::Active;
        entry.activated_at = Some(now);
        entry.retired_at = None;
        Ok(())
    }

    /// Stop `kid` from signing while it still verifies. Its family is left without an
    /// active key until another is activated.
    pub fn retire(&mut self, kid: &str, now: UnixTime) -> Result<(), KeysetError> {
        let entry = self.get_mut(kid)?;
        match entry.state {
            KeyState::Retiring => Ok(()),
            KeyState::Revoked => Err(KeysetError::Transition {
                kid: kid.to_owned(),
                reason: "the key is revoked; it cannot become retiring".into(),
            }),
            KeyState::Pending | KeyState::Active => {
                entry.state = KeyState::Retiring;
                entry.retired_at = Some(now);
                Ok(())
            }
        }
    }

    /// Stop `kid` from verifying now (a compromised key). Idempotent.
    pub fn revoke(&mut self, kid: &str, now: UnixTime) -> Result<(), KeysetError> {
        let entry = self.get_mut(kid)?;
        if entry.state != KeyState::Revoked {
            entry.state = KeyState::Revoked;
            entry.retired_at.get_or_insert(now);
        }
        Ok(())
    }

    /// Delete `kid`. An active key cannot be removed: retire or revoke it first, so a
    /// family never loses its signing key by accident.
    pub fn remove(&mut self, kid: &str) -> Result<(), KeysetError> {
        let entry = self.get_mut(kid)?;
        if entry.state == KeyState::Active {
            return Err(KeysetError::Transition {
                kid: kid.to_owned(),
                reason: "the key is active; retire or revoke it before removing it".into(),
            });
        }
        self.entries.retain(|e| e.kid() != kid);
        Ok(())
    }

    /// The key that signs, chosen by `selector`.
    ///
    /// ```
    /// use gatepass::{Algorithm, GenerateOptions, KeySelector, Keyset};
    /// let mut keyset = Keyset::new();
    /// keyset.generate(Algorithm::HS256, GenerateOptions::default(), 0)?;
    /// keyset.generate(Algorithm::ES256, GenerateOptions::default(), 0)?;
    /// assert_eq!(keyset.signing_key(&KeySelector::Preferred)?.alg(), Algorithm::ES256);
    /// assert_eq!(keyset.signing_key(&KeySelector::Algorithm(Algorithm::HS256))?.alg(), Algorithm::HS256);
    /// # Ok::<(), gatepass::KeysetError>(())
    /// ```
    pub fn signing_key(&self, selector: &KeySelector) -> Result<Arc<SigningKey>, KeysetError> {
        let active = |e: &&KeyEntry| e.state == KeyState::Active;
        let found = match selector {
            KeySelector::Preferred => Algorithm::SIGNING
                .iter()
                .find_map(|alg| self.entries.iter().filter(active).find(|e| e.alg() == *alg)),
            KeySelector::Algorithm(alg) => {
                self.entries.iter().filter(active).find(|e| e.alg() == *alg)
            }
            KeySelector::Kid(kid) => self.entries.iter().filter(active).find(|e| e.kid() == kid),
        };
        found.map(|e| Arc::clone(&e.key)).ok_or_else(|| {
            KeysetError::NoSigningKey(match selector {
                KeySelector::Preferred => "in the keyset".to_owned(),
                KeySelector::Algorithm(alg) => format!("for {alg}"),
                KeySelector::Kid(kid) => format!("with kid {kid:?} (it must exist and be active)"),
            })
        })
    }

    /// The keys that verify: active and retiring ones. Pending and revoked keys are left
    /// out, so a token naming one gets `unknown_key`.
    pub fn verification_keys(&self) -> VerificationKeys {
        VerificationKeys::new(
            self.entries
                .iter()
                .filter(|e| e.state.verifies())
                .map(|e| e.key.verifying_key().clone()),
        )
    }

    /// The public JWKs of the published keys (pending, active, retiring), never HMAC
    /// keys and never private members.
    pub fn public_jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        jsonwebtoken::jwk::JwkSet {
            keys: self
                .entries
                .iter()
                .filter(|e| e.state.is_published())
                .filter_map(|e| e.key.verifying_key().to_public_jwk())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyset_with(alg: Algorithm) -> (Keyset, String) {
        let mut keyset = Keyset::new();
        let kid = keyset
            .generate(alg, GenerateOptions::default(), 100)
            .unwrap();
        (keyset, kid)
    }

    #[test]
    fn first_key_of_a_family_is_active_later_ones_pending() {
        let (mut keyset, first) = keyset_with(Algorithm::HS256);
        let second = keyset
            .generate(Algorithm::HS512, GenerateOptions::default(), 200)
            .unwrap();
        let other_family = keyset
            .generate(Algorithm::EdDSA, GenerateOptions::default(), 200)
            .unwrap();
        assert_eq!(keyset.get(&first).unwrap().state(), KeyState::Active);
        assert_eq!(keyset.get(&second).unwrap().state(), KeyState::Pending);
        assert_eq!(keyset.get(&other_family).unwrap().state(), KeyState::Active);
    }

    #[test]
    fn two_active_keys_in_one_family_make_the_file_invalid() {
        let (keyset, _) = keyset_with(Algorithm::ES256);
        let mut doc: Value = serde_json::from_slice(&keyset.to_json()).unwrap();
        let mut second = Keyset::new();
        second
            .generate(Algorithm::ES384, GenerateOptions::default(), 0)
            .unwrap();
        let extra: Value = serde_json::from_slice(&second.to_json()).unwrap();
        doc["keys"]
            .as_array_mut()
            .unwrap()
            .push(extra["keys"][0].clone());
        let err = Keyset::from_json(doc.to_string().as_bytes()).unwrap_err();
        assert_eq!(err, KeysetError::SeveralActive { family: "ecdsa" });
    }

    #[test]
    fn duplicate_kids_make_the_file_invalid() {
        let (keyset, kid) = keyset_with(Algorithm::HS256);
        let mut doc: Value = serde_json::from_slice(&keyset.to_json()).unwrap();
        let mut copy = doc["keys"][0].clone();
        copy["state"] = "pending".into();
        doc["keys"].as_array_mut().unwrap().push(copy);
        assert_eq!(
            Keyset::from_json(doc.to_string().as_bytes()).unwrap_err(),
            KeysetError::DuplicateKid(kid)
        );
    }

    #[test]
    fn revoked_is_terminal_and_active_cannot_be_removed() {
        let (mut keyset, kid) = keyset_with(Algorithm::EdDSA);
        assert!(matches!(
            keyset.remove(&kid),
            Err(KeysetError::Transition { .. })
        ));
        keyset.revoke(&kid, 300).unwrap();
        assert!(matches!(
            keyset.activate(&kid, 400),
            Err(KeysetError::Transition { .. })
        ));
        assert_eq!(keyset.get(&kid).unwrap().retired_at(), Some(300));
        keyset.remove(&kid).unwrap();
        assert!(keyset.is_empty());
    }

    #[test]
    fn unknown_members_survive_a_round_trip() {
        let (keyset, _) = keyset_with(Algorithm::ES256);
        let mut doc: Value = serde_json::from_slice(&keyset.to_json()).unwrap();
        doc["keys"][0]["note"] = "rotated by ops".into();
        doc["comment"] = "top-level too".into();
        let reloaded = Keyset::from_json(doc.to_string().as_bytes()).unwrap();
        let again: Value = serde_json::from_slice(&reloaded.to_json()).unwrap();
        assert_eq!(again, doc);
    }

    #[test]
    fn published_keys_exclude_hmac_and_revoked() {
        let mut keyset = Keyset::new();
        keyset
            .generate(Algorithm::HS256, GenerateOptions::default(), 0)
            .unwrap();
        let ed = keyset
            .generate(Algorithm::EdDSA, GenerateOptions::default(), 0)
            .unwrap();
        let pending = keyset
            .generate(Algorithm::EdDSA, GenerateOptions::default(), 0)
            .unwrap();
        assert_eq!(keyset.public_jwks().keys.len(), 2);
        keyset.revoke(&pending, 1).unwrap();
        let jwks = keyset.public_jwks();
        assert_eq!(jwks.keys.len(), 1);
        assert_eq!(jwks.keys[0].common.key_id.as_deref(), Some(ed.as_str()));
        let text = serde_json::to_string(&jwks).unwrap();
        assert!(!text.contains("\"d\""));
    }
}
