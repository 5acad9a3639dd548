//! # gatepass
//!
//! Stateless signed-token sessions: a short access token that any API verifies offline,
//! a long refresh token that rotates on every use, and only the state statelessness
//! cannot give (revocations, rotation generations, the keyset) kept on the server.
//!
//! Secure by default: `exp`, `iat`, `jti` and `typ` are required; the algorithm is bound
//! to the key (the header's `alg` is only compared, never obeyed); `none` does not exist;
//! JSON is parsed strictly (no duplicate members, bounded depth); secrets are zeroized
//! and compared in constant time; all cryptography is ring's.
//!
//! ```
//! use std::sync::Arc;
//! use gatepass::{Algorithm, GenerateOptions, Issuer, KeySelector, Keyset, Verifier};
//!
//! // An issuer's keyset (normally `Keyset::load("keys.json")`).
//! let mut keyset = Keyset::new();
//! keyset.generate(Algorithm::EdDSA, GenerateOptions::default(), 1_700_000_000)?;
//!
//! let issuer = Issuer::new(keyset.signing_key(&KeySelector::Preferred)?, "https://auth.example", "api");
//! let token = issuer.access_token("alice").claim("role", "admin")?.issue()?.token;
//!
//! let verifier = Verifier::builder(keyset.verification_keys(), "https://auth.example", "api").build()?;
//! let verified = verifier.verify_access(&token)?;
//! assert_eq!(verified.claims().sub, "alice");
//! assert_eq!(verified.claims().custom["role"], "admin");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The modules are private; everything public is re-exported here.
//!
//! # Features
//!
//! | feature | default | gives | pulls in |
//! |---|---|---|---|
//! | *(none)* | — | the token core: keys and keysets, key rotation, issuing, verification with profiles, typed claims, the JWKS document, revocation lists, the memory and file session stores, [`SessionManager`] | ring, serde, serde_json, jsonwebtoken's types (no crypto backend), time, uuid, tracing |
//! | `axum` | yes | `AuthLayer` and `Authenticated` for axum/tower APIs, RFC 6750 rejections, `SecureCookie` | axum (no default features), tower |
//! | `jwks-client` | yes | `JwksClient`: a remote JWK Set, cached, refetched in a single flight on an unknown `kid` | tokio (current-thread parts), hyper's HTTP/1 client, rustls on ring, webpki-roots |
//! | `server` | no | the auth server as an axum `Router` (`AuthServer`), argon2id passwords on bounded threads (`PasswordHashing`) behind an async `UserDirectory`, login throttling, Prometheus `Metrics`, `Maintenance`, `serve` with connection limits | argon2, hyper's server, hyper-util, prometheus-client |
//! | `redis` | no | `RedisStore`: the session store shared by several nodes | redis-rs, rustls |
//! | `postgres` | no | `PostgresStore`: the same on PostgreSQL | tokio-postgres, deadpool-postgres, rustls |
//!
//! The defaults suit an API that verifies an identity provider's tokens; `default-features
//! = false` leaves the token core alone, with no async runtime. The `gatepass` command line
//! and `gatepass serve` are a separate package of this repository (`cli/`), so no library
//! user compiles clap or a multi-threaded runtime. A `fuzzing` feature exists for the
//! project's fuzz targets and tests only; it is not part of the API.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
mod clock;
mod crypto;
mod dpop;
mod error;
mod events;
mod fs;
#[cfg(feature = "axum")]
mod http;
mod json;
mod jwks;
mod keys;
mod revocation;
#[cfg(feature = "server")]
mod server;
mod session;
mod token;

// Time.
pub use clock::{Clock, ManualClock, SystemClock, UnixTime};

// Errors, one enum per boundary, each with a stable `kind()` or precise reason.
pub use error::{
    Claim, ConfigError, IssueError, KeyRejected, Malformed, Revoked, TooLarge, VerifyError,
};
pub use keys::KeysetError;
pub use session::{InvalidGrant, SessionError};

// Keys: algorithms, key types, the keyset file and where verifiers find keys.
pub use keys::{
    Algorithm, AlgorithmFamily, AlgorithmSet, GenerateOptions, KeyEntry, KeySelector, KeySource,
    KeyState, Keyset, ReloadableKeys, SigningKey, SkippedKey, VerificationKeys, VerifyingKey,
};

// Key rotation: the policy, one idempotent step, and what it did.
pub use keys::{RotatedKey, RotationPolicy, RotationRefused, RotationReport, ScheduledKey};

// JWKS: our public set with its Cache-Control, and (feature `jwks-client`) a remote set
// cached with cooldown, single flight, refresh-ahead and stale-on-error.
pub use jwks::PublishedJwks;
#[cfg(feature = "jwks-client")]
pub use jwks::{
    DiscoveryError, FetchError, JwksClient, JwksClientBuilder, JwksClientError, JwksStatus,
};

// The optional verified-token cache a verifier can keep.
pub use cache::TokenCache;

// Tokens: issue, verify, and the types in between.
pub use token::{
    AccessClaims, AccessTokenBuilder, Audience, CustomClaims, Header, InsecureInspection,
    IssuedToken, Issuer, JwtClaims, Profile, RefreshClaims, RefreshTokenBuilder, TokenType,
    UntrustedToken, Verified, Verifier, VerifierBuilder, DEFAULT_ACCESS_TTL, DEFAULT_LEEWAY,
    MAX_LEEWAY, MAX_TOKEN_BYTES,
};

// DPoP (RFC 9449): proof verification, replay protection, token binding, and the
// client's proof maker.
pub use dpop::{
    access_token_hash, check_replay, confirmation_claim, confirmation_jkt, single_proof, DpopClaim,
    DpopError, DpopErrorCode, DpopKey, DpopProofBuilder, DpopVerifier, DpopVerifierBuilder,
    NonceCheck, VerifiedProof, DEFAULT_DPOP_LEEWAY, DEFAULT_DPOP_WINDOW, MAX_JTI_BYTES,
};
// The caches that refuse a replayed DPoP proof (the shared stores implement it too).
pub use revocation::{MemoryReplayCache, ReplayCache, ReplayCacheError, ReplayFuture, ReplayKey};

// Revocation: the store trait, its memory and file implementations, and the view
// verifiers read.
pub use revocation::{
    ClientInfo, ConsumeOutcome, ConsumeRequest, EndReason, FileStore, GraceRecord, IssuedPair,
    MemoryStore, PruneReport, RevocationCounts, RevocationList, RevocationQuery,
    RevocationSnapshot, RevocationView, SessionRecord, SessionStore, StoreError, StoreFuture,
    StoreReadiness, SubjectCutoff, TornTail, ViewHealth, MAX_USER_AGENT_BYTES,
};
// The shared Redis store (feature `redis`).
#[cfg(any(feature = "redis", feature = "postgres"))]
pub use revocation::StalePolicy;
#[cfg(feature = "redis")]
pub use revocation::{RedisOptions, RedisStore};
// The shared PostgreSQL store (feature `postgres`).
#[cfg(feature = "postgres")]
pub use revocation::{PostgresOptions, PostgresStore};

// Sessions: login, rotation, reuse detection, timeouts, logout.
pub use session::{
    RequestContext, SessionConfig, SessionInfo, SessionManager, SessionSetupError, TokenPair,
    REVOCATION_MARGIN,
};

// HTTP (feature `axum`): the bearer layer and extractor for axum/tower APIs, RFC 6750
// rejections, and token cookies.
#[cfg(feature = "axum")]
pub use http::{
    clear_site_data, AuthLayer, AuthRejection, AuthResponseFuture, AuthService, Authenticated,
    BearerCredentials, CookieError, DefaultOnRejection, DpopConfig, DpopMode, MalformedCredentials,
    OnRejection, Scopes, SecureCookie, REALM,
};
// The one-call layer for an API trusting a remote JWK Set (features `axum` and
// `jwks-client`).
#[cfg(all(feature = "axum", feature = "jwks-client"))]
pub use http::{RemoteAuth, RemoteAuthError};

// The auth server's building blocks (feature `server`).
#[cfg(feature = "server")]
pub use server::{
    hash_password, AuthServer, AuthServerHandle, CidrError, CookieMode, HashingError,
    HashingLimits, IpCidr, KeyReload, Limit, LoginLimiter, LoginLimits, Maintenance, Metrics,
    PasswordHashing, UserDirectory, UsersError, UsersFile, UsersFuture,
};
// Serving a router with header and request deadlines, a connection cap and graceful
// shutdown (feature `server`).
#[cfg(feature = "server")]
pub use server::{serve, ServeLimits};

// Fuzz hooks and conformance helpers: only with the `fuzzing` feature (the fuzz crate
// and this package's own tests), never part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod internal;

/// The Rust code of the README (the quick start and every section's example), compiled
/// as doc tests with the features it names, so what a new user copies first cannot rot.
#[cfg(all(doctest, feature = "server", feature = "jwks-client"))]
#[doc = include_str!("../README.md")]
struct ReadmeDocTests;

/// The code of docs/RECIPES.md, compiled as doc tests so the recipes cannot rot.
#[cfg(all(doctest, feature = "jwks-client"))]
#[doc = include_str!("../docs/RECIPES.md")]
struct RecipesDocTests;
