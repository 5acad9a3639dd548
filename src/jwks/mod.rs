//! JWKS: publishing our public keys, and (feature `jwks-client`) fetching someone else's.
//!
//! This module hands keys to the token module and never verifies anything itself: the
//! [`JwksClient`](crate::JwksClient) is a [`KeySource`](crate::KeySource) like a local
//! keyset, and the [`Verifier`](crate::Verifier) does the rest.

#[cfg(feature = "jwks-client")]
mod client;
// OpenID Connect discovery, for the one-call remote layer (feature `axum`).
#[cfg(all(feature = "jwks-client", feature = "axum"))]
mod discovery;
#[cfg(feature = "jwks-client")]
mod error;
#[cfg(feature = "jwks-client")]
mod fetch;
mod publish;

#[cfg(feature = "jwks-client")]
pub use client::{JwksClient, JwksClientBuilder, JwksStatus};
#[cfg(feature = "jwks-client")]
pub use error::{DiscoveryError, FetchError, JwksClientError};

#[cfg(all(feature = "jwks-client", feature = "axum"))]
pub(crate) use client::FetchWatch;
#[cfg(all(feature = "jwks-client", feature = "axum"))]
pub(crate) use discovery::discover_jwks_uri;
pub use publish::PublishedJwks;

// For the `jwks_cache_control` fuzz target.
#[cfg(all(feature = "jwks-client", feature = "fuzzing"))]
pub(crate) use client::lifetime;
#[cfg(all(feature = "jwks-client", feature = "fuzzing"))]
pub(crate) use fetch::cache_lifetime;
