//! [`KeysetError`]: the keys layer's boundary error (loading, changing and saving a
//! keyset). It sits with the module that owns it, which imports no error from above.

use std::fmt;

use super::RotationRefused;
use crate::error::KeyRejected;

/// Why a keyset could not be loaded, changed or saved.
///
/// ```
/// use gatepass::{Keyset, KeysetError};
/// let err = Keyset::from_json(br#"{"keys": 3}"#).unwrap_err();
/// assert!(matches!(err, KeysetError::Format(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeysetError {
    /// Reading, writing or locking the file failed.
    Io {
        /// What was being done (`"read"`, `"write"`, `"lock"`, ...).
        action: &'static str,
        /// The operating system's message.
        message: String,
    },
    /// The file is not a JSON object `{"keys": [...]}` of well-formed entries.
    Format(String),
    /// An entry holds a key that is refused.
    Key {
        /// The entry's `kid` (or its position when it has none).
        kid: String,
        /// Why the key was refused.
        reason: KeyRejected,
    },
    /// Two entries share a `kid`.
    DuplicateKid(String),
    /// More than one key of an algorithm family is active.
    SeveralActive {
        /// The family (`hmac`, `ecdsa`, `eddsa`).
        family: &'static str,
    },
    /// No key with this `kid`.
    NoSuchKey(String),
    /// A state change that the key's current state does not allow.
    Transition {
        /// The key.
        kid: String,
        /// Why not.
        reason: String,
    },
    /// No active key can sign (for the requested algorithm or kid).
    NoSigningKey(String),
    /// A rotation step or policy was refused: it would strand live tokens or sign with a
    /// key that has not been published long enough, or the keyset lacks the dates to tell.
    Rotation(RotationRefused),
}

impl fmt::Display for KeysetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { action, message } => write!(f, "keyset {action} failed: {message}"),
            Self::Format(why) => write!(f, "invalid keyset: {why}"),
            Self::Key { kid, reason } => write!(f, "invalid keyset: key {kid:?}: {reason}"),
            Self::DuplicateKid(kid) => write!(f, "invalid keyset: duplicate kid {kid:?}"),
            Self::SeveralActive { family } => write!(
                f,
                "invalid keyset: more than one active key in the {family} family"
            ),
            Self::NoSuchKey(kid) => write!(f, "no key with kid {kid:?} in the keyset"),
            Self::Transition { kid, reason } => write!(f, "key {kid:?}: {reason}"),
            Self::NoSigningKey(what) => write!(f, "no active signing key {what}"),
            Self::Rotation(why) => write!(f, "rotation refused: {why}"),
        }
    }
}

impl std::error::Error for KeysetError {}
