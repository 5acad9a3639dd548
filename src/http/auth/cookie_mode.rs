//! Cookie mode: the refresh token in a `__Host-` cookie, and the CSRF defence that makes
//! an ambient credential safe.
//!
//! Defence chosen: `SameSite=Strict` **plus** an `Origin` check, not a double-submit
//! token. `SameSite=Strict` already keeps modern browsers from sending the cookie on any
//! cross-site request; the `Origin` check covers what SameSite does not: older browsers,
//! and *same-site* attackers (a compromised sibling subdomain is same-site but not
//! same-origin). Browsers always send `Origin` on a cross-origin POST and cannot be made to
//! forge it, so a refresh that uses the cookie must carry an `Origin` on the allow-list.
//! A double-submit token would add a second secret for the client to juggle and protect
//! nothing more here: the only cookie-authenticated endpoint is `/auth/refresh`, whose
//! answer (new tokens) a cross-origin attacker cannot read anyway.

use axum::http::header::{HOST, ORIGIN};
use axum::http::HeaderMap;

use crate::http::SecureCookie;

/// Refresh tokens in a secure cookie instead of the JSON body.
///
/// ```
/// use gatepass::CookieMode;
/// let mode = CookieMode::new()?.allow_origin("https://app.example");
/// # Ok::<(), gatepass::CookieError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CookieMode {
    pub(crate) cookie: SecureCookie,
    allowed_origins: Vec<String>,
}

impl CookieMode {
    /// The refresh token in `__Host-refresh` (`Secure; HttpOnly; SameSite=Strict;
    /// Path=/`). With no allowed origin configured, only same-origin requests (the
    /// `Origin` matching the `Host` header) may refresh with it.
    pub fn new() -> Result<Self, crate::http::CookieError> {
        Ok(Self {
            cookie: SecureCookie::host("refresh")?,
            allowed_origins: Vec::new(),
        })
    }

    /// Use another cookie (for example one path-scoped to `/auth/refresh`).
    #[must_use]
    pub fn cookie(mut self, cookie: SecureCookie) -> Self {
        self.cookie = cookie;
        self
    }

    /// Allow refreshes from `origin` (`scheme://host[:port]`, compared exactly).
    #[must_use]
    pub fn allow_origin(mut self, origin: &str) -> Self {
        self.allowed_origins
            .push(origin.trim_end_matches('/').to_owned());
        self
    }

    /// Whether a request that authenticates with the cookie comes from an allowed origin.
    pub(crate) fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        if self.allowed_origins.is_empty() {
            let Some(host) = headers.get(HOST).and_then(|v| v.to_str().ok()) else {
                return false;
            };
            let authority = origin.split_once("://").map(|(_, rest)| rest);
            return authority == Some(host);
        }
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }
}
