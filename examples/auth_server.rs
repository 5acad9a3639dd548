//! The gatepass auth routes embedded in your own axum app, next to a route of yours that
//! the same sessions protect.
//!
//! Run with: `cargo run --example auth_server` (listens on 127.0.0.1:3000; the password of
//! the user `alice` is printed on stderr), then:
//!
//! ```sh
//! curl -s -X POST localhost:3000/auth/login -H 'content-type: application/json' \
//!      -d '{"username":"alice","password":"<printed password>"}'        # → access + refresh token
//! curl -s localhost:3000/hello -H "authorization: Bearer $ACCESS"      # → hello, alice (admin)
//! curl -s -X POST localhost:3000/auth/refresh -H 'content-type: application/json' \
//!      -d "{\"refresh_token\":\"$REFRESH\"}"                               # → a rotated pair
//! curl -s -X POST localhost:3000/auth/logout -H "authorization: Bearer $ACCESS" -i   # → 204
//! curl -s localhost:3000/.well-known/jwks.json                          # → what APIs trust
//! (printf 'GET /hello HTTP/1.1\r\n'; sleep 30) | nc localhost 3000; echo closed  # → closed after 10 s
//! ```

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use gatepass::{
    Algorithm, AuthLayer, AuthServer, Authenticated, Clock as _, CustomClaims, GenerateOptions,
    Keyset, Maintenance, MemoryStore, PublishedJwks, RotationPolicy, ServeLimits, SessionConfig,
    SessionManager, SystemClock, UsersFile,
};

async fn hello(auth: Authenticated) -> String {
    let role = auth
        .custom
        .get("role")
        .and_then(|r| r.as_str())
        .unwrap_or("none");
    format!("hello, {} ({role})\n", auth.sub)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production: Keyset::load("/etc/gatepass/keys.json") and UsersFile::load(...).
    let mut keyset = Keyset::new();
    keyset.generate(
        Algorithm::EdDSA,
        GenerateOptions::default(),
        SystemClock.now(),
    )?;
    let mut secret = [0u8; 12];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| "the system RNG failed")?;
    let password: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let users = Arc::new(UsersFile::in_memory([("alice", password.as_str())])?);
    eprintln!("user: alice  password: {password}");

    let config = SessionConfig::default()
        .issuer("http://127.0.0.1:3000")
        .audience("example-api");
    let sessions = Arc::new(SessionManager::new(
        &keyset,
        Arc::new(MemoryStore::new()),
        config,
    )?);

    // Everyone logged in gets a role claim in every access token of the session.
    let (auth, handle) = AuthServer::new(
        sessions.clone(),
        users,
        PublishedJwks::new(&keyset, &RotationPolicy::default()),
    )
    .claims(|subject| {
        let mut claims = CustomClaims::new();
        claims.insert(
            "role".into(),
            if subject == "alice" { "admin" } else { "user" }.into(),
        );
        claims
    })
    .into_router_with_handle();

    // Prune expired sessions and revocations every minute. With a keyset file, add
    // `.keyset_file(path, RotationPolicy::default())`: a key revoked in the file then stops
    // verifying here within seconds, and the JWKS follows.
    Maintenance::new(sessions.clone(), handle).spawn();

    // Your own routes, protected by the session verifier (which sees logouts at once).
    let app = Router::new()
        .route("/hello", get(hello))
        .route_layer(AuthLayer::new(sessions.verifier()))
        .merge(auth);

    // Served with deadlines for slow clients and a connection cap (the defaults of
    // `gatepass serve`: 10 s for a request head, 30 s for the rest, 1024 connections), the
    // peer address for the login throttle, and a graceful stop on ctrl-c.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    let limits = ServeLimits::default().max_connections(256);
    gatepass::serve(listener, app, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
