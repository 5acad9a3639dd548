//! Errors at each public boundary.
//!
//! Three boundaries, three enums, each `#[non_exhaustive]` and comparable so tests can
//! assert exact variants:
//!
//! * [`VerifyError`]: why a token was rejected. Its [`kind`](VerifyError::kind) is the
//!   stable string of docs/REFERENCE.md §1 (`malformed`, `bad_signature`, ...). A bad signature is one
//!   opaque variant: the verifier never says *how* a signature failed.
//! * [`KeyRejected`]: why a key was refused at import. Precise on purpose: an operator
//!   fixing a key file needs to know whether the secret was short or the point off the curve.
//!
//! These sit at the bottom of the crate and import nothing above them. The errors of the
//! layers above live with their owners: `KeysetError` in the keys module, `SessionError`
//! and `InvalidGrant` in the session module, `StoreError` with the store trait.
//!
//! No variant carries a secret or a whole token; claim values appear only as claim *names*.

use std::fmt;

/// A registered (or gatepass-defined) claim, named in [`VerifyError`] and issuing errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Claim {
    /// `iss`, the issuer.
    Iss,
    /// `sub`, the subject.
    Sub,
    /// `aud`, the audience: a string or a non-empty array of strings.
    Aud,
    /// `exp`, expiry in unix seconds.
    Exp,
    /// `nbf`, not-before in unix seconds.
    Nbf,
    /// `iat`, issued-at in unix seconds.
    Iat,
    /// `jti`, the token id.
    Jti,
    /// `sid`, the gatepass session id.
    Sid,
    /// `gen`, the refresh-token rotation generation.
    Gen,
    /// Custom claims that did not deserialize into the caller's type.
    Custom,
}

impl Claim {
    /// The claim's JSON member name (`"custom"` for [`Claim::Custom`]).
    ///
    /// ```
    /// assert_eq!(gatepass::Claim::Exp.name(), "exp");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Iss => "iss",
            Self::Sub => "sub",
            Self::Aud => "aud",
            Self::Exp => "exp",
            Self::Nbf => "nbf",
            Self::Iat => "iat",
            Self::Jti => "jti",
            Self::Sid => "sid",
            Self::Gen => "gen",
            Self::Custom => "custom",
        }
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What was structurally wrong with a token (the reason inside [`VerifyError::Malformed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// Not exactly three non-empty dot-separated parts.
    Segments,
    /// A part is not canonical unpadded base64url.
    Base64,
    /// The header is not a UTF-8 JSON object without duplicate members.
    HeaderJson,
    /// The claims are not a UTF-8 JSON object without duplicate members.
    ClaimsJson,
    /// The header has no `alg`, or `alg` is not a string.
    MissingAlg,
    /// A JOSE header parameter (RFC 7515 §4.1) has the wrong JSON type.
    HeaderParameter(&'static str),
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Segments => {
                f.write_str("a token is three non-empty base64url parts joined by '.'")
            }
            Self::Base64 => f.write_str("a part is not canonical unpadded base64url"),
            Self::HeaderJson => f.write_str(
                "the header is not a JSON object (invalid JSON or UTF-8, or a duplicate member)",
            ),
            Self::ClaimsJson => f.write_str(
                "the claims are not a JSON object (invalid JSON or UTF-8, or a duplicate member)",
            ),
            Self::MissingAlg => f.write_str("the header has no \"alg\" string"),
            Self::HeaderParameter(name) => {
                write!(f, "the header parameter \"{name}\" has the wrong JSON type")
            }
        }
    }
}

/// What made a token too large (the reason inside [`VerifyError::TooLarge`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TooLarge {
    /// The compact token is longer than the verifier's cap (8192 bytes by default).
    Length {
        /// The cap in bytes.
        max: usize,
    },
    /// Header or claims JSON nests deeper than 32 levels.
    Depth {
        /// The deepest level allowed (the top-level object is level 1).
        max: usize,
    },
}

/// What a revocation matched (the reason inside [`VerifyError::Revoked`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revoked {
    /// The token's `jti` was revoked.
    Token,
    /// The token's session (`sid`) was ended: logout, reuse detection or expiry of the session.
    Session,
    /// The token was issued before its subject's "log out everywhere" cut-off.
    Subject,
}

/// Why a token was rejected. [`kind`](Self::kind) is the stable string of docs/REFERENCE.md §1.
///
/// Checks run in a fixed order and the first failure is reported: size, structure,
/// algorithm, key, signature, then claims (type, registered-claim types and presence, time,
/// issuer, audience), then revocation. No claim is looked at before the signature verifies.
///
/// ```
/// use gatepass::VerifyError;
/// assert_eq!(VerifyError::BadSignature.kind(), "bad_signature");
/// assert_eq!(VerifyError::Expired.to_string(), "the token has expired");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a well-formed compact JWS: see [`Malformed`].
    Malformed(Malformed),
    /// Over the length or nesting limits: see [`TooLarge`].
    TooLarge(TooLarge),
    /// `alg` is `none`, unknown, not allowed, or not the key's algorithm; or `crit` names an
    /// extension this library does not understand.
    UnsupportedAlgorithm,
    /// No usable key for the token's `kid` (or no unambiguous one without a `kid`).
    UnknownKey,
    /// The signature does not verify. Deliberately carries no detail.
    BadSignature,
    /// The header `typ` is absent or not the expected token type.
    WrongType,
    /// `now >= exp + leeway`, or the token is older than the configured maximum age.
    Expired,
    /// `now < nbf - leeway`, or `iat` lies in the future beyond the leeway.
    NotYetValid,
    /// `iss` is not the expected issuer.
    WrongIssuer,
    /// `aud` does not contain the expected audience.
    WrongAudience,
    /// A required claim is absent.
    MissingClaim(Claim),
    /// A claim is `null`, of the wrong JSON type or out of range.
    InvalidClaim(Claim),
    /// The token, its session or its subject has been revoked.
    Revoked(Revoked),
    /// The verifier's key source could not answer (e.g. a remote JWKS that is unreachable
    /// past its staleness bound). Fails closed.
    KeysUnavailable,
    /// The revocation view could not vouch that the token is not revoked: a mirror of a
    /// shared store (Redis) out of sync for longer than its staleness bound. Fails closed;
    /// an HTTP server answers 503, since retrying later may succeed.
    RevocationsUnavailable,
}

impl VerifyError {
    /// The stable machine-readable kind of docs/REFERENCE.md §1.
    ///
    /// ```
    /// use gatepass::{Claim, VerifyError};
    /// assert_eq!(VerifyError::MissingClaim(Claim::Jti).kind(), "missing_claim");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::TooLarge(_) => "too_large",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::WrongType => "wrong_type",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim(_) => "invalid_claim",
            Self::Revoked(_) => "revoked",
            Self::KeysUnavailable => "keys_unavailable",
            Self::RevocationsUnavailable => "revocations_unavailable",
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed token: {why}"),
            Self::TooLarge(TooLarge::Length { max }) => {
                write!(f, "the token is longer than {max} bytes")
            }
            Self::TooLarge(TooLarge::Depth { max }) => {
                write!(f, "the token's JSON nests deeper than {max} levels")
            }
            Self::UnsupportedAlgorithm => f.write_str(
                "the algorithm is not supported, not allowed, or not the key's algorithm (or crit names an unknown extension)",
            ),
            Self::UnknownKey => f.write_str("no usable key matches the token"),
            Self::BadSignature => f.write_str("the signature does not verify"),
            Self::WrongType => f.write_str("the token type (header typ) is not the expected one"),
            Self::Expired => f.write_str("the token has expired"),
            Self::NotYetValid => f.write_str("the token is not valid yet"),
            Self::WrongIssuer => f.write_str("the issuer is not the expected one"),
            Self::WrongAudience => f.write_str("the audience does not include the expected one"),
            Self::MissingClaim(claim) => write!(f, "the required claim \"{claim}\" is missing"),
            Self::InvalidClaim(claim) => {
                write!(f, "the claim \"{claim}\" is null, of the wrong type or out of range")
            }
            Self::Revoked(Revoked::Token) => f.write_str("the token has been revoked"),
            Self::Revoked(Revoked::Session) => f.write_str("the token's session has ended"),
            Self::Revoked(Revoked::Subject) => {
                f.write_str("the token was issued before its subject's sessions were revoked")
            }
            Self::KeysUnavailable => f.write_str("the verification keys are unavailable"),
            Self::RevocationsUnavailable => f.write_str(
                "the revocation list is out of date (its shared store is unreachable), so the token cannot be accepted",
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Why a key was refused at import or generation.
///
/// ```
/// use gatepass::{Algorithm, KeyRejected, SigningKey};
/// let err = SigningKey::from_hmac_secret(Algorithm::HS256, b"short", None).unwrap_err();
/// assert_eq!(err, KeyRejected::WeakHmacSecret { len: 5, min: 32 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRejected {
    /// An HMAC secret shorter than the hash output (RFC 7518 §3.2: at least 32, 48 or 64 bytes).
    WeakHmacSecret {
        /// The secret's length in bytes.
        len: usize,
        /// The minimum for the key's algorithm.
        min: usize,
    },
    /// An RSA modulus outside 2048..=8192 bits.
    RsaModulusSize {
        /// The modulus size in bits.
        bits: usize,
    },
    /// An RSA public exponent that is even, below 65537, or above ring's 2^33 - 1 limit.
    RsaExponent,
    /// A key member of the wrong length (Ed25519 keys are 32 bytes, P-256 coordinates 32, ...).
    WrongLength {
        /// The JWK member (`x`, `y`, `d`, `n`, ...).
        member: &'static str,
        /// The expected length in bytes.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// An Ed25519 public key of small order (the identity and friends), which would let a
    /// fixed signature verify any message.
    SmallOrder,
    /// An EC public point that is not on the curve.
    NotOnCurve,
    /// The private and public halves of a key pair do not belong together.
    InconsistentKeyPair,
    /// The JWK's `use` or `key_ops` forbid signature verification.
    UsageForbidsVerification,
    /// The key type, curve or algorithm is not one gatepass signs or verifies with.
    UnsupportedAlgorithm(String),
    /// The JWK `alg` does not fit its key type or curve.
    AlgorithmMismatch {
        /// The algorithm the JWK names or the caller asked for.
        alg: String,
        /// The key type (and curve) found.
        key: String,
    },
    /// A required JWK member is missing.
    MissingMember(&'static str),
    /// A JWK member is not canonical unpadded base64url, or the JWK is not a JSON object of
    /// string members.
    BadEncoding(&'static str),
    /// The key can verify but not sign (a public key, or an RSA key) where signing is needed.
    NotASigningKey,
    /// PEM or DER input that could not be parsed as a supported public key.
    BadPem(&'static str),
    /// The operating system's random number generator failed while generating a key.
    RandomnessUnavailable,
    /// Another key in the same JWK Set has this `kid`, so neither can be trusted.
    DuplicateKid,
    /// An HMAC (`oct`) key in a JWK Set read for verification: a shared secret that anyone
    /// can read would let anyone sign, so a set's symmetric keys are never trusted.
    SecretKeyInPublicSet,
    /// A JWK carrying this private member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`) in a JWK
    /// Set read for verification: a private key that has been handed around is no longer
    /// private, so it is never trusted. Only the member's name is kept, never its value.
    PrivateKeyInPublicSet(&'static str),
}

impl fmt::Display for KeyRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WeakHmacSecret { len, min } => write!(
                f,
                "HMAC secret of {len} bytes refused: at least {min} bytes are required for this algorithm"
            ),
            Self::RsaModulusSize { bits } => {
                write!(f, "RSA modulus of {bits} bits refused: 2048 to 8192 bits are accepted")
            }
            Self::RsaExponent => f.write_str(
                "RSA public exponent refused: it must be odd, at least 65537 and below 2^33",
            ),
            Self::WrongLength { member, expected, found } => write!(
                f,
                "key member \"{member}\" is {found} bytes, expected {expected}"
            ),
            Self::SmallOrder => f.write_str("Ed25519 public key of small order refused"),
            Self::NotOnCurve => f.write_str("EC public point is not on the curve"),
            Self::InconsistentKeyPair => {
                f.write_str("the private key does not match the public key")
            }
            Self::UsageForbidsVerification => {
                f.write_str("the JWK's \"use\" or \"key_ops\" forbid signature verification")
            }
            Self::UnsupportedAlgorithm(what) => write!(f, "unsupported key or algorithm: {what}"),
            Self::AlgorithmMismatch { alg, key } => {
                write!(f, "algorithm {alg} does not fit a {key} key")
            }
            Self::MissingMember(member) => write!(f, "the JWK has no \"{member}\" member"),
            Self::BadEncoding(member) => write!(
                f,
                "the JWK member \"{member}\" is not a canonical base64url string"
            ),
            Self::NotASigningKey => f.write_str("this key can verify but not sign"),
            Self::BadPem(why) => write!(f, "unusable PEM public key: {why}"),
            Self::DuplicateKid => f.write_str("another key in the set has the same kid"),
            Self::SecretKeyInPublicSet => f.write_str(
                "an HMAC (oct) key in a published JWK Set is never trusted: its secret is public",
            ),
            Self::PrivateKeyInPublicSet(member) => write!(
                f,
                "a JWK with the private member \"{member}\" in a published JWK Set is never \
                 trusted: its private key is no longer private"
            ),
            Self::RandomnessUnavailable => {
                f.write_str("the system random number generator failed while generating a key")
            }
        }
    }
}

impl std::error::Error for KeyRejected {}

/// Why a token could not be issued.
///
/// ```
/// use gatepass::IssueError;
/// let err = IssueError::ReservedClaim("exp".into());
/// assert!(err.to_string().contains("exp"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueError {
    /// A custom claim uses a name the issuer sets itself.
    ReservedClaim(String),
    /// The claims could not be serialized to a JSON object.
    Claims(String),
    /// A time value is out of the JSON-safe range 0..2^53.
    TimeOutOfRange,
    /// The token would be longer than [`MAX_TOKEN_BYTES`](crate::MAX_TOKEN_BYTES) or its
    /// claims would nest deeper than 32 levels: every verifier would refuse it as
    /// `too_large`, so it is not issued.
    TooLarge(TooLarge),
    /// The signing primitive failed (ring reported an error).
    Signing,
    /// The operating system's random number generator failed.
    Randomness,
}

impl fmt::Display for IssueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedClaim(name) => write!(
                f,
                "the claim \"{name}\" is set by the issuer and cannot be given as a custom claim"
            ),
            Self::Claims(why) => write!(f, "the claims are not a JSON object: {why}"),
            Self::TimeOutOfRange => f.write_str("a time claim is outside 0..2^53"),
            Self::TooLarge(TooLarge::Length { max }) => write!(
                f,
                "the token would be longer than {max} bytes, which every verifier refuses"
            ),
            Self::TooLarge(TooLarge::Depth { max }) => write!(
                f,
                "the claims would nest deeper than {max} levels, which every verifier refuses"
            ),
            Self::Signing => f.write_str("signing failed"),
            Self::Randomness => f.write_str("the system random number generator failed"),
        }
    }
}

impl std::error::Error for IssueError {}

/// A verifier or issuer configuration that gatepass refuses to build.
///
/// ```
/// use gatepass::{ConfigError, Verifier, VerificationKeys};
/// let err = Verifier::builder(VerificationKeys::default(), "iss", "aud")
///     .leeway(std::time::Duration::from_secs(301))
///     .build()
///     .unwrap_err();
/// assert_eq!(err, ConfigError::LeewayTooLarge { secs: 301, max: 300 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Clock-skew leeway above the 300-second ceiling.
    LeewayTooLarge {
        /// The leeway asked for.
        secs: u64,
        /// The ceiling.
        max: u64,
    },
    /// An allow-list of algorithms that allows nothing.
    NoAlgorithmAllowed,
    /// An empty expected issuer, audience or required claim name, or no audience at all
    /// without the explicit choice to skip the audience check.
    EmptyIssuerOrAudience,
    /// An audience was added after the audience check was skipped: one or the other.
    AudienceConflict,
    /// A lifetime or limit of zero, or one that overflows the JSON-safe time range.
    InvalidDuration(&'static str),
    /// A public origin (where clients reach a server, for DPoP's `htu`) that is not an
    /// absolute `http`/`https` URL without path, query or fragment.
    InvalidPublicOrigin,
    /// The system random number generator failed (drawing a cache key).
    Randomness,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LeewayTooLarge { secs, max } => {
                write!(f, "a leeway of {secs} s is above the maximum of {max} s")
            }
            Self::NoAlgorithmAllowed => f.write_str("the algorithm allow-list is empty"),
            Self::EmptyIssuerOrAudience => f.write_str(
                "the expected issuers, audiences and required claim names must not be empty",
            ),
            Self::AudienceConflict => f.write_str(
                "an expected audience and skipping the audience check exclude each other",
            ),
            Self::InvalidDuration(what) => write!(f, "invalid {what}"),
            Self::InvalidPublicOrigin => f.write_str(
                "the public origin must be an absolute http(s) URL without path, query or fragment (https://api.example.com)",
            ),
            Self::Randomness => f.write_str("the system random number generator failed"),
        }
    }
}

impl std::error::Error for ConfigError {}
