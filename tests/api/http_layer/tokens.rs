//! Tokens the layer verifies: valid ones reach the handler with typed claims; expired,
//! forged, `alg: none` and refresh tokens are 401 `invalid_token`.

use super::*;

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_typed_claims() {
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let token = valid_token(&fixture);
    let reply = request(addr, "/me", &[&bearer(&token)]).await;
    assert_eq!((reply.status, reply.utf8()), (200, "alice admin"));
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
    assert_eq!((reply.status, reply.utf8()), (200, "alice admin"));
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
    assert_eq!((reply.status, reply.utf8()), (200, "alice"));
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
    let body = reply.typed_json();
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
    assert!(!reply.utf8().contains("c2VjcmV0"), "{}", reply.utf8());
}
