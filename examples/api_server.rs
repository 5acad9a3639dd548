//! A separate API that trusts the auth server's tokens through its JWKS: no shared secret,
//! no call to the auth server per request, keys rotated without a restart.
//!
//! Run with: `cargo run --example api_server` (listens on 127.0.0.1:4000), next to
//! `cargo run --release -- serve --demo` (the auth server on 127.0.0.1:8080, `iss` and `aud`
//! both `gatepass`; it prints a demo password and a login curl line). Then:
//!
//! ```sh
//! ACCESS=$(curl -s -X POST localhost:8080/auth/login -H 'content-type: application/json' \
//!      -d '{"username":"demo","password":"<printed password>"}' | jq -r .access_token)
//! curl -s localhost:4000/orders -H "authorization: Bearer $ACCESS"    # → orders of demo
//! curl -s localhost:4000/orders -i                                  # → 401, WWW-Authenticate: Bearer realm="gatepass"
//! curl -s -X POST localhost:4000/orders -H "authorization: Bearer $ACCESS"
//!                                       # → 403 insufficient_scope unless the token has orders:write
//! curl -s localhost:4000/public                                     # → no token needed
//! ```
//!
//! Set `JWKS_URL` to point elsewhere, and `TOKEN_CACHE=10000` to cache verified tokens. This API verifies offline: a logout on the auth
//! server stops a token here only when it expires (5 minutes) — that is the stateless
//! trade-off; share a Redis store (`--store redis://`) to enforce logouts everywhere at once.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use gatepass::{AuthLayer, AuthRejection, Authenticated, Profile, TokenCache};

/// The custom claims this API reads, typed: no JSON map, no hand-written trait. The
/// scope is a registered claim, checked on any claims type.
#[derive(Clone, Debug, serde::Deserialize)]
struct OrderClaims {
    #[serde(default)]
    tenant: Option<String>,
}

async fn orders(auth: Authenticated<OrderClaims>) -> String {
    let tenant = auth.custom.tenant.as_deref().unwrap_or("no tenant");
    format!("orders of {} ({tenant})\n", auth.sub)
}

/// Needs `orders:write` in the token's `scope` (or `scp`): 403 `insufficient_scope`
/// with `scope="orders:write"` in the challenge otherwise.
async fn create_order(auth: Authenticated<OrderClaims>) -> Result<String, AuthRejection> {
    auth.require_scope("orders:write")?;
    Ok(format!("order created for {}\n", auth.sub))
}

async fn public() -> &'static str {
    "no token needed\n"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("JWKS_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:8080/.well-known/jwks.json".into());
    // TOKEN_CACHE=N keeps up to N verified tokens (each still re-checked for expiry, key
    // and revocation on every hit): a client repeating its token skips the signature check.
    let cache = match std::env::var("TOKEN_CACHE")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        Some(size) => Some(TokenCache::new(size, Duration::from_secs(60))?),
        None => None,
    };

    // One call: the JWKS client, the verifier and the layer. A token whose kid the cached
    // set lacks (the auth server just rotated) waits for one refetch instead of a 401.
    // The auth server's own tokens: the strict gatepass profile (an identity provider's
    // would keep the default, `Profile::Jwt`).
    let auth = AuthLayer::from_jwks_url(url, "gatepass", "gatepass")
        .profile(Profile::Gatepass)
        .verifier(move |verifier| match cache {
            Some(cache) => verifier.cache(cache),
            None => verifier,
        })
        .build()
        .await?;

    // Warm the cache so the first request does not wait (waiting a little for an auth
    // server that is still starting); keep it fresh in the background.
    if let Some(jwks) = auth.jwks_client() {
        for attempt in 1..=20 {
            match jwks.refresh().await {
                Ok(keys) => {
                    eprintln!("trusting {keys} key(s) from {}", jwks.url());
                    break;
                }
                Err(e) if attempt == 20 => {
                    eprintln!("the JWKS is not reachable ({e}); requests answer 503 until it is")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        let _refresher = jwks.spawn_refresher(Duration::from_secs(60));
    }

    let app = Router::new()
        .route("/orders", get(orders).post(create_order))
        .route_layer(auth)
        .route("/public", get(public));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
