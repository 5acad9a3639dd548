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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{
    b64, claims_with, craft_hs256, hs_header, parse_response, Fixture, Reply, NOW,
};

#[path = "http_layer/cookies.rs"]
mod cookies;
#[path = "http_layer/credentials.rs"]
mod credentials;
#[path = "http_layer/events.rs"]
mod events;
#[path = "http_layer/scopes.rs"]
mod scopes;
#[path = "http_layer/tokens.rs"]
mod tokens;

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
// A minimal async HTTP/1.1 client (one request per connection, `Connection: close`)
// over the shared response parser.

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
    let reply = parse_response(&bytes);
    assert!(!reply.chunked(), "sized bodies only");
    reply.utf8();
    reply
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
