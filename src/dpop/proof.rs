//! The client side: a DPoP key pair and the proofs it makes (RFC 9449 §4.2).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::binding::access_token_hash;
use super::error::DpopError;
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::{random, Algorithm};
use crate::error::KeyRejected;
use crate::SigningKey;

/// Random bytes in a proof's `jti`: 128 bits, far beyond any chance of two proofs of one
/// key sharing an id within a replay window.
const JTI_BYTES: usize = 16;

/// A client's DPoP key pair (Ed25519 or P-256/P-384), generated from the OS CSPRNG: its
/// public JWK goes into every proof, its RFC 7638 thumbprint is what bound tokens carry
/// in `cnf.jkt`.
///
/// ```
/// use gatepass::{Algorithm, DpopKey};
/// let key = DpopKey::generate(Algorithm::ES256)?;
/// assert_eq!(key.public_jwk()["kty"], "EC");
/// assert!(key.public_jwk().get("d").is_none());
/// assert_eq!(key.thumbprint().len(), 43);
/// assert!(format!("{key:?}").contains("<redacted>"));
/// let proof = key.proof("POST", "https://auth.example/token").make()?;
/// assert_eq!(proof.split('.').count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DpopKey {
    key: SigningKey,
    jwk: Map<String, Value>,
    jkt: String,
}

impl DpopKey {
    /// A fresh key for `alg`: [`Algorithm::EdDSA`], [`Algorithm::ES256`] or
    /// [`Algorithm::ES384`]; anything else is refused (a proof must be checkable with
    /// the public key it carries).
    pub fn generate(alg: Algorithm) -> Result<Self, KeyRejected> {
        if !matches!(alg, Algorithm::EdDSA | Algorithm::ES256 | Algorithm::ES384) {
            return Err(KeyRejected::UnsupportedAlgorithm(format!(
                "{alg} for DPoP (EdDSA, ES256 or ES384)"
            )));
        }
        Self::from_signing_key(SigningKey::generate(alg)?)
    }

    /// A DPoP key from an existing signing key (a client that keeps its key across
    /// restarts stores [`SigningKey::to_private_jwk`] and loads it with
    /// [`SigningKey::from_jwk`]). HMAC keys are refused.
    pub fn from_signing_key(key: SigningKey) -> Result<Self, KeyRejected> {
        let public = key
            .verifying_key()
            .to_public_jwk()
            .and_then(|jwk| serde_json::to_value(jwk).ok());
        let Some(Value::Object(public)) = public else {
            return Err(KeyRejected::UnsupportedAlgorithm(format!(
                "{} for DPoP (EdDSA, ES256 or ES384)",
                key.alg()
            )));
        };
        // Only the key itself: no kid, alg or use, which a proof's header does not need.
        let jwk: Map<String, Value> = public
            .into_iter()
            .filter(|(name, _)| matches!(name.as_str(), "kty" | "crv" | "x" | "y"))
            .collect();
        let jkt = key.verifying_key().thumbprint();
        Ok(Self { key, jwk, jkt })
    }

    /// The algorithm of every proof this key makes.
    pub fn alg(&self) -> Algorithm {
        self.key.alg()
    }

    /// The public JWK put in each proof's header (`kty`, `crv`, `x` and for EC `y`).
    pub fn public_jwk(&self) -> &Map<String, Value> {
        &self.jwk
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url (the `jkt`).
    pub fn thumbprint(&self) -> &str {
        &self.jkt
    }

    /// The signing key, to store it.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Start a proof for a request with `method` to `uri` (its query and fragment are
    /// left out of `htu`).
    pub fn proof<'a>(&'a self, method: &'a str, uri: &'a str) -> DpopProofBuilder<'a> {
        DpopProofBuilder {
            key: self,
            method,
            uri,
            access_token: None,
            nonce: None,
        }
    }
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.key.alg())
            .field("jkt", &self.jkt)
            .field("private", &"<redacted>")
            .finish()
    }
}

/// One proof being made: method and URI, and optionally the access token it goes with
/// (`ath`) and the server's nonce.
///
/// ```
/// use gatepass::{Algorithm, DpopKey};
/// let key = DpopKey::generate(Algorithm::EdDSA)?;
/// let proof = key
///     .proof("GET", "https://api.example/me")
///     .access_token("the-access-token")
///     .nonce("server-nonce")
///     .make_at(1_700_000_000)?;
/// let shown = gatepass::UntrustedToken::new(&proof)?.insecure_inspect()?;
/// assert_eq!(shown.header["typ"], "dpop+jwt");
/// assert_eq!(shown.claims["htu"], "https://api.example/me");
/// assert_eq!(shown.claims["iat"], 1_700_000_000);
/// assert_eq!(shown.claims["nonce"], "server-nonce");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct DpopProofBuilder<'a> {
    key: &'a DpopKey,
    method: &'a str,
    uri: &'a str,
    access_token: Option<&'a str>,
    nonce: Option<&'a str>,
}

impl<'a> DpopProofBuilder<'a> {
    /// Bind the proof to `access_token` (its hash goes in `ath`): required when the
    /// request presents the token.
    pub fn access_token(mut self, access_token: &'a str) -> Self {
        self.access_token = Some(access_token);
        self
    }

    /// Include the nonce the server provided in its `DPoP-Nonce` header.
    pub fn nonce(mut self, nonce: &'a str) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Sign the proof with `iat` the system clock's time.
    pub fn make(self) -> Result<String, DpopError> {
        self.make_at(SystemClock.now())
    }

    /// Sign the proof with `iat = now` and a fresh random `jti`.
    pub fn make_at(self, now: UnixTime) -> Result<String, DpopError> {
        let jti = random::bytes::<JTI_BYTES>().map_err(|_| DpopError::ProofCreation)?;
        let htu = self.uri.split(['?', '#']).next().unwrap_or_default();

        let mut header = Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert("alg".into(), self.key.alg().as_str().into());
        header.insert("jwk".into(), Value::Object(self.key.jwk.clone()));

        let mut claims = Map::new();
        claims.insert("jti".into(), URL_SAFE_NO_PAD.encode(jti).into());
        claims.insert("htm".into(), self.method.into());
        claims.insert("htu".into(), htu.into());
        claims.insert("iat".into(), now.into());
        if let Some(token) = self.access_token {
            claims.insert("ath".into(), access_token_hash(token).into());
        }
        if let Some(nonce) = self.nonce {
            claims.insert("nonce".into(), nonce.into());
        }

        let header = serde_json::to_vec(&header).map_err(|_| DpopError::ProofCreation)?;
        let claims = serde_json::to_vec(&claims).map_err(|_| DpopError::ProofCreation)?;
        let mut proof = URL_SAFE_NO_PAD.encode(header);
        proof.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut proof);
        let signature = self
            .key
            .key
            .sign(proof.as_bytes())
            .map_err(|_| DpopError::ProofCreation)?;
        proof.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut proof);
        Ok(proof)
    }
}
