//! Verifying one request, the part of the layer that every service it makes shares:
//! where the token is found (header or cookie), the verifier, optional authentication
//! and required scopes. The layer builds it; the service and the extractors use it.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::cookies::SecureCookie;
use super::credentials::find_token;
use super::dpop::{CheckedProof, DpopConfig, DpopCredentials, DpopMode};
use super::rejection::AuthRejection;
use super::scope;
use crate::dpop::confirmation_jkt;
use crate::token::{AccessClaims, CustomClaims, Verified, Verifier};

/// What every [`AuthService`] made by one layer shares.
pub(crate) struct Config<C, F> {
    pub(crate) source: Arc<TokenSource>,
    pub(crate) optional: bool,
    /// Required scopes, space-separated: read from the token's `scope`/`scp` claims
    /// whatever the claims type `C` is.
    pub(crate) scope: Option<Box<str>>,
    pub(crate) on_rejection: F,
    pub(crate) claims: PhantomData<fn() -> C>,
    /// DPoP proofs, when configured: `Authorization: DPoP` is accepted and bound tokens
    /// are refused as Bearer.
    pub(crate) dpop: Option<DpopConfig>,
}

/// Where a layer finds and verifies tokens; put in the extensions of every request it
/// authenticated, so that an extractor asking for another claims type than the layer's
/// verifies the same token again with the same verifier, rather than fail.
#[derive(Clone, Debug)]
pub(crate) struct TokenSource {
    pub(crate) verifier: Arc<Verifier>,
    pub(crate) cookie: Option<SecureCookie>,
    /// The client the verifier's keys come from, when the layer was told: a missing key
    /// then waits for its refetch (`refetch.rs`).
    #[cfg(feature = "jwks-client")]
    pub(crate) jwks: Option<crate::JwksClient>,
}

impl<C, F> Config<C, F> {
    /// Authenticate one request: `Ok` lets it through (with the claims in the parts'
    /// extensions when it had credentials), `Err` is the answer. With DPoP, `Ok(Some)`
    /// carries the verified proof whose replay check the caller must still await.
    pub(crate) fn verify_request(
        &self,
        parts: &mut Parts,
    ) -> Result<Option<CheckedProof>, AuthRejection>
    where
        C: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        if let Some(dpop) = &self.dpop {
            return self.verify_dpop_request(dpop, parts);
        }
        let Some(token) = find_token(&parts.headers, self.source.cookie.as_ref())? else {
            return if self.optional {
                Ok(None)
            } else {
                Err(AuthRejection::MissingCredentials)
            };
        };
        let verified = self.source.verifier.verify_access_typed::<C>(token)?;
        self.check_scope(&verified)?;
        parts.extensions.insert(verified);
        parts.extensions.insert(Arc::clone(&self.source));
        Ok(None)
    }

    fn check_scope<T>(&self, verified: &Verified<T>) -> Result<(), AuthRejection> {
        if let Some(required) = &self.scope {
            if !scope::scope_tokens(required).all(|scope| verified.has_scope(scope)) {
                return Err(AuthRejection::InsufficientScope {
                    required: required.to_string(),
                });
            }
        }
        Ok(())
    }

    /// RFC 9449 §7: `Authorization: DPoP <token>` with a proof for this request, made by
    /// the key the token's `cnf.jkt` names; or (DPoP optional) an unbound Bearer token.
    /// Tokens are verified into the JSON map first, since the binding is read from it
    /// whatever the layer's claims type.
    fn verify_dpop_request(
        &self,
        dpop: &DpopConfig,
        parts: &mut Parts,
    ) -> Result<Option<CheckedProof>, AuthRejection>
    where
        C: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let bearer_accepted = dpop.mode() == DpopMode::Optional;
        let (verified, checked) = match DpopCredentials::from_headers(&parts.headers) {
            DpopCredentials::Malformed(why) => return Err(AuthRejection::InvalidRequest(why)),
            DpopCredentials::Dpop(token) => {
                let checked = dpop
                    .check(&parts.headers, &parts.method, parts.uri.path(), Some(token))
                    .map_err(AuthRejection::Dpop)?;
                let verified = self
                    .source
                    .verifier
                    .verify_access_typed::<CustomClaims>(token)
                    .map_err(|err| match AuthRejection::from(err) {
                        AuthRejection::InvalidToken(err) => AuthRejection::DpopInvalidToken(err),
                        unavailable => unavailable,
                    })?;
                checked
                    .proof
                    .check_binding(confirmation_jkt(&verified.claims().custom))
                    .map_err(AuthRejection::Dpop)?;
                (verified, Some(checked))
            }
            DpopCredentials::Other => {
                let Some(token) = find_token(&parts.headers, self.source.cookie.as_ref())? else {
                    return if self.optional {
                        Ok(None)
                    } else {
                        Err(AuthRejection::MissingDpopCredentials { bearer_accepted })
                    };
                };
                if !bearer_accepted {
                    return Err(AuthRejection::BearerNotAccepted { bound: false });
                }
                let verified = self
                    .source
                    .verifier
                    .verify_access_typed::<CustomClaims>(token)?;
                if confirmation_jkt(&verified.claims().custom).is_some() {
                    return Err(AuthRejection::BearerNotAccepted { bound: true });
                }
                (verified, None)
            }
        };
        self.check_scope(&verified)?;
        let typed: Verified<AccessClaims<C>> = verified.clone().into_custom::<C>()?;
        parts.extensions.insert(typed);
        // The map too, so an extractor asking for another claims type finds it rather
        // than look for Bearer credentials the request does not have.
        parts.extensions.insert(verified);
        parts.extensions.insert(Arc::clone(&self.source));
        Ok(checked)
    }
}

impl<C, F: Clone> Clone for Config<C, F> {
    fn clone(&self) -> Self {
        Self {
            source: Arc::clone(&self.source),
            optional: self.optional,
            scope: self.scope.clone(),
            on_rejection: self.on_rejection.clone(),
            claims: PhantomData,
            dpop: self.dpop.clone(),
        }
    }
}

impl<C, F> fmt::Debug for Config<C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("verifier", &self.source.verifier)
            .field("optional", &self.optional)
            .field(
                "cookie",
                &self.source.cookie.as_ref().map(SecureCookie::name),
            )
            .field("scope", &self.scope)
            .field("dpop", &self.dpop)
            .field("claims", &std::any::type_name::<C>())
            .finish_non_exhaustive()
    }
}
