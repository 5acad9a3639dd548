//! Strict parsing of `Authorization: Bearer <token>` (RFC 6750 §2.1).
//!
//! ```text
//! credentials = "Bearer" 1*SP b64token
//! b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! Decisions, each the reading of the RFCs that refuses the most without refusing a
//! conforming client:
//!
//! * The scheme is compared case-insensitively (RFC 7235 §2.1): `bearer` and `BEARER` work.
//! * One **or more** spaces separate scheme and token: RFC 6750's grammar says `1*SP`. Only
//!   SP: a tab, comma or colon after `Bearer` is malformed.
//! * Exactly one b64token, then nothing: no trailing spaces, no second token, no
//!   `auth-param`s. (Over HTTP/1.1 hyper already strips the whitespace around a field value,
//!   RFC 9110 §5.5, so a trailing space never reaches the parser from the wire.)
//! * Several `Authorization` fields are malformed whatever they hold: the field is a
//!   singleton, and which one a proxy would have used is anyone's guess.
//! * A value that is not Bearer credentials (another scheme, or no scheme at all such as an
//!   empty value) is [`BearerCredentials::OtherScheme`]: to RFC 6750 that is "no credentials"
//!   (401 without an `error`), not a malformed request.

use std::fmt;

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;

/// What a request's `Authorization` header holds, for the Bearer scheme.
///
/// ```
/// use gatepass::{BearerCredentials, MalformedCredentials};
///
/// assert_eq!(BearerCredentials::parse(b"Bearer abc.def-_~+/=="), BearerCredentials::Token("abc.def-_~+/=="));
/// assert_eq!(BearerCredentials::parse(b"bearer   abc"), BearerCredentials::Token("abc"));
/// assert_eq!(BearerCredentials::parse(b"Basic dXNlcjpwYXNz"), BearerCredentials::OtherScheme);
/// assert_eq!(
///     BearerCredentials::parse(b"Bearer a b"),
///     BearerCredentials::Malformed(MalformedCredentials::TrailingData),
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BearerCredentials<'a> {
    /// No `Authorization` header.
    NoCredentials,
    /// Credentials of another scheme (`Basic ...`), or a value with no scheme at all.
    OtherScheme,
    /// `Bearer` followed by anything but one space-separated b64token: 400
    /// `invalid_request`.
    Malformed(MalformedCredentials),
    /// Exactly one b64token. Its syntax is checked; nothing else about it is.
    Token(&'a str),
}

/// Why credentials are malformed: the reason behind a 400 `invalid_request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MalformedCredentials {
    /// `Bearer` with no token.
    MissingToken,
    /// `Bearer` followed by something other than a space (a tab, `:`, `,`, ...).
    BadSeparator,
    /// The token has a character outside the b64token alphabet (or a non-`=` after `=`).
    InvalidCharacter,
    /// Something follows the token (`Bearer a b`, trailing spaces, auth-params).
    TrailingData,
    /// More than one `Authorization` header.
    SeveralHeaders,
    /// The token cookie appears more than once in the request.
    SeveralCookies,
    /// The token cookie's value is not a cookie value (RFC 6265 §4.1.1 `cookie-octet`s).
    CookieValue,
}

impl MalformedCredentials {
    /// A stable snake_case name for logs and metrics.
    ///
    /// ```
    /// assert_eq!(gatepass::MalformedCredentials::TrailingData.as_str(), "trailing_data");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::BadSeparator => "bad_separator",
            Self::InvalidCharacter => "invalid_character",
            Self::TrailingData => "trailing_data",
            Self::SeveralHeaders => "several_headers",
            Self::SeveralCookies => "several_cookies",
            Self::CookieValue => "cookie_value",
        }
    }
}

impl fmt::Display for MalformedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingToken => "the Bearer scheme needs a token",
            Self::BadSeparator => "'Bearer' must be followed by a space and the token",
            Self::InvalidCharacter => {
                "the bearer token has a character outside the b64token syntax (RFC 6750 section 2.1)"
            }
            Self::TrailingData => "the Authorization header has data after the bearer token",
            Self::SeveralHeaders => "the request has more than one Authorization header",
            Self::SeveralCookies => "the token cookie appears more than once",
            Self::CookieValue => "the token cookie's value is not a valid cookie value",
        })
    }
}

impl<'a> BearerCredentials<'a> {
    /// Read the request's `Authorization` header(s).
    ///
    /// ```
    /// use axum::http::{header::AUTHORIZATION, HeaderMap, HeaderValue};
    /// use gatepass::{BearerCredentials, MalformedCredentials};
    ///
    /// let mut headers = HeaderMap::new();
    /// assert_eq!(BearerCredentials::from_headers(&headers), BearerCredentials::NoCredentials);
    /// headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
    /// assert_eq!(BearerCredentials::from_headers(&headers), BearerCredentials::Token("abc"));
    /// headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
    /// assert_eq!(
    ///     BearerCredentials::from_headers(&headers),
    ///     BearerCredentials::Malformed(MalformedCredentials::SeveralHeaders),
    /// );
    /// ```
    pub fn from_headers(headers: &'a HeaderMap) -> Self {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        match (values.next(), values.next()) {
            (None, _) => Self::NoCredentials,
            (Some(value), None) => Self::parse(value.as_bytes()),
            (Some(_), Some(_)) => Self::Malformed(MalformedCredentials::SeveralHeaders),
        }
    }

    /// Parse one `Authorization` field value.
    pub fn parse(value: &'a [u8]) -> Self {
        parse_scheme(value, b"bearer")
    }
}

/// Parse one `Authorization` field value as credentials of `expected` (lowercase): the
/// same strict grammar serves `Bearer` (RFC 6750 §2.1) and `DPoP` (RFC 9449 §7.1, whose
/// token68 has the same characters), so one parser decides what is malformed.
pub(crate) fn parse_scheme<'a>(value: &'a [u8], expected: &[u8]) -> BearerCredentials<'a> {
    // auth-scheme = token: the longest run of tchars.
    let scheme_len = value.iter().take_while(|&&b| is_tchar(b)).count();
    let (scheme, rest) = value.split_at(scheme_len);
    if !scheme.eq_ignore_ascii_case(expected) {
        return BearerCredentials::OtherScheme;
    }
    let token = match rest {
        [] => return BearerCredentials::Malformed(MalformedCredentials::MissingToken),
        [b' ', ..] => skip_spaces(rest),
        _ => return BearerCredentials::Malformed(MalformedCredentials::BadSeparator),
    };
    if token.is_empty() {
        return BearerCredentials::Malformed(MalformedCredentials::MissingToken);
    }
    match check_b64token(token) {
        Err(reason) => BearerCredentials::Malformed(reason),
        // Every byte was checked to be ASCII, so this conversion cannot fail.
        Ok(()) => match std::str::from_utf8(token) {
            Ok(token) => BearerCredentials::Token(token),
            Err(_) => BearerCredentials::Malformed(MalformedCredentials::InvalidCharacter),
        },
    }
}

/// Check that `token` is exactly one b64token.
fn check_b64token(token: &[u8]) -> Result<(), MalformedCredentials> {
    let body = token.iter().take_while(|&&b| is_b64token_char(b)).count();
    if body == 0 {
        return Err(MalformedCredentials::InvalidCharacter);
    }
    let padding = token.iter().skip(body).take_while(|&&b| b == b'=').count();
    match token.get(body + padding) {
        None => Ok(()),
        Some(b' ') => Err(MalformedCredentials::TrailingData),
        Some(_) => Err(MalformedCredentials::InvalidCharacter),
    }
}

/// Skip leading SPs: only SP, as in RFC 6750's `1*SP`, not the other ASCII whitespace.
fn skip_spaces(bytes: &[u8]) -> &[u8] {
    let spaces = bytes.iter().take_while(|&&b| b == b' ').count();
    bytes.get(spaces..).unwrap_or_default()
}

/// RFC 6750 §2.1 b64token characters, without the trailing `=` padding.
fn is_b64token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// RFC 9110 §5.6.2 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

#[cfg(test)]
mod tests {
    use super::BearerCredentials::{self, *};
    use super::MalformedCredentials::*;

    fn parse(value: &str) -> BearerCredentials<'_> {
        BearerCredentials::parse(value.as_bytes())
    }

    #[test]
    fn one_token_after_the_scheme_is_accepted() {
        assert_eq!(parse("Bearer abc"), Token("abc"));
        assert_eq!(parse("Bearer a.b.c"), Token("a.b.c"));
        assert_eq!(parse("Bearer AZaz09-._~+/"), Token("AZaz09-._~+/"));
    }

    #[test]
    fn trailing_padding_is_part_of_the_token() {
        assert_eq!(parse("Bearer abc="), Token("abc="));
        assert_eq!(parse("Bearer abc=="), Token("abc=="));
        assert_eq!(parse("Bearer abc=d"), Malformed(InvalidCharacter));
        assert_eq!(parse("Bearer abc=="), Token("abc=="));
    }

    #[test]
    fn padding_alone_is_not_a_token() {
        assert_eq!(parse("Bearer ="), Malformed(InvalidCharacter));
        assert_eq!(parse("Bearer =="), Malformed(InvalidCharacter));
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        assert_eq!(parse("bearer abc"), Token("abc"));
        assert_eq!(parse("BEARER abc"), Token("abc"));
        assert_eq!(parse("bEaReR abc"), Token("abc"));
    }

    #[test]
    fn several_spaces_before_the_token_are_accepted() {
        assert_eq!(parse("Bearer  abc"), Token("abc"));
        assert_eq!(parse("Bearer     abc"), Token("abc"));
    }

    #[test]
    fn only_a_space_separates_scheme_and_token() {
        assert_eq!(parse("Bearer\tabc"), Malformed(BadSeparator));
        assert_eq!(parse("Bearer:abc"), Malformed(BadSeparator));
        assert_eq!(parse("Bearer,abc"), Malformed(BadSeparator));
        assert_eq!(parse("Bearer=abc"), Malformed(BadSeparator));
        assert_eq!(parse("Bearer \tabc"), Malformed(InvalidCharacter));
    }

    #[test]
    fn bearer_without_a_token_is_malformed() {
        assert_eq!(parse("Bearer"), Malformed(MissingToken));
        assert_eq!(parse("bearer"), Malformed(MissingToken));
        assert_eq!(parse("Bearer "), Malformed(MissingToken));
        assert_eq!(parse("Bearer    "), Malformed(MissingToken));
    }

    #[test]
    fn anything_after_the_token_is_malformed() {
        assert_eq!(parse("Bearer a b"), Malformed(TrailingData));
        assert_eq!(parse("Bearer abc "), Malformed(TrailingData));
        assert_eq!(parse("Bearer abc== x"), Malformed(TrailingData));
        assert_eq!(
            parse("Bearer abc, realm=\"x\""),
            Malformed(InvalidCharacter)
        );
        assert_eq!(parse("Bearer abc\t"), Malformed(InvalidCharacter));
    }

    #[test]
    fn characters_outside_b64token_are_malformed() {
        for bad in [
            "Bearer ab\"c",
            "Bearer ab\\c",
            "Bearer ab;c",
            "Bearer ab,c",
            "Bearer ab!c",
            "Bearer ab%2Ec",
            "Bearer ab*c",
            "Bearer \"abc\"",
            "Bearer ab\u{e9}c",
            "Bearer ab\0c",
            "Bearer ab\x7fc",
        ] {
            assert_eq!(parse(bad), Malformed(InvalidCharacter), "{bad:?}");
        }
        assert_eq!(
            BearerCredentials::parse(b"Bearer ab\xffc"),
            Malformed(InvalidCharacter)
        );
    }

    #[test]
    fn other_schemes_are_not_bearer_credentials() {
        assert_eq!(parse("Basic dXNlcjpwYXNz"), OtherScheme);
        assert_eq!(parse("Bearerabc"), OtherScheme);
        assert_eq!(parse("Bearer-x abc"), OtherScheme);
        assert_eq!(parse("DPoP abc"), OtherScheme);
        assert_eq!(parse("Token abc"), OtherScheme);
        assert_eq!(parse("Beare abc"), OtherScheme);
    }

    #[test]
    fn a_value_without_a_scheme_is_not_bearer_credentials() {
        assert_eq!(parse(""), OtherScheme);
        assert_eq!(parse(" Bearer abc"), OtherScheme);
        assert_eq!(parse("abc.def.ghi"), OtherScheme);
        assert_eq!(parse("\"Bearer\" abc"), OtherScheme);
    }

    #[test]
    fn a_real_jwt_is_one_token() {
        let jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
        assert_eq!(parse(&format!("Bearer {jwt}")), Token(jwt));
    }

    #[test]
    fn a_long_token_is_parsed_without_a_limit_here() {
        // The verifier owns the size limit (8192 bytes, docs/REFERENCE.md §1); the parser only checks syntax.
        let long = "a".repeat(100_000);
        assert_eq!(parse(&format!("Bearer {long}")), Token(&long));
    }
}
