//! DPoP proofs (RFC 9449) made by third-party libraries, checked by gatepass: Node `jose`
//! (keys it generates itself, its `SignJWT` with the public key in the `jwk` header) and
//! PyJWT (keys gatepass generates, PyJWT's `jwt.encode`). ES256 and EdDSA proofs verify
//! and report the key's RFC 7638 thumbprint as jose computes it; HS256 "proofs" are
//! refused.

use gatepass::{Algorithm, Clock, DpopError, DpopVerifier, SigningKey, SystemClock, UnixTime};
use serde_json::{json, Map, Value};

use super::harness::{node_batch, python_batch, verdict};

const URI: &str = "https://api.example/orders";
const TOKEN: &str = "an-access-token";

fn claims(now: UnixTime, jti: &str) -> Value {
    json!({
        "jti": jti,
        "htm": "POST",
        "htu": "https://api.example/orders?page=1",
        "iat": now,
        "ath": gatepass::access_token_hash(TOKEN),
    })
}

fn public_part(private: &Value) -> Value {
    let public: Map<String, Value> = private
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| matches!(name.as_str(), "kty" | "crv" | "x" | "y"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Value::Object(public)
}

fn sign_op(lib: Option<&str>, private: &Value, alg: &str, public: &Value, claims: Value) -> Value {
    let mut op = json!({
        "op": "sign",
        "jwk": private,
        "header": {"typ": "dpop+jwt", "alg": alg, "jwk": public},
        "claims": claims,
    });
    if let Some(lib) = lib {
        op["lib"] = lib.into();
    }
    op
}

fn verify(proof: &str, now: UnixTime) -> Result<gatepass::VerifiedProof, DpopError> {
    DpopVerifier::builder()
        .build()
        .unwrap()
        .verify_at(proof, "POST", URI, Some(TOKEN), now)
}

#[test]
fn jose_es256_and_eddsa_proofs_verify_with_joses_thumbprint() {
    let now = SystemClock.now();
    let generated = node_batch(&[json!({
        "op": "generate",
        "keys": [{"alg": "ES256", "with_alg": false}, {"alg": "EdDSA", "with_alg": false}],
        "tokens": [],
    })]);
    let privates = verdict(&generated[0]).unwrap()["private"]
        .as_array()
        .unwrap()
        .clone();
    let mut ops = Vec::new();
    for (i, private) in privates.iter().enumerate() {
        let alg = private["alg"].as_str().unwrap();
        let public = public_part(private);
        ops.push(sign_op(
            None,
            private,
            alg,
            &public,
            claims(now, &format!("jose-{i}")),
        ));
        ops.push(json!({"op": "thumbprint", "jwk": public}));
    }
    let results = node_batch(&ops);
    for pair in results.chunks(2) {
        let proof = verdict(&pair[0]).unwrap()["token"].as_str().unwrap();
        let thumbprint = verdict(&pair[1]).unwrap()["thumbprint"].as_str().unwrap();
        let verified = verify(proof, now).unwrap_or_else(|e| panic!("{e}: {proof}"));
        assert_eq!(verified.jkt(), thumbprint);
        assert_eq!(
            verified.check_binding(Some(thumbprint)),
            Ok(()),
            "a token bound with jose's thumbprint is bound to the proof"
        );
    }
}

#[test]
fn pyjwt_es256_and_eddsa_proofs_verify() {
    let now = SystemClock.now();
    let mut expected = Vec::new();
    let mut ops = Vec::new();
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let key = SigningKey::generate(alg).unwrap();
        let private = Value::Object(key.to_private_jwk());
        let public = public_part(&private);
        ops.push(sign_op(
            Some("pyjwt"),
            &private,
            alg.as_str(),
            &public,
            claims(now, &format!("pyjwt-{alg}")),
        ));
        expected.push(key.verifying_key().thumbprint());
    }
    let results = python_batch(&ops);
    for (result, jkt) in results.iter().zip(expected) {
        let proof = verdict(result).unwrap()["token"].as_str().unwrap();
        let verified = verify(proof, now).unwrap_or_else(|e| panic!("{e}: {proof}"));
        assert_eq!(verified.jkt(), jkt);
    }
}

#[test]
fn hs256_proofs_from_jose_and_pyjwt_are_refused() {
    let now = SystemClock.now();
    let secret = json!({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"});
    // The secret in the header, as a naive client might send it; and a public EC key.
    let ec = SigningKey::generate(Algorithm::ES256).unwrap();
    let ec_public = public_part(&Value::Object(ec.to_private_jwk()));
    let mut proofs = Vec::new();
    for header_jwk in [&secret, &ec_public] {
        let op = sign_op(None, &secret, "HS256", header_jwk, claims(now, "hs-jose"));
        proofs.push(
            verdict(&node_batch(&[op])[0]).unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        let op = sign_op(
            Some("pyjwt"),
            &secret,
            "HS256",
            header_jwk,
            claims(now, "hs-py"),
        );
        proofs.push(
            verdict(&python_batch(&[op])[0]).unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for proof in proofs {
        assert_eq!(
            verify(&proof, now),
            Err(DpopError::UnsupportedAlgorithm),
            "{proof}"
        );
    }
}
