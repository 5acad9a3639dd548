//! When the client fetches: once per kid miss within the cooldown, once for fifty concurrent
//! first requests, never blocking known kids, in the background, as Cache-Control says.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kid_miss_refetches_once_and_the_cooldown_bounds_it() {
    let (mut keyset, _) = eddsa_keyset(1);
    let server = JwksServer::start(published(&keyset)).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = client(&server, &clock);
    let verifier = verifier(&jwks);
    jwks.refresh().await.unwrap();

    // A key published after our fetch.
    let added = keyset
        .generate(Algorithm::EdDSA, GenerateOptions::default(), NOW)
        .unwrap();
    server.answer(published(&keyset));
    let token = token_by(&keyset, &added);

    // Within the cooldown of the last fetch the miss is rejected without a fetch...
    assert_eq!(
        jwks.verify_with(|| verifier.verify_access(&token))
            .await
            .unwrap_err(),
        VerifyError::UnknownKey
    );
    assert_eq!(server.requests(), 1);

    // ...after it, the miss costs exactly one refetch, which the async caller waits for.
    clock.advance(JwksClientBuilderDefaults::COOLDOWN);
    assert!(jwks
        .verify_with(|| verifier.verify_access(&token))
        .await
        .is_ok());
    assert_eq!(server.requests(), 2);
    assert!(verifier.verify_access(&token).is_ok());
    assert_eq!(server.requests(), 2);
    assert_eq!(jwks.status().kid_misses, 2);
}

/// The defaults the tests lean on, spelled out once.
struct JwksClientBuilderDefaults;
impl JwksClientBuilderDefaults {
    const COOLDOWN: u64 = gatepass::JwksClientBuilder::DEFAULT_COOLDOWN.as_secs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_unknown_kids_within_the_cooldown_cost_at_most_one_fetch() {
    let (keyset, _) = eddsa_keyset(1);
    let server = JwksServer::start(published(&keyset)).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = client(&server, &clock);
    let verifier = Arc::new(verifier(&jwks));
    jwks.refresh().await.unwrap();
    clock.advance(JwksClientBuilderDefaults::COOLDOWN);

    // Half from the synchronous path, half from async callers that would wait, all at once.
    let mut tasks = Vec::new();
    for i in 0..1000u32 {
        let (jwks, verifier) = (jwks.clone(), Arc::clone(&verifier));
        let token =
            token_with_unknown_kid(&format!("forged-{i}-{:08x}", i.wrapping_mul(2654435761)));
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                verifier.verify_access(&token).unwrap_err()
            } else {
                jwks.verify_with(|| verifier.verify_access(&token))
                    .await
                    .unwrap_err()
            }
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), VerifyError::UnknownKey);
    }
    jwks.settled().await;
    let extra = server.requests() - 1;
    assert!(extra <= 1, "{extra} extra fetches");
    assert_eq!(extra, 1, "the first miss after the cooldown refetches");
    // Every lookup missed; async callers that joined the refetch looked twice.
    assert!((1000..=1500).contains(&jwks.status().kid_misses));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_first_requests_cause_one_fetch() {
    let (keyset, kids) = eddsa_keyset(1);
    let server = JwksServer::start(published(&keyset)).await;
    // Slow enough that all fifty arrive while the one fetch is running.
    server.delay(Duration::from_millis(300));
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = client(&server, &clock);
    let verifier = Arc::new(verifier(&jwks));
    let token = Arc::new(token_by(&keyset, &kids[0]));
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (jwks, verifier, token, barrier) = (
                jwks.clone(),
                Arc::clone(&verifier),
                Arc::clone(&token),
                Arc::clone(&barrier),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                jwks.verify_with(|| verifier.verify_access(&token)).await
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(server.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_kids_never_wait_for_a_refresh_in_flight() {
    let (keyset, kids) = eddsa_keyset(1);
    let server = JwksServer::start(published(&keyset)).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = client(&server, &clock);
    let verifier = verifier(&jwks);
    jwks.refresh().await.unwrap();
    let token = token_by(&keyset, &kids[0]);

    // The refresh-ahead point: the next lookup starts a background refresh, which the
    // server answers only after a second.
    server.delay(Duration::from_secs(1));
    let status = jwks.status();
    clock.set(status.fresh_until.unwrap() - 30);
    let started = Instant::now();
    for _ in 0..100 {
        assert!(verifier.verify_access(&token).is_ok());
    }
    assert!(jwks.status().fetching, "a refresh is in flight");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "verifications waited on the network: {:?}",
        started.elapsed()
    );
    jwks.settled().await;
    assert_eq!(server.requests(), 2);
    assert_eq!(jwks.status().stale_served, 0, "refreshed before expiry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_refresher_keeps_an_idle_client_fresh() {
    let (keyset, _) = eddsa_keyset(1);
    let server = JwksServer::start(published(&keyset)).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = client(&server, &clock);
    jwks.refresh().await.unwrap();
    let refresher = jwks.spawn_refresher(Duration::from_millis(100));
    // Not due: the timer ticks (at least once a second) and fetches nothing.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(server.requests(), 1);
    // Due, and no request comes: the refresher fetches on its own.
    clock.set(jwks.status().fresh_until.unwrap() - 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    jwks.settled().await;
    refresher.abort();
    assert_eq!(server.requests(), 2);
    assert_eq!(jwks.status().stale_served, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_control_is_honoured_within_its_bounds() {
    let (keyset, _) = eddsa_keyset(1);
    let body = PublishedJwks::new(&keyset, &RotationPolicy::default()).to_json();
    let server = JwksServer::start(published(&keyset)).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = client(&server, &clock);
    let cases: [(Option<&str>, u64); 6] = [
        (Some("public, max-age=600"), 600),
        (Some("public, max-age=120"), 120),
        (Some("max-age=5"), 60),        // floor
        (Some("max-age=999999"), 3600), // ceiling
        (Some("no-store"), 60),         // "never cache" still gets the floor
        (None, 600),                    // silent server: the default
    ];
    for (cache_control, lifetime) in cases {
        server.answer(Answer::Jwks {
            body: body.clone(),
            cache_control: cache_control.map(str::to_owned),
        });
        jwks.refresh().await.unwrap();
        let status = jwks.status();
        assert_eq!(
            status.fresh_until.unwrap() - status.fetched_at.unwrap(),
            lifetime,
            "{cache_control:?}"
        );
    }

    // With max-age=120 the background refresh starts 30 s before expiry, not earlier.
    server.answer(Answer::Jwks {
        body,
        cache_control: Some("max-age=120".into()),
    });
    jwks.refresh().await.unwrap();
    let before = server.requests();
    let verifier = verifier(&jwks);
    let fetched_at = jwks.status().fetched_at.unwrap();
    let token = token_by(&keyset, keyset.entries()[0].kid());
    clock.set(fetched_at + 89);
    assert!(verifier.verify_access(&token).is_ok());
    jwks.settled().await;
    assert_eq!(server.requests(), before);
    clock.set(fetched_at + 90);
    assert!(verifier.verify_access(&token).is_ok());
    jwks.settled().await;
    assert_eq!(server.requests(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_report_fetches_misses_and_stale_service() {
    logs::install();
    let (keyset, kids) = eddsa_keyset(1);
    let server = JwksServer::start(published(&keyset)).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let jwks = client(&server, &clock);
    let verifier = verifier(&jwks);
    jwks.refresh().await.unwrap();
    let _ = verifier.verify_access(&token_with_unknown_kid("who"));
    server.answer(Answer::Status(503));
    expire_and_refresh(&jwks, &clock, &verifier).await;
    assert!(verifier.verify_access(&token_by(&keyset, &kids[0])).is_ok());
    let lines = logs::matching(&server.url);
    for needle in [
        "JWKS fetch ok",
        "JWKS kid miss",
        "JWKS fetch failed",
        "HTTP 503",
        "JWKS stale set served",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "no {needle:?} in {lines:#?}"
        );
    }
    let status = jwks.status();
    assert_eq!((status.fetches_ok, status.fetches_failed), (1, 1));
}
