//! The axum layer and extractors over real HTTP: an app on 127.0.0.1:0, raw HTTP/1.1
//! requests written to a TCP socket (so the tests control every header byte, duplicates
//! included), exact statuses and exact `WWW-Authenticate` values (RFC 6750, CONTRACT §5).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderName, StatusCode};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::get;
use axum::{Extension, Router};
use gatepass::{
    clear_site_data, AccessClaims, Algorithm, AuthLayer, AuthRejection, Authenticated,
    SecureCookie, Verified, Verifier, VerifyError,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{b64, claims_with, craft_hs256, hs_header, Fixture, NOW};

const BARE: &str = r#"Bearer realm="gatepass""#;

#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
struct AppClaims {
    role: String,
}

// ---------------------------------------------------------------------------------------
// The app under test.

async fn me(auth: Authenticated<AppClaims>) -> String {
    format!("{} {}", auth.sub, auth.custom.role)
}

async fn maybe(auth: Option<Authenticated>) -> String {
    auth.map_or_else(|| "anonymous".to_owned(), |auth| auth.sub.clone())
}

async fn writer(auth: Authenticated) -> Result<&'static str, AuthRejection> {
    auth.require_scope("write")?;
    Ok("written")
}

/// A plain tower-level view: the claims the layer put in the extensions.
async fn raw_extension(Extension(verified): Extension<Verified<AccessClaims>>) -> String {
    verified.claims().sub.clone()
}

async fn set_cookie() -> impl IntoResponse {
    let cookie = SecureCookie::host("refresh").unwrap();
    let scoped = SecureCookie::secure("refresh", "/auth/refresh").unwrap();
    (
        AppendHeaders([
            (
                SET_COOKIE,
                cookie
                    .set("eyJh.eyJz.c2ln", Some(Duration::from_secs(3600)))
                    .unwrap(),
            ),
            (SET_COOKIE, scoped.set("eyJh.eyJz.c2ln", None).unwrap()),
        ]),
        "set",
    )
}

async fn clear_cookie() -> impl IntoResponse {
    let cookie = SecureCookie::host("refresh").unwrap();
    (
        [
            (SET_COOKIE, cookie.clear()),
            (
                HeaderName::from_static("clear-site-data"),
                clear_site_data(),
            ),
        ],
        "cleared",
    )
}

fn app(verifier: Verifier) -> Router {
    let verifier = Arc::new(verifier);
    let layer = AuthLayer::new(verifier.clone());
    Router::new()
        .route(
            "/me",
            get(me).layer(AuthLayer::with_claims::<AppClaims>(verifier.clone())),
        )
        .route("/map-layer", get(me).layer(layer.clone()))
        .route("/extension", get(raw_extension).layer(layer.clone()))
        .route("/optional", get(maybe).layer(layer.clone().optional()))
        .route(
            "/admin",
            get(maybe).layer(layer.clone().require_scope("admin")),
        )
        .route("/writer", get(writer).layer(layer.clone()))
        .route(
            "/custom",
            get(maybe).layer(layer.clone().on_rejection(|rejection: AuthRejection| {
                (
                    StatusCode::IM_A_TEAPOT,
                    [("x-rejection", rejection.kind())],
                    format!("custom {}", rejection.status().as_u16()),
                )
            })),
        )
        .route(
            "/cookie",
            get(maybe).layer(
                layer
                    .clone()
                    .token_cookie(SecureCookie::host("access").unwrap()),
            ),
        )
        // No layer: the extractor verifies with the `Arc<Verifier>` extension.
        .route("/bare/me", get(me).layer(Extension(verifier.clone())))
        .route("/bare/optional", get(maybe).layer(Extension(verifier)))
        // No layer and no verifier: a wiring mistake.
        .route("/bare/nowhere", get(maybe))
        .route("/cookies/set", get(set_cookie))
        .route("/cookies/clear", get(clear_cookie))
}

async fn serve(fixture: &Fixture) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app(fixture.verifier());
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

// ---------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client: one request per connection, `Connection: close`.

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn header(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(all.len() <= 1, "several {name} headers: {all:?}");
        all.first().copied()
    }

    fn challenge(&self) -> Option<&str> {
        self.header("www-authenticate")
    }

    fn json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"));
        serde_json::from_str(&self.body).unwrap()
    }
}

async fn request(addr: SocketAddr, path: &str, headers: &[&str]) -> Reply {
    let mut raw = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for header in headers {
        raw.push_str(header);
        raw.push_str("\r\n");
    }
    raw.push_str("\r\n");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("the server answers within 10 s")
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    assert!(
        !headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")),
        "sized bodies only"
    );
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

// ---------------------------------------------------------------------------------------
// Tokens.

fn valid_token(fixture: &Fixture) -> String {
    fixture
        .issuer(Algorithm::EdDSA)
        .access_token("alice")
        .claim("role", "admin")
        .unwrap()
        .issue()
        .unwrap()
        .token
}

fn token_with_scope(fixture: &Fixture, scope: &str) -> String {
    fixture
        .issuer(Algorithm::EdDSA)
        .access_token("alice")
        .claim("role", "admin")
        .unwrap()
        .claim("scope", scope)
        .unwrap()
        .issue()
        .unwrap()
        .token
}

fn expired_token() -> String {
    let exp = (NOW - 100).to_string();
    craft_hs256(
        &hs_header(),
        &claims_with(&[("exp", &exp), ("role", "\"admin\"")]),
    )
}

/// Alice's header and claims under the signature of another token from the same key.
fn bad_signature_token(fixture: &Fixture) -> String {
    let alice = valid_token(fixture);
    let bob = fixture.access_token(Algorithm::EdDSA, "bob");
    let (signed, _) = alice.rsplit_once('.').unwrap();
    let (_, signature) = bob.rsplit_once('.').unwrap();
    format!("{signed}.{signature}")
}

fn alg_none_token() -> String {
    let header = r#"{"alg":"none","typ":"at+jwt"}"#;
    format!(
        "{}.{}.{}",
        b64(header),
        b64(claims_with(&[("role", "\"admin\"")])),
        b64("x")
    )
}

fn refresh_token(fixture: &Fixture) -> String {
    fixture
        .issuer(Algorithm::EdDSA)
        .refresh_token("alice", "session-1", 0)
        .issue()
        .unwrap()
        .token
}

/// The challenge for a token rejected with `err`.
fn invalid_token(err: &VerifyError) -> String {
    format!(
        r#"Bearer realm="gatepass", error="invalid_token", error_description="{}: {}""#,
        err.kind(),
        err.to_string().replace('"', "'")
    )
}

fn invalid_request(description: &str) -> String {
    format!(
        r#"Bearer realm="gatepass", error="invalid_request", error_description="{description}""#
    )
}

// ---------------------------------------------------------------------------------------
// No credentials, other schemes, malformed credentials.

#[tokio::test]
async fn no_authorization_header_is_401_with_a_bare_challenge() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/me", &[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.challenge(), Some(BARE));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["error"], "missing_credentials");
    assert!(body["error_description"].as_str().is_some());
}

#[tokio::test]
async fn another_scheme_is_401_with_a_bare_challenge() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    for header in [
        "Authorization: Basic dXNlcjpwYXNz",
        "Authorization: Digest username=\"x\"",
        "Authorization: Bearerabc",
        "Authorization:",
    ] {
        let reply = request(addr, "/me", &[header]).await;
        assert_eq!(reply.status, 401, "{header}");
        assert_eq!(reply.challenge(), Some(BARE), "{header}");
    }
}

#[tokio::test]
async fn bearer_without_a_token_is_400_invalid_request() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    for header in [
        "Authorization: Bearer",
        "Authorization: Bearer   ",
        "Authorization: bearer",
    ] {
        let reply = request(addr, "/me", &[header]).await;
        assert_eq!(reply.status, 400, "{header}");
        assert_eq!(
            reply.challenge(),
            Some(invalid_request("the Bearer scheme needs a token").as_str()),
            "{header}"
        );
        assert_eq!(reply.json()["error"], "invalid_request");
    }
}

#[tokio::test]
async fn bearer_with_two_tokens_is_400_invalid_request() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/me", &["Authorization: Bearer a b"]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.challenge(),
        Some(invalid_request("the Authorization header has data after the bearer token").as_str())
    );
    // A valid token followed by more is no better.
    let token = valid_token(&fixture);
    let reply = request(
        addr,
        "/me",
        &[&format!("Authorization: Bearer {token} {token}")],
    )
    .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn a_forbidden_character_in_the_token_is_400_invalid_request() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let expected = invalid_request(
        "the bearer token has a character outside the b64token syntax (RFC 6750 section 2.1)",
    );
    for header in [
        "Authorization: Bearer abc$def",
        "Authorization: Bearer \"abc\"",
        "Authorization: Bearer abc,def",
        "Authorization: Bearer abc=def",
        "Authorization: Bearer a\\b",
    ] {
        let reply = request(addr, "/me", &[header]).await;
        assert_eq!(reply.status, 400, "{header}");
        assert_eq!(reply.challenge(), Some(expected.as_str()), "{header}");
    }
    let reply = request(addr, "/me", &["Authorization: Bearer\tabc"]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.challenge(),
        Some(invalid_request("'Bearer' must be followed by a space and the token").as_str())
    );
}

#[tokio::test]
async fn two_authorization_headers_are_400_even_when_both_are_valid() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let token = valid_token(&fixture);
    let reply = request(addr, "/me", &[&bearer(&token), &bearer(&token)]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.challenge(),
        Some(invalid_request("the request has more than one Authorization header").as_str())
    );
}

// ---------------------------------------------------------------------------------------
// Tokens.

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_typed_claims() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let token = valid_token(&fixture);
    let reply = request(addr, "/me", &[&bearer(&token)]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice admin"));
    assert_eq!(reply.challenge(), None);
    // Scheme case and several spaces (RFC 6750's 1*SP) are accepted.
    for header in [
        format!("Authorization: bearer {token}"),
        format!("Authorization: BEARER {token}"),
        format!("Authorization: Bearer    {token}"),
    ] {
        let reply = request(addr, "/me", &[&header]).await;
        assert_eq!(reply.status, 200, "{header}");
    }
}

#[tokio::test]
async fn a_layer_over_the_json_map_serves_a_typed_extractor() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/map-layer", &[&bearer(&valid_token(&fixture))]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice admin"));
    // Claims that do not fit the handler's type are an invalid token, not a 500.
    let no_role = fixture.access_token(Algorithm::EdDSA, "alice");
    let reply = request(addr, "/map-layer", &[&bearer(&no_role)]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge(),
        Some(invalid_token(&VerifyError::InvalidClaim(gatepass::Claim::Custom)).as_str())
    );
}

#[tokio::test]
async fn the_layer_puts_the_verified_claims_in_the_extensions() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/extension", &[&bearer(&valid_token(&fixture))]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice"));
}

#[tokio::test]
async fn an_expired_token_is_401_invalid_token() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/me", &[&bearer(&expired_token())]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge(),
        Some(
            r#"Bearer realm="gatepass", error="invalid_token", error_description="expired: the token has expired""#
        )
    );
    let body = reply.json();
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(body["error_description"], "expired: the token has expired");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn a_bad_signature_is_401_invalid_token() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/me", &[&bearer(&bad_signature_token(&fixture))]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge(),
        Some(invalid_token(&VerifyError::BadSignature).as_str())
    );
}

#[tokio::test]
async fn alg_none_is_401_invalid_token() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/me", &[&bearer(&alg_none_token())]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge(),
        Some(invalid_token(&VerifyError::UnsupportedAlgorithm).as_str())
    );
    // The unsecured form (empty signature) is a b64token too, and malformed as a JWS.
    let (unsecured, _) = alg_none_token()
        .rsplit_once('.')
        .map(|(a, b)| (format!("{a}."), b.to_owned()))
        .unwrap();
    let reply = request(addr, "/me", &[&bearer(&unsecured)]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge(),
        Some(invalid_token(&VerifyError::Malformed(gatepass::Malformed::Segments)).as_str())
    );
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/me", &[&bearer(&refresh_token(&fixture))]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge(),
        Some(invalid_token(&VerifyError::WrongType).as_str())
    );
}

#[tokio::test]
async fn garbage_in_the_token_never_reaches_the_header() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    // A b64token that is not a JWS: the description names the kind, never echoes the token.
    let reply = request(addr, "/me", &["Authorization: Bearer c2VjcmV0LXNlY3JldA"]).await;
    assert_eq!(reply.status, 401);
    let challenge = reply.challenge().unwrap();
    assert!(
        challenge.contains(r#"error_description="malformed: "#),
        "{challenge}"
    );
    assert!(!challenge.contains("c2VjcmV0"), "{challenge}");
    assert!(!reply.body.contains("c2VjcmV0"), "{}", reply.body);
}

// ---------------------------------------------------------------------------------------
// Optional authentication, scopes, custom responses.

#[tokio::test]
async fn optional_auth_is_none_without_credentials_and_still_refuses_bad_ones() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    for path in ["/optional", "/bare/optional"] {
        let reply = request(addr, path, &[]).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, "anonymous"),
            "{path}"
        );
        let reply = request(addr, path, &["Authorization: Basic dXNlcjpwYXNz"]).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, "anonymous"),
            "{path}"
        );

        let reply = request(addr, path, &[&bearer(&valid_token(&fixture))]).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, "alice"),
            "{path}"
        );

        let reply = request(addr, path, &[&bearer(&expired_token())]).await;
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(
            reply.challenge(),
            Some(invalid_token(&VerifyError::Expired).as_str()),
            "{path}"
        );
        let reply = request(addr, path, &["Authorization: Bearer a b"]).await;
        assert_eq!(reply.status, 400, "{path}");
    }
}

#[tokio::test]
async fn the_extractor_without_a_layer_verifies_with_the_verifier_extension() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/bare/me", &[&bearer(&valid_token(&fixture))]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice admin"));
    let reply = request(addr, "/bare/me", &[]).await;
    assert_eq!((reply.status, reply.challenge()), (401, Some(BARE)));
    let reply = request(addr, "/bare/me", &[&bearer(&refresh_token(&fixture))]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge(),
        Some(invalid_token(&VerifyError::WrongType).as_str())
    );
}

#[tokio::test]
async fn the_extractor_without_layer_or_verifier_is_a_500() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/bare/nowhere", &[&bearer(&valid_token(&fixture))]).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.challenge(), None);
    assert_eq!(reply.json()["error"], "server_error");
}

#[tokio::test]
async fn a_missing_scope_is_403_insufficient_scope() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(
        addr,
        "/admin",
        &[&bearer(&token_with_scope(&fixture, "read write"))],
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.challenge(),
        Some(
            r#"Bearer realm="gatepass", error="insufficient_scope", error_description="the token does not grant the scope this resource requires", scope="admin""#
        )
    );
    assert_eq!(reply.json()["error"], "insufficient_scope");
    // Without any scope claim: the same.
    let reply = request(addr, "/admin", &[&bearer(&valid_token(&fixture))]).await;
    assert_eq!(reply.status, 403);

    let reply = request(
        addr,
        "/admin",
        &[&bearer(&token_with_scope(&fixture, "read admin"))],
    )
    .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice"));
    // Authentication comes before authorization.
    let reply = request(addr, "/admin", &[]).await;
    assert_eq!((reply.status, reply.challenge()), (401, Some(BARE)));
}

#[tokio::test]
async fn a_handler_can_require_a_scope_itself() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(
        addr,
        "/writer",
        &[&bearer(&token_with_scope(&fixture, "read"))],
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.challenge(),
        Some(
            r#"Bearer realm="gatepass", error="insufficient_scope", error_description="the token does not grant the scope this resource requires", scope="write""#
        )
    );
    let reply = request(
        addr,
        "/writer",
        &[&bearer(&token_with_scope(&fixture, "read write"))],
    )
    .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "written"));
}

#[tokio::test]
async fn a_custom_rejection_response_replaces_the_default() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/custom", &[]).await;
    assert_eq!(reply.status, 418);
    assert_eq!(reply.header("x-rejection"), Some("missing_credentials"));
    assert_eq!(reply.body, "custom 401");
    assert_eq!(reply.challenge(), None);

    let reply = request(addr, "/custom", &[&bearer(&expired_token())]).await;
    assert_eq!(reply.status, 418);
    assert_eq!(reply.header("x-rejection"), Some("expired"));
    let reply = request(addr, "/custom", &["Authorization: Bearer a b"]).await;
    assert_eq!(reply.header("x-rejection"), Some("invalid_request"));
    assert_eq!(reply.body, "custom 400");

    let reply = request(addr, "/custom", &[&bearer(&valid_token(&fixture))]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice"));
}

// ---------------------------------------------------------------------------------------
// Cookies.

#[tokio::test]
async fn the_token_can_come_from_the_configured_cookie() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let token = valid_token(&fixture);
    let cookie = format!("Cookie: theme=dark; __Host-access={token}");

    let reply = request(addr, "/cookie", &[&cookie]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice"));
    // Another scheme in Authorization (a staging proxy's Basic) does not hide the cookie.
    let reply = request(
        addr,
        "/cookie",
        &["Authorization: Basic dXNlcjpwYXNz", &cookie],
    )
    .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice"));
    // The cookie is only read where a layer is configured for it.
    let reply = request(addr, "/me", &[&cookie]).await;
    assert_eq!((reply.status, reply.challenge()), (401, Some(BARE)));
    // Name matching is exact.
    let reply = request(
        addr,
        "/cookie",
        &[&format!("Cookie: __host-access={token}")],
    )
    .await;
    assert_eq!((reply.status, reply.challenge()), (401, Some(BARE)));
    let reply = request(addr, "/cookie", &["Cookie: __Host-access="]).await;
    assert_eq!((reply.status, reply.challenge()), (401, Some(BARE)));
}

#[tokio::test]
async fn a_bearer_header_wins_over_the_cookie_and_a_malformed_one_is_not_replaced() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let token = valid_token(&fixture);
    let garbage_cookie = "Cookie: __Host-access=garbage";
    let reply = request(addr, "/cookie", &[&bearer(&token), garbage_cookie]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice"));

    let good_cookie = format!("Cookie: __Host-access={token}");
    let reply = request(
        addr,
        "/cookie",
        &["Authorization: Bearer a b", &good_cookie],
    )
    .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn cookie_tokens_are_verified_and_duplicates_refused() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(
        addr,
        "/cookie",
        &[&format!("Cookie: __Host-access={}", expired_token())],
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge(),
        Some(invalid_token(&VerifyError::Expired).as_str())
    );

    let token = valid_token(&fixture);
    let reply = request(
        addr,
        "/cookie",
        &[&format!(
            "Cookie: __Host-access={token}; __Host-access={token}"
        )],
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.challenge(),
        Some(invalid_request("the token cookie appears more than once").as_str())
    );
    let reply = request(addr, "/cookie", &["Cookie: __Host-access=a\\b"]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.challenge(),
        Some(invalid_request("the token cookie's value is not a valid cookie value").as_str())
    );
}

#[tokio::test]
async fn cookie_helpers_write_the_exact_set_cookie_lines() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/cookies/set", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.all("set-cookie"),
        [
            "__Host-refresh=eyJh.eyJz.c2ln; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600",
            "__Secure-refresh=eyJh.eyJz.c2ln; Secure; HttpOnly; SameSite=Strict; Path=/auth/refresh",
        ]
    );
    let reply = request(addr, "/cookies/clear", &[]).await;
    assert_eq!(
        reply.all("set-cookie"),
        ["__Host-refresh=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"]
    );
    assert_eq!(reply.header("clear-site-data"), Some("\"cookies\""));
    assert_eq!(reply.header(CACHE_CONTROL.as_str()), None);
}

// ---------------------------------------------------------------------------------------
// Events.

fn capture_events_on_this_thread() {
    crate::log_capture::capture_on_this_thread();
}

fn captured_events() -> Vec<String> {
    crate::log_capture::take_thread_events()
}

#[tokio::test]
async fn each_rejection_is_an_event_with_its_kind_and_never_the_token() {
    // The test's current-thread runtime runs the server on this thread too.
    capture_events_on_this_thread();
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let expired = expired_token();
    let refresh = refresh_token(&fixture);
    request(addr, "/me", &[&bearer(&expired)]).await;
    request(addr, "/me", &[&bearer(&refresh)]).await;
    request(addr, "/me", &["Authorization: Bearer a b"]).await;
    request(addr, "/me", &[]).await;
    request(addr, "/me", &[&bearer(&valid_token(&fixture))]).await;

    let events: Vec<String> = captured_events()
        .into_iter()
        .filter(|e| e.starts_with("gatepass::http "))
        .collect();
    assert_eq!(events.len(), 4, "{events:#?}");
    assert!(events[0].contains("kind=\"expired\""), "{events:#?}");
    assert!(events[1].contains("kind=\"wrong_type\""), "{events:#?}");
    assert!(
        events[2].contains("kind=\"invalid_request\""),
        "{events:#?}"
    );
    assert!(
        events[2].contains("reason=\"trailing_data\""),
        "{events:#?}"
    );
    assert!(
        events[3].contains("kind=\"missing_credentials\""),
        "{events:#?}"
    );
    for event in &events {
        for token in [&expired, &refresh] {
            for part in token.split('.') {
                assert!(!event.contains(part), "{event}");
            }
        }
    }
}
