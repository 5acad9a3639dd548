//! Verifying one request, the part of the layer that every service it makes shares:
//! where the token is found (header or cookie), the verifier, optional authentication
//! and required scopes. The layer builds it; the service and the extractors use it.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::http::{Extensions, HeaderMap};
use serde::de::DeserializeOwned;

use super::cookies::SecureCookie;
use super::credentials::find_token;
use super::rejection::AuthRejection;
use super::scope;
use crate::token::Verifier;

/// What every [`AuthService`] made by one layer shares.
pub(crate) struct Config<C, F> {
    pub(crate) source: Arc<TokenSource>,
    pub(crate) optional: bool,
    /// Required scopes, space-separated: read from the token's `scope`/`scp` claims
    /// whatever the claims type `C` is.
    pub(crate) scope: Option<Box<str>>,
    pub(crate) on_rejection: F,
    pub(crate) claims: PhantomData<fn() -> C>,
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
    /// Authenticate one request: `Ok` lets it through (with the claims in `extensions`
    /// when it had credentials), `Err` is the answer.
    pub(crate) fn verify_request(
        &self,
        headers: &HeaderMap,
        extensions: &mut Extensions,
    ) -> Result<(), AuthRejection>
    where
        C: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let Some(token) = find_token(headers, self.source.cookie.as_ref())? else {
            return if self.optional {
                Ok(())
            } else {
                Err(AuthRejection::MissingCredentials)
            };
        };
        let verified = self.source.verifier.verify_access_typed::<C>(token)?;
        if let Some(required) = &self.scope {
            if !scope::scope_tokens(required).all(|scope| verified.has_scope(scope)) {
                return Err(AuthRejection::InsufficientScope {
                    required: required.to_string(),
                });
            }
        }
        extensions.insert(verified);
        extensions.insert(Arc::clone(&self.source));
        Ok(())
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
            .field("claims", &std::any::type_name::<C>())
            .finish_non_exhaustive()
    }
}
