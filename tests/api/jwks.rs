//! The remote JWKS client against a real HTTP server on a loopback port that the test can
//! change, slow down, break and count requests on. The client's cache runs on a manual
//! clock, so minutes and days pass without sleeping; only the timeout tests wait for real.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatepass::{
    Algorithm, FetchError, GenerateOptions, Issuer, JwksClient, JwksClientError, KeyRejected,
    KeySelector, KeyState, Keyset, ManualClock, PublishedJwks, RotationPolicy, Verifier,
    VerifyError,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::support::*;

/// What the test server answers.
#[derive(Clone, Debug)]
enum Answer {
    Jwks {
        body: Vec<u8>,
        cache_control: Option<String>,
    },
    Status(u16),
    Garbage,
    /// A 200 streaming this many bytes, without Content-Length.
    Oversize(usize),
}

struct ServerState {
    answer: Mutex<Answer>,
    delay: Mutex<Duration>,
    requests: AtomicUsize,
}

struct JwksServer {
    url: String,
    state: Arc<ServerState>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl JwksServer {
    async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let state = Arc::new(ServerState {
            answer: Mutex::new(answer),
            delay: Mutex::new(Duration::ZERO),
            requests: AtomicUsize::new(0),
        });
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(socket, Arc::clone(&shared)));
            }
        });
        Self {
            url,
            state,
            task: Some(task),
        }
    }

    fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    fn answer(&self, answer: Answer) {
        *self.state.answer.lock().unwrap() = answer;
    }

    fn delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    /// Stop listening: later connections are refused.
    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

async fn serve(mut socket: TcpStream, state: Arc<ServerState>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    state.requests.fetch_add(1, Ordering::SeqCst);
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let answer = state.answer.lock().unwrap().clone();
    let head = |status: &str, extra: &str, len: Option<usize>| {
        let len = len.map_or(String::new(), |l| format!("Content-Length: {l}\r\n"));
        format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}{len}Connection: close\r\n\r\n")
    };
    let out: Vec<u8> = match answer {
        Answer::Jwks {
            body,
            cache_control,
        } => {
            let cc = cache_control.map_or(String::new(), |v| format!("Cache-Control: {v}\r\n"));
            let mut out = head("200 OK", &cc, Some(body.len())).into_bytes();
            out.extend_from_slice(&body);
            out
        }
        Answer::Status(code) => head(&format!("{code} Nope"), "", Some(0)).into_bytes(),
        Answer::Garbage => {
            let body = b"<html>this is not a JWK Set";
            let mut out = head("200 OK", "", Some(body.len())).into_bytes();
            out.extend_from_slice(body);
            out
        }
        Answer::Oversize(len) => {
            let mut out = head("200 OK", "", None).into_bytes();
            out.extend(std::iter::repeat_n(b' ', len));
            out
        }
    };
    let _ = socket.write_all(&out).await;
    let _ = socket.shutdown().await;
}

/// The JWKS of `keyset` as served, with the policy's Cache-Control.
fn published(keyset: &Keyset) -> Answer {
    let published = PublishedJwks::new(keyset, &RotationPolicy::default());
    Answer::Jwks {
        body: published.to_json(),
        cache_control: Some(published.cache_control()),
    }
}

fn jwks_answer(body: Value, cache_control: Option<&str>) -> Answer {
    Answer::Jwks {
        body: body.to_string().into_bytes(),
        cache_control: cache_control.map(str::to_owned),
    }
}

fn eddsa_keyset(keys: usize) -> (Keyset, Vec<String>) {
    let mut keyset = Keyset::new();
    let kids = (0..keys)
        .map(|_| {
            keyset
                .generate(Algorithm::EdDSA, GenerateOptions::default(), NOW - 10)
                .unwrap()
        })
        .collect();
    (keyset, kids)
}

/// An access token signed by `kid` (whatever its state), valid at [`NOW`].
fn token_by(keyset: &Keyset, kid: &str) -> String {
    let key = keyset.get(kid).unwrap().key().clone();
    Issuer::new(key, ISS, AUD)
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .access_token("alice")
        .issue()
        .unwrap()
        .token
}

/// A well-formed token naming `kid`; its signature never gets looked at because no key
/// with that kid exists.
fn token_with_unknown_kid(kid: &str) -> String {
    let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}"}}"#);
    format!(
        "{}.{}.{}",
        b64(header),
        b64(claims_with(&[])),
        b64([7u8; 64])
    )
}

fn client(server: &JwksServer, clock: &Arc<ManualClock>) -> JwksClient {
    JwksClient::builder(&server.url)
        .clock(clock.clone())
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap()
}

fn verifier(keys: &JwksClient) -> Verifier {
    Verifier::builder(keys.clone(), ISS, AUD)
        .clock(Arc::new(ManualClock::new(NOW)))
        .build()
        .unwrap()
}

fn local_verifier(keyset: &Keyset) -> Verifier {
    Verifier::builder(keyset.verification_keys(), ISS, AUD)
        .clock(Arc::new(ManualClock::new(NOW)))
        .build()
        .unwrap()
}

/// Move the client's clock past the set's freshness, let the lookup start the refresh,
/// and wait for it.
async fn expire_and_refresh(jwks: &JwksClient, clock: &ManualClock, verifier: &Verifier) {
    let fresh_until = jwks.status().fresh_until.unwrap();
    clock.set(fresh_until);
    let _ = verifier.verify_access(&token_with_unknown_kid("tick"));
    jwks.settled().await;
}

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

#[path = "jwks_public_only.rs"]
mod public_only;

/// The client's events, from the binary's one capturing subscriber. Lines carry the
/// server URL, so concurrent tests tell theirs apart.
mod logs {
    pub use crate::log_capture::{install, matching};
}
