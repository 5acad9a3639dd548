//! The one-call layer for the common case: an API that trusts an identity provider's
//! published keys. [`AuthLayer::from_jwks_url`] and [`AuthLayer::from_issuer`] (OpenID
//! Connect discovery) start a [`RemoteAuth`], which builds the [`JwksClient`], the
//! [`Verifier`] and the layer, the layer waiting for the client's refetch on an unknown
//! `kid`.

use std::fmt;

use serde::de::DeserializeOwned;

use super::layer::AuthLayer;
use crate::error::ConfigError;
use crate::jwks::discover_jwks_uri;
use crate::token::{CustomClaims, Profile, Verifier, VerifierBuilder};
use crate::{DiscoveryError, FetchError, JwksClient, JwksClientBuilder, JwksClientError};

type Customize = Box<dyn FnOnce(VerifierBuilder) -> VerifierBuilder + Send>;

/// Configures an [`AuthLayer`] that trusts a remote JWK Set: made by
/// [`AuthLayer::from_jwks_url`] or [`AuthLayer::from_issuer`], finished by
/// [`build`](Self::build).
///
/// What it builds, and the defaults:
///
/// * a [`JwksClient`] with its default limits (5 s timeout, 512 KiB cap, 30 s cooldown,
///   `https://` only except to loopback); change them with [`jwks`](Self::jwks). The first
///   fetch starts in the background at `build` (or, with [`require_keys`](Self::require_keys),
///   `build` waits for it and fails if it fails);
/// * a [`Verifier`] on that client for the issuers and audiences given, with the
///   [`Profile::Jwt`] profile: an identity provider's access tokens (`typ` absent, `JWT` or
///   `at+jwt`) pass the type check, refresh and DPoP tokens still fail it, and
///   gatepass's own access tokens pass too. For an issuer that is a gatepass auth server,
///   [`profile`](Self::profile)`(Profile::Gatepass)` requires its stricter shape. The layer
///   verifies into `AccessClaims`, which needs `sub`, `aud`, `iat` and `jti`: tokens
///   without them are refused as `missing_claim` (see `docs/RECIPES.md` for which
///   providers send them). Other verifier settings: [`verifier`](Self::verifier);
/// * the layer, told to wait for the client's single-flight refetch when a token's `kid`
///   is not in the cached set (see [`AuthLayer::jwks_refetch`]).
///
/// ```no_run
/// use std::time::Duration;
/// use axum::{routing::get, Router};
/// use gatepass::{AuthLayer, Authenticated, Profile};
///
/// async fn me(auth: Authenticated) -> String {
///     format!("hello {}", auth.sub)
/// }
///
/// # async fn app() -> Result<Router, gatepass::RemoteAuthError> {
/// let layer = AuthLayer::from_issuer("https://sso.example.com/realms/acme", "orders-api")
///     .audience("orders-api-staging")                   // accepted too
///     .jwks(|client| client.cooldown(Duration::from_secs(60)))
///     .verifier(|verifier| verifier.require("scope"))
///     .require_keys()                                   // fail now if the keys are unreachable
///     .build()
///     .await?;
/// let app = Router::new().route("/me", get(me)).route_layer(layer);
/// # Ok(app)
/// # }
/// ```
#[must_use]
pub struct RemoteAuth {
    /// Find the JWKS URL by discovery from the first issuer, rather than take it as given.
    discover: bool,
    jwks: JwksClientBuilder,
    issuers: Vec<String>,
    audiences: Vec<String>,
    profile: Profile,
    require_keys: bool,
    customize: Option<Customize>,
}

impl AuthLayer {
    /// Start a layer that trusts the JWK Set at `url` (`https://`, or `http://` to a loopback
    /// address) for tokens whose `iss` is `issuer` and whose `aud` contains `audience`. See
    /// [`RemoteAuth`] for what it builds and the defaults.
    ///
    /// ```no_run
    /// use gatepass::AuthLayer;
    /// # async fn f() -> Result<(), gatepass::RemoteAuthError> {
    /// let layer = AuthLayer::from_jwks_url(
    ///     "https://auth.example/.well-known/jwks.json",
    ///     "https://auth.example",
    ///     "orders-api",
    /// )
    /// .build()
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub fn from_jwks_url(
        url: impl Into<String>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> RemoteAuth {
        RemoteAuth::new(
            false,
            JwksClient::builder(url),
            issuer.into(),
            audience.into(),
        )
    }

    /// Start a layer that trusts `issuer` through OpenID Connect discovery: `build` fetches
    /// `{issuer}/.well-known/openid-configuration` (a terminating `/` of the issuer removed
    /// first) with the JWKS client's limits (`https://` only except to loopback, size cap,
    /// timeout, no redirects), requires the document's `issuer` to equal `issuer` exactly
    /// (else [`DiscoveryError::IssuerMismatch`]), and trusts the JWK Set at its `jwks_uri`.
    /// Tokens must carry `iss` equal to `issuer` and an `aud` containing `audience`.
    ///
    /// ```no_run
    /// use gatepass::AuthLayer;
    /// # async fn f() -> Result<(), gatepass::RemoteAuthError> {
    /// let layer = AuthLayer::from_issuer("https://auth.example", "orders-api").build().await?;
    /// # Ok(()) }
    /// ```
    pub fn from_issuer(issuer: impl Into<String>, audience: impl Into<String>) -> RemoteAuth {
        RemoteAuth::new(
            true,
            JwksClient::builder(String::new()),
            issuer.into(),
            audience.into(),
        )
    }
}

impl RemoteAuth {
    fn new(discover: bool, jwks: JwksClientBuilder, issuer: String, audience: String) -> Self {
        Self {
            discover,
            jwks,
            issuers: vec![issuer],
            audiences: vec![audience],
            profile: Profile::Jwt,
            require_keys: false,
            customize: None,
        }
    }

    /// Accept tokens of this issuer too (same keys). With discovery, the document is that
    /// of the first issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accept tokens whose `aud` contains this audience too.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The verification profile (default [`Profile::Jwt`], see [`RemoteAuth`]).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Configure the JWKS client's limits (timeout, size cap, cooldown, cache lifetimes,
    /// clock): `configure` gets the builder with the defaults. With discovery, the same
    /// timeout, size cap and URL policy apply to the discovery document. Its URL is the one
    /// given to [`AuthLayer::from_jwks_url`], or the one discovery finds.
    pub fn jwks(mut self, configure: impl FnOnce(JwksClientBuilder) -> JwksClientBuilder) -> Self {
        self.jwks = configure(self.jwks);
        self
    }

    /// Configure the verifier beyond issuers, audiences and profile (required claims,
    /// leeway, algorithms, a token cache, a clock): `configure` gets its builder, already
    /// holding those, when [`build`](Self::build) runs.
    pub fn verifier(
        mut self,
        configure: impl FnOnce(VerifierBuilder) -> VerifierBuilder + Send + 'static,
    ) -> Self {
        self.customize = Some(Box::new(configure));
        self
    }

    /// Fetch the JWK Set during [`build`](Self::build), and fail with
    /// [`RemoteAuthError::Keys`] if that fetch fails: for services that would rather not
    /// start than answer 503 until the provider is reachable. By default `build` only
    /// starts the fetch, and early requests wait for it.
    pub fn require_keys(mut self) -> Self {
        self.require_keys = true;
        self
    }

    /// Discover (for [`AuthLayer::from_issuer`]), build the client, the verifier and the
    /// layer, verifying into the JSON map of custom claims.
    pub async fn build(self) -> Result<AuthLayer, RemoteAuthError> {
        self.build_with_claims::<CustomClaims>().await
    }

    /// As [`build`](Self::build), verifying the custom claims into `C` (see
    /// [`AuthLayer::with_claims`]).
    pub async fn build_with_claims<C>(self) -> Result<AuthLayer<C>, RemoteAuthError>
    where
        C: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let Self {
            discover,
            jwks,
            issuers,
            audiences,
            profile,
            require_keys,
            customize,
        } = self;
        let (Some(issuer), Some(audience)) = (issuers.first(), audiences.first()) else {
            return Err(RemoteAuthError::Verifier(
                ConfigError::EmptyIssuerOrAudience,
            ));
        };
        let jwks = if discover {
            let url = discover_jwks_uri(issuer, jwks.fetch_policy())
                .await
                .map_err(RemoteAuthError::Discovery)?;
            jwks.url(url)
        } else {
            jwks
        };
        let jwks = jwks.build().map_err(RemoteAuthError::Jwks)?;
        let mut builder =
            Verifier::builder(jwks.clone(), issuer.clone(), audience.clone()).profile(profile);
        for issuer in issuers.iter().skip(1) {
            builder = builder.issuer(issuer.clone());
        }
        for audience in audiences.iter().skip(1) {
            builder = builder.audience(audience.clone());
        }
        if let Some(customize) = customize {
            builder = customize(builder);
        }
        let verifier = builder.build().map_err(RemoteAuthError::Verifier)?;
        if require_keys {
            jwks.refresh().await.map_err(RemoteAuthError::Keys)?;
        } else {
            jwks.prefetch();
        }
        Ok(AuthLayer::with_claims::<C>(verifier).jwks_refetch(jwks))
    }
}

impl fmt::Debug for RemoteAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteAuth")
            .field("discover", &self.discover)
            .field("jwks", &self.jwks)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("profile", &self.profile)
            .field("require_keys", &self.require_keys)
            .field("verifier_configured", &self.customize.is_some())
            .finish()
    }
}

/// Why [`RemoteAuth::build`] could not build the layer.
///
/// ```
/// use gatepass::{JwksClientError, RemoteAuthError};
/// let err = RemoteAuthError::Jwks(JwksClientError::InsecureUrl);
/// assert_eq!(err.kind(), "jwks_client");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteAuthError {
    /// OpenID Connect discovery failed, or the document names another issuer.
    Discovery(DiscoveryError),
    /// The JWKS URL or a client limit is unusable (not https, credentials in the URL, no
    /// tokio runtime, a zero limit).
    Jwks(JwksClientError),
    /// The verifier's configuration is invalid (an empty issuer or audience, a leeway
    /// above the maximum, ...).
    Verifier(ConfigError),
    /// With [`RemoteAuth::require_keys`]: the first fetch of the JWK Set failed.
    Keys(FetchError),
}

impl RemoteAuthError {
    /// A stable short name: `discovery`, `jwks_client`, `verifier` or `keys` (the inner
    /// error's own `kind` says more).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Discovery(_) => "discovery",
            Self::Jwks(_) => "jwks_client",
            Self::Verifier(_) => "verifier",
            Self::Keys(_) => "keys",
        }
    }
}

impl fmt::Display for RemoteAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Discovery(err) => fmt::Display::fmt(err, f),
            Self::Jwks(err) => fmt::Display::fmt(err, f),
            Self::Verifier(err) => write!(f, "invalid verifier configuration: {err}"),
            Self::Keys(err) => write!(f, "the first JWKS fetch failed: {err}"),
        }
    }
}

// Display includes the inner error's message, so `source` stays empty: a report walking
// the chain would print it twice.
impl std::error::Error for RemoteAuthError {}
