//! Why a DPoP proof (RFC 9449) was refused, or could not be made.
//!
//! One enum for the whole DPoP boundary, so tests assert exact variants and an HTTP
//! adapter maps each to its RFC 9449 §7.1 error code with [`DpopError::error_code`].
//! Like [`VerifyError`](crate::VerifyError), no variant carries the proof, a token, a key
//! or a claim value: only names.

use std::fmt;

use crate::error::{KeyRejected, Malformed, TooLarge};
use crate::revocation::ReplayCacheError;

/// A claim of a DPoP proof (RFC 9449 §4.2), named in [`DpopError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopClaim {
    /// `jti`: the proof's unique id.
    Jti,
    /// `htm`: the HTTP method of the request.
    Htm,
    /// `htu`: the HTTP URI of the request, without query and fragment.
    Htu,
    /// `iat`: when the proof was made, unix seconds.
    Iat,
    /// `ath`: base64url SHA-256 of the access token.
    Ath,
    /// `nonce`: a value the server provided.
    Nonce,
}

impl DpopClaim {
    /// The claim's JSON member name.
    ///
    /// ```
    /// assert_eq!(gatepass::DpopClaim::Htu.name(), "htu");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Jti => "jti",
            Self::Htm => "htm",
            Self::Htu => "htu",
            Self::Iat => "iat",
            Self::Ath => "ath",
            Self::Nonce => "nonce",
        }
    }
}

impl fmt::Display for DpopClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error code an HTTP server answers with (RFC 9449 §7.1, RFC 6750 §3.1).
///
/// ```
/// use gatepass::{DpopError, DpopErrorCode};
/// assert_eq!(DpopError::BadSignature.error_code(), DpopErrorCode::InvalidDpopProof);
/// assert_eq!(DpopError::NonceRequired.error_code().as_str(), "use_dpop_nonce");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopErrorCode {
    /// `invalid_dpop_proof`: the proof is missing, malformed, replayed or does not fit
    /// the request.
    InvalidDpopProof,
    /// `use_dpop_nonce`: the client must retry with the nonce the server provides in the
    /// `DPoP-Nonce` response header.
    UseDpopNonce,
    /// `invalid_token`: the proof is fine but the access token is not bound to its key.
    InvalidToken,
}

impl DpopErrorCode {
    /// The code as written in `WWW-Authenticate` and in JSON error bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidToken => "invalid_token",
        }
    }
}

impl fmt::Display for DpopErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a DPoP proof was refused, or could not be made. [`kind`](Self::kind) is a stable
/// machine-readable string; [`error_code`](Self::error_code) the RFC 9449 §7.1 code.
///
/// Checks run in a fixed order and the first failure is reported: size, structure, `typ`,
/// `alg`, `crit`, the `jwk` (present, public, importable, fitting `alg`), the signature,
/// then the claims (`jti`, `htm`, `htu`, `iat`, `nonce`, `ath`); no claim is looked at
/// before the signature verifies. Replay and token binding are separate steps.
///
/// ```
/// use gatepass::{DpopClaim, DpopError};
/// assert_eq!(DpopError::MethodMismatch.kind(), "htm_mismatch");
/// assert_eq!(DpopError::MissingClaim(DpopClaim::Jti).to_string(), "the DPoP proof has no \"jti\" claim");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopError {
    /// No proof, or more than one `DPoP` header field (RFC 9449 §4.3 point 1).
    NotExactlyOneProof,
    /// Not a well-formed compact JWS: see [`Malformed`].
    Malformed(Malformed),
    /// Over the length or nesting limits: see [`TooLarge`].
    TooLarge(TooLarge),
    /// A required header parameter (`typ`, `jwk`) is absent.
    MissingHeader(&'static str),
    /// The header `typ` is not `dpop+jwt` (nor `application/dpop+jwt`).
    WrongType,
    /// `alg` is `none`, unknown, symmetric (HMAC), RSA, or not allowed by the verifier.
    UnsupportedAlgorithm,
    /// The header has `crit`: no extension is understood here.
    UnsupportedCritical,
    /// The header `jwk` carries a private key member (`d`, `p`, `q`, `dp`, `dq`, `qi`,
    /// `oth`) or is a symmetric (`oct`) key. Only the member's name is kept.
    PrivateKeyInHeader(&'static str),
    /// The header `jwk` is not a usable public key: see [`KeyRejected`].
    InvalidKey(KeyRejected),
    /// The header `jwk`'s key type or curve does not fit `alg`.
    KeyAlgorithmMismatch,
    /// The signature does not verify with the header's key. Deliberately carries no detail.
    BadSignature,
    /// A required claim is absent.
    MissingClaim(DpopClaim),
    /// A claim is of the wrong JSON type or out of range (an `htu` that is not an
    /// absolute http(s) URI, a `jti` longer than 256 bytes, ...).
    InvalidClaim(DpopClaim),
    /// `htm` is not the request's method.
    MethodMismatch,
    /// `htu` is not the request's URI (compared normalised, without query and fragment).
    UriMismatch,
    /// The request URI given to the verifier is not an absolute http(s) URI: a server
    /// configuration fault, refused closed.
    InvalidRequestUri,
    /// `iat` is older than the verifier's window (plus leeway).
    IatTooOld,
    /// `iat` is further in the future than the verifier's window (plus leeway).
    IatInFuture,
    /// The verifier requires a server nonce and the proof has none.
    NonceRequired,
    /// The proof's nonce is not one the server accepts (unknown or stale).
    NonceInvalid,
    /// `ath` is not the hash of the access token presented, or is present with no access
    /// token.
    AthMismatch,
    /// This key has already used this `jti` within the proof's lifetime.
    Replayed,
    /// The replay cache could not vouch for the proof: see [`ReplayCacheError`].
    ReplayCache(ReplayCacheError),
    /// The access token has no `cnf.jkt` confirmation: it is not bound to any key.
    TokenNotBound,
    /// The access token's `cnf.jkt` is not the proof key's thumbprint.
    BindingMismatch,
    /// Making a proof failed: the system random number generator or the signer.
    ProofCreation,
}

impl DpopError {
    /// A stable machine-readable kind.
    ///
    /// ```
    /// use gatepass::DpopError;
    /// assert_eq!(DpopError::Replayed.kind(), "replayed");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotExactlyOneProof => "not_exactly_one_proof",
            Self::Malformed(_) => "malformed",
            Self::TooLarge(_) => "too_large",
            Self::MissingHeader(_) => "missing_header",
            Self::WrongType => "wrong_type",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnsupportedCritical => "unsupported_critical",
            Self::PrivateKeyInHeader(_) => "private_key",
            Self::InvalidKey(_) => "invalid_key",
            Self::KeyAlgorithmMismatch => "key_algorithm_mismatch",
            Self::BadSignature => "bad_signature",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim(_) => "invalid_claim",
            Self::MethodMismatch => "htm_mismatch",
            Self::UriMismatch => "htu_mismatch",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::IatTooOld => "iat_too_old",
            Self::IatInFuture => "iat_in_future",
            Self::NonceRequired => "nonce_required",
            Self::NonceInvalid => "nonce_invalid",
            Self::AthMismatch => "ath_mismatch",
            Self::Replayed => "replayed",
            Self::ReplayCache(ReplayCacheError::Full { .. }) => "replay_cache_full",
            Self::ReplayCache(ReplayCacheError::Unavailable(_)) => "replay_cache_unavailable",
            Self::TokenNotBound => "token_not_bound",
            Self::BindingMismatch => "binding_mismatch",
            Self::ProofCreation => "proof_creation",
        }
    }

    /// The RFC 9449 §7.1 error code to answer with: `use_dpop_nonce` for a missing or
    /// stale server nonce, `invalid_token` when the token is not bound to the proof's
    /// key (RFC 9449 §7.1's "Invalid DPoP key binding"), `invalid_dpop_proof` otherwise.
    pub fn error_code(&self) -> DpopErrorCode {
        match self {
            Self::NonceRequired | Self::NonceInvalid => DpopErrorCode::UseDpopNonce,
            Self::TokenNotBound | Self::BindingMismatch => DpopErrorCode::InvalidToken,
            _ => DpopErrorCode::InvalidDpopProof,
        }
    }
}

impl fmt::Display for DpopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotExactlyOneProof => {
                f.write_str("a request must carry exactly one DPoP proof")
            }
            Self::Malformed(why) => write!(f, "the DPoP proof is malformed: {why}"),
            Self::TooLarge(TooLarge::Length { max }) => {
                write!(f, "the DPoP proof is longer than {max} bytes")
            }
            Self::TooLarge(TooLarge::Depth { max }) => {
                write!(f, "the DPoP proof's JSON nests deeper than {max} levels")
            }
            Self::MissingHeader(name) => {
                write!(f, "the DPoP proof's header has no \"{name}\" parameter")
            }
            Self::WrongType => f.write_str("the DPoP proof's \"typ\" is not \"dpop+jwt\""),
            Self::UnsupportedAlgorithm => f.write_str(
                "the DPoP proof's \"alg\" is not an allowed asymmetric algorithm (EdDSA, ES256, ES384)",
            ),
            Self::UnsupportedCritical => {
                f.write_str("the DPoP proof's header names a critical extension")
            }
            Self::PrivateKeyInHeader(member) => write!(
                f,
                "the DPoP proof's \"jwk\" is not a public key (it has the member \"{member}\")"
            ),
            Self::InvalidKey(why) => write!(f, "the DPoP proof's \"jwk\" is refused: {why}"),
            Self::KeyAlgorithmMismatch => {
                f.write_str("the DPoP proof's \"jwk\" does not fit its \"alg\"")
            }
            Self::BadSignature => f.write_str("the DPoP proof's signature does not verify"),
            Self::MissingClaim(claim) => write!(f, "the DPoP proof has no \"{claim}\" claim"),
            Self::InvalidClaim(claim) => {
                write!(f, "the DPoP proof's \"{claim}\" claim is invalid")
            }
            Self::MethodMismatch => {
                f.write_str("the DPoP proof's \"htm\" is not the request's method")
            }
            Self::UriMismatch => f.write_str("the DPoP proof's \"htu\" is not the request's URI"),
            Self::InvalidRequestUri => {
                f.write_str("the request URI to check the DPoP proof against is not an absolute http(s) URI")
            }
            Self::IatTooOld => f.write_str("the DPoP proof was issued too long ago"),
            Self::IatInFuture => f.write_str("the DPoP proof was issued in the future"),
            Self::NonceRequired => f.write_str("the DPoP proof must carry the server's nonce"),
            Self::NonceInvalid => f.write_str("the DPoP proof's nonce is unknown or stale"),
            Self::AthMismatch => f.write_str(
                "the DPoP proof's \"ath\" is not the hash of the access token presented",
            ),
            Self::Replayed => f.write_str("the DPoP proof has been used before"),
            Self::ReplayCache(ReplayCacheError::Full { capacity }) => write!(
                f,
                "the DPoP replay cache is full ({capacity} unexpired proofs): proof refused"
            ),
            Self::ReplayCache(ReplayCacheError::Unavailable(why)) => {
                write!(f, "the DPoP replay cache is unavailable: {why}")
            }
            Self::TokenNotBound => {
                f.write_str("the access token is not bound to a DPoP key (no \"cnf.jkt\")")
            }
            Self::BindingMismatch => {
                f.write_str("the access token is bound to another key than the DPoP proof's")
            }
            Self::ProofCreation => f.write_str("making the DPoP proof failed"),
        }
    }
}

impl std::error::Error for DpopError {}
