//! HTTP adapter (feature `axum`): bearer-token verification for axum/tower APIs (the
//! layer, its service and future, the extractors, RFC 6750 rejections) and the cookie
//! helpers, and DPoP (RFC 9449) proofs on top of either. The auth server built on it is the `server` module. An adapter only: it finds the token, hands it to the [`Verifier`]
//! (which holds every token rule), and turns the outcome into RFC 6750 responses.
//!
//! [`Verifier`]: crate::Verifier

mod bearer;
mod cookies;
mod credentials;
mod dpop;
mod extract;
mod future;
mod layer;
mod on_rejection;
mod refetch;
mod rejection;
#[cfg(feature = "jwks-client")]
mod remote;
mod request;
mod scope;
mod service;

pub use bearer::{BearerCredentials, MalformedCredentials};
pub use cookies::{clear_site_data, CookieError, SecureCookie};
/// For the `bearer_header` and `cookie_header` fuzz targets.
#[cfg(feature = "fuzzing")]
pub(crate) use credentials::find_token;
#[cfg(feature = "server")]
pub(crate) use dpop::has_proof;
pub use dpop::{DpopConfig, DpopMode};
pub use extract::Authenticated;
pub use future::AuthResponseFuture;
pub use layer::AuthLayer;
pub use on_rejection::{DefaultOnRejection, OnRejection};
pub use rejection::{AuthRejection, REALM};
#[cfg(feature = "jwks-client")]
pub use remote::{RemoteAuth, RemoteAuthError};
pub use scope::Scopes;
pub use service::AuthService;
