//! Sessions through the `SessionManager`: rotation chains, reuse, concurrency, grace,
//! timeouts, logout and logout-all, all with an injected clock (no sleeps).

use std::sync::Arc;
use std::time::Duration;

use gatepass::{
    Algorithm, GenerateOptions, InvalidGrant, KeyState, Keyset, ManualClock, MemoryStore,
    RequestContext, Revoked, SessionConfig, SessionError, SessionManager, SigningKey, TokenPair,
    VerifyError,
};

use crate::support::*;

struct Setup {
    clock: Arc<ManualClock>,
    sessions: Arc<SessionManager>,
}

fn setup(configure: impl FnOnce(SessionConfig) -> SessionConfig) -> Setup {
    let clock = Arc::new(ManualClock::new(NOW));
    let mut keyset = Keyset::new();
    let key = SigningKey::from_hmac_secret(Algorithm::HS256, HS_SECRET, Some("hs")).unwrap();
    keyset.insert(key, None, NOW).unwrap();
    let config = configure(SessionConfig::default().clock(clock.clone()));
    let sessions = SessionManager::new(&keyset, Arc::new(MemoryStore::new()), config).unwrap();
    Setup {
        clock,
        sessions: Arc::new(sessions),
    }
}

fn login(setup: &Setup, sub: &str) -> TokenPair {
    block_on(setup.sessions.login(sub, Default::default())).unwrap()
}

fn refresh(setup: &Setup, token: &str) -> Result<TokenPair, SessionError> {
    block_on(setup.sessions.refresh(token))
}

fn access_error(setup: &Setup, token: &str) -> Option<VerifyError> {
    setup.sessions.verifier().verify_access(token).err()
}

fn grant(err: SessionError) -> InvalidGrant {
    match err {
        SessionError::InvalidGrant(why) => why,
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

#[test]
fn every_login_gets_a_new_session_id_and_both_tokens_carry_it() {
    let s = setup(|c| c);
    let a = login(&s, "alice");
    let b = login(&s, "alice");
    assert_ne!(a.sid, b.sid);
    let access = s
        .sessions
        .verifier()
        .verify_access(&a.access_token)
        .unwrap();
    assert_eq!(access.claims().sid.as_deref(), Some(a.sid.as_str()));
    let refresh = s
        .sessions
        .verifier()
        .verify_refresh(&a.refresh_token)
        .unwrap();
    assert_eq!(
        (refresh.claims().sid.as_str(), refresh.claims().gen),
        (a.sid.as_str(), 0)
    );
    assert_eq!(a.token_type, "Bearer");
    assert_eq!(a.expires_in, 300);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(
        json.as_object().unwrap().len(),
        4,
        "exactly the RFC 6749 members: {json}"
    );
}

#[test]
fn custom_claims_from_login_reach_every_access_token_of_the_session() {
    let s = setup(|c| c);
    let mut claims = gatepass::CustomClaims::new();
    claims.insert("role".into(), "admin".into());
    let pair = block_on(s.sessions.login("alice", claims)).unwrap();
    let next = refresh(&s, &pair.refresh_token).unwrap();
    let verified = s
        .sessions
        .verifier()
        .verify_access(&next.access_token)
        .unwrap();
    assert_eq!(verified.claims().custom["role"], "admin");
}

fn chain(s: &Setup, len: usize) -> Vec<TokenPair> {
    let mut pairs = vec![login(s, "alice")];
    for _ in 0..len {
        s.clock.advance(1);
        let next = refresh(s, &pairs.last().unwrap().refresh_token).unwrap();
        pairs.push(next);
    }
    pairs
}

#[test]
fn a_chain_of_100_rotations_works_and_each_generation_is_one_more() {
    let s = setup(|c| c);
    let pairs = chain(&s, 100);
    for (gen, pair) in pairs.iter().enumerate() {
        let claims = s
            .sessions
            .verifier()
            .verify_refresh(&pair.refresh_token)
            .unwrap()
            .into_claims();
        assert_eq!(claims.gen, gen as u64);
        assert_eq!(claims.sid, pairs[0].sid);
    }
    assert!(access_error(&s, &pairs[100].access_token).is_none());
}

#[test]
fn reused_refresh_token_revokes_the_whole_session_and_only_it() {
    // Every earlier token of a 100-long chain, each on its own fresh chain.
    for reused in 0..100 {
        let s = setup(|c| c);
        let other = login(&s, "alice");
        let pairs = chain(&s, 100);
        let err = refresh(&s, &pairs[reused].refresh_token).unwrap_err();
        assert_eq!(grant(err), InvalidGrant::Reused, "token {reused}");
        // The newest refresh token no longer works...
        assert!(
            refresh(&s, &pairs[100].refresh_token).is_err(),
            "token {reused}"
        );
        // ...nor the session's live access token...
        assert_eq!(
            access_error(&s, &pairs[100].access_token),
            Some(VerifyError::Revoked(Revoked::Session))
        );
        // ...while the same user's other session is untouched.
        assert!(access_error(&s, &other.access_token).is_none());
        assert!(refresh(&s, &other.refresh_token).is_ok(), "token {reused}");
    }
}

#[test]
fn of_16_concurrent_refreshes_exactly_one_wins_and_the_rest_are_reuse() {
    let s = setup(|c| c);
    let pair = login(&s, "alice");
    let results = race_futures(16, |_| s.sessions.refresh(&pair.refresh_token));
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for err in results.into_iter().filter_map(Result::err) {
        assert!(matches!(
            grant(err),
            InvalidGrant::Reused | InvalidGrant::UnknownSession | InvalidGrant::Token(_)
        ));
    }
}

#[test]
fn with_grace_the_direct_parent_gets_the_identical_successor_and_the_grandparent_is_reuse() {
    let s = setup(|c| c.grace(Duration::from_secs(10)));
    let pair = login(&s, "alice");
    let results: Vec<TokenPair> = race_futures(16, |_| s.sessions.refresh(&pair.refresh_token))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // The chain never forks: every caller got byte-identical tokens.
    assert!(results
        .iter()
        .all(|r| r.access_token == results[0].access_token
            && r.refresh_token == results[0].refresh_token));
    // Within the window, the parent keeps getting that same answer.
    s.clock.advance(9);
    assert_eq!(
        refresh(&s, &pair.refresh_token).unwrap().refresh_token,
        results[0].refresh_token
    );
    // One more rotation: the original token is now a grandparent, and that is reuse.
    let next = refresh(&s, &results[0].refresh_token).unwrap();
    assert_eq!(
        grant(refresh(&s, &pair.refresh_token).unwrap_err()),
        InvalidGrant::Reused
    );
    assert_eq!(
        access_error(&s, &next.access_token),
        Some(VerifyError::Revoked(Revoked::Session))
    );
}

#[test]
fn grace_ends_when_its_window_does() {
    let s = setup(|c| c.grace(Duration::from_secs(10)));
    let pair = login(&s, "alice");
    refresh(&s, &pair.refresh_token).unwrap();
    s.clock.advance(10);
    assert_eq!(
        grant(refresh(&s, &pair.refresh_token).unwrap_err()),
        InvalidGrant::Reused
    );
}

#[test]
fn idle_timeout_ends_a_session_that_is_not_refreshed() {
    let s = setup(|c| {
        c.idle_timeout(Duration::from_secs(600))
            .refresh_ttl(Duration::from_secs(3600))
    });
    let pair = login(&s, "alice");
    s.clock.advance(599);
    let pair = refresh(&s, &pair.refresh_token).unwrap();
    s.clock.advance(600);
    assert_eq!(
        grant(refresh(&s, &pair.refresh_token).unwrap_err()),
        InvalidGrant::IdleTimeout
    );
}

#[test]
fn by_default_the_refresh_token_itself_expires_at_the_idle_timeout() {
    let s = setup(|c| c);
    let pair = login(&s, "alice");
    s.clock.advance(30 * 60);
    let err = grant(refresh(&s, &pair.refresh_token).unwrap_err());
    assert_eq!(err, InvalidGrant::Token(VerifyError::Expired));
}

#[test]
fn absolute_lifetime_counts_from_login_and_is_never_extended() {
    let s = setup(|c| {
        c.absolute_timeout(Duration::from_secs(3600))
            .idle_timeout(Duration::from_secs(1800))
    });
    let mut pair = login(&s, "alice");
    // Refresh every 20 minutes: never idle, but the session still ends at one hour.
    for _ in 0..2 {
        s.clock.advance(20 * 60);
        pair = refresh(&s, &pair.refresh_token).unwrap();
    }
    // Tokens issued near the end never outlive the session.
    let access = s
        .sessions
        .verifier()
        .verify_access(&pair.access_token)
        .unwrap();
    assert!(access.claims().exp <= NOW + 3600);
    let refresh_claims = s
        .sessions
        .verifier()
        .verify_refresh(&pair.refresh_token)
        .unwrap();
    assert_eq!(refresh_claims.claims().exp, NOW + 3600);
    s.clock.advance(20 * 60);
    let err = grant(refresh(&s, &pair.refresh_token).unwrap_err());
    assert!(
        matches!(
            err,
            InvalidGrant::AbsoluteTimeout | InvalidGrant::Token(VerifyError::Expired)
        ),
        "{err:?}"
    );
}

#[test]
fn logout_stops_the_sessions_refresh_and_access_tokens() {
    let s = setup(|c| c);
    let pair = login(&s, "alice");
    let other = login(&s, "alice");
    let verified = s
        .sessions
        .verifier()
        .verify_access(&pair.access_token)
        .unwrap();
    block_on(s.sessions.logout(&verified)).unwrap();
    assert_eq!(
        access_error(&s, &pair.access_token),
        Some(VerifyError::Revoked(Revoked::Session))
    );
    assert_eq!(
        grant(refresh(&s, &pair.refresh_token).unwrap_err()),
        InvalidGrant::Token(VerifyError::Revoked(Revoked::Session))
    );
    assert!(access_error(&s, &other.access_token).is_none());
}

#[test]
fn logout_all_ends_every_existing_session_and_spares_later_ones() {
    let s = setup(|c| c);
    let a = login(&s, "alice");
    let b = login(&s, "alice");
    let bob = login(&s, "bob");
    assert_eq!(block_on(s.sessions.logout_all("alice")).unwrap(), 2);
    for pair in [&a, &b] {
        assert!(access_error(&s, &pair.access_token).is_some());
        assert!(refresh(&s, &pair.refresh_token).is_err());
    }
    assert!(access_error(&s, &bob.access_token).is_none());
    // A login in the very same second after the answer is unaffected.
    let later = login(&s, "alice");
    assert!(access_error(&s, &later.access_token).is_none());
    assert!(refresh(&s, &later.refresh_token).is_ok());
}

#[test]
fn rfc_7009_revocation_of_a_refresh_token_ends_its_session() {
    let s = setup(|c| c);
    let pair = login(&s, "alice");
    block_on(
        s.sessions
            .revoke(&pair.refresh_token, Some("refresh_token")),
    )
    .unwrap();
    assert!(access_error(&s, &pair.access_token).is_some());
    // Revoking an access token kills that token only.
    let other = login(&s, "alice");
    block_on(s.sessions.revoke(&other.access_token, Some("access_token"))).unwrap();
    assert_eq!(
        access_error(&s, &other.access_token),
        Some(VerifyError::Revoked(Revoked::Token))
    );
    assert!(refresh(&s, &other.refresh_token).is_ok());
    // Garbage is accepted silently, as the RFC asks.
    block_on(s.sessions.revoke("garbage", None)).unwrap();
}

#[test]
fn a_refresh_token_from_another_store_is_unknown() {
    let s = setup(|c| c);
    let pair = login(&s, "alice");
    // Same keys, fresh (wiped) store.
    let t = setup(|c| c);
    assert_eq!(
        grant(refresh(&t, &pair.refresh_token).unwrap_err()),
        InvalidGrant::UnknownSession
    );
}

#[test]
fn access_tokens_are_refused_as_refresh_tokens() {
    let s = setup(|c| c);
    let pair = login(&s, "alice");
    assert_eq!(
        grant(refresh(&s, &pair.access_token).unwrap_err()),
        InvalidGrant::Token(VerifyError::WrongType)
    );
    assert_eq!(
        access_error(&s, &pair.refresh_token),
        Some(VerifyError::WrongType)
    );
}

#[test]
fn access_tokens_never_outlive_the_idle_timeout_even_when_configured_longer() {
    let s = setup(|c| {
        c.access_ttl(Duration::from_secs(3600))
            .idle_timeout(Duration::from_secs(600))
    });
    let pair = login(&s, "alice");
    assert_eq!(pair.expires_in, 600);
    let access = s
        .sessions
        .verifier()
        .verify_access(&pair.access_token)
        .unwrap();
    assert_eq!(access.claims().exp, NOW + 600);
}

#[test]
fn a_grace_answer_whose_signing_key_left_the_keyset_is_invalid_grant_never_a_new_pair() {
    let clock = Arc::new(ManualClock::new(NOW));
    let mut keyset = Keyset::new();
    let pending = || GenerateOptions::default().state(KeyState::Pending);
    keyset
        .generate(Algorithm::EdDSA, GenerateOptions::default(), NOW)
        .unwrap();
    let config = SessionConfig::default()
        .clock(clock.clone())
        .grace(Duration::from_secs(10));
    let sessions = SessionManager::new(&keyset, Arc::new(MemoryStore::new()), config).unwrap();
    let pair = block_on(sessions.login("alice", Default::default())).unwrap();
    // A rotation: the parent's key retires (still verifies), a new key signs the successor
    // and seals the store's copy of it.
    let second = keyset.generate(Algorithm::EdDSA, pending(), NOW).unwrap();
    keyset.activate(&second, NOW).unwrap();
    assert!(sessions.update_keys(&keyset));
    let next = block_on(sessions.refresh(&pair.refresh_token)).unwrap();
    assert_eq!(
        block_on(sessions.refresh(&pair.refresh_token)).unwrap(),
        next
    );
    // Another rotation, and the key that sealed the answer is revoked: the parent still
    // verifies, its answer cannot be opened, and the client is told to log in again.
    let third = keyset.generate(Algorithm::EdDSA, pending(), NOW).unwrap();
    keyset.activate(&third, NOW).unwrap();
    keyset.revoke(&second, NOW).unwrap();
    assert!(sessions.update_keys(&keyset));
    clock.advance(1);
    assert_eq!(
        grant(block_on(sessions.refresh(&pair.refresh_token)).unwrap_err()),
        InvalidGrant::GraceUnreadable
    );
}

/// A proof by `key` for a token-endpoint request at `now`, as a server verified it.
fn token_endpoint_proof(key: &gatepass::DpopKey, now: u64) -> gatepass::VerifiedProof {
    let url = "https://auth.test/auth/refresh";
    let proof = key.proof("POST", url).make_at(now).unwrap();
    gatepass::DpopVerifier::builder()
        .build()
        .unwrap()
        .verify_at(&proof, "POST", url, None, now)
        .unwrap()
}

fn jkt_of(s: &Setup, access_token: &str) -> Option<String> {
    use gatepass::Clock as _;
    let claims = s
        .sessions
        .verifier()
        .verify_access_at(access_token, s.clock.now())
        .unwrap()
        .into_claims();
    gatepass::confirmation_jkt(&claims.custom).map(str::to_owned)
}

#[test]
fn a_dpop_bound_session_refreshes_only_with_its_key_and_stays_bound() {
    use gatepass::{Clock as _, DpopKey};
    let s = setup(|c| c);
    let (key, other) = (
        DpopKey::generate(Algorithm::ES256).unwrap(),
        DpopKey::generate(Algorithm::EdDSA).unwrap(),
    );
    let now = s.clock.now();
    let proof = token_endpoint_proof(&key, now);
    let pair = block_on(s.sessions.login_with(
        "alice",
        Default::default(),
        RequestContext::new().proof(&proof),
    ))
    .unwrap();
    assert_eq!(pair.token_type, "DPoP");
    assert_eq!(
        jkt_of(&s, &pair.access_token).as_deref(),
        Some(key.thumbprint())
    );

    // Without a proof, or with another key's: refused, and the token is not consumed.
    assert_eq!(
        grant(refresh(&s, &pair.refresh_token).unwrap_err()),
        InvalidGrant::DpopProofRequired
    );
    let by_other = token_endpoint_proof(&other, now);
    let wrong = block_on(
        s.sessions
            .refresh_with(&pair.refresh_token, RequestContext::new().proof(&by_other)),
    );
    assert_eq!(grant(wrong.unwrap_err()), InvalidGrant::DpopKeyMismatch);

    let by_key = token_endpoint_proof(&key, now);
    let next = block_on(
        s.sessions
            .refresh_with(&pair.refresh_token, RequestContext::new().proof(&by_key)),
    )
    .unwrap();
    assert_eq!(next.token_type, "DPoP");
    assert_eq!(
        jkt_of(&s, &next.access_token).as_deref(),
        Some(key.thumbprint())
    );
    // And again, from the rotated token: the binding survived the rotation.
    let again = block_on(
        s.sessions
            .refresh_with(&next.refresh_token, RequestContext::new().proof(&by_other)),
    );
    assert_eq!(grant(again.unwrap_err()), InvalidGrant::DpopKeyMismatch);
}

#[test]
fn an_unbound_session_stays_bearer_without_a_proof_and_is_bound_by_one() {
    use gatepass::{Clock as _, DpopKey};
    let s = setup(|c| c);
    let pair = login(&s, "alice");
    assert_eq!(pair.token_type, "Bearer");
    assert_eq!(jkt_of(&s, &pair.access_token), None);
    let next = refresh(&s, &pair.refresh_token).unwrap();
    assert_eq!(next.token_type, "Bearer");

    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let proof = token_endpoint_proof(&key, s.clock.now());
    let bound = block_on(
        s.sessions
            .refresh_with(&next.refresh_token, RequestContext::new().proof(&proof)),
    )
    .unwrap();
    assert_eq!(bound.token_type, "DPoP");
    assert_eq!(
        jkt_of(&s, &bound.access_token).as_deref(),
        Some(key.thumbprint())
    );
    assert_eq!(
        grant(refresh(&s, &bound.refresh_token).unwrap_err()),
        InvalidGrant::DpopProofRequired
    );
}
