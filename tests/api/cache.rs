//! The verified-token cache: a hit answers exactly what a full verification would, and
//! each of the cache's rules (bounded, keyed hash, lifetime, exp on every hit, revocation
//! on every hit, keys that go take their entries) holds.

use std::sync::Arc;
use std::time::Duration;

use gatepass::*;

use crate::support::*;

fn cache(capacity: usize, ttl_secs: u64) -> TokenCache {
    TokenCache::new(capacity, Duration::from_secs(ttl_secs)).unwrap()
}

fn hits(verifier: &Verifier) -> u64 {
    verifier.cache().unwrap().stats().0
}

#[test]
fn the_cache_is_off_by_default() {
    let fixture = Fixture::new();
    assert!(fixture.verifier().cache().is_none());
}

#[test]
fn a_hit_answers_what_a_full_verification_answers() {
    let fixture = Fixture::new();
    let plain = fixture.verifier();
    let cached = fixture.verifier_with(|b| b.cache(cache(16, 600)));
    for alg in [Algorithm::HS256, Algorithm::EdDSA, Algorithm::ES256] {
        let token = fixture
            .issuer(alg)
            .access_token("alice")
            .claim("role", "admin")
            .unwrap()
            .issue()
            .unwrap()
            .token;
        let expected = plain.verify_access(&token).unwrap();
        let first = cached.verify_access(&token).unwrap();
        let before = hits(&cached);
        let second = cached.verify_access(&token).unwrap();
        assert_eq!(hits(&cached), before + 1, "{alg}: the second one is a hit");
        assert_eq!(first, expected);
        assert_eq!(second, expected);
        assert_eq!(second.clone().into_claims(), expected.clone().into_claims());
        // Custom types are converted from the cached map.
        #[derive(serde::Deserialize, PartialEq, Debug)]
        struct Role {
            role: String,
        }
        let typed = cached.verify_access_as::<Role>(&token).unwrap();
        assert_eq!(typed.claims().custom.role, "admin");
    }
}

#[test]
fn an_access_entry_never_serves_a_refresh_verification_or_the_reverse() {
    let fixture = Fixture::new();
    let cached = fixture.verifier_with(|b| b.cache(cache(16, 600)));
    let issuer = fixture.issuer(Algorithm::EdDSA);
    let access = issuer.access_token("alice").issue().unwrap().token;
    let refresh = issuer
        .refresh_token("alice", "sid", 2)
        .issue()
        .unwrap()
        .token;
    cached.verify_access(&access).unwrap();
    cached.verify_refresh(&refresh).unwrap();
    assert_eq!(
        cached.verify_refresh(&access).unwrap_err(),
        VerifyError::WrongType
    );
    assert_eq!(
        cached.verify_access(&refresh).unwrap_err(),
        VerifyError::WrongType
    );
    assert_eq!(cached.verify_refresh(&refresh).unwrap().claims().gen, 2);
}

#[test]
fn exp_and_every_time_check_run_on_every_hit() {
    let fixture = Fixture::new();
    let plain = fixture.verifier_with(|b| b.max_age(Duration::from_secs(200)));
    let cached =
        fixture.verifier_with(|b| b.max_age(Duration::from_secs(200)).cache(cache(16, 3600)));
    let token = fixture
        .issuer(Algorithm::HS256)
        .access_token("alice")
        .not_before(NOW + 10)
        .ttl(300)
        .issue()
        .unwrap()
        .token;
    cached.verify_access_at(&token, NOW + 10).unwrap();
    // Sweep time across nbf, max-age, exp and the leeway: the cached verifier answers
    // exactly like the uncached one at every instant, in any order.
    for now in [
        NOW + 100,
        NOW - 100,
        NOW + 229,
        NOW + 230,
        NOW + 100,
        NOW + 329,
        NOW + 330,
        NOW + 10,
    ] {
        assert_eq!(
            cached
                .verify_access_at(&token, now)
                .map(|v| v.into_claims()),
            plain.verify_access_at(&token, now).map(|v| v.into_claims()),
            "at NOW{:+}",
            now as i64 - NOW as i64
        );
    }
}

#[test]
fn an_entry_lives_at_most_until_exp_or_the_ttl() {
    let fixture = Fixture::new();
    let cached = fixture.verifier_with(|b| b.cache(cache(16, 60)));
    let issuer = fixture.issuer(Algorithm::EdDSA);
    let token = issuer.access_token("alice").ttl(300).issue().unwrap().token;
    cached.verify_access_at(&token, NOW).unwrap();
    let h = hits(&cached);
    cached.verify_access_at(&token, NOW + 59).unwrap();
    assert_eq!(hits(&cached), h + 1, "within the TTL: a hit");
    cached.verify_access_at(&token, NOW + 60).unwrap();
    assert_eq!(hits(&cached), h + 1, "after the TTL: verified afresh");

    // A TTL longer than the token's life: the entry dies at exp, and past exp (within
    // the leeway) the full verification answers.
    let cached = fixture.verifier_with(|b| b.cache(cache(16, 3600)));
    let token = issuer.access_token("bob").ttl(100).issue().unwrap().token;
    cached.verify_access_at(&token, NOW).unwrap();
    let h = hits(&cached);
    cached.verify_access_at(&token, NOW + 100).unwrap();
    assert_eq!(hits(&cached), h, "at exp the entry is gone");
    assert_eq!(
        cached.verify_access_at(&token, NOW + 130).unwrap_err(),
        VerifyError::Expired
    );
}

#[test]
fn a_revoked_token_is_never_served_from_the_cache() {
    let fixture = Fixture::new();
    let list = Arc::new(RevocationList::new());
    let cached = fixture.verifier_with(|b| b.revocations(list.clone()).cache(cache(16, 600)));
    let issuer = fixture.issuer(Algorithm::EdDSA);
    let by_jti = issuer.access_token("alice").issue().unwrap();
    let by_sid = issuer.access_token("bob").issue().unwrap();
    let by_sub = issuer.access_token("carol").issue().unwrap();
    for issued in [&by_jti, &by_sid, &by_sub] {
        cached.verify_access(&issued.token).unwrap();
        cached.verify_access(&issued.token).unwrap();
    }
    list.revoke_token(&by_jti.jti, NOW + 1000);
    list.revoke_session(&by_sid.sid, NOW + 1000);
    list.revoke_subject("carol", NOW + 1, None);
    assert_eq!(
        cached.verify_access(&by_jti.token).unwrap_err(),
        VerifyError::Revoked(Revoked::Token)
    );
    assert_eq!(
        cached.verify_access(&by_sid.token).unwrap_err(),
        VerifyError::Revoked(Revoked::Session)
    );
    assert_eq!(
        cached.verify_access(&by_sub.token).unwrap_err(),
        VerifyError::Revoked(Revoked::Subject)
    );
    assert_eq!(
        cached.cache().unwrap().len(),
        0,
        "revoked entries are dropped"
    );
}

#[test]
fn replacing_the_keys_takes_the_old_keys_entries_with_them() {
    let fixture = Fixture::new();
    let keys = Arc::new(ReloadableKeys::new(fixture.keyset.verification_keys()));
    let cached = Verifier::builder_shared(keys.clone(), ISS, AUD)
        .clock(Arc::new(ManualClock::new(NOW)))
        .cache(cache(16, 600))
        .build()
        .unwrap();
    let token = fixture.access_token(Algorithm::EdDSA, "alice");
    cached.verify_access(&token).unwrap();
    cached.verify_access(&token).unwrap();
    // The EdDSA key is removed (or revoked: either way it leaves the set).
    let without: Vec<VerifyingKey> = fixture
        .keyset
        .verification_keys()
        .iter()
        .filter(|k| k.alg() != Algorithm::EdDSA)
        .cloned()
        .collect();
    keys.replace(VerificationKeys::new(without));
    assert_eq!(
        cached.verify_access(&token).unwrap_err(),
        VerifyError::UnknownKey
    );
    // Put back (a new `Arc`, as a reload makes): verified afresh, then cached again.
    keys.replace(fixture.keyset.verification_keys());
    cached.verify_access(&token).unwrap();
}

#[test]
fn update_keys_flushes_the_entries_of_keys_that_left_the_keyset() {
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
    let mut keyset = Keyset::new();
    let old = keyset
        .generate(Algorithm::EdDSA, GenerateOptions::default(), NOW - 10)
        .unwrap();
    let config = SessionConfig::default()
        .clock(Arc::new(ManualClock::new(NOW)) as Arc<dyn Clock>)
        .token_cache(100, Duration::from_secs(60));
    let sessions = SessionManager::new(&keyset, Arc::new(MemoryStore::new()), config).unwrap();
    let pair = block_on(sessions.login("alice", Default::default())).unwrap();
    let verifier = sessions.verifier();
    verifier.verify_access(&pair.access_token).unwrap();
    verifier.verify_access(&pair.access_token).unwrap();
    assert_eq!(verifier.cache().unwrap().len(), 1);

    let mut next = Keyset::new();
    next.generate(Algorithm::EdDSA, GenerateOptions::default(), NOW)
        .unwrap();
    assert_ne!(
        next.signing_key(&KeySelector::Preferred).unwrap().kid(),
        old
    );
    assert!(sessions.update_keys(&next), "the new keyset can sign");
    assert_eq!(
        verifier.cache().unwrap().len(),
        0,
        "flushed, not just skipped"
    );
    assert_eq!(
        verifier.verify_access(&pair.access_token).unwrap_err(),
        VerifyError::UnknownKey
    );
}

#[test]
fn the_cache_is_bounded_and_keeps_no_token() {
    let fixture = Fixture::new();
    let cached = fixture.verifier_with(|b| b.cache(cache(3, 600)));
    let issuer = fixture.issuer(Algorithm::HS256);
    let tokens: Vec<String> = (0..10)
        .map(|i| {
            issuer
                .access_token(&format!("user{i}"))
                .issue()
                .unwrap()
                .token
        })
        .collect();
    for token in &tokens {
        cached.verify_access(token).unwrap();
        assert!(cached.cache().unwrap().len() <= 3);
    }
    // Evicted tokens still verify (afresh).
    for token in &tokens {
        cached.verify_access(token).unwrap();
    }
    let shown = format!("{cached:?}");
    assert!(tokens.iter().all(|t| !shown.contains(t.as_str())));
    assert!(tokens
        .iter()
        .all(|t| !shown.contains(t.rsplit('.').next().unwrap())));
}

#[test]
fn failures_are_not_cached_and_limits_come_first() {
    let fixture = Fixture::new();
    let cached = fixture.verifier_with(|b| b.max_token_bytes(4096).cache(cache(16, 600)));
    let token = fixture.access_token(Algorithm::HS256, "alice");
    // Change the signature's first character (the last one carries padding bits that
    // must stay zero, and changing them would make the base64 malformed instead).
    let dot = token.rfind('.').unwrap();
    let first = &token[dot + 1..dot + 2];
    let forged = format!(
        "{}{}{}",
        &token[..=dot],
        if first == "A" { "B" } else { "A" },
        &token[dot + 2..]
    );
    for _ in 0..2 {
        assert_eq!(
            cached.verify_access(&forged).unwrap_err().kind(),
            "bad_signature"
        );
    }
    assert_eq!(cached.cache().unwrap().len(), 0);
    let long = format!("{token}{}", "A".repeat(4096));
    assert_eq!(cached.verify_access(&long).unwrap_err().kind(), "too_large");
}
