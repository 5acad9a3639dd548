//! Optional authentication, the extractor without a layer, scopes and custom rejection
//! responses.

use super::*;

#[tokio::test]
async fn optional_auth_is_none_without_credentials_and_still_refuses_bad_ones() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    for path in ["/optional", "/bare/optional"] {
        let reply = request(addr, path, &[]).await;
        assert_eq!((reply.status, reply.utf8()), (200, "anonymous"), "{path}");
        let reply = request(addr, path, &["Authorization: Basic dXNlcjpwYXNz"]).await;
        assert_eq!((reply.status, reply.utf8()), (200, "anonymous"), "{path}");

        let reply = request(addr, path, &[&bearer(&valid_token(&fixture))]).await;
        assert_eq!((reply.status, reply.utf8()), (200, "alice"), "{path}");

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
    assert_eq!((reply.status, reply.utf8()), (200, "alice admin"));
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
    assert_eq!(reply.typed_json()["error"], "server_error");
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
    assert_eq!(reply.typed_json()["error"], "insufficient_scope");
    // Without any scope claim: the same.
    let reply = request(addr, "/admin", &[&bearer(&valid_token(&fixture))]).await;
    assert_eq!(reply.status, 403);

    let reply = request(
        addr,
        "/admin",
        &[&bearer(&token_with_scope(&fixture, "read admin"))],
    )
    .await;
    assert_eq!((reply.status, reply.utf8()), (200, "alice"));
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
    assert_eq!((reply.status, reply.utf8()), (200, "written"));
}

#[tokio::test]
async fn a_custom_rejection_response_replaces_the_default() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let reply = request(addr, "/custom", &[]).await;
    assert_eq!(reply.status, 418);
    assert_eq!(reply.header("x-rejection"), Some("missing_credentials"));
    assert_eq!(reply.utf8(), "custom 401");
    assert_eq!(reply.challenge(), None);

    let reply = request(addr, "/custom", &[&bearer(&expired_token())]).await;
    assert_eq!(reply.status, 418);
    assert_eq!(reply.header("x-rejection"), Some("expired"));
    let reply = request(addr, "/custom", &["Authorization: Bearer a b"]).await;
    assert_eq!(reply.header("x-rejection"), Some("invalid_request"));
    assert_eq!(reply.utf8(), "custom 400");

    let reply = request(addr, "/custom", &[&bearer(&valid_token(&fixture))]).await;
    assert_eq!((reply.status, reply.utf8()), (200, "alice"));
}
