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
/// let mode = CookieMode::new()?.allow_origin("https://app.example")?;
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

    /// Allow refreshes from `origin`: `https://host[:port]` (or `http://` for development),
    /// compared exactly after lowercasing, as browsers serialize `Origin`. A trailing `/` is
    /// ignored; a path, credentials, `null` or `*` is refused, since each would either never
    /// match or match far more than meant.
    ///
    /// ```
    /// use gatepass::{CookieError, CookieMode};
    /// let mode = CookieMode::new()?.allow_origin("https://App.Example:8443/")?;
    /// assert_eq!(
    ///     CookieMode::new()?.allow_origin("null").unwrap_err(),
    ///     CookieError::InvalidOrigin
    /// );
    /// assert!(CookieMode::new()?.allow_origin("https://app.example/login").is_err());
    /// # Ok::<(), CookieError>(())
    /// ```
    pub fn allow_origin(mut self, origin: &str) -> Result<Self, crate::http::CookieError> {
        let origin = normalized_origin(origin).ok_or(crate::http::CookieError::InvalidOrigin)?;
        self.allowed_origins.push(origin);
        Ok(self)
    }

    /// Whether a request that authenticates with the cookie comes from an allowed origin.
    /// With no allow-list, only the server's own origin: `https://` + the `Host` header
    /// (or `http://` when that host is loopback, for local development).
    pub(crate) fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        if self.allowed_origins.is_empty() {
            let Some(host) = headers.get(HOST).and_then(|v| v.to_str().ok()) else {
                return false;
            };
            let host = host.to_ascii_lowercase();
            return origin == format!("https://{host}")
                || (is_loopback(&host) && origin == format!("http://{host}"));
        }
        self.allowed_origins.contains(&origin)
    }
}

/// `scheme://host[:port]` lowercased, for an http(s) origin without path or credentials.
fn normalized_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://")?;
    if !matches!(scheme, "https" | "http") {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !authority.ends_with(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = if let Some(ip6) = host.strip_prefix('[') {
        ip6.strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    (host_ok && port_ok).then_some(origin)
}

/// Whether a `Host` header names this machine (`localhost`, `127.0.0.0/8`, `[::1]`).
fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !host.ends_with(']') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    name == "localhost"
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: &str, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers.insert(HOST, HeaderValue::from_str(host).unwrap());
        headers
    }

    #[test]
    fn allowed_origins_are_http_origins_without_path_or_credentials() {
        for ok in [
            "https://app.example",
            "https://App.Example:8443/",
            "http://localhost:8080",
            "https://[::1]:443",
            "https://127.0.0.1",
        ] {
            assert!(normalized_origin(ok).is_some(), "{ok}");
        }
        for bad in [
            "null",
            "*",
            "app.example",
            "ftp://app.example",
            "chrome-extension://abc",
            "https://app.example/login",
            "https://user@app.example",
            "https://",
            "https://app.example:",
            "https://app.example:99999",
            "https://[not-an-ip]",
            "https://app example",
        ] {
            assert!(normalized_origin(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn same_origin_means_https_or_loopback_http_with_the_exact_host() {
        let mode = CookieMode::new().unwrap();
        assert!(mode.origin_allowed(&headers("https://auth.example", "auth.example")));
        assert!(mode.origin_allowed(&headers("https://auth.example", "Auth.Example")));
        assert!(mode.origin_allowed(&headers("http://127.0.0.1:8080", "127.0.0.1:8080")));
        assert!(mode.origin_allowed(&headers("http://localhost:8080", "localhost:8080")));
        // Found by review: only the part after "://" was compared.
        for (origin, host) in [
            ("http://auth.example", "auth.example"),
            ("chrome-extension://auth.example", "auth.example"),
            ("evil://auth.example", "auth.example"),
            ("https://auth.example:444", "auth.example"),
            ("https://auth.example.evil", "auth.example"),
            ("null", "auth.example"),
        ] {
            assert!(!mode.origin_allowed(&headers(origin, host)), "{origin}");
        }
        let listed = CookieMode::new()
            .unwrap()
            .allow_origin("https://App.Example")
            .unwrap();
        assert!(listed.origin_allowed(&headers("https://app.example", "auth.example")));
        assert!(!listed.origin_allowed(&headers("http://app.example", "auth.example")));
        assert!(!listed.origin_allowed(&headers("https://auth.example", "auth.example")));
    }
}
