//! [`Verified`]: a token whose signature and claims passed, with its header; only the
//! verifier makes one.

use std::fmt;
use std::sync::Arc;

#[cfg(feature = "axum")]
use serde::de::DeserializeOwned;

use super::claims::AccessClaims;
use super::header::Header;
#[cfg(feature = "axum")]
use super::rules::custom_claims;
#[cfg(feature = "axum")]
use crate::error::VerifyError;

/// A token whose signature and claims have been verified, with its header.
///
/// Only a [`Verifier`](crate::Verifier) creates one, so a `Verified<AccessClaims>` in a function signature
/// is proof of verification, and a `Verified<RefreshClaims>` can never be passed where an
/// access token is expected.
///
/// A verification served by the [`TokenCache`](crate::TokenCache) shares its header and claims with the
/// cache: reading them, and cloning the `Verified` (as an axum extractor does), copies
/// nothing; [`into_claims`](Self::into_claims) copies them only if the cache still holds
/// them.
pub struct Verified<T> {
    pub(super) repr: Repr<T>,
}

pub(super) struct Parts<T> {
    pub(super) header: Header,
    pub(super) claims: T,
    /// The scope tokens of `scope` and `scp`, space-separated, whatever `T` is.
    pub(super) scopes: Option<Box<str>>,
}

pub(super) enum Repr<T> {
    Owned(Parts<T>),
    /// Shared with the cache; `unshare` copies the parts (captured where `T: Clone`).
    Shared {
        parts: Arc<Parts<T>>,
        unshare: fn(&Parts<T>) -> Parts<T>,
    },
}

pub(super) fn unshare<T: Clone>(parts: &Parts<T>) -> Parts<T> {
    Parts {
        header: parts.header.clone(),
        claims: parts.claims.clone(),
        scopes: parts.scopes.clone(),
    }
}

impl<T> Verified<T> {
    pub(super) fn owned(header: Header, claims: T, scopes: Option<Box<str>>) -> Self {
        Self {
            repr: Repr::Owned(Parts {
                header,
                claims,
                scopes,
            }),
        }
    }

    /// The scope tokens the token grants: those of its `scope` claim (a space-separated
    /// string) and its `scp` claim (the same, or an array of strings), read whatever the
    /// claims type is. A claim of any other JSON type, or an array holding anything but
    /// strings, grants nothing.
    ///
    /// ```
    /// # use gatepass::*;
    /// # let key = std::sync::Arc::new(SigningKey::generate(Algorithm::HS256)?);
    /// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "i", "a").build()?;
    /// let token = Issuer::new(key, "i", "a").access_token("alice")
    ///     .claim("scope", "orders:read orders:write")?.issue()?.token;
    /// #[derive(serde::Deserialize)]
    /// struct Nothing {}
    /// let verified = verifier.verify_access_as::<Nothing>(&token)?;
    /// assert!(verified.has_scope("orders:write"));
    /// assert_eq!(verified.scopes().count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.parts()
            .scopes
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// Whether the token grants `scope` (one scope token, compared exactly).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|granted| granted == scope)
    }

    pub(super) fn parts(&self) -> &Parts<T> {
        match &self.repr {
            Repr::Owned(parts) => parts,
            Repr::Shared { parts, .. } => parts,
        }
    }

    /// The verified claims.
    pub fn claims(&self) -> &T {
        &self.parts().claims
    }

    /// The token's header.
    pub fn header(&self) -> &Header {
        &self.parts().header
    }

    /// The claims, consuming the wrapper.
    pub fn into_claims(self) -> T {
        self.into_parts().1
    }

    /// Header and claims.
    pub fn into_parts(self) -> (Header, T) {
        let parts = self.into_all_parts();
        (parts.header, parts.claims)
    }

    pub(super) fn into_all_parts(self) -> Parts<T> {
        match self.repr {
            Repr::Owned(parts) => parts,
            Repr::Shared { parts, unshare } => {
                Arc::try_unwrap(parts).unwrap_or_else(|shared| unshare(&shared))
            }
        }
    }
}

impl<T: Clone> Verified<T> {
    pub(super) fn shared(parts: Arc<Parts<T>>) -> Self {
        Self {
            repr: Repr::Shared {
                parts,
                unshare: unshare::<T>,
            },
        }
    }
}

impl<T: Clone> Clone for Verified<T> {
    fn clone(&self) -> Self {
        match &self.repr {
            Repr::Owned(parts) => Self::owned(
                parts.header.clone(),
                parts.claims.clone(),
                parts.scopes.clone(),
            ),
            Repr::Shared { parts, unshare } => Self {
                repr: Repr::Shared {
                    parts: Arc::clone(parts),
                    unshare: *unshare,
                },
            },
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Verified<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("header", self.header())
            .field("claims", self.claims())
            .finish()
    }
}

impl<T: PartialEq> PartialEq for Verified<T> {
    fn eq(&self, other: &Self) -> bool {
        self.header() == other.header() && self.claims() == other.claims()
    }
}

impl Verified<AccessClaims> {
    /// The same verified token with its custom claims deserialized into `C`, as
    /// [`Verifier::verify_access_as`](crate::Verifier::verify_access_as) would have done (for a layer that verified into the
    /// JSON map and a handler that asks for its own type).
    #[cfg(feature = "axum")]
    pub(crate) fn into_custom<C: DeserializeOwned>(
        self,
    ) -> Result<Verified<AccessClaims<C>>, VerifyError> {
        let Parts {
            header,
            claims,
            scopes,
        } = self.into_all_parts();
        let AccessClaims {
            iss,
            sub,
            aud,
            exp,
            iat,
            nbf,
            jti,
            sid,
            custom,
        } = claims;
        Ok(Verified::owned(
            header,
            AccessClaims {
                iss,
                sub,
                aud,
                exp,
                iat,
                nbf,
                jti,
                sid,
                custom: custom_claims::<C>(custom)?,
            },
            scopes,
        ))
    }
}
