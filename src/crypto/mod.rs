//! Everything that touches key material or randomness, on ring.
//!
//! This layer knows algorithms, keys and bytes, nothing of tokens or sessions. ECDSA uses
//! ring's `*_FIXED` (JOSE `r || s`) algorithms; HMAC tags are compared in constant time by
//! `ring::hmac::verify`.

mod algorithm;
pub(crate) mod der;
pub(crate) mod digest;
mod points;
mod primitive;
pub(crate) mod random;
pub(crate) mod seal;

pub use algorithm::{Algorithm, AlgorithmFamily, AlgorithmSet};
pub(crate) use primitive::{Curve, KeyMaterial, SignPrimitive, VerifyPrimitive};
