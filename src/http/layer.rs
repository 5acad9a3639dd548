//! [`AuthLayer`]: the tower layer that authenticates every request, and its configuration.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use tower::Layer;

use super::cookies::SecureCookie;
use super::dpop::DpopConfig;
use super::on_rejection::{DefaultOnRejection, OnRejection};
use super::request::{Config, TokenSource};
use super::scope;
use super::service::AuthService;
use crate::token::{CustomClaims, Verifier};

/// A tower [`Layer`] that verifies the bearer token of every request with a shared
/// [`Verifier`] and puts the verified claims (`Verified<AccessClaims<C>>`) into the
/// request's extensions, where the [`Authenticated`](crate::Authenticated) extractor (or
/// any tower service) finds them.
///
/// A request that is not authenticated never reaches the inner service: the layer answers
/// it with the [`AuthRejection`](crate::AuthRejection)'s RFC 6750 response (401 with a `Bearer` challenge, 400
/// `invalid_request`, 403 `insufficient_scope`), or with yours
/// ([`on_rejection`](Self::on_rejection)).
///
/// * **Claims type**: [`AuthLayer::new`] verifies into the JSON map [`CustomClaims`];
///   [`AuthLayer::with_claims`] into your `serde` type (then an extractor asking for that
///   type gets it without a second deserialization).
/// * **Optional**: [`optional`](Self::optional) lets requests without credentials through
///   (bad credentials are still refused).
/// * **Cookie**: [`token_cookie`](Self::token_cookie) also reads the token from a
///   `__Host-`/`__Secure-` cookie when there is no Bearer `Authorization` header.
/// * **Scope**: [`require_scope`](Self::require_scope) answers 403 when the token lacks a
///   scope.
/// * **Remote keys**: [`from_jwks_url`](Self::from_jwks_url) and
///   [`from_issuer`](Self::from_issuer) build the whole layer for an API that trusts an
///   identity provider's published keys; [`jwks_refetch`](Self::jwks_refetch) makes a
///   layer you built yourself wait for its [`JwksClient`](crate::JwksClient)'s refetch on
///   an unknown `kid`.
///
/// The per-request cost is the verification itself: the layer borrows the token from the
/// header, shares its configuration behind one `Arc` (cloning the service per request is a
/// reference-count increment), never clones the verifier, and its future is a concrete
/// type, not a box (the one exception: a request that waits for a JWKS refetch).
///
/// ```no_run
/// use std::sync::Arc;
/// use axum::{routing::get, Router};
/// use gatepass::{AuthLayer, Authenticated, Keyset, Verifier};
///
/// async fn me(auth: Authenticated) -> String {
///     format!("hello {}", auth.sub)
/// }
///
/// # fn app() -> Result<Router, Box<dyn std::error::Error>> {
/// let keyset = Keyset::load("keys.json")?;
/// let verifier = Arc::new(Verifier::builder(keyset.verification_keys(), "https://auth.example", "api").build()?);
///
/// let app = Router::new()
///     .route("/api/me", get(me))
///     .route_layer(AuthLayer::new(verifier));
/// # Ok(app)
/// # }
/// ```
pub struct AuthLayer<C = CustomClaims, F = DefaultOnRejection> {
    config: Config<C, F>,
}

impl AuthLayer {
    /// A layer that requires a valid access token, verified into the JSON map of custom
    /// claims.
    pub fn new(verifier: impl Into<Arc<Verifier>>) -> Self {
        Self::with_claims(verifier)
    }

    /// A layer that verifies the custom claims into `C`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use gatepass::*;
    /// #[derive(Clone, Debug, serde::Deserialize)]
    /// struct Roles { roles: Vec<String> }
    ///
    /// # let key = Arc::new(SigningKey::generate(Algorithm::EdDSA)?);
    /// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "i", "a").build()?;
    /// let layer = AuthLayer::with_claims::<Roles>(verifier);
    /// // handlers: `async fn h(auth: Authenticated<Roles>)`
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_claims<C>(verifier: impl Into<Arc<Verifier>>) -> AuthLayer<C> {
        AuthLayer {
            config: Config {
                source: Arc::new(TokenSource {
                    verifier: verifier.into(),
                    cookie: None,
                    #[cfg(feature = "jwks-client")]
                    jwks: None,
                }),
                optional: false,
                scope: None,
                on_rejection: DefaultOnRejection,
                claims: PhantomData,
                dpop: None,
            },
        }
    }
}

impl<C, F> AuthLayer<C, F> {
    /// Let requests without credentials through, unauthenticated (no claims in the
    /// extensions; `Option<Authenticated>` is then `None`). Credentials that are present but
    /// malformed or invalid are still refused: a client that sends a bad token should
    /// learn so, not be served as anonymous. A [`require_scope`](Self::require_scope) then
    /// applies to authenticated requests only.
    ///
    /// ```
    /// # use gatepass::*;
    /// # let verifier = Verifier::builder(VerificationKeys::default(), "i", "a").build()?;
    /// let layer = AuthLayer::new(verifier).optional();
    /// // handlers: `async fn h(auth: Option<Authenticated>)`
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn optional(mut self) -> Self {
        self.config.optional = true;
        self
    }

    /// Also take the token from this cookie when the request has no Bearer `Authorization`
    /// header (absent, or another scheme). A Bearer header always wins; a malformed one is
    /// refused, never replaced by the cookie. A duplicated cookie, or one whose value is not
    /// cookie-octets, is 400 `invalid_request`.
    ///
    /// Cookies are ambient: the browser attaches them to cross-site requests too.
    /// `SameSite=Strict` (which [`SecureCookie`] sets) stops that in current browsers;
    /// state-changing routes authenticated by cookie should still check `Origin`.
    ///
    /// ```
    /// # use gatepass::*;
    /// # let verifier = Verifier::builder(VerificationKeys::default(), "i", "a").build()?;
    /// let layer = AuthLayer::new(verifier).token_cookie(SecureCookie::host("access")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token_cookie(mut self, cookie: SecureCookie) -> Self {
        Arc::make_mut(&mut self.config.source).cookie = Some(cookie);
        self
    }

    /// Answer rejections with your own response instead of the default RFC 6750 one.
    ///
    /// The function gets the typed [`AuthRejection`](crate::AuthRejection) (its
    /// [`www_authenticate`](crate::AuthRejection::www_authenticate) is there to reuse) and returns
    /// anything that is [`IntoResponse`](axum::response::IntoResponse).
    ///
    /// ```
    /// # use gatepass::*;
    /// use axum::http::StatusCode;
    ///
    /// # let verifier = Verifier::builder(VerificationKeys::default(), "i", "a").build()?;
    /// let layer = AuthLayer::new(verifier).on_rejection(|rejection: AuthRejection| {
    ///     (rejection.status(), format!("denied: {}", rejection.kind()))
    /// });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_rejection<G>(self, on_rejection: G) -> AuthLayer<C, G>
    where
        G: OnRejection,
    {
        let Config {
            source,
            optional,
            scope,
            on_rejection: _,
            claims,
            dpop,
        } = self.config;
        AuthLayer {
            config: Config {
                source,
                optional,
                scope,
                on_rejection,
                claims,
                dpop,
            },
        }
    }

    /// Accept DPoP-bound tokens (RFC 9449 §7): `Authorization: DPoP <token>` with one
    /// `DPoP` proof whose `htm` is the request's method, whose `htu` is
    /// `dpop`'s public origin plus the request's path, whose `ath` is the token's hash,
    /// whose `iat` is within the verifier's window, whose `jti` the replay cache has not
    /// seen, and whose key is the token's `cnf.jkt`. A token bound to a key is refused as
    /// Bearer; with [`DpopMode::Required`](crate::DpopMode::Required) every Bearer token
    /// is. Refusals answer with the `DPoP` challenge ([`AuthRejection::Dpop`] and its
    /// siblings).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum::{routing::get, Router};
    /// use gatepass::*;
    ///
    /// # let verifier = Verifier::builder(VerificationKeys::default(), "i", "a").build()?;
    /// let dpop = DpopConfig::new(
    ///     DpopMode::Required,
    ///     "https://api.example.com",
    ///     Arc::new(MemoryReplayCache::new(100_000)),
    /// )?;
    /// let app: Router = Router::new()
    ///     .route("/orders", get(|auth: Authenticated| async move { auth.claims().sub.clone() }))
    ///     .layer(AuthLayer::new(verifier).dpop(dpop));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`AuthRejection::Dpop`]: crate::AuthRejection::Dpop
    pub fn dpop(mut self, dpop: DpopConfig) -> Self {
        self.config.dpop = Some(dpop);
        self
    }

    /// The verifier this layer uses.
    ///
    /// ```
    /// # use gatepass::*;
    /// # let verifier = Verifier::builder(VerificationKeys::default(), "https://auth.example", "api").build()?;
    /// let layer = AuthLayer::new(verifier);
    /// assert_eq!(layer.verifier().audience(), "api");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verifier(&self) -> &Arc<Verifier> {
        &self.config.source.verifier
    }

    /// Tell the layer that its verifier's keys come from `jwks`: a token whose `kid` the
    /// cached set lacks, or that arrives before the first set, then waits for the client's
    /// single-flight refetch (if one starts, under the client's cooldown) and is verified
    /// once more before it is refused, as [`JwksClient::verify_with`](crate::JwksClient::verify_with)
    /// does. So the first request after the identity provider rotates its keys succeeds.
    /// Known kids never wait; a made-up kid within the cooldown is refused at once.
    /// [`AuthLayer::from_jwks_url`] and [`AuthLayer::from_issuer`] set this already.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// use gatepass::{AuthLayer, JwksClient, Verifier};
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let jwks = JwksClient::builder("https://auth.example/.well-known/jwks.json").build()?;
    /// let verifier = Verifier::builder(jwks.clone(), "https://auth.example", "api").build()?;
    /// let layer = AuthLayer::new(verifier).jwks_refetch(jwks);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "jwks-client")]
    pub fn jwks_refetch(mut self, jwks: crate::JwksClient) -> Self {
        Arc::make_mut(&mut self.config.source).jwks = Some(jwks);
        self
    }

    /// The JWKS client this layer waits for (see [`jwks_refetch`](Self::jwks_refetch)):
    /// its [`status`](crate::JwksClient::status) is there for health checks, its
    /// [`spawn_refresher`](crate::JwksClient::spawn_refresher) for idle services.
    ///
    /// ```
    /// # use gatepass::*;
    /// # let verifier = Verifier::builder(VerificationKeys::default(), "i", "a").build()?;
    /// assert!(AuthLayer::new(verifier).jwks_client().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "jwks-client")]
    pub fn jwks_client(&self) -> Option<&crate::JwksClient> {
        self.config.source.jwks.as_ref()
    }
}

impl<C, F> AuthLayer<C, F> {
    /// Require every scope of the space-separated list `scopes`, read from the token's
    /// `scope` and `scp` claims (see [`Verified::scopes`](crate::Verified::scopes)) for any
    /// claims type `C`. A token without them gets 403 `insufficient_scope` with
    /// `scope="<scopes>"` in the challenge.
    ///
    /// Typically on one route with `route_layer`. Stacked under another `AuthLayer`, this
    /// layer verifies the token again rather than trust claims another verifier (perhaps
    /// for another audience) put in the extensions; with one global layer, check scopes in
    /// the handler with [`Authenticated::require_scope`](crate::Authenticated::require_scope)
    /// instead.
    ///
    /// # Panics
    ///
    /// If `scopes` is not a valid RFC 6749 scope list (scope tokens of printable ASCII
    /// without `"` and `\`, separated by single spaces): a programming error, caught when
    /// the router is built.
    ///
    /// ```
    /// # use gatepass::*;
    /// # let verifier = Verifier::builder(VerificationKeys::default(), "i", "a").build()?;
    /// let admin_only = AuthLayer::new(verifier).require_scope("admin");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn require_scope(mut self, scopes: &str) -> Self {
        assert!(
            scope::is_valid_scope_list(scopes),
            "invalid scope list {scopes:?}: scope tokens of printable ASCII without '\"' or '\\', separated by single spaces",
        );
        self.config.scope = Some(scopes.into());
        self
    }
}

impl<S, C, F: Clone> Layer<S> for AuthLayer<C, F> {
    type Service = AuthService<S, C, F>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::new(inner, Arc::new(self.config.clone()))
    }
}

impl<C, F: Clone> Clone for AuthLayer<C, F> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
        }
    }
}

impl<C, F> fmt::Debug for AuthLayer<C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.config, f)
    }
}
