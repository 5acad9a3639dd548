//! Every check of a DPoP proof, each violated once with its exact error; replay and
//! binding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::*;
use crate::clock::UnixTime;
use crate::crypto::Algorithm;
use crate::error::{KeyRejected, Malformed, TooLarge};
use crate::revocation::{MemoryReplayCache, ReplayCache, ReplayCacheError, ReplayKey};
use crate::{AlgorithmSet, SigningKey};

const NOW: UnixTime = 1_700_000_000;
const URI: &str = "https://api.example/resource";

fn verifier() -> DpopVerifier {
    DpopVerifier::builder().build().unwrap()
}

fn verify(proof: &str) -> Result<VerifiedProof, DpopError> {
    verifier().verify_at(proof, "GET", URI, None, NOW)
}

/// A compact JWS with exactly `header` and `claims`, signed by `key`.
fn forge(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let mut jws = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap());
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap()));
    let signature = key.sign(jws.as_bytes()).unwrap();
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
    jws
}

fn es256() -> DpopKey {
    DpopKey::generate(Algorithm::ES256).unwrap()
}

fn header(key: &DpopKey) -> Value {
    json!({"typ": "dpop+jwt", "alg": key.alg().as_str(), "jwk": key.public_jwk()})
}

fn claims() -> Value {
    json!({"jti": "id-1", "htm": "GET", "htu": URI, "iat": NOW})
}

/// A proof by `key` with the standard header and `edit` applied to the standard claims.
fn with_claims(key: &DpopKey, edit: impl FnOnce(&mut Value)) -> String {
    let mut c = claims();
    edit(&mut c);
    forge(key.signing_key(), &header(key), &c)
}

/// A proof by `key` with `edit` applied to the standard header.
fn with_header(key: &DpopKey, edit: impl FnOnce(&mut Value)) -> String {
    let mut h = header(key);
    edit(&mut h);
    forge(key.signing_key(), &h, &claims())
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the in-memory cache answers at once"),
    }
}

#[test]
fn proofs_made_by_each_algorithm_verify_and_name_their_key() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::ES384] {
        let key = DpopKey::generate(alg).unwrap();
        let proof = key.proof("GET", URI).make_at(NOW).unwrap();
        let verified = verify(&proof).unwrap();
        assert_eq!(verified.jkt(), key.thumbprint());
        assert_eq!(
            verified.jkt(),
            key.signing_key().verifying_key().thumbprint()
        );
        assert_eq!(verified.alg(), alg);
        assert_eq!(verified.iat(), NOW);
        assert_eq!(verified.jti().len(), 22);
        assert_eq!(verified.replay_until(), NOW + 66);
    }
}

#[test]
fn only_eddsa_es256_and_es384_keys_make_proofs() {
    for alg in [Algorithm::HS256, Algorithm::RS256] {
        assert!(matches!(
            DpopKey::generate(alg),
            Err(KeyRejected::UnsupportedAlgorithm(_))
        ));
    }
}

#[test]
fn exactly_one_proof_is_required() {
    assert_eq!(single_proof([" a.b.c "]), Ok("a.b.c"));
    assert_eq!(single_proof(["a", "b"]), Err(DpopError::NotExactlyOneProof));
    assert_eq!(single_proof([""]), Err(DpopError::NotExactlyOneProof));
    assert_eq!(single_proof([]), Err(DpopError::NotExactlyOneProof));
}

#[test]
fn size_and_structure_come_first() {
    assert_eq!(
        verify(&"a".repeat(8193)),
        Err(DpopError::TooLarge(TooLarge::Length { max: 8192 }))
    );
    assert_eq!(
        verify("a.b"),
        Err(DpopError::Malformed(Malformed::Segments))
    );
    assert_eq!(
        verify("e30.e30.c2ln="),
        Err(DpopError::Malformed(Malformed::Base64))
    );
    let key = es256();
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header(&key)).unwrap());
    for bad_claims in [&b"[1]"[..], b"{\"jti\":\"a\",\"jti\":\"b\"}", b"{"] {
        let proof = format!("{h}.{}.c2ln", URL_SAFE_NO_PAD.encode(bad_claims));
        assert_eq!(
            verify(&proof),
            Err(DpopError::Malformed(Malformed::ClaimsJson)),
            "{bad_claims:?}"
        );
    }
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let proof = format!(
        "{h}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(format!("{{\"x\":{deep}}}"))
    );
    assert_eq!(
        verify(&proof),
        Err(DpopError::TooLarge(TooLarge::Depth { max: 32 }))
    );
    let small = DpopVerifier::builder()
        .max_proof_bytes(100)
        .build()
        .unwrap();
    let proof = key.proof("GET", URI).make_at(NOW).unwrap();
    assert!(matches!(
        small.verify_at(&proof, "GET", URI, None, NOW),
        Err(DpopError::TooLarge(TooLarge::Length { max: 100 }))
    ));
}

#[test]
fn typ_must_be_dpop_jwt() {
    let key = es256();
    let proof = with_header(&key, |h| {
        h.as_object_mut().unwrap().remove("typ");
    });
    assert_eq!(verify(&proof), Err(DpopError::MissingHeader("typ")));
    for wrong in ["JWT", "at+jwt", "dpop", "application/jwt", "dpop+jwt "] {
        let proof = with_header(&key, |h| h["typ"] = wrong.into());
        assert_eq!(verify(&proof), Err(DpopError::WrongType), "{wrong}");
    }
    for right in ["dpop+jwt", "DPoP+JWT", "application/dpop+jwt"] {
        let proof = with_header(&key, |h| h["typ"] = right.into());
        assert!(verify(&proof).is_ok(), "{right}");
    }
}

#[test]
fn only_allowed_asymmetric_algorithms_are_accepted() {
    let key = es256();
    for alg in ["none", "None", "HS256", "RS256", "PS256", "ES512", ""] {
        let proof = with_header(&key, |h| h["alg"] = alg.into());
        assert_eq!(
            verify(&proof),
            Err(DpopError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
    // An HMAC proof whose "jwk" is the shared secret: refused at the algorithm.
    let hmac = SigningKey::from_hmac_secret(Algorithm::HS256, &[7; 32], None).unwrap();
    let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": URL_SAFE_NO_PAD.encode([7; 32])}});
    let proof = forge(&hmac, &header, &claims());
    assert_eq!(verify(&proof), Err(DpopError::UnsupportedAlgorithm));
    // ES256 only.
    let only = DpopVerifier::builder()
        .algorithms([Algorithm::ES256].into_iter().collect::<AlgorithmSet>())
        .build()
        .unwrap();
    let ed = DpopKey::generate(Algorithm::EdDSA).unwrap();
    let proof = ed.proof("GET", URI).make_at(NOW).unwrap();
    assert_eq!(
        only.verify_at(&proof, "GET", URI, None, NOW),
        Err(DpopError::UnsupportedAlgorithm)
    );
    // A set with nothing usable for DPoP is a configuration error.
    let hmac_only = DpopVerifier::builder()
        .algorithms(
            [Algorithm::HS256, Algorithm::RS256]
                .into_iter()
                .collect::<AlgorithmSet>(),
        )
        .build();
    assert_eq!(
        hmac_only.unwrap_err(),
        crate::ConfigError::NoAlgorithmAllowed
    );
}

#[test]
fn crit_is_refused() {
    let key = es256();
    let proof = with_header(&key, |h| h["crit"] = json!(["exp"]));
    assert_eq!(verify(&proof), Err(DpopError::UnsupportedCritical));
}

#[test]
fn jwk_must_be_a_public_key_fitting_alg() {
    let key = es256();
    let proof = with_header(&key, |h| {
        h.as_object_mut().unwrap().remove("jwk");
    });
    assert_eq!(verify(&proof), Err(DpopError::MissingHeader("jwk")));
    let private = key.signing_key().to_private_jwk();
    let proof = with_header(&key, |h| h["jwk"] = Value::Object(private.clone()));
    assert_eq!(verify(&proof), Err(DpopError::PrivateKeyInHeader("d")));
    for member in ["p", "q", "dp", "dq", "qi", "oth"] {
        let proof = with_header(&key, |h| h["jwk"][member] = "AQAB".into());
        assert_eq!(
            verify(&proof),
            Err(DpopError::PrivateKeyInHeader(member)),
            "{member}"
        );
    }
    let proof = with_header(&key, |h| h["jwk"] = json!({"kty": "oct", "k": "c2VjcmV0"}));
    assert_eq!(verify(&proof), Err(DpopError::PrivateKeyInHeader("k")));
    let proof = with_header(&key, |h| h["jwk"]["x"] = "AAAA".into());
    assert!(matches!(verify(&proof), Err(DpopError::InvalidKey(_))));
    let proof = with_header(&key, |h| h["jwk"]["use"] = "enc".into());
    assert_eq!(
        verify(&proof),
        Err(DpopError::InvalidKey(KeyRejected::UsageForbidsVerification))
    );
    // The header says EdDSA, the key is P-256.
    let proof = with_header(&key, |h| h["alg"] = "EdDSA".into());
    assert_eq!(verify(&proof), Err(DpopError::KeyAlgorithmMismatch));
    let proof = with_header(&key, |h| h["alg"] = "ES384".into());
    assert_eq!(verify(&proof), Err(DpopError::KeyAlgorithmMismatch));
}

#[test]
fn the_signature_must_be_by_the_header_key_and_comes_before_claims() {
    let key = es256();
    let other = es256();
    // Signed by `other`, claiming `key`; claims missing everything.
    let proof = forge(other.signing_key(), &header(&key), &json!({}));
    assert_eq!(verify(&proof), Err(DpopError::BadSignature));
    let good = key.proof("GET", URI).make_at(NOW).unwrap();
    let (input, _) = good.rsplit_once('.').unwrap();
    let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode([0u8; 64]));
    assert_eq!(verify(&tampered), Err(DpopError::BadSignature));
}

#[test]
fn jti_must_be_a_bounded_non_empty_string() {
    let key = es256();
    let remove = |name: &'static str| {
        with_claims(&key, move |c| {
            c.as_object_mut().unwrap().remove(name);
        })
    };
    assert_eq!(
        verify(&remove("jti")),
        Err(DpopError::MissingClaim(DpopClaim::Jti))
    );
    for bad in [json!(1), json!(""), json!("x".repeat(257)), Value::Null] {
        let proof = with_claims(&key, |c| c["jti"] = bad.clone());
        assert_eq!(
            verify(&proof),
            Err(DpopError::InvalidClaim(DpopClaim::Jti)),
            "{bad}"
        );
    }
    let proof = with_claims(&key, |c| c["jti"] = "x".repeat(256).into());
    assert!(verify(&proof).is_ok());
}

#[test]
fn htm_must_be_the_method_exactly() {
    let key = es256();
    let proof = with_claims(&key, |c| {
        c.as_object_mut().unwrap().remove("htm");
    });
    assert_eq!(verify(&proof), Err(DpopError::MissingClaim(DpopClaim::Htm)));
    let proof = with_claims(&key, |c| c["htm"] = json!(["GET"]));
    assert_eq!(verify(&proof), Err(DpopError::InvalidClaim(DpopClaim::Htm)));
    for wrong in ["get", "POST", "GET "] {
        let proof = with_claims(&key, |c| c["htm"] = wrong.into());
        assert_eq!(verify(&proof), Err(DpopError::MethodMismatch), "{wrong}");
    }
}

#[test]
fn htu_must_be_the_uri_after_normalisation_without_query_or_fragment() {
    let key = es256();
    let proof = with_claims(&key, |c| {
        c.as_object_mut().unwrap().remove("htu");
    });
    assert_eq!(verify(&proof), Err(DpopError::MissingClaim(DpopClaim::Htu)));
    for bad in [json!(1), json!("/resource"), json!("api.example/resource")] {
        let proof = with_claims(&key, |c| c["htu"] = bad.clone());
        assert_eq!(
            verify(&proof),
            Err(DpopError::InvalidClaim(DpopClaim::Htu)),
            "{bad}"
        );
    }
    for wrong in [
        "https://api.example/other",
        "http://api.example/resource",
        "https://api.example:8443/resource",
        "https://api.example/Resource",
        "https://other.example/resource",
    ] {
        let proof = with_claims(&key, |c| c["htu"] = wrong.into());
        assert_eq!(verify(&proof), Err(DpopError::UriMismatch), "{wrong}");
    }
    for same in [
        "https://API.Example/resource",
        "HTTPS://api.example:443/resource",
        "https://api.example/resource?x=1",
        "https://api.example/resource#top",
        "https://api.example/a/../resource",
        "https://api.example/%72esource",
    ] {
        let proof = with_claims(&key, |c| c["htu"] = same.into());
        assert!(verify(&proof).is_ok(), "{same}");
        // And the request side is normalised the same way.
        let proof = key.proof("GET", URI).make_at(NOW).unwrap();
        assert!(
            verifier().verify_at(&proof, "GET", same, None, NOW).is_ok(),
            "{same}"
        );
    }
    let proof = key.proof("GET", URI).make_at(NOW).unwrap();
    assert_eq!(
        verifier().verify_at(&proof, "GET", "/resource", None, NOW),
        Err(DpopError::InvalidRequestUri)
    );
}

#[test]
fn iat_must_be_an_integer_within_the_window_and_leeway() {
    let key = es256();
    let proof = with_claims(&key, |c| {
        c.as_object_mut().unwrap().remove("iat");
    });
    assert_eq!(verify(&proof), Err(DpopError::MissingClaim(DpopClaim::Iat)));
    for bad in [
        json!("1700000000"),
        json!(1.5),
        json!(-1),
        json!(9_007_199_254_740_992u64),
    ] {
        let proof = with_claims(&key, |c| c["iat"] = bad.clone());
        assert_eq!(
            verify(&proof),
            Err(DpopError::InvalidClaim(DpopClaim::Iat)),
            "{bad}"
        );
    }
    // 60 s window + 5 s leeway, each way, inclusive.
    for (iat, expected) in [
        (NOW - 66, Err(DpopError::IatTooOld)),
        (NOW + 66, Err(DpopError::IatInFuture)),
        (NOW - 65, Ok(())),
        (NOW + 65, Ok(())),
    ] {
        let proof = with_claims(&key, |c| c["iat"] = iat.into());
        assert_eq!(verify(&proof).map(|_| ()), expected, "{iat}");
    }
    let narrow = DpopVerifier::builder()
        .window(std::time::Duration::from_secs(10))
        .leeway(std::time::Duration::ZERO)
        .build()
        .unwrap();
    let proof = with_claims(&key, |c| c["iat"] = (NOW - 11).into());
    assert_eq!(
        narrow.verify_at(&proof, "GET", URI, None, NOW),
        Err(DpopError::IatTooOld)
    );
    assert_eq!(
        narrow
            .verify_at(&proof, "GET", URI, None, NOW - 1)
            .unwrap()
            .replay_until(),
        NOW - 11 + 11
    );
}

#[test]
fn ath_is_required_with_a_token_and_refused_without() {
    let key = es256();
    let token = "an.access.token";
    let check =
        |proof: &str, token: Option<&str>| verifier().verify_at(proof, "GET", URI, token, NOW);
    let with_ath = key
        .proof("GET", URI)
        .access_token(token)
        .make_at(NOW)
        .unwrap();
    assert!(check(&with_ath, Some(token)).is_ok());
    assert_eq!(
        check(&with_ath, Some("another.access.token")),
        Err(DpopError::AthMismatch)
    );
    assert_eq!(check(&with_ath, None), Err(DpopError::AthMismatch));
    let without = key.proof("GET", URI).make_at(NOW).unwrap();
    assert_eq!(
        check(&without, Some(token)),
        Err(DpopError::MissingClaim(DpopClaim::Ath))
    );
    let numeric = with_claims(&key, |c| c["ath"] = json!(1));
    assert_eq!(
        check(&numeric, Some(token)),
        Err(DpopError::InvalidClaim(DpopClaim::Ath))
    );
}

#[derive(Debug)]
struct OneNonce(&'static str);

impl NonceCheck for OneNonce {
    fn accepts(&self, nonce: &str, _now: UnixTime) -> bool {
        nonce == self.0
    }
}

#[test]
fn a_required_nonce_must_be_present_and_accepted() {
    let key = es256();
    let strict = DpopVerifier::builder()
        .require_nonce(Arc::new(OneNonce("n-1")))
        .build()
        .unwrap();
    let check = |proof: &str| strict.verify_at(proof, "GET", URI, None, NOW);
    let none = key.proof("GET", URI).make_at(NOW).unwrap();
    assert_eq!(check(&none), Err(DpopError::NonceRequired));
    assert_eq!(
        DpopError::NonceRequired.error_code(),
        DpopErrorCode::UseDpopNonce
    );
    let stale = key.proof("GET", URI).nonce("n-0").make_at(NOW).unwrap();
    assert_eq!(check(&stale), Err(DpopError::NonceInvalid));
    assert_eq!(
        DpopError::NonceInvalid.error_code().as_str(),
        "use_dpop_nonce"
    );
    let good = key.proof("GET", URI).nonce("n-1").make_at(NOW).unwrap();
    assert_eq!(check(&good).unwrap().nonce(), Some("n-1"));
    let numeric = with_claims(&key, |c| c["nonce"] = json!(1));
    assert_eq!(
        check(&numeric),
        Err(DpopError::InvalidClaim(DpopClaim::Nonce))
    );
    // Without the requirement a nonce is carried through, not checked.
    assert_eq!(verify(&stale).unwrap().nonce(), Some("n-0"));
}

#[test]
fn error_codes_and_kinds_are_stable() {
    assert_eq!(
        DpopError::BadSignature.error_code().as_str(),
        "invalid_dpop_proof"
    );
    assert_eq!(
        DpopError::Replayed.error_code().as_str(),
        "invalid_dpop_proof"
    );
    assert_eq!(
        DpopError::BindingMismatch.error_code().as_str(),
        "invalid_token"
    );
    assert_eq!(
        DpopError::TokenNotBound.error_code(),
        DpopErrorCode::InvalidToken
    );
    assert_eq!(
        DpopError::ReplayCache(ReplayCacheError::Full { capacity: 1 }).kind(),
        "replay_cache_full"
    );
    assert_eq!(DpopError::UriMismatch.kind(), "htu_mismatch");
}

#[test]
fn the_builder_refuses_weakening_settings() {
    use std::time::Duration;
    let err = |b: DpopVerifierBuilder| b.build().unwrap_err();
    assert_eq!(
        err(DpopVerifier::builder().leeway(Duration::from_secs(301))),
        crate::ConfigError::LeewayTooLarge {
            secs: 301,
            max: 300
        }
    );
    assert!(matches!(
        err(DpopVerifier::builder().window(Duration::ZERO)),
        crate::ConfigError::InvalidDuration(_)
    ));
    assert!(matches!(
        err(DpopVerifier::builder().window(Duration::from_secs(3601))),
        crate::ConfigError::InvalidDuration(_)
    ));
}

#[test]
fn the_same_jti_is_refused_the_second_time_for_the_same_key_only() {
    let cache = MemoryReplayCache::new(100);
    let key = es256();
    let other = es256();
    let proof = with_claims(&key, |_| {});
    let verified = verify(&proof).unwrap();
    assert_eq!(block_on(check_replay(&cache, &verified, NOW)), Ok(()));
    assert_eq!(
        block_on(check_replay(&cache, &verified, NOW + 1)),
        Err(DpopError::Replayed)
    );
    // Same jti ("id-1"), another key: a different proof.
    let theirs = verify(&with_claims(&other, |_| {})).unwrap();
    assert_eq!(theirs.jti(), verified.jti());
    assert_eq!(block_on(check_replay(&cache, &theirs, NOW)), Ok(()));
    // Through the trait object too.
    let shared: Arc<dyn ReplayCache> = Arc::new(MemoryReplayCache::new(10));
    assert_eq!(block_on(check_replay(&*shared, &verified, NOW)), Ok(()));
    assert_eq!(
        block_on(check_replay(&*shared, &verified, NOW)),
        Err(DpopError::Replayed)
    );
}

#[test]
fn the_cache_forgets_a_proof_once_it_could_no_longer_verify() {
    let cache = MemoryReplayCache::new(100);
    let key = es256();
    let verified = verify(&with_claims(&key, |_| {})).unwrap();
    let until = verified.replay_until();
    assert_eq!(block_on(check_replay(&cache, &verified, NOW)), Ok(()));
    assert_eq!(
        block_on(check_replay(&cache, &verified, until - 1)),
        Err(DpopError::Replayed)
    );
    assert_eq!(cache.len_at(until - 1), 1);
    assert_eq!(cache.len_at(until), 0);
    // At `until` the proof is already refused by its iat, whatever the cache says.
    assert_eq!(
        verifier().verify_at(&with_claims(&key, |_| {}), "GET", URI, None, until),
        Err(DpopError::IatTooOld)
    );
}

#[test]
fn a_full_cache_refuses_new_proofs_until_entries_expire() {
    let cache = MemoryReplayCache::new(2);
    let a = ReplayKey::new("k", "a");
    let b = ReplayKey::new("k", "b");
    let c = ReplayKey::new("k", "c");
    assert_eq!(cache.remember_at(a, NOW + 10, NOW), Ok(true));
    assert_eq!(cache.remember_at(b, NOW + 20, NOW), Ok(true));
    assert_eq!(
        cache.remember_at(c, NOW + 20, NOW),
        Err(ReplayCacheError::Full { capacity: 2 })
    );
    // A replay is still recognised when full.
    assert_eq!(cache.remember_at(a, NOW + 10, NOW), Ok(false));
    // Once `a` expires there is room again.
    assert_eq!(cache.remember_at(c, NOW + 20, NOW + 10), Ok(true));
    let full = DpopError::ReplayCache(ReplayCacheError::Full { capacity: 2 });
    assert_eq!(full.error_code(), DpopErrorCode::InvalidDpopProof);
}

#[test]
fn replay_keys_hash_the_key_and_jti_unambiguously() {
    assert_ne!(ReplayKey::new("ab", "c"), ReplayKey::new("a", "bc"));
    assert_eq!(ReplayKey::new("a", "b"), ReplayKey::new("a", "b"));
    assert_eq!(ReplayKey::new("a", "b").as_str().len(), 43);
    assert!(!format!("{:?}", ReplayKey::new("jkt", "secret-jti")).contains("secret-jti"));
}

#[test]
fn a_token_is_bound_only_to_the_key_in_its_cnf() {
    let key = es256();
    let proof = key.proof("GET", URI).make_at(NOW).unwrap();
    let verified = verify(&proof).unwrap();
    let claims = json!({"sub": "a", "cnf": confirmation_claim(key.thumbprint())});
    let cnf = confirmation_jkt(claims.as_object().unwrap());
    assert_eq!(verified.check_binding(cnf), Ok(()));
    let other = json!({"cnf": {"jkt": es256().thumbprint()}});
    assert_eq!(
        verified.check_binding(confirmation_jkt(other.as_object().unwrap())),
        Err(DpopError::BindingMismatch)
    );
    for unbound in [json!({}), json!({"cnf": "x"}), json!({"cnf": {"jkt": 1}})] {
        assert_eq!(
            verified.check_binding(confirmation_jkt(unbound.as_object().unwrap())),
            Err(DpopError::TokenNotBound)
        );
    }
}

#[test]
fn ath_matches_rfc_9449_section_7_1() {
    assert_eq!(
        access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
}

#[test]
fn the_proof_maker_leaves_query_and_fragment_out_of_htu() {
    let key = es256();
    let proof = key
        .proof("GET", "https://api.example/resource?q=1#f")
        .make_at(NOW)
        .unwrap();
    let shown = crate::UntrustedToken::new(&proof)
        .unwrap()
        .insecure_inspect()
        .unwrap();
    assert_eq!(shown.claims["htu"], URI);
    assert_eq!(shown.header["jwk"], Value::Object(key.public_jwk().clone()));
    assert!(verify(&proof).is_ok());
}

#[test]
fn the_fuzz_seeds_keep_the_fuzz_properties_and_valid_ones_verify() {
    use crate::internal::fuzzing::{dpop_proof, dpop_proof_seeds, DPOP_METHOD, DPOP_URI, NOW};
    let seeds = dpop_proof_seeds();
    assert!((10..=20).contains(&seeds.len()), "{} seeds", seeds.len());
    for (name, seed) in &seeds {
        dpop_proof(seed.as_bytes());
        if name.starts_with("valid-") {
            let token = name
                .ends_with("-with-ath")
                .then_some(crate::internal::fuzzing::DPOP_TOKEN);
            let verdict = verifier().verify_at(seed, DPOP_METHOD, DPOP_URI, token, NOW);
            assert!(verdict.is_ok(), "{name}: {verdict:?}");
        }
    }
    for random in [&b""[..], b"\xff\xfe", b"a.b.c", b"GET\nhttps://x.example"] {
        dpop_proof(random);
    }
}
