//! Checking a DPoP proof (RFC 9449 §4.3) against the request it came with.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::binding::access_token_hash;
use super::error::{DpopClaim, DpopError};
use super::uri;
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::{digest, Algorithm, AlgorithmSet};
use crate::error::{ConfigError, KeyRejected, Malformed, TooLarge, VerifyError};
use crate::json;
use crate::keys::jwk::check_public_only;
use crate::revocation::ReplayKey;
use crate::token::{HeaderAlg, MAX_SAFE_INTEGER};
use crate::{UntrustedToken, VerifyingKey, MAX_LEEWAY, MAX_TOKEN_BYTES};

/// How far `iat` may lie from the verifier's clock, either way, before the leeway (RFC
/// 9449 §11.1 leaves it to the server; a minute is what deployed servers use).
pub const DEFAULT_DPOP_WINDOW: Duration = Duration::from_secs(60);

/// Clock skew tolerated on top of the window.
pub const DEFAULT_DPOP_LEEWAY: Duration = Duration::from_secs(5);

/// The longest `jti` accepted, in bytes: ample for any random id, and a bound on what a
/// client can make a replay cache hash.
pub const MAX_JTI_BYTES: usize = 256;

/// The longest window accepted by [`DpopVerifierBuilder::window`]: a proof is a
/// one-request credential, and a replay cache must hold every proof this long.
const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// The algorithms a DPoP proof may use: asymmetric ones only (a proof is checked with
/// the key it carries), and among those the ones gatepass signs with. RSA is refused.
fn dpop_algorithms() -> AlgorithmSet {
    [Algorithm::EdDSA, Algorithm::ES256, Algorithm::ES384]
        .into_iter()
        .collect()
}

/// A server's check of nonces it handed out in `DPoP-Nonce` (RFC 9449 §8), when it
/// requires them: whether `nonce` is one it currently accepts.
pub trait NonceCheck: Send + Sync + fmt::Debug {
    /// `true` when `nonce` is current at `now`.
    fn accepts(&self, nonce: &str, now: UnixTime) -> bool;
}

/// Settings for a [`DpopVerifier`].
///
/// ```
/// use std::time::Duration;
/// use gatepass::{Algorithm, AlgorithmSet, DpopVerifier};
/// let verifier = DpopVerifier::builder()
///     .window(Duration::from_secs(30))
///     .leeway(Duration::from_secs(2))
///     .algorithms([Algorithm::ES256].into_iter().collect::<AlgorithmSet>())
///     .build()?;
/// assert_eq!(verifier.window(), Duration::from_secs(30));
/// # Ok::<(), gatepass::ConfigError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct DpopVerifierBuilder {
    window: Duration,
    leeway: Duration,
    allowed: AlgorithmSet,
    nonce: Option<Arc<dyn NonceCheck>>,
    max_len: usize,
    clock: Arc<dyn Clock>,
}

impl DpopVerifierBuilder {
    /// How far `iat` may lie from now, either way (default [`DEFAULT_DPOP_WINDOW`], at
    /// most an hour).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Clock skew tolerated on top of the window (default [`DEFAULT_DPOP_LEEWAY`], at
    /// most [`MAX_LEEWAY`]).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The algorithms accepted (default EdDSA, ES256 and ES384). Symmetric and RSA
    /// algorithms are never accepted for a proof, whatever this set holds.
    pub fn algorithms(mut self, allowed: AlgorithmSet) -> Self {
        self.allowed = allowed;
        self
    }

    /// Require a server nonce in every proof, checked by `check` (RFC 9449 §8); a proof
    /// without one is [`DpopError::NonceRequired`], with an unaccepted one
    /// [`DpopError::NonceInvalid`] (both answered `use_dpop_nonce`).
    pub fn require_nonce(mut self, check: Arc<dyn NonceCheck>) -> Self {
        self.nonce = Some(check);
        self
    }

    /// The longest proof accepted, in bytes (default 8192, as for tokens).
    pub fn max_proof_bytes(mut self, max: usize) -> Self {
        self.max_len = max;
        self
    }

    /// The clock [`DpopVerifier::verify`] reads (default the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Build the verifier, refusing settings that would weaken it.
    pub fn build(self) -> Result<DpopVerifier, ConfigError> {
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge {
                secs: self.leeway.as_secs() + u64::from(self.leeway.subsec_nanos() > 0),
                max: MAX_LEEWAY.as_secs(),
            });
        }
        if self.window.is_zero() || self.window > MAX_WINDOW {
            return Err(ConfigError::InvalidDuration("DPoP iat window"));
        }
        if self.max_len == 0 {
            return Err(ConfigError::InvalidDuration("DPoP proof size limit"));
        }
        let allowed: AlgorithmSet = self
            .allowed
            .iter()
            .filter(|alg| dpop_algorithms().contains(*alg))
            .collect();
        if allowed.is_empty() {
            return Err(ConfigError::NoAlgorithmAllowed);
        }
        Ok(DpopVerifier {
            window: self.window.as_secs(),
            leeway: self.leeway.as_secs(),
            allowed,
            nonce: self.nonce,
            max_len: self.max_len,
            clock: self.clock,
        })
    }
}

/// Checks DPoP proofs (RFC 9449 §4.3): one proof, a well-formed JWS of type `dpop+jwt`
/// signed with an asymmetric algorithm by the public key in its own `jwk` header, whose
/// `htm` and `htu` are the request's, whose `iat` is recent, whose `ath` is the access
/// token's hash, and (when required) whose `nonce` the server accepts.
///
/// Replay ([`check_replay`](crate::check_replay)) and the token's binding
/// ([`VerifiedProof::check_binding`]) are separate steps, since they need a store and a
/// verified access token.
///
/// ```
/// use gatepass::{Algorithm, DpopKey, DpopVerifier};
/// let now = 1_700_000_000;
/// let key = DpopKey::generate(Algorithm::EdDSA)?;
/// let proof = key
///     .proof("GET", "https://api.example/orders?page=2")
///     .access_token("an-access-token")
///     .make_at(now)?;
///
/// let verifier = DpopVerifier::builder().build()?;
/// let verified = verifier.verify_at(
///     &proof,
///     "GET",
///     "https://API.example:443/orders",
///     Some("an-access-token"),
///     now + 3,
/// )?;
/// assert_eq!(verified.jkt(), key.thumbprint());
/// assert_eq!(verified.iat(), now);
///
/// // The same proof for another method or another token is refused.
/// assert!(verifier.verify_at(&proof, "POST", "https://api.example/orders", Some("an-access-token"), now).is_err());
/// assert!(verifier.verify_at(&proof, "GET", "https://api.example/orders", Some("another"), now).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DpopVerifier {
    window: u64,
    leeway: u64,
    allowed: AlgorithmSet,
    nonce: Option<Arc<dyn NonceCheck>>,
    max_len: usize,
    clock: Arc<dyn Clock>,
}

/// A proof that passed every check of [`DpopVerifier`]: who made it (the key's RFC 7638
/// thumbprint, `jkt`), its id and time.
///
/// ```
/// # use gatepass::*;
/// # let key = DpopKey::generate(Algorithm::ES256)?;
/// # let proof = key.proof("POST", "https://auth.example/token").make_at(1_700_000_000)?;
/// let verified = DpopVerifier::builder().build()?
///     .verify_at(&proof, "POST", "https://auth.example/token", None, 1_700_000_000)?;
/// assert_eq!(verified.alg(), Algorithm::ES256);
/// assert_eq!(verified.jkt().len(), 43);
/// assert!(!verified.jti().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedProof {
    pub(super) jkt: String,
    jti: String,
    iat: UnixTime,
    alg: Algorithm,
    nonce: Option<String>,
    replay_until: UnixTime,
}

impl VerifiedProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key, base64url: the value a bound
    /// token carries in `cnf.jkt`.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The proof's `jti`.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// The proof's `iat`, unix seconds.
    pub fn iat(&self) -> UnixTime {
        self.iat
    }

    /// The proof's algorithm.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The proof's nonce, when it had one.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// What a replay cache stores for this proof.
    pub fn replay_key(&self) -> ReplayKey {
        ReplayKey::new(&self.jkt, &self.jti)
    }

    /// Until when (exclusive, unix seconds) a replay cache must remember this proof:
    /// from then on its `iat` is outside the verifier's window and it is refused anyway.
    pub fn replay_until(&self) -> UnixTime {
        self.replay_until
    }
}

/// The one proof of a request, from all its `DPoP` header field values: exactly one is
/// required (RFC 9449 §4.3 point 1).
///
/// ```
/// use gatepass::{single_proof, DpopError};
/// assert_eq!(single_proof(["a.b.c"]), Ok("a.b.c"));
/// assert_eq!(single_proof(["a.b.c", "d.e.f"]), Err(DpopError::NotExactlyOneProof));
/// assert_eq!(single_proof(Vec::<&str>::new()), Err(DpopError::NotExactlyOneProof));
/// ```
pub fn single_proof<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<&'a str, DpopError> {
    let mut values = values.into_iter();
    match (values.next(), values.next()) {
        (Some(one), None) if !one.trim().is_empty() => Ok(one.trim()),
        _ => Err(DpopError::NotExactlyOneProof),
    }
}

impl DpopVerifier {
    /// Settings with the defaults: a 60 s window each way plus 5 s leeway, EdDSA, ES256
    /// and ES384, no nonce, proofs up to 8192 bytes, the system clock.
    pub fn builder() -> DpopVerifierBuilder {
        DpopVerifierBuilder {
            window: DEFAULT_DPOP_WINDOW,
            leeway: DEFAULT_DPOP_LEEWAY,
            allowed: dpop_algorithms(),
            nonce: None,
            max_len: MAX_TOKEN_BYTES,
            clock: Arc::new(SystemClock),
        }
    }

    /// The `iat` window, either way.
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window)
    }

    /// The time on the verifier's clock: what [`verify`](Self::verify) checks `iat`
    /// against, and so what a replay cache must be asked at.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The algorithms accepted, as RFC 9449 §7.1's `algs` challenge attribute lists them.
    ///
    /// ```
    /// assert_eq!(gatepass::DpopVerifier::builder().build()?.algs(), "EdDSA ES256 ES384");
    /// # Ok::<(), gatepass::ConfigError>(())
    /// ```
    pub fn algs(&self) -> String {
        self.allowed
            .iter()
            .map(Algorithm::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// [`verify_at`](Self::verify_at) at the verifier's clock's time.
    pub fn verify(
        &self,
        proof: &str,
        method: &str,
        uri: &str,
        access_token: Option<&str>,
    ) -> Result<VerifiedProof, DpopError> {
        self.verify_at(proof, method, uri, access_token, self.clock.now())
    }

    /// Check `proof` (the one `DPoP` header value) for a request with `method` (compared
    /// case-sensitively) to `uri` (the absolute URI the server was reached at; query and
    /// fragment are ignored), presenting `access_token` (`None` at the token endpoint).
    pub fn verify_at(
        &self,
        proof: &str,
        method: &str,
        uri: &str,
        access_token: Option<&str>,
        now: UnixTime,
    ) -> Result<VerifiedProof, DpopError> {
        let untrusted = UntrustedToken::with_limit(proof, self.max_len).map_err(structural)?;
        let jws = untrusted.parse_jws().map_err(structural)?;
        if json::nests_deeper_than(&jws.payload, json::MAX_DEPTH) {
            return Err(DpopError::TooLarge(TooLarge::Depth {
                max: json::MAX_DEPTH,
            }));
        }
        let claims = json::parse_object(&jws.payload)
            .map_err(|_| DpopError::Malformed(Malformed::ClaimsJson))?;
        let header = jws.header;

        match header.typ.as_deref() {
            None => return Err(DpopError::MissingHeader("typ")),
            Some(typ) if !is_dpop_type(typ) => return Err(DpopError::WrongType),
            Some(_) => {}
        }
        let alg = match header.alg {
            HeaderAlg::Known(alg) if self.allowed.contains(alg) => alg,
            _ => return Err(DpopError::UnsupportedAlgorithm),
        };
        if header.has_crit {
            return Err(DpopError::UnsupportedCritical);
        }
        let key = header_key(header.other.get("jwk"), alg)?;
        if !key.verify_signature(jws.signing_input, &jws.signature) {
            return Err(DpopError::BadSignature);
        }

        // Only now, with the signature verified, are claims looked at.
        let jti = string_claim(&claims, DpopClaim::Jti)?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return Err(DpopError::InvalidClaim(DpopClaim::Jti));
        }
        if string_claim(&claims, DpopClaim::Htm)? != method {
            return Err(DpopError::MethodMismatch);
        }
        let htu = string_claim(&claims, DpopClaim::Htu)?;
        let htu = uri::normalize(htu).ok_or(DpopError::InvalidClaim(DpopClaim::Htu))?;
        let request_uri = uri::normalize(uri).ok_or(DpopError::InvalidRequestUri)?;
        if htu != request_uri {
            return Err(DpopError::UriMismatch);
        }
        let iat = match claims.get("iat") {
            None => return Err(DpopError::MissingClaim(DpopClaim::Iat)),
            Some(v) => v
                .as_u64()
                .filter(|n| *n <= MAX_SAFE_INTEGER)
                .ok_or(DpopError::InvalidClaim(DpopClaim::Iat))?,
        };
        let reach = self.window.saturating_add(self.leeway);
        if iat.saturating_add(reach) < now {
            return Err(DpopError::IatTooOld);
        }
        if iat > now.saturating_add(reach) {
            return Err(DpopError::IatInFuture);
        }
        let nonce = match claims.get("nonce") {
            None => None,
            Some(Value::String(nonce)) => Some(nonce.clone()),
            Some(_) => return Err(DpopError::InvalidClaim(DpopClaim::Nonce)),
        };
        if let Some(check) = &self.nonce {
            match nonce.as_deref() {
                None => return Err(DpopError::NonceRequired),
                Some(nonce) if !check.accepts(nonce, now) => return Err(DpopError::NonceInvalid),
                Some(_) => {}
            }
        }
        check_ath(&claims, access_token)?;

        Ok(VerifiedProof {
            jkt: key.thumbprint(),
            jti: jti.to_owned(),
            iat,
            alg,
            nonce,
            replay_until: iat.saturating_add(reach).saturating_add(1),
        })
    }
}

/// `dpop+jwt`, also as the full media type `application/dpop+jwt` (RFC 7515 §4.1.9 lets
/// `typ` omit the `application/` prefix), case-insensitively as media types are.
fn is_dpop_type(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == "dpop+jwt" || typ == "application/dpop+jwt"
}

/// The structural errors of the shared JWS parser, as DPoP errors.
fn structural(err: VerifyError) -> DpopError {
    match err {
        VerifyError::TooLarge(why) => DpopError::TooLarge(why),
        VerifyError::Malformed(why) => DpopError::Malformed(why),
        // The parser reports nothing else; should it ever, the proof is still malformed.
        _ => DpopError::Malformed(Malformed::Segments),
    }
}

/// The public key in the header's `jwk`, which must fit `alg`.
fn header_key(jwk: Option<&Value>, alg: Algorithm) -> Result<VerifyingKey, DpopError> {
    let jwk = jwk.ok_or(DpopError::MissingHeader("jwk"))?;
    check_public_only(jwk).map_err(|why| match why {
        KeyRejected::PrivateKeyInPublicSet(member) => DpopError::PrivateKeyInHeader(member),
        _ => DpopError::PrivateKeyInHeader("k"),
    })?;
    let Value::Object(members) = jwk else {
        // The header parser already refuses a non-object `jwk`.
        return Err(DpopError::Malformed(Malformed::HeaderParameter("jwk")));
    };
    let key = VerifyingKey::from_jwk(members).map_err(DpopError::InvalidKey)?;
    if key.alg() != alg {
        return Err(DpopError::KeyAlgorithmMismatch);
    }
    Ok(key)
}

fn string_claim(claims: &Map<String, Value>, claim: DpopClaim) -> Result<&str, DpopError> {
    match claims.get(claim.name()) {
        None => Err(DpopError::MissingClaim(claim)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DpopError::InvalidClaim(claim)),
    }
}

/// `ath` is required with an access token and must be its hash; without one it must be
/// absent (a proof made for a token is not a proof for a token request).
fn check_ath(claims: &Map<String, Value>, access_token: Option<&str>) -> Result<(), DpopError> {
    match (access_token, claims.get("ath")) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(DpopError::AthMismatch),
        (Some(_), None) => Err(DpopError::MissingClaim(DpopClaim::Ath)),
        (Some(token), Some(Value::String(ath))) => {
            let expected = access_token_hash(token);
            if digest::constant_time_eq(expected.as_bytes(), ath.as_bytes()) {
                Ok(())
            } else {
                Err(DpopError::AthMismatch)
            }
        }
        (Some(_), Some(_)) => Err(DpopError::InvalidClaim(DpopClaim::Ath)),
    }
}
