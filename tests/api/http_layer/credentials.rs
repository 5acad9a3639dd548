//! No credentials, other schemes, malformed credentials: 401 with a bare challenge or 400
//! `invalid_request`.

use super::*;

#[tokio::test]
async fn no_authorization_header_is_401_with_a_bare_challenge() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/me", &[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.challenge(), Some(BARE));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.typed_json();
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
        assert_eq!(reply.typed_json()["error"], "invalid_request");
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
