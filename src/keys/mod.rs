//! Keys: parse, validate, generate and store them (docs/REFERENCE.md §5).
//!
//! This is the only module that reads a keyset file. Every key is validated at import
//! with a precise reason ([`KeyRejected`](crate::KeyRejected)); after that a key is a
//! prepared ring object bound to one algorithm.

mod file;
pub(crate) mod jwk;
mod key;
mod keyset;
mod pem;
mod rotation;
mod source;

pub use crate::crypto::{Algorithm, AlgorithmFamily, AlgorithmSet};
pub use key::{SigningKey, VerifyingKey};
pub use keyset::{GenerateOptions, KeyEntry, KeySelector, KeyState, Keyset};
pub use rotation::{RotatedKey, RotationPolicy, RotationRefused, RotationReport, ScheduledKey};
pub use source::{KeySource, ReloadableKeys, SkippedKey, VerificationKeys};
