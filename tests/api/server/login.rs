//! `POST /auth/login`: the token response, one answer for bad credentials whoever the user,
//! and throttling with Retry-After.

use super::*;

#[test]
fn login_answers_the_contract_token_response() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let reply = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body.as_object().unwrap().len(), 4);
    // The access token verifies offline with the keyset, as any API would.
    let verifier = gatepass::Verifier::builder(setup.fixture.keyset.verification_keys(), ISS, AUD)
        .build()
        .unwrap();
    let access = verifier
        .verify_access(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(access.claims().sub, "alice");
    assert_eq!(access.header().typ(), Some("at+jwt"));
    let refresh = verifier
        .verify_refresh(body["refresh_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(refresh.claims().gen, 0);
    assert_eq!(
        Some(refresh.claims().sid.as_str()),
        access.claims().sid.as_deref()
    );
    // /api/me shows the claims; /healthz is up.
    let me = me(&server, body["access_token"].as_str().unwrap());
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["sub"], "alice");
    assert_eq!(me.json()["sid"], access.claims().sid.clone().unwrap());
    assert!(me.json()["exp"].is_u64());
    assert_eq!(server.get("/healthz", &[]).status, 200);
}

#[test]
fn bad_credentials_are_401_invalid_credentials_alike_for_unknown_users() {
    let setup = Setup::new();
    let server = setup.serve(&[]);
    let wrong = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": "nope nope nope"}),
    );
    let unknown = server.json(
        "/auth/login",
        &json!({"username": "mallory", "password": PASSWORD}),
    );
    for reply in [&wrong, &unknown] {
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json(), json!({"error": "invalid_credentials"}));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
}

#[test]
fn repeated_login_failures_are_throttled_with_retry_after() {
    let setup = Setup::new();
    let server = setup.serve(&["--max-login-failures", "2"]);
    for _ in 0..2 {
        let reply = server.json(
            "/auth/login",
            &json!({"username": "alice", "password": "wrong password"}),
        );
        assert_eq!(reply.status, 401);
    }
    let throttled = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(throttled.status, 429);
    // One attempt back per 60 s; the server's clock may have crossed a second since.
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (55..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    // Another user is not affected.
    assert_eq!(
        server
            .json(
                "/auth/login",
                &json!({"username": "bob", "password": PASSWORD})
            )
            .status,
        200
    );
}
