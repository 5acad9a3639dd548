//! Targets over key import: the keyset file, single JWKs and JWK Sets.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::{
    Algorithm, AlgorithmFamily, KeyState, Keyset, SigningKey, VerificationKeys, VerifyingKey,
};

const MESSAGE: &[u8] = b"gatepass fuzz: a message to sign";

/// Target `keyset_json`: `Keyset::from_json` on arbitrary bytes.
///
/// Asserts: no panic; an accepted keyset keeps the contract's invariants (non-empty unique
/// kids, at most one active key per family); every key in it signs and verifies; `to_json`
/// is accepted again with the same kids, algorithms, states, dates and thumbprints, and is
/// a fixpoint; verification keys are exactly the active and retiring ones; the public JWK
/// Set holds no HMAC key, no private member and no revoked key.
pub fn keyset_json(data: &[u8]) {
    let Ok(keyset) = Keyset::from_json(data) else {
        return;
    };
    let mut kids = HashSet::new();
    let mut active_families = HashSet::new();
    for entry in keyset.entries() {
        assert!(!entry.kid().is_empty(), "empty kid accepted");
        assert!(
            kids.insert(entry.kid().to_owned()),
            "duplicate kid accepted"
        );
        if entry.state() == KeyState::Active {
            assert!(
                active_families.insert(entry.alg().family()),
                "two active keys in one family"
            );
        }
        assert_signs_and_verifies(entry.key(), entry.key().verifying_key());
    }

    let json = keyset.to_json();
    let again = Keyset::from_json(&json)
        .unwrap_or_else(|e| panic!("a keyset's own to_json is refused: {e}"));
    let summary = |k: &Keyset| {
        k.entries()
            .iter()
            .map(|e| {
                (
                    e.kid().to_owned(),
                    e.alg(),
                    e.state(),
                    e.created_at(),
                    e.activated_at(),
                    e.retired_at(),
                    e.key().verifying_key().thumbprint(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        summary(&keyset),
        summary(&again),
        "keyset does not round-trip"
    );
    assert_eq!(again.to_json(), json, "to_json is not a fixpoint");

    let verifying: Vec<_> = keyset
        .verification_keys()
        .iter()
        .map(|k| k.kid().map(str::to_owned))
        .collect();
    let expected: Vec<_> = keyset
        .entries()
        .iter()
        .filter(|e| matches!(e.state(), KeyState::Active | KeyState::Retiring))
        .map(|e| Some(e.kid().to_owned()))
        .collect();
    assert_eq!(
        verifying, expected,
        "verification keys are not the active and retiring ones"
    );

    let published = serde_json::to_value(keyset.public_jwks()).expect("a JWK Set serializes");
    for jwk in published["keys"].as_array().into_iter().flatten() {
        let kid = jwk["kid"].as_str().expect("published keys have a kid");
        let entry = keyset.get(kid).expect("published key is in the keyset");
        assert!(!entry.alg().is_symmetric(), "HMAC key published");
        assert_ne!(entry.state(), KeyState::Revoked, "revoked key published");
        for private in ["d", "k", "p", "q", "dp", "dq", "qi", "oth"] {
            assert!(
                jwk.get(private).is_none(),
                "private member {private} published"
            );
        }
    }
}

fn assert_signs_and_verifies(key: &SigningKey, verifying: &VerifyingKey) {
    let signature = key.sign(MESSAGE).expect("an accepted key signs");
    assert!(
        verifying.verify_signature(MESSAGE, &signature),
        "{} key's signature does not verify",
        key.alg()
    );
    let mut tampered = MESSAGE.to_vec();
    tampered[0] ^= 1;
    assert!(!verifying.verify_signature(&tampered, &signature));
}

/// Target `jwk_import`: the input as one JWK through `VerifyingKey::from_jwk` and
/// `SigningKey::from_jwk`, and as a JWK Set through `VerificationKeys::from_jwks_json`.
///
/// Asserts: no panic; every accepted key satisfies the docs/REFERENCE.md §5 import rules, checked
/// here from the JWK text (usage, algorithm fit, HMAC secret length, RSA size and exponent,
/// Ed25519 and EC lengths); an accepted signing key signs, round-trips through its private
/// JWK, and agrees with the verifying key imported from the same JWK; a published public
/// JWK re-imports with the same thumbprint; a JWK Set keeps exactly the public keys (no
/// `oct`, no private member) that import on their own and whose kid no other such key
/// shares, and reports every other entry.
pub fn jwk_import(data: &[u8]) {
    if let Ok(Value::Object(jwk)) = serde_json::from_slice(data) {
        import_one(&jwk);
    }
    import_set(data);
}

fn import_one(jwk: &Map<String, Value>) {
    let verifying = VerifyingKey::from_jwk(jwk);
    if let Ok(key) = &verifying {
        assert_import_rules(jwk, key.alg(), "verify");
        assert_eq!(key.kid(), jwk.get("kid").and_then(Value::as_str));
        assert_eq!(key.to_public_jwk().is_none(), key.alg().is_symmetric());
        if let Some(public) = key.to_public_jwk() {
            let Ok(Value::Object(public)) = serde_json::to_value(public) else {
                panic!("a public JWK serializes to an object");
            };
            let again = VerifyingKey::from_jwk(&public)
                .unwrap_or_else(|e| panic!("our own public JWK is refused: {e}"));
            assert_eq!(again.alg(), key.alg());
            assert_eq!(again.thumbprint(), key.thumbprint());
            assert_eq!(again.kid(), key.kid());
        }
    }
    let Ok(signing) = SigningKey::from_jwk(jwk) else {
        return;
    };
    assert_import_rules(jwk, signing.alg(), "sign");
    assert!(signing.alg().can_sign());
    match jwk.get("kid").and_then(Value::as_str) {
        Some(kid) => assert_eq!(signing.kid(), kid),
        None => assert_eq!(signing.kid(), signing.verifying_key().thumbprint()),
    }
    assert_signs_and_verifies(&signing, signing.verifying_key());
    let again = SigningKey::from_jwk(&signing.to_private_jwk())
        .unwrap_or_else(|e| panic!("our own private JWK is refused: {e}"));
    assert_eq!((again.kid(), again.alg()), (signing.kid(), signing.alg()));
    assert_signs_and_verifies(&again, signing.verifying_key());
    // The same JWK read as a verification key must be the same key, unless its usage
    // members allow signing only.
    if jwk.get("key_ops").is_none() {
        let verifying = verifying
            .unwrap_or_else(|e| panic!("a JWK that signs is refused as a verification key: {e}"));
        assert_eq!(verifying.alg(), signing.alg());
        assert_eq!(verifying.thumbprint(), signing.verifying_key().thumbprint());
        assert_signs_and_verifies(&signing, &verifying);
    }
}

fn import_set(data: &[u8]) {
    let Ok((keys, skipped)) = VerificationKeys::from_jwks_json(data) else {
        return;
    };
    let document: Value = serde_json::from_slice(data).expect("an accepted JWK Set is JSON");
    let entries = document["keys"]
        .as_array()
        .expect("an accepted JWK Set has keys");
    // Each entry on its own, public keys only: a set read for verification never takes a
    // symmetric key or one that carries a private member (judged here from the JWK text).
    let public = |jwk: &Map<String, Value>| {
        jwk.get("kty") != Some(&Value::from("oct"))
            && !["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
                .iter()
                .any(|m| jwk.contains_key(*m))
    };
    let alone: Vec<Option<VerifyingKey>> = entries
        .iter()
        .map(|entry| match entry {
            Value::Object(jwk) if public(jwk) => VerifyingKey::from_jwk(jwk).ok(),
            _ => None,
        })
        .collect();
    let shared_kid = |kid: Option<&str>| {
        kid.is_some_and(|kid| {
            alone
                .iter()
                .flatten()
                .filter(|k| k.kid() == Some(kid))
                .count()
                > 1
        })
    };
    let expected: Vec<_> = alone
        .iter()
        .flatten()
        .filter(|k| !shared_kid(k.kid()))
        .map(|k| (k.kid().map(str::to_owned), k.alg(), k.thumbprint()))
        .collect();
    let kept: Vec<_> = keys
        .iter()
        .map(|k| (k.kid().map(str::to_owned), k.alg(), k.thumbprint()))
        .collect();
    assert_eq!(kept, expected, "a JWK Set keeps the wrong keys");
    let mut reported: Vec<usize> = skipped.iter().map(|s| s.index).collect();
    reported.sort_unstable();
    let left_out: Vec<usize> = alone
        .iter()
        .enumerate()
        .filter(|(_, k)| k.as_ref().is_none_or(|k| shared_kid(k.kid())))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        reported, left_out,
        "left-out keys are not reported exactly once"
    );
}

/// Target `pem_import`: the input as a PEM public key, for every algorithm.
///
/// Asserts: no panic; an accepted key has the algorithm asked for, is never HMAC, and its
/// public JWK satisfies the same docs/REFERENCE.md §5 import rules as a JWK would and re-imports as
/// the same key (thumbprint, algorithm, kid); a key accepted for one algorithm is refused
/// for every algorithm of another family.
pub fn pem_import(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut family = None;
    for alg in Algorithm::ALL {
        let Ok(key) = VerifyingKey::from_pem(&text, alg, Some("pem")) else {
            continue;
        };
        assert_eq!(key.alg(), alg);
        assert_eq!(key.kid(), Some("pem"));
        assert!(
            family.is_none_or(|f| f == alg.family()),
            "one PEM key accepted for two algorithm families"
        );
        family = Some(alg.family());
        let Some(Ok(Value::Object(jwk))) = key.to_public_jwk().map(serde_json::to_value) else {
            panic!("a PEM key without a public JWK: {alg}");
        };
        assert_import_rules(&jwk, alg, "verify");
        let again = VerifyingKey::from_jwk(&jwk)
            .unwrap_or_else(|e| panic!("a PEM key's JWK is refused: {e}"));
        assert_eq!(
            (again.alg(), again.kid(), again.thumbprint()),
            (key.alg(), key.kid(), key.thumbprint())
        );
    }
}

fn bytes(jwk: &Map<String, Value>, member: &str) -> Vec<u8> {
    jwk.get(member)
        .and_then(Value::as_str)
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .unwrap_or_else(|| panic!("accepted JWK has no valid {member:?}"))
}

/// docs/REFERENCE.md §5, checked from the JWK's own text.
fn assert_import_rules(jwk: &Map<String, Value>, alg: Algorithm, operation: &str) {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if let Some(usage) = jwk.get("use") {
        assert_eq!(usage, "sig", "a key with use {usage} accepted");
    }
    if let Some(ops) = jwk.get("key_ops") {
        assert!(
            ops.as_array()
                .is_some_and(|ops| ops.iter().any(|op| op == operation)),
            "key_ops {ops} accepted for {operation}"
        );
    }
    let kty = text("kty");
    let crv = text("crv");
    match text("alg") {
        Some(name) => assert_eq!(name, alg.as_str()),
        None => {
            assert_eq!(operation, "verify", "a signing key without alg accepted");
            let implied = match (kty, crv) {
                (Some("OKP"), _) => Algorithm::EdDSA,
                (Some("EC"), Some("P-384")) => Algorithm::ES384,
                (Some("EC"), _) => Algorithm::ES256,
                _ => Algorithm::RS256,
            };
            assert_eq!(alg, implied, "alg-less JWK bound to the wrong algorithm");
        }
    }
    let private = operation == "sign";
    match alg.family() {
        AlgorithmFamily::Hmac => {
            assert_eq!(kty, Some("oct"));
            let min = match alg {
                Algorithm::HS384 => 48,
                Algorithm::HS512 => 64,
                _ => 32,
            };
            assert!(bytes(jwk, "k").len() >= min, "weak {alg} secret accepted");
        }
        AlgorithmFamily::EdDSA => {
            assert_eq!((kty, crv), (Some("OKP"), Some("Ed25519")));
            assert_eq!(bytes(jwk, "x").len(), 32);
            if private {
                assert_eq!(bytes(jwk, "d").len(), 32);
            }
        }
        AlgorithmFamily::Ecdsa => {
            let (name, len) = match alg {
                Algorithm::ES384 => ("P-384", 48),
                _ => ("P-256", 32),
            };
            assert_eq!((kty, crv), (Some("EC"), Some(name)));
            assert_eq!((bytes(jwk, "x").len(), bytes(jwk, "y").len()), (len, len));
            if private {
                assert_eq!(bytes(jwk, "d").len(), len);
            }
        }
        _ => {
            assert_eq!(kty, Some("RSA"));
            assert!(!private, "an RSA signing key accepted");
            let n = bytes(jwk, "n");
            let n: Vec<u8> = n.into_iter().skip_while(|b| *b == 0).collect();
            let bits = n
                .first()
                .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
            assert!((2048..=8192).contains(&bits), "RSA-{bits} accepted");
            let e = bytes(jwk, "e");
            let e: Vec<u8> = e.into_iter().skip_while(|b| *b == 0).collect();
            assert!(e.len() <= 8, "huge RSA exponent accepted");
            let e = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            assert!(
                e >= 65537 && e % 2 == 1 && e < (1 << 33),
                "RSA exponent {e} accepted"
            );
        }
    }
}
