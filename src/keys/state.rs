//! [`KeyState`]: where a key is in its life, as the keyset file records it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a key is in its life (docs/REFERENCE.md §4).
///
/// ```text
/// pending ──activate──▶ active ──(next key activated / retire)──▶ retiring ──remove──▶ (gone)
///    └──────────────────────────── revoke (from any state) ──────────────▶ revoked
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KeyState {
    /// Published in the JWKS so caches learn it, but not signing yet.
    Pending,
    /// Signs new tokens and verifies.
    Active,
    /// Verifies tokens it signed earlier; signs nothing new.
    Retiring,
    /// Neither signs nor verifies, and is not published: a compromised key.
    Revoked,
}

impl KeyState {
    /// The lowercase name used in the keyset file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Retiring => "retiring",
            Self::Revoked => "revoked",
        }
    }

    /// Whether a key in this state verifies tokens.
    pub fn verifies(self) -> bool {
        matches!(self, Self::Active | Self::Retiring)
    }

    /// Whether a key in this state appears in the public JWK Set.
    pub fn is_published(self) -> bool {
        matches!(self, Self::Pending | Self::Active | Self::Retiring)
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for KeyState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(Self::Pending),
            "active" => Ok(Self::Active),
            "retiring" => Ok(Self::Retiring),
            "revoked" => Ok(Self::Revoked),
            _ => Err(format!("unknown key state {s:?}")),
        }
    }
}
