//! A verifier on the remote JWKS behaves like one on the local keyset: rotation end to end,
//! the URLs and runtimes it accepts, and `gatepass verify --jwks`.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_on_a_jwks_client_behaves_like_one_on_the_local_keyset() {
    let (mut keyset, kids) = eddsa_keyset(1);
    keyset
        .generate(Algorithm::ES256, GenerateOptions::default(), NOW - 10)
        .unwrap();
    let pending = keyset
        .generate(
            Algorithm::EdDSA,
            GenerateOptions::default().state(KeyState::Pending),
            NOW - 10,
        )
        .unwrap();
    let server = JwksServer::start(published(&keyset)).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = client(&server, &clock);
    assert_eq!(jwks.refresh().await, Ok(3));

    let es = keyset
        .signing_key(&KeySelector::Algorithm(Algorithm::ES256))
        .unwrap();
    let good = token_by(&keyset, &kids[0]);
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    let es_token = token_by(&keyset, es.kid());
    let refresh = Issuer::new(es, ISS, AUD)
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .refresh_token("alice", "sid", 1)
        .issue()
        .unwrap()
        .token;
    let cases = [
        good,
        tampered,
        es_token,
        refresh,
        token_with_unknown_kid("nobody"),
        "not.a.token".to_owned(),
    ];
    let remote = verifier(&jwks);
    let local = local_verifier(&keyset);
    for token in &cases {
        assert_eq!(
            remote.verify_access(token).map(|v| v.into_claims()),
            local.verify_access(token).map(|v| v.into_claims()),
            "{token}"
        );
    }
    // The one intended difference: a JWKS publishes pending keys, so they verify there
    // (CONTRACT §3), while the issuer's own keyset refuses to verify with them.
    let by_pending = token_by(&keyset, &pending);
    assert!(remote.verify_access(&by_pending).is_ok());
    assert_eq!(
        local.verify_access(&by_pending).unwrap_err(),
        VerifyError::UnknownKey
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_end_to_end_old_tokens_verify_until_removal_new_ones_once_active() {
    let policy = RotationPolicy::default();
    let (mut keyset, kids) = eddsa_keyset(1);
    let old = kids[0].clone();
    let server = JwksServer::start(published(&keyset)).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = client(&server, &clock);
    let verifier = verifier(&jwks);
    let old_token = token_by(&keyset, &old);
    assert!(jwks
        .verify_with(|| verifier.verify_access(&old_token))
        .await
        .is_ok());
    assert_eq!(server.requests(), 1);

    // Step 1 (t0): a pending key is published; caches pick it up at their next refresh.
    let t0 = NOW;
    let new = keyset.rotate(&policy, None, t0).unwrap().generated[0]
        .kid
        .clone();
    server.answer(published(&keyset));
    expire_and_refresh(&jwks, &clock, &verifier).await;
    assert_eq!(server.requests(), 2);
    assert_eq!(jwks.status().keys, 2);

    // Step 2 (t0 + publish_ahead): the new key signs. Its first token verifies at once,
    // from the cache, with no refetch: the key was published ahead.
    let step = keyset
        .rotate(&policy, None, t0 + policy.publish_ahead().as_secs())
        .unwrap();
    assert_eq!(step.activated[0].kid, new);
    assert_eq!(keyset.get(&old).unwrap().state(), KeyState::Retiring);
    server.answer(published(&keyset));
    let new_token = token_by(&keyset, &new);
    assert!(verifier.verify_access(&new_token).is_ok());
    assert_eq!(server.requests(), 2);

    // Retiring: the old key's tokens keep verifying through refreshes.
    expire_and_refresh(&jwks, &clock, &verifier).await;
    assert_eq!(server.requests(), 3);
    assert!(verifier.verify_access(&old_token).is_ok());
    assert!(verifier.verify_access(&new_token).is_ok());

    // Step 3 (+ retire_after): the old key is removed, and stops verifying at the client's
    // next refresh.
    let removal_at = t0 + policy.publish_ahead().as_secs() + policy.retire_after().as_secs();
    let step = keyset.rotate(&policy, None, removal_at).unwrap();
    assert_eq!(step.removed[0].kid, old);
    server.answer(published(&keyset));
    assert!(
        verifier.verify_access(&old_token).is_ok(),
        "cached until refresh"
    );
    expire_and_refresh(&jwks, &clock, &verifier).await;
    assert_eq!(server.requests(), 4);
    assert_eq!(
        verifier.verify_access(&old_token).unwrap_err(),
        VerifyError::UnknownKey
    );
    assert!(verifier.verify_access(&new_token).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_https_or_loopback_http_urls_are_accepted() {
    for url in ["http://auth.example/jwks.json", "http://10.0.0.8/jwks.json"] {
        assert_eq!(
            JwksClient::builder(url).build().unwrap_err(),
            JwksClientError::InsecureUrl
        );
    }
    for url in [
        "file:///etc/passwd",
        "jwks.json",
        "https://user:pw@auth.example/",
    ] {
        assert!(matches!(
            JwksClient::builder(url).build().unwrap_err(),
            JwksClientError::InvalidUrl(_)
        ));
    }
    assert!(JwksClient::builder("https://auth.example/jwks.json")
        .build()
        .is_ok());
    assert!(JwksClient::builder("http://auth.example/jwks.json")
        .allow_insecure_http(true)
        .build()
        .is_ok());
    assert!(JwksClient::builder("http://127.0.0.1:1/jwks.json")
        .build()
        .is_ok());
}

#[test]
fn building_outside_a_runtime_without_a_handle_is_an_error() {
    assert_eq!(
        JwksClient::builder("https://auth.example/jwks.json")
            .build()
            .unwrap_err(),
        JwksClientError::NoRuntime
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_verify_fetches_a_jwks_url() {
    let fixture = Fixture::new();
    let server = JwksServer::start(published(&fixture.keyset)).await;
    let token = fixture.access_token(Algorithm::EdDSA, "alice");
    let url = server.url.clone();
    let run_verify = move |url: String, token: String| {
        tokio::task::spawn_blocking(move || {
            run_str(&[
                "verify",
                "--jwks",
                &url,
                "--iss",
                ISS,
                "--aud",
                AUD,
                "--at",
                &NOW.to_string(),
                "--",
                &token,
            ])
        })
    };
    let ok = run_verify(url.clone(), token.clone()).await.unwrap();
    assert_eq!(stdout_json(&ok)["claims"]["sub"], "alice");
    assert_eq!(server.requests(), 1);

    // An HMAC token cannot verify against a published set: the fixture's HS256 key is
    // never published.
    let hs = fixture.access_token(Algorithm::HS256, "alice");
    let rejected = run_verify(url.clone(), hs).await.unwrap();
    assert_eq!(cli_rejection(&rejected), "unknown_key");

    // An unreachable or insecure URL is a configuration error.
    let insecure = run_verify("http://auth.example/jwks.json".into(), token.clone())
        .await
        .unwrap();
    assert_eq!(insecure.status.code(), Some(2));
    server.answer(Answer::Status(500));
    let broken = run_verify(url, token).await.unwrap();
    assert_eq!(broken.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("HTTP 500"));
}
