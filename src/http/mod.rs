//! HTTP adapter (feature `axum`): bearer-token verification for axum/tower APIs, and the
//! cookie helpers; with feature `server`, credentials and login throttling for the auth
//! server, and `serve` with the connection limits that keep one client from holding it.
//! An adapter only: it finds the token, hands it to the [`Verifier`]
//! (which holds every token rule), and turns the outcome into RFC 6750 responses.
//!
//! [`Verifier`]: crate::Verifier

#[cfg(feature = "server")]
mod auth;
mod bearer;
#[cfg(feature = "server")]
mod client_address;
mod cookies;
mod credentials;
mod extract;
mod future;
#[cfg(feature = "server")]
mod hashing_pool;
mod layer;
#[cfg(feature = "server")]
mod rate_limit;
mod rejection;
mod scope;
#[cfg(feature = "server")]
mod serve;
mod service;
#[cfg(feature = "server")]
mod users;

#[cfg(feature = "server")]
pub use auth::{AuthHandle, AuthRouter, CookieMode, KeyReload, Maintenance};
pub use bearer::{BearerCredentials, MalformedCredentials};
#[cfg(feature = "server")]
pub use client_address::{CidrError, IpCidr};
pub use cookies::{clear_site_data, CookieError, SecureCookie};
/// For the `bearer_header` and `cookie_header` fuzz targets.
#[cfg(feature = "fuzzing")]
pub(crate) use credentials::find_token;
pub use extract::Authenticated;
pub use future::AuthResponseFuture;
#[cfg(feature = "server")]
pub use hashing_pool::HashingLimits;
pub use layer::{AuthLayer, DefaultOnRejection, OnRejection};
#[cfg(feature = "server")]
pub use rate_limit::{Limit, LoginLimiter, LoginLimits};
pub use rejection::{AuthRejection, REALM};
pub use scope::Scopes;
#[cfg(feature = "server")]
pub use serve::{serve, ServeLimits};
pub use service::AuthService;
#[cfg(feature = "server")]
pub use users::{hash_password, Credentials, UsersError, UsersFile};
