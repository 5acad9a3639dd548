//! Key types: a [`SigningKey`] (private, can sign) and a [`VerifyingKey`] (public, or a
//! shared HMAC secret), each bound to one algorithm for life.

use std::fmt;

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::jwk::{self, JwkMembers, PublicParams};
use crate::crypto::{Algorithm, KeyMaterial, SignPrimitive, VerifyPrimitive};
use crate::error::KeyRejected;

/// A private key that signs tokens, bound to one [`Algorithm`] and a `kid`.
///
/// Secrets are zeroized on drop, `Debug` is redacted, and the key is prepared once (ring
/// parses it at construction, never per signature).
///
/// ```
/// use gatepass::{Algorithm, SigningKey};
/// let key = SigningKey::generate(Algorithm::EdDSA)?;
/// assert_eq!(key.alg(), Algorithm::EdDSA);
/// assert_eq!(key.kid().len(), 43); // an RFC 7638 SHA-256 thumbprint
/// assert!(format!("{key:?}").contains("<redacted>"));
/// # Ok::<(), gatepass::KeyRejected>(())
/// ```
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    primitive: SignPrimitive,
    material: KeyMaterial,
    verifying: VerifyingKey,
}

impl SigningKey {
    /// Generate a fresh key for `alg` from the OS CSPRNG; its `kid` is the RFC 7638
    /// thumbprint of its public key (of the secret, for HMAC).
    pub fn generate(alg: Algorithm) -> Result<Self, KeyRejected> {
        Self::generate_with_kid(alg, None)
    }

    /// Generate a fresh key with a chosen `kid` (or the thumbprint when `None`).
    pub fn generate_with_kid(alg: Algorithm, kid: Option<&str>) -> Result<Self, KeyRejected> {
        if !alg.can_sign() {
            return Err(KeyRejected::NotASigningKey);
        }
        let (primitive, material) = SignPrimitive::generate(alg)?;
        Self::assemble(alg, kid, primitive, material)
    }

    /// A key from an HMAC secret. Secrets shorter than the hash output are refused.
    ///
    /// ```
    /// use gatepass::{Algorithm, SigningKey};
    /// let key = SigningKey::from_hmac_secret(Algorithm::HS256, &[7u8; 32], Some("k1"))?;
    /// assert_eq!(key.kid(), "k1");
    /// # Ok::<(), gatepass::KeyRejected>(())
    /// ```
    pub fn from_hmac_secret(
        alg: Algorithm,
        secret: &[u8],
        kid: Option<&str>,
    ) -> Result<Self, KeyRejected> {
        if alg.family() != crate::AlgorithmFamily::Hmac {
            return Err(KeyRejected::AlgorithmMismatch {
                alg: alg.as_str().to_owned(),
                key: "oct".into(),
            });
        }
        let material = KeyMaterial::Hmac {
            k: Zeroizing::new(secret.to_vec()),
        };
        let primitive = SignPrimitive::from_material(alg, &material)?;
        Self::assemble(alg, kid, primitive, material)
    }

    /// A key from a private JWK (a JSON object with `kty`, `alg` and the private members).
    ///
    /// ```
    /// use gatepass::{Algorithm, SigningKey};
    /// let key = SigningKey::generate(Algorithm::ES256)?;
    /// let again = SigningKey::from_jwk(&key.to_private_jwk())?;
    /// assert_eq!(again.kid(), key.kid());
    /// # Ok::<(), gatepass::KeyRejected>(())
    /// ```
    pub fn from_jwk(jwk: &Map<String, Value>) -> Result<Self, KeyRejected> {
        let members = jwk::members_from_value(Value::Object(jwk.clone()))
            .map_err(|_| KeyRejected::BadEncoding("jwk"))?;
        Self::from_members(&members)
    }

    pub(crate) fn from_members(members: &JwkMembers) -> Result<Self, KeyRejected> {
        members.check_usage("sign")?;
        let alg = members.algorithm(true)?;
        if !alg.can_sign() {
            return Err(KeyRejected::NotASigningKey);
        }
        let material = members.private_material(alg)?;
        let primitive = SignPrimitive::from_material(alg, &material)?;
        Self::assemble(alg, members.kid.as_deref(), primitive, material)
    }

    fn assemble(
        alg: Algorithm,
        kid: Option<&str>,
        primitive: SignPrimitive,
        material: KeyMaterial,
    ) -> Result<Self, KeyRejected> {
        let public = match &material {
            KeyMaterial::Hmac { k } => PublicParams::Secret { k: jwk::encode(k) },
            KeyMaterial::Ed25519 { x, .. } => PublicParams::Okp { x: jwk::encode(x) },
            KeyMaterial::Ecdsa { x, y, .. } => PublicParams::Ec {
                crv: crate::crypto::Curve::of(alg).map_or("P-256", |c| c.name),
                x: jwk::encode(x),
                y: jwk::encode(y),
            },
        };
        let kid = match kid {
            Some(kid) => kid.to_owned(),
            None => public.thumbprint(),
        };
        let verifying = VerifyingKey {
            kid: Some(kid.clone()),
            alg,
            primitive: primitive.verifier(alg)?,
            public,
        };
        Ok(Self {
            kid,
            alg,
            primitive,
            material,
            verifying,
        })
    }

    /// The key id written into every token's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key signs with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The matching verification key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    /// The private JWK (with `kid` and `alg`). It contains the secret: handle it like one.
    pub fn to_private_jwk(&self) -> Map<String, Value> {
        let members = self.to_members();
        match serde_json::to_value(members) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    pub(crate) fn to_members(&self) -> JwkMembers {
        JwkMembers::from_material(self.alg, &self.kid, &self.verifying.public, &self.material)
    }

    /// A key for sealing data at rest under this key, derived (HKDF-SHA256) from its
    /// private material for `purpose` and its `kid`: every process that loads this key
    /// derives the same one, and no other key does.
    pub(crate) fn sealing_key(
        &self,
        purpose: &[u8],
    ) -> Result<crate::crypto::seal::SealKey, crate::crypto::seal::SealFailed> {
        crate::crypto::seal::SealKey::derive(
            self.material.secret(),
            b"gatepass sealing key v1",
            &[purpose, self.kid.as_bytes()],
        )
    }

    /// Sign `message` (the JWS signing input).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
        self.primitive.sign(message)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A key that verifies signatures of one [`Algorithm`]: a public key, or for HMAC the
/// shared secret. Prepared once; verifying never re-parses it.
///
/// ```
/// use gatepass::{Algorithm, SigningKey};
/// let key = SigningKey::generate(Algorithm::EdDSA)?;
/// let public = key.verifying_key();
/// assert_eq!(public.alg(), Algorithm::EdDSA);
/// assert!(public.to_public_jwk().is_some());
/// # Ok::<(), gatepass::KeyRejected>(())
/// ```
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<String>,
    alg: Algorithm,
    primitive: VerifyPrimitive,
    public: PublicParams,
}

impl VerifyingKey {
    /// A verification key from a JWK, applying every import rule of docs/REFERENCE.md §5: weak or
    /// malformed keys, and keys whose `use`/`key_ops` forbid verification, are refused.
    /// A JWK without `alg` is bound to the one algorithm its type implies (RSA: RS256);
    /// an HMAC (`oct`) JWK must name its `alg`.
    ///
    /// ```
    /// use gatepass::VerifyingKey;
    /// let jwk = serde_json::json!({
    ///     "kty": "OKP", "crv": "Ed25519", "kid": "a",
    ///     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    /// });
    /// let key = VerifyingKey::from_jwk(jwk.as_object().unwrap())?;
    /// assert_eq!(key.kid(), Some("a"));
    /// # Ok::<(), gatepass::KeyRejected>(())
    /// ```
    pub fn from_jwk(jwk: &Map<String, Value>) -> Result<Self, KeyRejected> {
        let members = jwk::members_from_value(Value::Object(jwk.clone()))
            .map_err(|_| KeyRejected::BadEncoding("jwk"))?;
        Self::from_members(&members)
    }

    pub(crate) fn from_members(members: &JwkMembers) -> Result<Self, KeyRejected> {
        members.check_usage("verify")?;
        let alg = members.algorithm(false)?;
        let (primitive, public) = members.public_key(alg)?;
        Ok(Self {
            kid: members.kid.clone(),
            alg,
            primitive,
            public,
        })
    }

    pub(crate) fn from_parts(
        kid: Option<String>,
        alg: Algorithm,
        primitive: VerifyPrimitive,
        public: PublicParams,
    ) -> Self {
        Self {
            kid,
            alg,
            primitive,
            public,
        }
    }

    /// A copy of this key under another `kid` (or none).
    pub fn with_kid(mut self, kid: Option<&str>) -> Self {
        self.kid = kid.map(str::to_owned);
        self
    }

    /// The key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The RFC 7638 thumbprint of the public key (of the secret, for HMAC).
    pub fn thumbprint(&self) -> String {
        self.public.thumbprint()
    }

    /// The public JWK with `use: "sig"`, `alg` and `kid`; `None` for HMAC keys, which are
    /// secret and never published.
    pub fn to_public_jwk(&self) -> Option<jsonwebtoken::jwk::Jwk> {
        self.public.to_jwk(self.alg, self.kid.as_deref())
    }

    /// Check `signature` over `message`. `true` only for a valid signature by this key.
    pub(crate) fn verify_signature(&self, message: &[u8], signature: &[u8]) -> bool {
        self.primitive.verify(message, signature)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}
