//! A JWK Set given to `gatepass verify --jwks` is read for public keys only, from a file
//! and from a URL alike: an `oct` key, or a key carrying private members, is left out, and
//! a token it signed gets `unknown_key`; the same key's public half verifies.

use std::path::Path;
use std::process::Output;

use ring::{rand, rsa, signature};
use serde_json::{json, Map, Value};

use super::{jwks_answer, Answer, JwksServer};
use crate::support::*;

/// A key a JWKS might wrongly publish, and a token it signed.
struct Leaked {
    name: &'static str,
    /// The JWK as (wrongly) published: with its secret or private members.
    private: Value,
    /// Its public half, when it has one.
    public: Option<Value>,
    token: String,
}

fn jwk_value(map: Map<String, Value>) -> Value {
    Value::Object(map)
}

fn issued_by(key: gatepass::SigningKey) -> String {
    gatepass::Issuer::new(key.into(), ISS, AUD)
        .with_clock(std::sync::Arc::new(gatepass::ManualClock::new(NOW)))
        .access_token("alice")
        .issue()
        .unwrap()
        .token
}

fn leaked_oct() -> Leaked {
    let key = gatepass::SigningKey::from_hmac_secret(
        gatepass::Algorithm::HS256,
        &[42u8; 32],
        Some("oct"),
    )
    .unwrap();
    Leaked {
        name: "oct",
        private: jwk_value(key.to_private_jwk()),
        public: None,
        token: issued_by(key),
    }
}

fn leaked_ed25519() -> Leaked {
    let key =
        gatepass::SigningKey::generate_with_kid(gatepass::Algorithm::EdDSA, Some("ed-with-d"))
            .unwrap();
    let private = jwk_value(key.to_private_jwk());
    assert!(private.get("d").is_some());
    let public = serde_json::to_value(key.verifying_key().to_public_jwk().unwrap()).unwrap();
    Leaked {
        name: "Ed25519 with d",
        private,
        public: Some(public),
        token: issued_by(key),
    }
}

/// The RFC 7515 A.2 RSA key with its CRT members `p`, `q`, `dp`, `dq`, `qi` (and no `d`,
/// so the refusal is theirs), and an RS256 token it signed.
fn leaked_rsa() -> Leaked {
    let public =
        json!({"kty": "RSA", "kid": "rsa-with-pq", "alg": "RS256", "n": RFC7515_A2_N, "e": "AQAB"});
    let mut private = public.clone();
    for (member, value) in [
        ("p", RFC7515_A2_P),
        ("q", RFC7515_A2_Q),
        ("dp", RFC7515_A2_DP),
        ("dq", RFC7515_A2_DQ),
        ("qi", RFC7515_A2_QI),
    ] {
        private[member] = value.into();
    }
    let unb64 = |text: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .unwrap()
    };
    let pair = rsa::KeyPair::from_components(&rsa::KeyPairComponents {
        public_key: rsa::PublicKeyComponents {
            n: unb64(RFC7515_A2_N),
            e: unb64("AQAB"),
        },
        d: unb64(RFC7515_A2_D),
        p: unb64(RFC7515_A2_P),
        q: unb64(RFC7515_A2_Q),
        dP: unb64(RFC7515_A2_DP),
        dQ: unb64(RFC7515_A2_DQ),
        qInv: unb64(RFC7515_A2_QI),
    })
    .unwrap();
    let input = format!(
        "{}.{}",
        b64(r#"{"alg":"RS256","typ":"at+jwt","kid":"rsa-with-pq"}"#),
        b64(claims_with(&[]))
    );
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    Leaked {
        name: "RSA with p/q",
        private,
        public: Some(public),
        token: format!("{input}.{}", b64(sig)),
    }
}

fn leaked_keys() -> [Leaked; 3] {
    [leaked_oct(), leaked_ed25519(), leaked_rsa()]
}

/// A set with `key` and one unrelated good public key (so a fetched set is never empty,
/// which the client would refuse as a whole).
fn set_with(key: &Value) -> Value {
    let other = gatepass::SigningKey::generate(gatepass::Algorithm::EdDSA).unwrap();
    let other = serde_json::to_value(other.verifying_key().to_public_jwk().unwrap()).unwrap();
    json!({"keys": [key, other]})
}

fn cli_verify_jwks(source: &str, token: &str) -> Output {
    run_str(&[
        "verify",
        "--jwks",
        source,
        "--iss",
        ISS,
        "--aud",
        AUD,
        "--at",
        &NOW.to_string(),
        "--",
        token,
    ])
}

fn write_set(dir: &Path, name: &str, set: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, set.to_string()).unwrap();
    path.display().to_string()
}

#[test]
fn cli_verify_jwks_file_refuses_oct_and_private_keys_as_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    for leaked in leaked_keys() {
        let path = write_set(dir.path(), "leaked.json", &set_with(&leaked.private));
        let refused = cli_verify_jwks(&path, &leaked.token);
        assert_eq!(cli_rejection(&refused), "unknown_key", "{}", leaked.name);
        // The secret never reaches the output.
        let stderr = String::from_utf8_lossy(&refused.stderr);
        for member in ["d", "p", "k"] {
            if let Some(secret) = leaked.private.get(member).and_then(Value::as_str) {
                assert!(!stderr.contains(secret), "{}", leaked.name);
            }
        }
        if let Some(public) = &leaked.public {
            let path = write_set(dir.path(), "public.json", &set_with(public));
            let accepted = cli_verify_jwks(&path, &leaked.token);
            assert_eq!(
                stdout_json(&accepted)["claims"]["sub"],
                "alice",
                "{}",
                leaked.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_verify_jwks_url_refuses_oct_and_private_keys_as_unknown_key() {
    let server = JwksServer::start(Answer::Status(404)).await;
    for leaked in leaked_keys() {
        server.answer(jwks_answer(set_with(&leaked.private), None));
        let (url, token) = (server.url.clone(), leaked.token.clone());
        let refused = tokio::task::spawn_blocking(move || cli_verify_jwks(&url, &token))
            .await
            .unwrap();
        assert_eq!(cli_rejection(&refused), "unknown_key", "{}", leaked.name);
        if let Some(public) = &leaked.public {
            server.answer(jwks_answer(set_with(public), None));
            let (url, token) = (server.url.clone(), leaked.token.clone());
            let accepted = tokio::task::spawn_blocking(move || cli_verify_jwks(&url, &token))
                .await
                .unwrap();
            assert_eq!(
                stdout_json(&accepted)["claims"]["sub"],
                "alice",
                "{}",
                leaked.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetched_set_reports_each_private_key_as_skipped_by_member_name_only() {
    let leaked = leaked_keys();
    let set = json!({"keys": leaked.iter().map(|l| l.private.clone()).chain(
        leaked.iter().filter_map(|l| l.public.clone()).map(|mut p| {
            p["kid"] = format!("{}-public", p["kid"].as_str().unwrap()).into();
            p
        })
    ).collect::<Vec<_>>()});
    let server = JwksServer::start(jwks_answer(set, None)).await;
    let clock = std::sync::Arc::new(gatepass::ManualClock::new(NOW));
    let jwks = super::client(&server, &clock);
    assert_eq!(jwks.refresh().await, Ok(2));
    let skipped = jwks.status().skipped;
    let reasons: Vec<(Option<&str>, &gatepass::KeyRejected)> = skipped
        .iter()
        .map(|s| (s.kid.as_deref(), &s.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (Some("oct"), &gatepass::KeyRejected::SecretKeyInPublicSet),
            (
                Some("ed-with-d"),
                &gatepass::KeyRejected::PrivateKeyInPublicSet("d")
            ),
            (
                Some("rsa-with-pq"),
                &gatepass::KeyRejected::PrivateKeyInPublicSet("p")
            ),
        ]
    );
    // The report names the member, never its value.
    for (skip, leaked) in skipped.iter().zip(&leaked) {
        let shown = skip.to_string();
        for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            if let Some(secret) = leaked.private.get(member).and_then(Value::as_str) {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
    }
    let verifier = super::verifier(&jwks);
    for leaked in &leaked {
        assert_eq!(
            verifier.verify_access(&leaked.token).unwrap_err(),
            gatepass::VerifyError::UnknownKey,
            "{}",
            leaked.name
        );
    }
}
