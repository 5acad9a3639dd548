//! The auth server (feature `server`), built on the `http` adapter: an axum `Router`
//! (docs/REFERENCE.md §2) for login, refresh, logout, logout-all, the session listing,
//! RFC 7009 revocation and the JWKS over a [`SessionManager`]; the users file (or the application's own
//! [`UserDirectory`]) and password hashing on a bounded pool; login throttling by username
//! and client address (behind trusted proxies); the Prometheus metrics; the maintenance
//! task (key reload, pruning); and `serve` with the connection limits that keep one client
//! from holding the server.

mod body;
mod client_address;
mod cookie_mode;
mod error;
mod hashing_pool;
mod maintenance;
mod metered_auth;
mod metrics;
mod passwords;
mod rate_limit;
mod routes;
mod serve;
mod users;

use std::fmt;
use std::sync::{Arc, RwLock};

use axum::http::HeaderValue;
use axum::routing::{delete, get, post};
use axum::Router;

pub use client_address::{CidrError, IpCidr};
pub use cookie_mode::CookieMode;
pub use hashing_pool::{HashingError, HashingLimits, PasswordHashing};
pub use maintenance::{KeyReload, Maintenance};
pub use metrics::Metrics;
pub use rate_limit::{Limit, LoginLimiter, LoginLimits};
pub use serve::{serve, ServeLimits};
pub use users::{hash_password, UserDirectory, UsersError, UsersFile, UsersFuture};

use crate::http::{AuthLayer, DpopConfig};
use crate::jwks::PublishedJwks;
use crate::session::SessionManager;
use crate::token::CustomClaims;
use metered_auth::MeteredAuth;

/// The JWKS as served: its body and `Cache-Control` value, ready to send.
#[derive(Debug)]
pub(crate) struct JwksDocument {
    pub(crate) body: axum::body::Bytes,
    pub(crate) cache_control: HeaderValue,
}

impl JwksDocument {
    fn new(published: &PublishedJwks) -> Self {
        let cache_control = HeaderValue::try_from(published.cache_control())
            .unwrap_or_else(|_| HeaderValue::from_static("public, max-age=60"));
        Self {
            body: published.to_json().into(),
            cache_control,
        }
    }
}

type ClaimsFor = dyn Fn(&str) -> CustomClaims + Send + Sync;

pub(crate) struct Inner {
    pub(crate) sessions: Arc<SessionManager>,
    pub(crate) credentials: Arc<dyn UserDirectory>,
    pub(crate) limiter: LoginLimiter,
    pub(crate) hashing: PasswordHashing,
    pub(crate) metrics: Metrics,
    pub(crate) trusted_proxies: Vec<IpCidr>,
    jwks: RwLock<Arc<JwksDocument>>,
    pub(crate) cookies: Option<CookieMode>,
    pub(crate) claims_for: Box<ClaimsFor>,
    pub(crate) dpop: Option<DpopConfig>,
}

/// Shared by every handler.
#[derive(Clone)]
pub(crate) struct AuthState(Arc<Inner>);

impl std::ops::Deref for AuthState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AuthState {
    pub(crate) fn jwks(&self) -> Arc<JwksDocument> {
        self.0
            .jwks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl fmt::Debug for AuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthState")
            .field("sessions", &self.0.sessions)
            .field("cookies", &self.0.cookies)
            .finish_non_exhaustive()
    }
}

/// Builds the auth routes.
///
/// | route | |
/// |---|---|
/// | `POST /auth/login` | `{"username","password"}` → 200 token pair; 401 `invalid_credentials`; 429 when throttled; 503 when every password-hashing thread is busy |
/// | `POST /auth/refresh` | `{"refresh_token"}` (or the cookie) → 200 rotated pair; 400 `invalid_grant` |
/// | `POST /auth/logout` | bearer access token → 204, that session ends |
/// | `POST /auth/logout-all` | bearer access token → 204, every session of the subject ends |
/// | `POST /auth/revoke` | RFC 7009 form → 200, even for unknown tokens |
/// | `GET /auth/sessions` | bearer access token → 200 `{"sessions": [...]}`, the subject's live sessions ([`SessionInfo`](crate::SessionInfo)) |
/// | `DELETE /auth/sessions/{id}` | bearer access token → 204, that session of the subject ends; 404 `not_found` |
/// | `GET /.well-known/jwks.json` | the public keys, `Cache-Control: public, max-age=N` |
///
/// [`into_server_router`](Self::into_server_router) adds `GET /api/me`, `GET /healthz`
/// (liveness) and `GET /readyz` (readiness: a signing key is loaded and the store answers).
/// [`Maintenance`] keeps a running router current (key reloads, pruning).
/// Bodies over 16 KiB answer 413, wrong content types 415; token answers carry
/// `Cache-Control: no-store`; the store being down answers 503 with `Retry-After`.
///
/// ```no_run
/// use std::sync::Arc;
/// use gatepass::*;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let keyset = Keyset::load("keys.json")?;
/// let sessions = Arc::new(SessionManager::new(&keyset, Arc::new(MemoryStore::new()), SessionConfig::default())?);
/// let users = Arc::new(UsersFile::load("users.json")?);
/// let jwks = PublishedJwks::new(&keyset, &RotationPolicy::default());
/// let app = AuthServer::new(sessions, users, jwks).into_router();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// // With slow-client deadlines and a connection cap; the login throttle needs the peer
/// // address, which `serve` gives (with `axum::serve`, use `into_make_service_with_connect_info`).
/// gatepass::serve(listener, app, ServeLimits::default(), std::future::pending()).await;
/// # Ok(()) }
/// ```
pub struct AuthServer {
    inner: Inner,
}

impl fmt::Debug for AuthServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServer").finish_non_exhaustive()
    }
}

/// A handle to update what a running router serves (after a key rotation).
#[derive(Clone)]
pub struct AuthServerHandle(AuthState);

impl fmt::Debug for AuthServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AuthServerHandle").finish()
    }
}

impl AuthServerHandle {
    /// The metrics the server counts into (key reloads are reported here).
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Serve this JWKS from now on.
    pub fn set_jwks(&self, published: &PublishedJwks) {
        let document = Arc::new(JwksDocument::new(published));
        *self
            .0
            .jwks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = document;
    }
}

impl AuthServer {
    /// Auth routes over `sessions`, checking passwords with `credentials`, publishing `jwks`.
    pub fn new(
        sessions: Arc<SessionManager>,
        credentials: Arc<dyn UserDirectory>,
        jwks: PublishedJwks,
    ) -> Self {
        let clock = sessions.config().clock.clone();
        Self {
            inner: Inner {
                sessions,
                credentials,
                limiter: LoginLimiter::new(LoginLimits::default(), clock),
                hashing: PasswordHashing::default(),
                metrics: Metrics::new(),
                trusted_proxies: Vec::new(),
                jwks: RwLock::new(Arc::new(JwksDocument::new(&jwks))),
                cookies: None,
                claims_for: Box::new(|_| CustomClaims::new()),
                dpop: None,
            },
        }
    }

    /// Throttle logins with these limits (default: [`LoginLimits::default`]).
    #[must_use]
    pub fn login_limits(mut self, limits: LoginLimits) -> Self {
        self.inner.limiter = LoginLimiter::new(limits, self.inner.sessions.config().clock.clone());
        self
    }

    /// Check passwords on this many threads, with this many checks waiting at most
    /// (default: [`HashingLimits::default`], one thread per core). A login that finds
    /// the threads and the queue full answers 503 `temporarily_unavailable` with
    /// `Retry-After: 1` and does not count as a failed attempt.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use gatepass::*;
    /// # fn build(sessions: Arc<SessionManager>, users: Arc<UsersFile>, jwks: PublishedJwks) {
    /// let router = AuthServer::new(sessions, users, jwks).password_hashing(HashingLimits::new(1, 8));
    /// # }
    /// ```
    #[must_use]
    pub fn password_hashing(mut self, limits: HashingLimits) -> Self {
        self.inner.hashing = PasswordHashing::new(limits);
        self
    }

    /// Count into `metrics` (logins, refreshes and verifications by outcome, reuse
    /// detections, revocations, key reloads, store errors, latencies), which the caller
    /// keeps to expose: [`Metrics::router`] on a listener of its own, or on a route of its
    /// app. Without it the server counts into metrics nobody reads.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use gatepass::*;
    /// # fn build(sessions: Arc<SessionManager>, users: Arc<UsersFile>, jwks: PublishedJwks) {
    /// let metrics = Metrics::new();
    /// let (app, handle) = AuthServer::new(sessions, users, jwks)
    ///     .metrics(metrics.clone())
    ///     .into_server_router();
    /// let app = app.merge(metrics.router()); // GET /metrics, next to the auth routes
    /// # }
    /// ```
    #[must_use]
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.inner.metrics = metrics;
        self
    }

    /// Reverse proxies whose `X-Forwarded-For` (or `Forwarded: for=`) header names the
    /// client for login throttling (default: none, the TCP peer is the client). For a
    /// request from inside one of these networks, the client is the rightmost address in
    /// the header that is not itself inside one; from any other peer the headers are
    /// ignored, since anyone can send them.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use gatepass::*;
    /// # fn build(sessions: Arc<SessionManager>, users: Arc<UsersFile>, jwks: PublishedJwks) -> Result<(), CidrError> {
    /// let router = AuthServer::new(sessions, users, jwks)
    ///     .trusted_proxies(["10.0.0.0/8".parse::<IpCidr>()?, "fd00::/8".parse()?]);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpCidr>) -> Self {
        self.inner.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// Keep refresh tokens in a secure cookie instead of the JSON body.
    #[must_use]
    pub fn cookie_mode(mut self, mode: CookieMode) -> Self {
        self.inner.cookies = Some(mode);
        self
    }

    /// Custom claims for every token of a subject's session, decided at login: added to
    /// what the [`UserDirectory`]'s [`claims`](UserDirectory::claims) gives, and winning
    /// where both name a claim. (Claims looked up asynchronously, from a database, belong
    /// in the directory's `claims`.)
    #[must_use]
    pub fn claims(
        mut self,
        claims_for: impl Fn(&str) -> CustomClaims + Send + Sync + 'static,
    ) -> Self {
        self.inner.claims_for = Box::new(claims_for);
        self
    }

    /// DPoP (RFC 9449): with [`DpopMode::Required`](crate::DpopMode::Required),
    /// `/auth/login` and `/auth/refresh` need a `DPoP` proof (`htm` `POST`, `htu` the
    /// public origin plus the route's path, no `ath`, unseen `jti`) and issue tokens bound
    /// to its key (`token_type` `DPoP`); the protected routes take only
    /// `Authorization: DPoP` with a proof by that key. With
    /// [`DpopMode::Optional`](crate::DpopMode::Optional), a request without a proof gets
    /// Bearer tokens. A refused proof at the token endpoints is 400
    /// `{"error": "invalid_dpop_proof"}`; a refresh of a bound session with another key is
    /// 400 `invalid_grant`.
    ///
    /// Give a replay cache every node shares when several serve one deployment (the Redis
    /// and PostgreSQL stores are ones), so a proof replayed to another node is refused.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gatepass::*;
    /// # fn make(sessions: Arc<SessionManager>, users: Arc<dyn UserDirectory>, jwks: PublishedJwks) -> Result<(), ConfigError> {
    /// let dpop = DpopConfig::new(DpopMode::Required, "https://auth.example.com", Arc::new(MemoryReplayCache::new(100_000)))?;
    /// let app = AuthServer::new(sessions, users, jwks).dpop(dpop).into_router();
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn dpop(mut self, dpop: DpopConfig) -> Self {
        self.inner.dpop = Some(dpop);
        self
    }

    fn state(self) -> AuthState {
        AuthState(Arc::new(self.inner))
    }

    /// The auth routes and the JWKS route.
    pub fn into_router(self) -> Router {
        self.into_router_with_handle().0
    }

    /// The auth routes, and a handle to update the JWKS they serve.
    pub fn into_router_with_handle(self) -> (Router, AuthServerHandle) {
        let state = self.state();
        let router = Self::routes(&state)
            .layer(axum::middleware::from_fn(body::refuse_oversized))
            .with_state(state.clone());
        (router, AuthServerHandle(state))
    }

    /// The auth routes plus `GET /api/me`, `GET /healthz` and `GET /readyz` (what
    /// `gatepass serve` serves), and a handle to update the JWKS.
    pub fn into_server_router(self) -> (Router, AuthServerHandle) {
        let state = self.state();
        let layer = MeteredAuth::new(Self::protected(&state), &state.metrics);
        let router = Self::routes(&state)
            .route("/api/me", get(routes::me).route_layer(layer))
            .route("/healthz", get(routes::healthz))
            .route("/readyz", get(routes::readyz))
            .layer(axum::middleware::from_fn(body::refuse_oversized))
            .with_state(state.clone());
        (router, AuthServerHandle(state))
    }

    /// The layer of the routes that take an access token: DPoP-aware when configured.
    fn protected(state: &AuthState) -> AuthLayer {
        let layer = AuthLayer::new(state.sessions.verifier());
        match &state.dpop {
            Some(dpop) => layer.dpop(dpop.clone()),
            None => layer,
        }
    }

    fn routes(state: &AuthState) -> Router<AuthState> {
        let protected = MeteredAuth::new(Self::protected(state), &state.metrics);
        Router::new()
            .route("/auth/login", post(routes::login))
            .route("/auth/refresh", post(routes::refresh))
            .route("/auth/revoke", post(routes::revoke))
            .route(
                "/auth/logout",
                post(routes::logout).route_layer(protected.clone()),
            )
            .route(
                "/auth/logout-all",
                post(routes::logout_all).route_layer(protected.clone()),
            )
            .route(
                "/auth/sessions",
                get(routes::list_sessions).route_layer(protected.clone()),
            )
            .route(
                "/auth/sessions/{id}",
                delete(routes::end_session).route_layer(protected),
            )
            .route("/.well-known/jwks.json", get(routes::jwks))
    }
}
