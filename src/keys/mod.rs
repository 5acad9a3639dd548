//! Keys: parse, validate, generate and store them (docs/REFERENCE.md §5).
//!
//! This is the only module that reads a keyset file. Every key is validated at import
//! with a precise reason ([`KeyRejected`](crate::KeyRejected)); after that a key is a
//! prepared ring object bound to one algorithm.

mod error;
mod file;
pub(crate) mod jwk;
mod key;
mod keyset;
mod pem;
mod rotation;
mod source;
mod state;

pub use crate::crypto::{Algorithm, AlgorithmFamily, AlgorithmSet};
pub use error::KeysetError;
pub use key::{SigningKey, VerifyingKey};
pub use keyset::{GenerateOptions, KeyEntry, KeySelector, Keyset};
pub use rotation::{RotatedKey, RotationPolicy, RotationRefused, RotationReport, ScheduledKey};
pub use source::{KeySource, ReloadableKeys, SkippedKey, VerificationKeys};
pub use state::KeyState;
