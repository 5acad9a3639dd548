//! Cookies that carry tokens: built with the strict attributes, read strictly.
//!
//! Defaults follow tower-sessions' secure defaults, tightened: `Secure`, `HttpOnly`,
//! `SameSite=Strict`, and a name prefix the browser enforces (RFC 6265bis §4.1.3):
//!
//! * `__Host-NAME` with `Path=/` and no `Domain` ([`SecureCookie::host`]): only this exact
//!   origin, over HTTPS, can set or receive it; a sibling subdomain cannot plant one.
//! * `__Secure-NAME` with a narrower `Path` ([`SecureCookie::secure`]), e.g. a refresh
//!   token sent only to the refresh route.
//!
//! Reading ([`SecureCookie::find`]) is strict about *this* cookie and lenient about the
//! others: the name is matched exactly (case-sensitive, prefix included); the cookie must
//! appear at most once across all `Cookie` fields (HTTP/2 may split the header, so several
//! fields are fine; two values for one name are cookie tossing, refused); its value must be
//! RFC 6265 `cookie-octet`s (optionally inside one pair of double quotes); an empty value
//! counts as absent (a cleared cookie). Other cookies' syntax is not our business, so a
//! malformed neighbour does not fail the request.
//!
//! No cookie crate: building and finding one cookie is a few dozen lines.

use std::fmt;
use std::time::Duration;

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};

use super::bearer::is_tchar;

const HOST_PREFIX: &str = "__Host-";
const SECURE_PREFIX: &str = "__Secure-";

/// The attributes every cookie this module writes carries.
const ATTRIBUTES: &str = "Secure; HttpOnly; SameSite=Strict";

/// A cookie name with its path and the strict attributes, ready to set, clear and find.
///
/// ```
/// use std::time::Duration;
/// use gatepass::SecureCookie;
///
/// let cookie = SecureCookie::host("refresh")?;
/// assert_eq!(cookie.name(), "__Host-refresh");
/// assert_eq!(
///     cookie.set("eyJ.eyJ.sig", Some(Duration::from_secs(3600)))?,
///     "__Host-refresh=eyJ.eyJ.sig; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600",
/// );
/// assert_eq!(
///     cookie.clear(),
///     "__Host-refresh=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
/// );
///
/// let scoped = SecureCookie::secure("refresh", "/auth/refresh")?;
/// assert_eq!(
///     scoped.set("t", None)?,
///     "__Secure-refresh=t; Secure; HttpOnly; SameSite=Strict; Path=/auth/refresh",
/// );
/// # Ok::<(), gatepass::CookieError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecureCookie {
    name: Box<str>,
    path: Box<str>,
}

/// Why a cookie could not be built or read.
///
/// ```
/// use gatepass::{CookieError, SecureCookie};
/// assert_eq!(SecureCookie::host("a b"), Err(CookieError::InvalidName));
/// assert_eq!(SecureCookie::secure("r", "auth"), Err(CookieError::InvalidPath));
/// assert_eq!(SecureCookie::host("r")?.set("a;b", None), Err(CookieError::InvalidValue));
/// # Ok::<(), CookieError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieError {
    /// The name is empty, not an RFC 9110 token, or already carries a `__Host-` /
    /// `__Secure-` prefix (the constructors add it).
    InvalidName,
    /// The path does not start with `/`, or holds a control character or `;`.
    InvalidPath,
    /// The value holds a character outside RFC 6265 `cookie-octet` (space, `"`, `,`, `;`,
    /// `\`, controls, non-ASCII), or is empty where a value is required.
    InvalidValue,
    /// The request carries this cookie more than once.
    Duplicate,
    /// An allowed origin is not `https://host[:port]` or `http://host[:port]` (no path,
    /// no credentials; `null` and `*` are refused).
    InvalidOrigin,
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidName => {
                "a cookie name must be a non-empty token without a __Host-/__Secure- prefix"
            }
            Self::InvalidPath => {
                "a cookie path must start with '/' and hold no control character or ';'"
            }
            Self::InvalidValue => "a cookie value must be non-empty RFC 6265 cookie-octets",
            Self::Duplicate => "the request carries the cookie more than once",
            Self::InvalidOrigin => {
                "an allowed origin must be scheme://host[:port] with scheme https or http (no path, no credentials, not null or *)"
            }
        })
    }
}

impl std::error::Error for CookieError {}

impl SecureCookie {
    /// `__Host-{name}` with `Path=/`: the default for tokens, bound to this exact origin.
    pub fn host(name: &str) -> Result<Self, CookieError> {
        Self::with_prefix(HOST_PREFIX, name, "/")
    }

    /// `__Secure-{name}` scoped to `path` (e.g. the refresh route), for a cookie that
    /// should not travel with every request. `__Host-` cannot be used here: it requires
    /// `Path=/`.
    pub fn secure(name: &str, path: &str) -> Result<Self, CookieError> {
        let valid_path = path.starts_with('/')
            && path
                .bytes()
                .all(|b| !b.is_ascii_control() && b != b';' && b.is_ascii());
        if !valid_path {
            return Err(CookieError::InvalidPath);
        }
        Self::with_prefix(SECURE_PREFIX, name, path)
    }

    fn with_prefix(prefix: &str, name: &str, path: &str) -> Result<Self, CookieError> {
        let lower = name.to_ascii_lowercase();
        if name.is_empty()
            || !name.bytes().all(is_tchar)
            || lower.starts_with("__host-")
            || lower.starts_with("__secure-")
        {
            return Err(CookieError::InvalidName);
        }
        Ok(Self {
            name: format!("{prefix}{name}").into_boxed_str(),
            path: path.into(),
        })
    }

    /// The full cookie name, prefix included.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cookie's `Path`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A `Set-Cookie` value storing `value`, for `max_age` (whole seconds) or, with `None`,
    /// until the browser session ends.
    pub fn set(&self, value: &str, max_age: Option<Duration>) -> Result<HeaderValue, CookieError> {
        if value.is_empty() || !value.bytes().all(is_cookie_octet) {
            return Err(CookieError::InvalidValue);
        }
        let mut out = self.prefix_with(value);
        if let Some(max_age) = max_age {
            out.push_str("; Max-Age=");
            out.push_str(&max_age.as_secs().to_string());
        }
        HeaderValue::try_from(out).map_err(|_| CookieError::InvalidValue)
    }

    /// A `Set-Cookie` value that deletes the cookie (empty value, `Max-Age=0`, same name,
    /// path and attributes, which the browser needs to match it). Pair it with
    /// [`clear_site_data`] on logout.
    pub fn clear(&self) -> HeaderValue {
        let mut out = self.prefix_with("");
        out.push_str("; Max-Age=0");
        // Name and path were validated at construction: always a valid header value.
        HeaderValue::try_from(out).unwrap_or_else(|_| HeaderValue::from_static("Max-Age=0"))
    }

    fn prefix_with(&self, value: &str) -> String {
        format!("{}={value}; {ATTRIBUTES}; Path={}", self.name, self.path)
    }

    /// This cookie's value in the request's `Cookie` header(s): `Ok(None)` when absent or
    /// empty, [`CookieError::Duplicate`] when it appears twice (whatever the values),
    /// [`CookieError::InvalidValue`] when its one value is not cookie-octets.
    ///
    /// ```
    /// use axum::http::{header::COOKIE, HeaderMap, HeaderValue};
    /// use gatepass::{CookieError, SecureCookie};
    ///
    /// let cookie = SecureCookie::host("access")?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(COOKIE, HeaderValue::from_static("theme=dark; __Host-access=abc.def.ghi"));
    /// assert_eq!(cookie.find(&headers), Ok(Some("abc.def.ghi")));
    ///
    /// headers.append(COOKIE, HeaderValue::from_static("__Host-access=other"));
    /// assert_eq!(cookie.find(&headers), Err(CookieError::Duplicate));
    /// # Ok::<(), CookieError>(())
    /// ```
    pub fn find<'a>(&self, headers: &'a HeaderMap) -> Result<Option<&'a str>, CookieError> {
        // `Some(None)`: present with an invalid value. Keep looking: a second pair under
        // this name is cookie tossing whatever the first one held, and the answer must not
        // depend on which of the two came first.
        let mut found: Option<Option<&'a [u8]>> = None;
        for field in headers.get_all(COOKIE) {
            for pair in field.as_bytes().split(|&b| b == b';') {
                let pair = pair.trim_ascii();
                let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                    continue;
                };
                let (name, value) = pair.split_at(eq);
                if name.trim_ascii_end() != self.name.as_bytes() {
                    continue;
                }
                if found.is_some() {
                    return Err(CookieError::Duplicate);
                }
                let value = value.get(1..).unwrap_or_default().trim_ascii_start();
                found = Some(unquote(value));
            }
        }
        match found {
            None | Some(Some([])) => Ok(None),
            Some(None) => Err(CookieError::InvalidValue),
            Some(Some(value)) => std::str::from_utf8(value)
                .map(Some)
                .map_err(|_| CookieError::InvalidValue),
        }
    }
}

/// `cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )`: the octets, or `None`.
fn unquote(value: &[u8]) -> Option<&[u8]> {
    let inner = match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    };
    inner.iter().all(|&b| is_cookie_octet(b)).then_some(inner)
}

/// RFC 6265 §4.1.1: `%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// The `Clear-Site-Data` value for logout: `"cookies"`, which makes the browser drop every
/// cookie of the origin, including ones the server no longer remembers setting. Not
/// `"storage"` or `"cache"`: those would wipe the application's own data, which is its
/// decision, not the auth layer's.
///
/// ```
/// assert_eq!(gatepass::clear_site_data(), "\"cookies\"");
/// ```
pub fn clear_site_data() -> HeaderValue {
    HeaderValue::from_static("\"cookies\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(fields: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for field in fields {
            map.append(COOKIE, HeaderValue::from_static(field));
        }
        map
    }

    fn host(name: &str) -> SecureCookie {
        SecureCookie::host(name).unwrap_or_else(|_| SecureCookie {
            name: "unreachable".into(),
            path: "/".into(),
        })
    }

    #[test]
    fn names_are_tokens_without_a_prefix() {
        assert_eq!(SecureCookie::host(""), Err(CookieError::InvalidName));
        assert_eq!(SecureCookie::host("a b"), Err(CookieError::InvalidName));
        assert_eq!(SecureCookie::host("a=b"), Err(CookieError::InvalidName));
        assert_eq!(SecureCookie::host("a;b"), Err(CookieError::InvalidName));
        assert_eq!(
            SecureCookie::host("__Host-x"),
            Err(CookieError::InvalidName)
        );
        assert_eq!(
            SecureCookie::host("__secure-x"),
            Err(CookieError::InvalidName)
        );
        assert_eq!(host("__x").name(), "__Host-__x");
    }

    #[test]
    fn paths_are_checked() {
        assert_eq!(
            SecureCookie::secure("r", "auth"),
            Err(CookieError::InvalidPath)
        );
        assert_eq!(
            SecureCookie::secure("r", "/a;b"),
            Err(CookieError::InvalidPath)
        );
        assert_eq!(
            SecureCookie::secure("r", "/a\nb"),
            Err(CookieError::InvalidPath)
        );
        assert_eq!(
            SecureCookie::secure("r", "/caf\u{e9}"),
            Err(CookieError::InvalidPath)
        );
        assert!(SecureCookie::secure("r", "/auth/refresh").is_ok());
    }

    #[test]
    fn values_that_would_break_the_header_are_refused() {
        let cookie = host("t");
        for bad in ["", "a b", "a;b", "a,b", "a\"b", "a\\b", "a\nb", "caf\u{e9}"] {
            assert_eq!(
                cookie.set(bad, None),
                Err(CookieError::InvalidValue),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn find_matches_the_exact_name_once() {
        let cookie = host("access");
        assert_eq!(cookie.find(&headers(&[])), Ok(None));
        assert_eq!(cookie.find(&headers(&["__Host-access=a"])), Ok(Some("a")));
        assert_eq!(
            cookie.find(&headers(&["x=1;__Host-access=a ;y=2"])),
            Ok(Some("a"))
        );
        assert_eq!(
            cookie.find(&headers(&["x=1", "__Host-access=a"])),
            Ok(Some("a"))
        );
        assert_eq!(cookie.find(&headers(&["__host-access=a"])), Ok(None));
        assert_eq!(cookie.find(&headers(&["access=a"])), Ok(None));
        assert_eq!(cookie.find(&headers(&["__Host-accessx=a"])), Ok(None));
        assert_eq!(
            cookie.find(&headers(&["__Host-access=a; __Host-access=a"])),
            Err(CookieError::Duplicate)
        );
        assert_eq!(
            cookie.find(&headers(&["__Host-access=a", "__Host-access=b"])),
            Err(CookieError::Duplicate)
        );
    }

    #[test]
    fn a_duplicate_is_reported_even_when_the_first_value_is_invalid() {
        // Found by the cookie_header fuzz target: the first pair's bad value used to end the
        // search, so the same two pairs were `InvalidValue` or `Duplicate` by their order.
        let cookie = host("access");
        for fields in [
            &["__Host-access=a b; __Host-access=c"][..],
            &["__Host-access=c; __Host-access=a b"],
            &["__Host-access=a,b", "__Host-access=c"],
            &["__Host-access=\"", "__Host-access=\""],
        ] {
            assert_eq!(
                cookie.find(&headers(fields)),
                Err(CookieError::Duplicate),
                "{fields:?}"
            );
        }
    }

    #[test]
    fn find_is_strict_about_the_value() {
        let cookie = host("access");
        assert_eq!(
            cookie.find(&headers(&["__Host-access=\"a.b\""])),
            Ok(Some("a.b"))
        );
        assert_eq!(cookie.find(&headers(&["__Host-access="])), Ok(None));
        assert_eq!(cookie.find(&headers(&["__Host-access=\"\""])), Ok(None));
        assert_eq!(
            cookie.find(&headers(&["__Host-access=a b"])),
            Err(CookieError::InvalidValue)
        );
        assert_eq!(
            cookie.find(&headers(&["__Host-access=a\"b"])),
            Err(CookieError::InvalidValue)
        );
        assert_eq!(
            cookie.find(&headers(&["__Host-access=a,b"])),
            Err(CookieError::InvalidValue)
        );
    }

    #[test]
    fn malformed_neighbours_are_ignored() {
        let cookie = host("access");
        assert_eq!(
            cookie.find(&headers(&["junk; x=\"; =; __Host-access=tok"])),
            Ok(Some("tok"))
        );
    }
}
