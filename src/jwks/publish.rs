//! Publishing our public keys: the JWK Set (pending, active and retiring keys, never HMAC
//! keys, never private members) and the `Cache-Control` header the rotation policy implies.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;

use crate::keys::KeysetError;
use crate::keys::{Keyset, RotationPolicy, RotationRefused};

/// A JWK Set ready to serve at `/.well-known/jwks.json`, with its caching lifetime.
///
/// The `max-age` never exceeds the policy's `publish_ahead`: a key published as pending is
/// then in every honest cache before it starts signing.
///
/// ```
/// use gatepass::{Algorithm, GenerateOptions, Keyset, PublishedJwks, RotationPolicy};
/// let mut keyset = Keyset::new();
/// keyset.generate(Algorithm::EdDSA, GenerateOptions::default(), 0)?;
/// keyset.generate(Algorithm::HS256, GenerateOptions::default(), 0)?; // never published
///
/// let published = PublishedJwks::new(&keyset, &RotationPolicy::default());
/// assert_eq!(published.jwks().keys.len(), 1);
/// assert_eq!(published.cache_control(), "public, max-age=600");
/// let body: serde_json::Value = serde_json::from_slice(&published.to_json())?;
/// assert!(body["keys"][0].get("d").is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct PublishedJwks {
    jwks: JwkSet,
    max_age: u64,
}

impl PublishedJwks {
    /// The public set of `keyset`, cached for the policy's
    /// [`jwks_max_age`](RotationPolicy::jwks_max_age).
    pub fn new(keyset: &Keyset, policy: &RotationPolicy) -> Self {
        Self {
            jwks: keyset.public_jwks(),
            max_age: policy.jwks_max_age().as_secs(),
        }
    }

    /// The public set of `keyset` with a chosen `max-age`, refused when it is longer than
    /// the policy's `publish_ahead` (a pending key could then sign before a cache that
    /// fetched just before its publication has it).
    ///
    /// ```
    /// use std::time::Duration;
    /// use gatepass::{Keyset, PublishedJwks, RotationPolicy};
    /// let policy = RotationPolicy::default(); // publish_ahead 1 h
    /// assert!(PublishedJwks::with_max_age(&Keyset::new(), &policy, Duration::from_secs(60)).is_ok());
    /// assert!(PublishedJwks::with_max_age(&Keyset::new(), &policy, Duration::from_secs(7200)).is_err());
    /// ```
    pub fn with_max_age(
        keyset: &Keyset,
        policy: &RotationPolicy,
        max_age: Duration,
    ) -> Result<Self, KeysetError> {
        if max_age > policy.publish_ahead() {
            return Err(KeysetError::Rotation(
                RotationRefused::MaxAgeAbovePublishAhead {
                    max_age: max_age.as_secs(),
                    publish_ahead: policy.publish_ahead().as_secs(),
                },
            ));
        }
        Ok(Self {
            jwks: keyset.public_jwks(),
            max_age: max_age.as_secs(),
        })
    }

    /// The JWK Set (jsonwebtoken's serde types).
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// How long clients may cache the set.
    pub fn max_age(&self) -> Duration {
        Duration::from_secs(self.max_age)
    }

    /// The `Cache-Control` header value: `public, max-age=N`.
    pub fn cache_control(&self) -> String {
        format!("public, max-age={}", self.max_age)
    }

    /// The response body: the JWK Set as compact JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // A JwkSet of strings and enums always serializes; an empty set is the safe fallback.
        serde_json::to_vec(&self.jwks).unwrap_or_else(|_| br#"{"keys":[]}"#.to_vec())
    }

    /// The JWK Set, consuming the value.
    pub fn into_jwks(self) -> JwkSet {
        self.jwks
    }
}
