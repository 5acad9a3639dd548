//! The JWKS client's two boundaries: building it ([`JwksClientError`]) and one fetch of the
//! remote set ([`FetchError`]). A verification never sees either: it gets
//! [`VerifyError::UnknownKey`](crate::VerifyError::UnknownKey) or
//! [`VerifyError::KeysUnavailable`](crate::VerifyError::KeysUnavailable), and the reason is
//! in the logs and in [`JwksClient::status`](crate::JwksClient::status).

use std::fmt;

use crate::keys::KeysetError;

/// Why a [`JwksClient`](crate::JwksClient) could not be built.
///
/// ```
/// use gatepass::{JwksClient, JwksClientError};
/// let err = JwksClient::builder("http://issuer.example/jwks.json").build().unwrap_err();
/// assert_eq!(err, JwksClientError::InsecureUrl);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksClientError {
    /// Not an absolute `http(s)://host[:port]/path` URL, or one carrying credentials.
    InvalidUrl(&'static str),
    /// A plain `http://` URL to a host that is not loopback, without
    /// [`allow_insecure_http`](crate::JwksClientBuilder::allow_insecure_http): anyone on the
    /// path could swap the keys.
    InsecureUrl,
    /// No tokio runtime to run fetches on: build the client inside one, or pass a handle.
    NoRuntime,
    /// A limit or duration that cannot work (zero, or a floor above its ceiling).
    InvalidConfig(&'static str),
}

impl fmt::Display for JwksClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(why) => write!(f, "invalid JWKS URL: {why}"),
            Self::InsecureUrl => f.write_str(
                "refusing a plain http:// JWKS URL to a non-loopback host: use https:// (or allow insecure HTTP explicitly)",
            ),
            Self::NoRuntime => f.write_str(
                "the JWKS client needs a tokio runtime: build it inside one or give it a runtime handle",
            ),
            Self::InvalidConfig(why) => write!(f, "invalid JWKS client configuration: {why}"),
        }
    }
}

impl std::error::Error for JwksClientError {}

/// Why one fetch of the remote JWK Set failed. The client then keeps serving the last good
/// set, up to its staleness bound.
///
/// ```
/// use gatepass::FetchError;
/// assert_eq!(FetchError::Status(503).kind(), "status");
/// assert_eq!(FetchError::Status(503).to_string(), "the JWKS endpoint answered HTTP 503");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// The TCP connection (or the name lookup) failed.
    Connect(String),
    /// The TLS handshake failed (certificate, name, protocol).
    Tls(String),
    /// The HTTP exchange failed (protocol error, connection closed mid-response).
    Http(String),
    /// No complete answer within the fetch timeout.
    Timeout {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
    /// An answer other than `200 OK`. Redirects are not followed: a JWKS URL is
    /// configuration, and a redirect is a change nobody configured.
    Status(u16),
    /// The body is larger than the size cap.
    TooLarge {
        /// The cap, in bytes.
        max: usize,
    },
    /// The body is not a JWK Set (`{"keys": [...]}` of JSON objects).
    Format(KeysetError),
    /// A JWK Set in which every key was refused (or no key at all). Treated as a failure so a
    /// broken deployment does not wipe out a good cached set.
    NoUsableKeys {
        /// How many keys were refused.
        skipped: usize,
    },
    /// The fetch task was dropped before it finished (its runtime shut down).
    Abandoned,
}

impl FetchError {
    /// A stable short name, for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connect(_) => "connect",
            Self::Tls(_) => "tls",
            Self::Http(_) => "http",
            Self::Timeout { .. } => "timeout",
            Self::Status(_) => "status",
            Self::TooLarge { .. } => "too_large",
            Self::Format(_) => "format",
            Self::NoUsableKeys { .. } => "no_usable_keys",
            Self::Abandoned => "abandoned",
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(why) => write!(f, "cannot connect to the JWKS endpoint: {why}"),
            Self::Tls(why) => write!(f, "TLS with the JWKS endpoint failed: {why}"),
            Self::Http(why) => write!(f, "HTTP exchange with the JWKS endpoint failed: {why}"),
            Self::Timeout { after_ms } => {
                write!(f, "the JWKS endpoint did not answer within {after_ms} ms")
            }
            Self::Status(code) => write!(f, "the JWKS endpoint answered HTTP {code}"),
            Self::TooLarge { max } => write!(f, "the JWKS response is larger than {max} bytes"),
            Self::Format(why) => write!(f, "the JWKS response is not a JWK Set: {why}"),
            Self::NoUsableKeys { skipped } => write!(
                f,
                "the JWKS response holds no usable key ({skipped} refused)"
            ),
            Self::Abandoned => f.write_str("the JWKS fetch was abandoned (runtime shut down)"),
        }
    }
}

impl std::error::Error for FetchError {}

/// Why OpenID Connect discovery (`GET {issuer}/.well-known/openid-configuration`) did not
/// yield a JWK Set URL to trust.
///
/// ```
/// use gatepass::DiscoveryError;
/// let err = DiscoveryError::IssuerMismatch {
///     expected: "https://idp.example".into(),
///     found: "https://evil.example".into(),
/// };
/// assert_eq!(err.kind(), "issuer_mismatch");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer is not a URL the fetcher accepts (`https://`, or `http://` to a loopback
    /// address; no credentials).
    InvalidIssuer(JwksClientError),
    /// Fetching the discovery document failed (connection, TLS, timeout, status other than
    /// 200, larger than the size cap).
    Fetch(FetchError),
    /// The document is not a JSON object with string `issuer` and `jwks_uri` members.
    Document(&'static str),
    /// The document names another issuer than the one configured. OpenID Connect Discovery
    /// §4.3 requires them to be identical: a mismatch means the wrong URL, or a document
    /// someone else controls, and its keys must not be trusted.
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's `issuer` (cut to 200 characters: it is the remote's text).
        found: String,
    },
}

impl DiscoveryError {
    /// A stable short name: `invalid_issuer`, `fetch`, `document` or `issuer_mismatch`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidIssuer(_) => "invalid_issuer",
            Self::Fetch(_) => "fetch",
            Self::Document(_) => "document",
            Self::IssuerMismatch { .. } => "issuer_mismatch",
        }
    }
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidIssuer(why) => write!(f, "OpenID Connect discovery: {why}"),
            Self::Fetch(why) => write!(
                f,
                "OpenID Connect discovery: fetching the configuration document failed: {why}"
            ),
            Self::Document(why) => write!(
                f,
                "OpenID Connect discovery: the configuration document is unusable: {why}"
            ),
            Self::IssuerMismatch { expected, found } => write!(
                f,
                "OpenID Connect discovery: the configuration document names issuer {found:?}, not the configured {expected:?}"
            ),
        }
    }
}

impl std::error::Error for DiscoveryError {}
