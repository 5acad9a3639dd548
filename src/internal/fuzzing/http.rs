//! Targets over the HTTP adapter's parsers (feature `axum`): the `Authorization: Bearer`
//! header and the token cookies, each checked against a model written from the RFC
//! grammar, and through a real [`AuthLayer`](crate::AuthLayer) for the contract's answer.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::Response;
use tower::{Layer as _, Service};

use super::block_on;
use super::fixture::{fixture, NOW};
use crate::http::find_token;
use crate::{
    AuthLayer, AuthRejection, AuthService, BearerCredentials, CookieError, CustomClaims,
    DefaultOnRejection, MalformedCredentials, SecureCookie, VerifyError,
};

/// Target `bearer_header`: the input as one `Authorization` value, and split at `\n` into
/// several.
///
/// Asserts: no panic; [`BearerCredentials::parse`] gives the verdict of a model of RFC
/// 6750 §2.1 (scheme case-insensitive, `1*SP`, exactly one b64token, nothing after it), with
/// the b64token grammar re-implemented here as an automaton; a `Token(t)` is a suffix of the
/// value, exactly one b64token, and parses again to itself after `Bearer ` (in any case,
/// with any number of spaces); `from_headers` is `NoCredentials` without a field,
/// `SeveralHeaders` with two, and `parse` with one; and a real `AuthLayer` answers every
/// request with the contract's class: 400 `invalid_request` for malformed credentials, 401
/// with the bare challenge for none, and for a token exactly the verifier's verdict (401
/// `invalid_token` with its kind, or through).
pub fn bearer_header(data: &[u8]) {
    let parsed = BearerCredentials::parse(data);
    assert_eq!(
        parsed,
        bearer_model(data),
        "parse disagrees with the RFC 6750 model"
    );
    if let BearerCredentials::Token(token) = parsed {
        assert!(is_b64token(token.as_bytes()), "{token:?} is not a b64token");
        assert!(
            data.ends_with(token.as_bytes()),
            "the token is not the value's end"
        );
        for scheme in ["Bearer ", "bearer ", "BEARER   "] {
            let again = format!("{scheme}{token}");
            assert_eq!(
                BearerCredentials::parse(again.as_bytes()),
                BearerCredentials::Token(token),
                "{again:?} does not parse back to its token"
            );
        }
    }

    let mut headers = HeaderMap::new();
    for field in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(field) {
            headers.append(AUTHORIZATION, value);
        }
    }
    let values: Vec<&[u8]> = headers
        .get_all(AUTHORIZATION)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    let expected = match values.as_slice() {
        [] => BearerCredentials::NoCredentials,
        [one] => BearerCredentials::parse(one),
        _ => BearerCredentials::Malformed(MalformedCredentials::SeveralHeaders),
    };
    let credentials = BearerCredentials::from_headers(&headers);
    assert_eq!(credentials, expected, "from_headers disagrees with parse");

    let expected = match credentials {
        BearerCredentials::Token(token) => verdict(token),
        BearerCredentials::Malformed(reason) => Some(AuthRejection::InvalidRequest(reason)),
        _ => Some(AuthRejection::MissingCredentials),
    };
    let found = find_token(&headers, None);
    assert_eq!(
        rejection(found),
        expected,
        "find_token disagrees with from_headers"
    );
    check_layer(bearer_layer(), headers, expected.as_ref());
}

/// The verdict a model following RFC 6750 §2.1 and the parser's documented decisions gives
/// for one `Authorization` value.
fn bearer_model(value: &[u8]) -> BearerCredentials<'_> {
    let scheme_end = value
        .iter()
        .position(|&b| !is_tchar(b))
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return BearerCredentials::OtherScheme;
    }
    let malformed = BearerCredentials::Malformed;
    match rest.first() {
        None => return malformed(MalformedCredentials::MissingToken),
        Some(b' ') => {}
        Some(_) => return malformed(MalformedCredentials::BadSeparator),
    }
    let token = match rest.iter().position(|&b| b != b' ') {
        None => return malformed(MalformedCredentials::MissingToken),
        Some(start) => &rest[start..],
    };
    if is_b64token(token) {
        return BearerCredentials::Token(std::str::from_utf8(token).expect("b64tokens are ASCII"));
    }
    // A b64token and then a space is one token too many; anything else is a bad character.
    match token.iter().position(|&b| b == b' ') {
        Some(space) if is_b64token(&token[..space]) => {
            malformed(MalformedCredentials::TrailingData)
        }
        _ => malformed(MalformedCredentials::InvalidCharacter),
    }
}

/// RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`,
/// as a three-state automaton (written apart from the parser's scanning code).
fn is_b64token(bytes: &[u8]) -> bool {
    #[derive(Clone, Copy)]
    enum State {
        Empty,
        Body,
        Padding,
    }
    let mut state = State::Empty;
    for &b in bytes {
        let body = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
        state = match (state, body, b == b'=') {
            (State::Empty | State::Body, true, _) => State::Body,
            (State::Body | State::Padding, _, true) => State::Padding,
            _ => return false,
        };
    }
    !matches!(state, State::Empty)
}

/// RFC 9110 §5.6.2: `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
/// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Target `cookie_header`: line 1 is a cookie name, line 2 a path, every further line a
/// `Cookie` field (and a candidate value).
///
/// Asserts: no panic; `SecureCookie::host`/`secure` accept exactly the names that are
/// non-empty RFC 9110 tokens without a `__Host-`/`__Secure-` prefix (any case), and the
/// paths that start with `/` and hold only printable ASCII without `;`; [`SecureCookie::find`]
/// gives the verdict of a model of RFC 6265: the exact name, at most once across all fields
/// (twice is `Duplicate`, whatever the values), the value trimmed, unquoted once, made of
/// `cookie-octet`s, empty meaning absent; a found value is non-empty cookie-octets; one more
/// field with the same name makes any request `Duplicate`; `set(v)` succeeds exactly for
/// non-empty cookie-octets, with the strict attributes, and the `Cookie` header a browser
/// would send back from it finds `v` again (quoted or not, among other cookies); and a real
/// `AuthLayer` reading the cookie answers 400 `invalid_request` for a duplicated or bad
/// cookie, 401 with the bare challenge for none, and for a token the verifier's verdict.
pub fn cookie_header(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let name = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let path = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let fields: Vec<&[u8]> = lines.collect();

    let host = SecureCookie::host(&name);
    assert_eq!(
        host.is_ok(),
        name_allowed(&name),
        "SecureCookie::host({name:?}) is {host:?}"
    );
    let secure = SecureCookie::secure(&name, &path);
    let path_allowed =
        path.starts_with('/') && path.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';');
    match &secure {
        Ok(cookie) => {
            assert!(name_allowed(&name) && path_allowed, "{cookie:?} accepted");
            assert_eq!(cookie.name(), format!("__Secure-{name}"));
            assert_eq!(cookie.path(), path);
        }
        Err(CookieError::InvalidPath) => assert!(!path_allowed, "path {path:?} refused"),
        Err(CookieError::InvalidName) => assert!(path_allowed && !name_allowed(&name)),
        Err(other) => panic!("SecureCookie::secure refused with {other:?}"),
    }
    let cookies: Vec<SecureCookie> = match (host, secure) {
        (Ok(host), Ok(secure)) => vec![host, secure],
        (Ok(host), Err(_)) => {
            assert_eq!(host.name(), format!("__Host-{name}"));
            assert_eq!(host.path(), "/");
            vec![host]
        }
        _ => vec![SecureCookie::host("access").expect("a valid name")],
    };

    let mut headers = HeaderMap::new();
    for field in &fields {
        if let Ok(value) = HeaderValue::from_bytes(field) {
            headers.append(COOKIE, value);
        }
    }
    for cookie in &cookies {
        check_find(cookie, &headers);
        for value in &fields {
            check_set(cookie, value, data.len());
        }
    }
    check_cookie_layer(&cookies[0], headers);
}

/// The names `SecureCookie` accepts: RFC 9110 tokens, without a prefix it adds itself.
fn name_allowed(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !name.is_empty()
        && name.bytes().all(is_tchar)
        && !lower.starts_with("__host-")
        && !lower.starts_with("__secure-")
}

/// RFC 6265 §4.1.1 `cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`: visible
/// ASCII except `"`, `,`, `;` and `\`.
fn is_cookie_octet(b: u8) -> bool {
    b.is_ascii_graphic() && !b"\",;\\".contains(&b)
}

/// Optional whitespace around cookie pairs, names and values.
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// What `find` must answer for `name` in these `Cookie` fields.
fn find_model<'a>(name: &str, headers: &'a HeaderMap) -> Result<Option<&'a [u8]>, CookieError> {
    let mut values = Vec::new();
    for field in headers.get_all(COOKIE) {
        for pair in field.as_bytes().split(|&b| b == b';') {
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            if trim_ows(&pair[..eq]) == name.as_bytes() {
                values.push(trim_ows(&pair[eq + 1..]));
            }
        }
    }
    let value = match values.as_slice() {
        [] => return Ok(None),
        [value] => *value,
        _ => return Err(CookieError::Duplicate),
    };
    let value = match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    };
    if !value.iter().all(|&b| is_cookie_octet(b)) {
        return Err(CookieError::InvalidValue);
    }
    Ok((!value.is_empty()).then_some(value))
}

fn check_find(cookie: &SecureCookie, headers: &HeaderMap) {
    let found = cookie.find(headers);
    let model = find_model(cookie.name(), headers);
    assert_eq!(
        found.map(|v| v.map(str::as_bytes)),
        model,
        "find({}) disagrees with the RFC 6265 model",
        cookie.name()
    );
    if let Ok(Some(value)) = found {
        assert!(
            value.bytes().all(is_cookie_octet) && !value.is_empty(),
            "found {value:?}, not cookie-octets"
        );
    }
    // One more pair under the same name: cookie tossing, whatever was there.
    if found.is_ok_and(|v| v.is_some()) || found == Err(CookieError::InvalidValue) {
        let mut tossed = headers.clone();
        let extra = format!("{}=tossed", cookie.name());
        tossed.append(COOKIE, HeaderValue::try_from(extra).expect("a valid field"));
        assert_eq!(cookie.find(&tossed), Err(CookieError::Duplicate));
    }
}

fn check_set(cookie: &SecureCookie, value: &[u8], seed: usize) {
    let Ok(value) = std::str::from_utf8(value) else {
        return;
    };
    let seed = u64::try_from(seed).unwrap_or(u64::MAX);
    let max_age = (seed % 2 == 0).then(|| Duration::from_secs(u64::MAX - seed));
    let set = cookie.set(value, max_age);
    let valid = !value.is_empty() && value.bytes().all(is_cookie_octet);
    let Ok(set) = set else {
        assert_eq!(set, Err(CookieError::InvalidValue));
        assert!(!valid, "set({value:?}) refused");
        return;
    };
    assert!(valid, "set({value:?}) accepted");
    let set = set.to_str().expect("Set-Cookie is ASCII");
    let mut expected = format!(
        "{}={value}; Secure; HttpOnly; SameSite=Strict; Path={}",
        cookie.name(),
        cookie.path()
    );
    if let Some(max_age) = max_age {
        expected.push_str(&format!("; Max-Age={}", max_age.as_secs()));
    }
    assert_eq!(set, expected);
    // What a browser sends back: the cookie-pair, among others, plain or quoted.
    let (pair, _) = set.split_once(';').expect("attributes follow the pair");
    let quoted = pair.replacen('=', "=\"", 1) + "\"";
    for field in [
        pair.to_owned(),
        format!("theme=dark; {pair}; lang=en"),
        format!("x=\"; {quoted}"),
    ] {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::try_from(field).expect("a valid field"));
        assert_eq!(
            cookie.find(&headers),
            Ok(Some(value)),
            "{set:?} does not come back"
        );
    }
}

/// The request's rejection as `find_token` reports it and the layer completes it: `None`
/// when the token verifies.
fn rejection(found: Result<Option<&str>, AuthRejection>) -> Option<AuthRejection> {
    match found {
        Err(rejection) => Some(rejection),
        Ok(None) => Some(AuthRejection::MissingCredentials),
        Ok(Some(token)) => verdict(token),
    }
}

fn verdict(token: &str) -> Option<AuthRejection> {
    fixture()
        .verifier()
        .verify_access_at(token, NOW)
        .err()
        .map(AuthRejection::from)
}

fn check_cookie_layer(cookie: &SecureCookie, headers: HeaderMap) {
    let expected = match cookie.find(&headers) {
        Ok(None) => Some(AuthRejection::MissingCredentials),
        Ok(Some(token)) => verdict(token),
        Err(CookieError::Duplicate) => Some(AuthRejection::InvalidRequest(
            MalformedCredentials::SeveralCookies,
        )),
        Err(_) => Some(AuthRejection::InvalidRequest(
            MalformedCredentials::CookieValue,
        )),
    };
    assert_eq!(rejection(find_token(&headers, Some(cookie))), expected);
    let layer = AuthLayer::new(fixture().shared_verifier()).token_cookie(cookie.clone());
    check_layer(&layer, headers, expected.as_ref());
}

type Layer = AuthLayer<CustomClaims, DefaultOnRejection>;

fn bearer_layer() -> &'static Layer {
    static LAYER: OnceLock<Layer> = OnceLock::new();
    LAYER.get_or_init(|| AuthLayer::new(fixture().shared_verifier()))
}

/// The service behind the layer: 200 for whatever reaches it.
#[derive(Clone, Copy)]
struct Through;

impl<B> Service<Request<B>> for Through {
    type Response = StatusCode;
    type Error = Infallible;
    type Future = Ready<Result<StatusCode, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        ready(Ok(StatusCode::OK))
    }
}

/// Send a request with `headers` through `layer` and check the answer is the contract's
/// for `expected` (`None`: let through).
fn check_layer(layer: &Layer, headers: HeaderMap, expected: Option<&AuthRejection>) {
    let mut service: AuthService<Through, CustomClaims, DefaultOnRejection> = layer.layer(Through);
    let mut request = Request::new(());
    *request.headers_mut() = headers;
    let response: Response = match block_on(service.call(request)) {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().expect("the challenge is ASCII").to_owned());
    let Some(expected) = expected else {
        assert_eq!(status, StatusCode::OK, "a verified token was refused");
        return;
    };
    assert_eq!(status, expected.status(), "{expected:?} answered {status}");
    assert_eq!(
        response
            .headers()
            .get(CACHE_CONTROL)
            .map(HeaderValue::as_bytes),
        Some(&b"no-store"[..])
    );
    let challenge = challenge.expect("4xx answers carry a Bearer challenge");
    match expected {
        AuthRejection::MissingCredentials => {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(challenge, "Bearer realm=\"gatepass\"");
        }
        AuthRejection::InvalidRequest(_) => {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(
                challenge.starts_with("Bearer realm=\"gatepass\", error=\"invalid_request\", "),
                "{challenge}"
            );
        }
        AuthRejection::InvalidToken(error) => {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_ne!(error, &VerifyError::KeysUnavailable);
            let prefix = format!(
                "Bearer realm=\"gatepass\", error=\"invalid_token\", error_description=\"{}: ",
                error.kind()
            );
            assert!(challenge.starts_with(&prefix), "{challenge}");
        }
        other => panic!("a request got {other:?}"),
    }
}
