//! Binding a token to a DPoP key: the `ath` hash a proof carries for its token, and the
//! `cnf.jkt` confirmation (RFC 9449 §6.1, RFC 7800) a bound token carries for its key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::error::DpopError;
use super::verify::VerifiedProof;
use crate::crypto::digest;
use crate::token::AccessClaims;

/// The `ath` of a proof for `access_token`: base64url SHA-256 of its ASCII bytes (RFC
/// 9449 §4.2).
///
/// ```
/// // RFC 9449 §7.1's example token and hash.
/// assert_eq!(
///     gatepass::access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
///     "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo",
/// );
/// ```
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::sha256(access_token.as_bytes()))
}

/// The `cnf` claim binding a token to the key with thumbprint `jkt`: `{"jkt": jkt}`.
///
/// ```
/// assert_eq!(gatepass::confirmation_claim("abc"), serde_json::json!({"jkt": "abc"}));
/// ```
pub fn confirmation_claim(jkt: &str) -> Value {
    json!({ "jkt": jkt })
}

/// The `cnf.jkt` of a token's claims, if it has a string one.
///
/// ```
/// let claims = serde_json::json!({"sub": "alice", "cnf": {"jkt": "abc"}});
/// assert_eq!(gatepass::confirmation_jkt(claims.as_object().unwrap()), Some("abc"));
/// ```
pub fn confirmation_jkt(claims: &Map<String, Value>) -> Option<&str> {
    claims.get("cnf")?.get("jkt")?.as_str()
}

impl VerifiedProof {
    /// Check that a token confirmed to `cnf_jkt` (its `cnf.jkt`) is bound to this proof's
    /// key, comparing in constant time: [`DpopError::TokenNotBound`] for `None`,
    /// [`DpopError::BindingMismatch`] for another key's thumbprint.
    ///
    /// ```
    /// # use gatepass::*;
    /// # let key = DpopKey::generate(Algorithm::EdDSA)?;
    /// # let proof = key.proof("GET", "https://api.example/").access_token("t").make_at(1_700_000_000)?;
    /// let verified = DpopVerifier::builder().build()?
    ///     .verify_at(&proof, "GET", "https://api.example/", Some("t"), 1_700_000_000)?;
    /// assert_eq!(verified.check_binding(Some(key.thumbprint())), Ok(()));
    /// assert_eq!(verified.check_binding(Some("another key")), Err(DpopError::BindingMismatch));
    /// assert_eq!(verified.check_binding(None), Err(DpopError::TokenNotBound));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_binding(&self, cnf_jkt: Option<&str>) -> Result<(), DpopError> {
        let bound = cnf_jkt.ok_or(DpopError::TokenNotBound)?;
        if digest::constant_time_eq(bound.as_bytes(), self.jkt.as_bytes()) {
            Ok(())
        } else {
            Err(DpopError::BindingMismatch)
        }
    }

    /// [`check_binding`](Self::check_binding) with the `cnf.jkt` of a verified access
    /// token's claims.
    ///
    /// ```
    /// # use gatepass::*;
    /// # let dpop_key = DpopKey::generate(Algorithm::ES256)?;
    /// let signing = std::sync::Arc::new(SigningKey::generate(Algorithm::EdDSA)?);
    /// let verifier = Verifier::builder(VerificationKeys::new([signing.verifying_key().clone()]), "iss", "aud").build()?;
    /// // A token without `cnf` is not bound to anything.
    /// let token = Issuer::new(signing, "iss", "aud").access_token("alice").issue()?.token;
    /// let claims = verifier.verify_access(&token)?.into_claims();
    ///
    /// let now = SystemClock.now();
    /// let proof = dpop_key.proof("GET", "https://api.example/").access_token(&token).make_at(now)?;
    /// let verified = DpopVerifier::builder().build()?
    ///     .verify_at(&proof, "GET", "https://api.example/", Some(&token), now)?;
    /// assert_eq!(verified.check_access_claims(&claims), Err(DpopError::TokenNotBound));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_access_claims(&self, claims: &AccessClaims) -> Result<(), DpopError> {
        self.check_binding(confirmation_jkt(&claims.custom))
    }
}
