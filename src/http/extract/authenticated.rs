//! [`Authenticated`]: the verified access token of the request, typed.

use std::ops::Deref;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::http::rejection::AuthRejection;
use crate::http::scope;
use crate::token::{AccessClaims, CustomClaims, Header, Verified};

/// The request's verified access token; its claims reach the handler typed (`C` is your
/// custom-claims type, the JSON map by default). Dereferences to [`AccessClaims<C>`].
///
/// Where it comes from, in order:
///
/// 1. the claims an [`AuthLayer`](crate::AuthLayer) verified (the usual set-up: the layer
///    answers the rejections, the extractor only reads; a layer that verified into the JSON
///    map serves any `C` at the cost of one deserialization);
/// 2. without a layer, the `Authorization: Bearer` header, verified with the
///    `Arc<Verifier>` the app put in the request extensions (`axum::Extension(verifier)` as
///    a layer). Extensions, not state, so the extractor works with any router state. A
///    token cookie is read only by the layer.
///
/// Rejects with [`AuthRejection`] (401/400 as RFC 6750 says; 500 `MissingVerifier` if
/// neither a layer nor a verifier is there). For optional authentication take
/// `Option<Authenticated<C>>`: `None` without credentials, still a rejection for bad ones.
///
/// ```no_run
/// use std::sync::Arc;
/// use axum::{routing::get, Extension, Router};
/// use gatepass::{Authenticated, AuthRejection, Verifier};
///
/// #[derive(Clone, Debug, serde::Deserialize)]
/// struct MyClaims { role: String }
///
/// async fn me(auth: Authenticated<MyClaims>) -> String {
///     format!("{} is {}", auth.sub, auth.custom.role)
/// }
///
/// async fn greet(auth: Option<Authenticated>) -> String {
///     match auth {
///         Some(auth) => format!("hello {}", auth.sub),
///         None => "hello stranger".to_owned(),
///     }
/// }
///
/// async fn admin(auth: Authenticated) -> Result<&'static str, AuthRejection> {
///     auth.require_scope("admin")?;
///     Ok("welcome")
/// }
///
/// fn app(verifier: Arc<Verifier>) -> Router {
///     Router::new()
///         .route("/me", get(me))
///         .route("/greet", get(greet))
///         .route("/admin", get(admin))
///         .layer(Extension(verifier))
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Authenticated<C = CustomClaims>(Verified<AccessClaims<C>>);

impl<C> Authenticated<C> {
    /// The verified claims.
    pub fn claims(&self) -> &AccessClaims<C> {
        self.0.claims()
    }

    /// The token's header.
    pub fn header(&self) -> &Header {
        self.0.header()
    }

    /// The verified token.
    pub fn verified(&self) -> &Verified<AccessClaims<C>> {
        &self.0
    }

    /// The verified token, consuming the extractor.
    pub fn into_verified(self) -> Verified<AccessClaims<C>> {
        self.0
    }

    /// The claims, consuming the extractor.
    pub fn into_claims(self) -> AccessClaims<C> {
        self.0.into_claims()
    }
}

impl<C> Authenticated<C> {
    /// Whether the token grants `scope` (one scope token, from its `scope` or `scp` claim,
    /// whatever the claims type; see [`Verified::scopes`]).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.has_scope(scope)
    }

    /// `Ok` if the token grants every scope of the space-separated list `scopes`, else the
    /// 403 `insufficient_scope` rejection naming them, ready for `?` in a handler that
    /// returns `Result<_, AuthRejection>`. An empty or malformed list grants nothing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use gatepass::*;
    /// # let key = Arc::new(SigningKey::generate(Algorithm::EdDSA)?);
    /// # let issuer = Issuer::new(key.clone(), "i", "a");
    /// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "i", "a").build()?;
    /// let token = issuer.access_token("alice").claim("scope", "read write")?.issue()?.token;
    /// let auth = Authenticated::from(verifier.verify_access(&token)?);
    /// assert!(auth.require_scope("read write").is_ok());
    /// assert_eq!(auth.require_scope("admin").unwrap_err().status(), 403);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn require_scope(&self, scopes: &str) -> Result<(), AuthRejection> {
        if scope::is_valid_scope_list(scopes)
            && scope::scope_tokens(scopes).all(|scope| self.0.has_scope(scope))
        {
            return Ok(());
        }
        let rejection = AuthRejection::InsufficientScope {
            required: scopes.to_owned(),
        };
        rejection.trace();
        Err(rejection)
    }
}

impl<C> Deref for Authenticated<C> {
    type Target = AccessClaims<C>;

    fn deref(&self) -> &AccessClaims<C> {
        self.claims()
    }
}

impl<C> From<Verified<AccessClaims<C>>> for Authenticated<C> {
    fn from(verified: Verified<AccessClaims<C>>) -> Self {
        Self(verified)
    }
}

impl<S, C> FromRequestParts<S> for Authenticated<C>
where
    S: Send + Sync,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AuthRejection> {
        super::verify_parts(parts)
            .await
            .and_then(|found| found.ok_or(AuthRejection::MissingCredentials))
            .inspect_err(AuthRejection::trace)
    }
}
