//! The JWS algorithms gatepass knows, and the ring primitive behind each.

use std::fmt;

/// A JWS signature algorithm (RFC 7518 §3, RFC 8037 §3.1).
///
/// A key is built for exactly one algorithm and carries it; a token's header `alg` is only
/// ever *compared* with the key's, never used to choose how to verify. `none` is not a value
/// of this type, so it cannot be configured by accident.
///
/// ```
/// use gatepass::Algorithm;
/// assert_eq!(Algorithm::from_name("EdDSA"), Some(Algorithm::EdDSA));
/// assert_eq!(Algorithm::from_name("none"), None);
/// assert!(Algorithm::HS256.can_sign());
/// assert!(!Algorithm::RS256.can_sign());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 (RFC 8037). Signs and verifies.
    EdDSA,
    /// ECDSA P-256 with SHA-256, fixed-length `r || s` signatures. Signs and verifies.
    ES256,
    /// ECDSA P-384 with SHA-384, fixed-length `r || s` signatures. Signs and verifies.
    ES384,
    /// HMAC with SHA-256. Signs and verifies.
    HS256,
    /// HMAC with SHA-384. Signs and verifies.
    HS384,
    /// HMAC with SHA-512. Signs and verifies.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256. Verify only.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384. Verify only.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512. Verify only.
    RS512,
    /// RSASSA-PSS with SHA-256. Verify only.
    PS256,
    /// RSASSA-PSS with SHA-384. Verify only.
    PS384,
    /// RSASSA-PSS with SHA-512. Verify only.
    PS512,
}

/// Algorithms that share key material and rotation: at most one active key per family.
///
/// ```
/// use gatepass::{Algorithm, AlgorithmFamily};
/// assert_eq!(Algorithm::HS384.family(), AlgorithmFamily::Hmac);
/// assert_eq!(AlgorithmFamily::Ecdsa.as_str(), "ecdsa");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AlgorithmFamily {
    /// Ed25519.
    EdDSA,
    /// ECDSA on P-256 and P-384.
    Ecdsa,
    /// HMAC-SHA2.
    Hmac,
    /// RSA (verify only).
    Rsa,
}

impl AlgorithmFamily {
    /// The family's lowercase name, as used in messages and `keys list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "eddsa",
            Self::Ecdsa => "ecdsa",
            Self::Hmac => "hmac",
            Self::Rsa => "rsa",
        }
    }
}

impl fmt::Display for AlgorithmFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Algorithm {
    /// Every algorithm, in the order gatepass prefers a default signing key:
    /// asymmetric (publishable) first, then HMAC.
    pub const ALL: [Algorithm; 12] = [
        Self::EdDSA,
        Self::ES256,
        Self::ES384,
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
    ];

    /// The algorithms gatepass can sign with.
    pub const SIGNING: [Algorithm; 6] = [
        Self::EdDSA,
        Self::ES256,
        Self::ES384,
        Self::HS256,
        Self::HS384,
        Self::HS512,
    ];

    /// The JOSE name (`"HS256"`, `"EdDSA"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
        }
    }

    /// Parse a JOSE algorithm name, exactly and case-sensitively (RFC 7515 §4.1.1).
    /// Returns `None` for `none` and for anything unknown.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    /// The family this algorithm belongs to.
    pub fn family(self) -> AlgorithmFamily {
        match self {
            Self::EdDSA => AlgorithmFamily::EdDSA,
            Self::ES256 | Self::ES384 => AlgorithmFamily::Ecdsa,
            Self::HS256 | Self::HS384 | Self::HS512 => AlgorithmFamily::Hmac,
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                AlgorithmFamily::Rsa
            }
        }
    }

    /// Whether gatepass can sign with this algorithm (RSA is verify-only).
    pub fn can_sign(self) -> bool {
        self.family() != AlgorithmFamily::Rsa
    }

    /// Whether keys of this algorithm are secret (HMAC) and so never published.
    pub fn is_symmetric(self) -> bool {
        self.family() == AlgorithmFamily::Hmac
    }

    /// The shortest HMAC secret accepted: the hash output size (RFC 7518 §3.2).
    pub(crate) fn min_hmac_len(self) -> usize {
        match self {
            Self::HS384 => 48,
            Self::HS512 => 64,
            _ => 32,
        }
    }

    /// The same algorithm as jsonwebtoken's serde type.
    pub fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Self::EdDSA => J::EdDSA,
            Self::ES256 => J::ES256,
            Self::ES384 => J::ES384,
            Self::HS256 => J::HS256,
            Self::HS384 => J::HS384,
            Self::HS512 => J::HS512,
            Self::RS256 => J::RS256,
            Self::RS384 => J::RS384,
            Self::RS512 => J::RS512,
            Self::PS256 => J::PS256,
            Self::PS384 => J::PS384,
            Self::PS512 => J::PS512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|a| a.as_str()).collect();
            format!(
                "unknown algorithm {s:?}; expected one of {}",
                names.join(", ")
            )
        })
    }
}

/// A small set of algorithms, used for the verifier's allow-list.
///
/// ```
/// use gatepass::{Algorithm, AlgorithmSet};
/// let set = AlgorithmSet::from_iter([Algorithm::EdDSA, Algorithm::ES256]);
/// assert!(set.contains(Algorithm::EdDSA));
/// assert!(!set.contains(Algorithm::HS256));
/// assert!(AlgorithmSet::all().contains(Algorithm::PS512));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// Every algorithm gatepass supports.
    pub fn all() -> Self {
        Self::from_iter(Algorithm::ALL)
    }

    /// The empty set.
    pub fn empty() -> Self {
        Self(0)
    }

    fn bit(alg: Algorithm) -> u16 {
        let index = Algorithm::ALL.iter().position(|a| *a == alg).unwrap_or(0);
        1 << index
    }

    /// Add an algorithm.
    pub fn insert(&mut self, alg: Algorithm) {
        self.0 |= Self::bit(alg);
    }

    /// Whether `alg` is in the set.
    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & Self::bit(alg) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in the set, in [`Algorithm::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = Self::empty();
        for alg in iter {
            set.insert(alg);
        }
        set
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_not_an_algorithm() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.as_str()), Some(alg));
            assert_eq!(
                serde_json::to_value(alg.to_jsonwebtoken()).unwrap(),
                alg.as_str()
            );
        }
        for bad in ["none", "None", "NONE", "nOnE", "hs256", "ES512", ""] {
            assert_eq!(Algorithm::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn set_holds_exactly_what_was_inserted() {
        let set = AlgorithmSet::from_iter([Algorithm::HS512, Algorithm::PS256]);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Algorithm::HS512, Algorithm::PS256]
        );
        assert!(AlgorithmSet::empty().is_empty());
    }
}
