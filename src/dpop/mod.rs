//! DPoP (RFC 9449): proofs of possession of a key, sent with each request, to which
//! tokens are bound.
//!
//! The server side checks a proof against its request ([`DpopVerifier`]), refuses its
//! replay ([`ReplayCache`], [`check_replay`]) and checks that an access token's `cnf.jkt`
//! names the proof's key ([`VerifiedProof::check_binding`]). The client side makes proofs
//! ([`DpopKey`]). Proofs are parsed by the same strict JWS parser as tokens.

mod binding;
mod error;
mod proof;
mod replay;
#[cfg(test)]
mod tests;
mod uri;
mod verify;

pub use binding::{access_token_hash, confirmation_claim, confirmation_jkt};
pub use error::{DpopClaim, DpopError, DpopErrorCode};
pub use proof::{DpopKey, DpopProofBuilder};
pub use replay::check_replay;
/// For the `dpop_proof` fuzz target's normalisation properties.
#[cfg(feature = "fuzzing")]
pub(crate) use uri::normalize as normalize_uri;
pub use verify::{
    single_proof, DpopVerifier, DpopVerifierBuilder, NonceCheck, VerifiedProof,
    DEFAULT_DPOP_LEEWAY, DEFAULT_DPOP_WINDOW, MAX_JTI_BYTES,
};
