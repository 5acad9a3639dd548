//! Tokens from the configured cookie, the bearer header's precedence, and the cookie helpers'
//! exact `Set-Cookie` lines.

use super::*;

#[tokio::test]
async fn the_token_can_come_from_the_configured_cookie() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let token = valid_token(&fixture);
    let cookie = format!("Cookie: theme=dark; __Host-access={token}");

    let reply = request(addr, "/cookie", &[&cookie]).await;
    assert_eq!((reply.status, reply.utf8()), (200, "alice"));
    // Another scheme in Authorization (a staging proxy's Basic) does not hide the cookie.
    let reply = request(
        addr,
        "/cookie",
        &["Authorization: Basic dXNlcjpwYXNz", &cookie],
    )
    .await;
    assert_eq!((reply.status, reply.utf8()), (200, "alice"));
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
    assert_eq!((reply.status, reply.utf8()), (200, "alice"));

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
