//! A server that is down, erroring, slow or answering garbage: the last good set serves until
//! the stale bound, then verification fails closed; bad keys are skipped with a reason.

use super::*;

/// Serve a good set, then break the server with `break_it`, and check: the refresh fails
/// with `expected`, the last good set keeps verifying until the staleness bound, and after
/// it every lookup fails closed.
async fn stale_then_closed(
    break_it: impl AsyncFnOnce(&mut JwksServer),
    timeout: Duration,
    expected: fn(&FetchError) -> bool,
) -> usize {
    let (keyset, kids) = eddsa_keyset(1);
    let mut server = JwksServer::start(published(&keyset)).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = JwksClient::builder(&server.url)
        .clock(clock.clone())
        .timeout(timeout)
        .build()
        .unwrap();
    let verifier = verifier(&jwks);
    jwks.refresh().await.unwrap();
    let token = token_by(&keyset, &kids[0]);

    break_it(&mut server).await;
    expire_and_refresh(&jwks, &clock, &verifier).await;
    let status = jwks.status();
    let error = status.last_error.clone().expect("the refresh failed");
    assert!(expected(&error), "{error:?}");
    assert_eq!(status.fetches_failed, 1);

    // Stale but within the bound: still verifying, and saying so.
    assert!(verifier.verify_access(&token).is_ok());
    clock.set(status.stale_until.unwrap() - 1);
    assert!(verifier.verify_access(&token).is_ok());
    jwks.settled().await;
    assert!(jwks.status().stale_served >= 2);

    // Past the bound: closed, with the error that says why.
    clock.set(status.stale_until.unwrap());
    let err = verifier.verify_access(&token).unwrap_err();
    assert_eq!(err, VerifyError::KeysUnavailable);
    assert_eq!(err.kind(), "keys_unavailable");
    jwks.settled().await;
    assert!(jwks
        .verify_with(|| verifier.verify_access(&token))
        .await
        .is_err());
    assert!(jwks.status().last_error.is_some());
    server.requests()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_down_serves_the_last_good_set_until_the_stale_bound() {
    let requests = stale_then_closed(
        async |server| server.stop().await,
        Duration::from_secs(3),
        |e| matches!(e, FetchError::Connect(_)),
    )
    .await;
    assert_eq!(requests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_serve_the_last_good_set_until_the_stale_bound() {
    let requests = stale_then_closed(
        async |server| server.answer(Answer::Status(500)),
        Duration::from_secs(3),
        |e| *e == FetchError::Status(500),
    )
    .await;
    // The good fetch, the failed refresh at expiry, and one retry when the clock jumped to
    // just before the stale bound; at the bound itself the cooldown holds.
    assert_eq!(requests, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_serves_the_last_good_set_until_the_stale_bound() {
    stale_then_closed(
        async |server| server.answer(Answer::Garbage),
        Duration::from_secs(3),
        |e| matches!(e, FetchError::Format(_)),
    )
    .await;
    // A JWK Set in which every key is refused is a failure too, not an empty trust store.
    stale_then_closed(
        async |server| {
            server.answer(jwks_answer(
                json!({"keys": [{"kty": "oct", "alg": "HS256", "kid": "k", "k": b64([1u8; 32])}]}),
                None,
            ))
        },
        Duration::from_secs(3),
        |e| *e == FetchError::NoUsableKeys { skipped: 1 },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_serves_the_last_good_set_until_the_stale_bound() {
    stale_then_closed(
        async |server| server.answer(Answer::Oversize(600 * 1024)),
        Duration::from_secs(3),
        |e| *e == FetchError::TooLarge { max: 512 * 1024 },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_past_the_timeout_serves_the_last_good_set_until_the_stale_bound() {
    let started = Instant::now();
    stale_then_closed(
        async |server| server.delay(Duration::from_secs(5)),
        Duration::from_millis(300),
        |e| *e == FetchError::Timeout { after_ms: 300 },
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_weak_keys_are_skipped_with_a_reason_while_good_keys_work() {
    logs::install();
    let (keyset, kids) = eddsa_keyset(1);
    let good: Value = serde_json::to_value(&keyset.public_jwks().keys[0]).unwrap();
    let set = json!({"keys": [
        {"kty": "oct", "alg": "HS256", "kid": "shared-secret", "k": b64([9u8; 32])},
        {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": b64([1u8; 31])},
        {"kty": "EC", "crv": "P-256", "kid": "off-curve", "x": b64([1u8; 32]), "y": b64([2u8; 32])},
        {"kty": "OKP", "crv": "Ed25519", "kid": "enc-only", "use": "enc", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "RSA", "kid": "rsa-1024", "alg": "RS256", "n": b64([0xc1u8; 128]), "e": "AQAB"},
        "not even an object",
        good,
    ]});
    let server = JwksServer::start(jwks_answer(set, None)).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = client(&server, &clock);
    assert_eq!(jwks.refresh().await, Ok(1));
    let verifier = verifier(&jwks);
    assert!(verifier.verify_access(&token_by(&keyset, &kids[0])).is_ok());

    let skipped = jwks.status().skipped;
    let reason = |kid: &str| {
        skipped
            .iter()
            .find(|s| s.kid.as_deref() == Some(kid))
            .map(|s| s.reason.clone())
    };
    assert_eq!(
        reason("shared-secret"),
        Some(KeyRejected::SecretKeyInPublicSet)
    );
    assert!(matches!(
        reason("short"),
        Some(KeyRejected::WrongLength { member: "x", .. })
    ));
    assert_eq!(reason("off-curve"), Some(KeyRejected::NotOnCurve));
    assert_eq!(
        reason("enc-only"),
        Some(KeyRejected::UsageForbidsVerification)
    );
    assert!(matches!(
        reason("rsa-1024"),
        Some(KeyRejected::RsaModulusSize { bits: 1024 })
    ));
    assert_eq!(skipped.len(), 6);
    for kid in [
        "shared-secret",
        "short",
        "off-curve",
        "enc-only",
        "rsa-1024",
    ] {
        assert_eq!(
            verifier
                .verify_access(&token_with_unknown_kid(kid))
                .unwrap_err(),
            VerifyError::UnknownKey
        );
    }
    // Each refusal is logged with its reason.
    let lines = logs::matching(&server.url);
    for needle in [
        "shared-secret",
        "off-curve",
        "not on the curve",
        "its secret is public",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains("skipped") && l.contains(needle)),
            "no log line for {needle}: {lines:#?}"
        );
    }
    assert!(lines.iter().any(|l| l.contains("JWKS fetch ok")));
}
