//! Target `dpop_proof`: arbitrary bytes as a DPoP proof, and as a request to prove.

use std::sync::OnceLock;

use serde_json::{json, Value};

use super::fixture::{fixture, NOW};
use crate::{
    access_token_hash, Algorithm, DpopError, DpopKey, DpopVerifier, SigningKey, UntrustedToken,
    VerifyingKey,
};

/// The request every fuzzed proof is checked against.
pub const DPOP_METHOD: &str = "GET";
/// The request URI every fuzzed proof is checked against.
pub const DPOP_URI: &str = "https://fuzz.gatepass.test/resource";
/// The access token presented with the request (its hash is the `ath` a proof needs).
pub const DPOP_TOKEN: &str = "fuzz-access-token";

struct World {
    verifier: DpopVerifier,
    /// DPoP keys from the fixture's EdDSA, ES256 and ES384 signing keys (fixed, public).
    keys: Vec<DpopKey>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let keys = fixture()
            .signing_keys()
            .iter()
            .filter(|k| {
                matches!(
                    k.alg(),
                    Algorithm::EdDSA | Algorithm::ES256 | Algorithm::ES384
                )
            })
            .map(|k| {
                let copy = SigningKey::from_jwk(&k.to_private_jwk()).expect("fixture key");
                DpopKey::from_signing_key(copy).expect("fixture DPoP key")
            })
            .collect();
        World {
            verifier: DpopVerifier::builder()
                .build()
                .expect("default DPoP verifier"),
            keys,
        }
    })
}

/// The fixture's DPoP keys (EdDSA, ES256, ES384), for seeds and tests.
pub fn dpop_keys() -> &'static [DpopKey] {
    &world().keys
}

/// Target `dpop_proof`.
///
/// Asserts: no panic; verification never reports a replay, binding or proof-making error;
/// an accepted proof is what it says (type `dpop+jwt`, an allowed algorithm, a public
/// `jwk` whose RFC 7638 thumbprint is the reported `jkt`, `htm`/`htu`/`iat`/`ath`/`jti`
/// as the request and the verdict say); flipping any one of several bytes of an accepted
/// proof makes it rejected (random bytes never verify), as does another method or URI;
/// and a proof the fixture keys make for the input read as `METHOD\nURI` verifies for
/// that request exactly when the URI is an absolute http(s) URI, whose normal form is
/// stable.
pub fn dpop_proof(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let world = world();
    for token in [None, Some(DPOP_TOKEN)] {
        let verdict = world
            .verifier
            .verify_at(&text, DPOP_METHOD, DPOP_URI, token, NOW);
        match verdict {
            Ok(proof) => accepted(&text, token, &proof),
            Err(err) => assert!(
                !matches!(
                    err,
                    DpopError::Replayed
                        | DpopError::ReplayCache(_)
                        | DpopError::TokenNotBound
                        | DpopError::BindingMismatch
                        | DpopError::ProofCreation
                        | DpopError::NotExactlyOneProof
                        | DpopError::InvalidRequestUri
                ),
                "verify reported {err:?}"
            ),
        }
    }
    prove_request(&text);
}

fn accepted(text: &str, token: Option<&str>, proof: &crate::VerifiedProof) {
    let shown = UntrustedToken::new(text)
        .and_then(|t| t.insecure_inspect())
        .expect("an accepted proof inspects");
    let typ = shown.header["typ"]
        .as_str()
        .expect("typ")
        .to_ascii_lowercase();
    assert!(
        typ == "dpop+jwt" || typ == "application/dpop+jwt",
        "typ {typ}"
    );
    assert!(matches!(
        proof.alg(),
        Algorithm::EdDSA | Algorithm::ES256 | Algorithm::ES384
    ));
    assert_eq!(shown.header["alg"], proof.alg().as_str());
    let jwk = shown.header["jwk"].as_object().expect("jwk object");
    for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        assert!(!jwk.contains_key(private), "accepted a jwk with {private}");
    }
    let key = VerifyingKey::from_jwk(jwk).expect("accepted jwk imports");
    assert_eq!(key.thumbprint(), proof.jkt());
    assert_eq!(shown.claims["htm"], DPOP_METHOD);
    assert_eq!(shown.claims["jti"], proof.jti());
    assert_eq!(shown.claims["iat"], proof.iat());
    assert!(proof.iat().abs_diff(NOW) <= 65, "iat {}", proof.iat());
    assert!(proof.replay_until() > NOW);
    match token {
        Some(token) => assert_eq!(shown.claims["ath"], access_token_hash(token)),
        None => assert!(!shown.claims.contains_key("ath")),
    }
    let verifier = &world().verifier;
    assert_eq!(
        verifier.verify_at(text, "POST", DPOP_URI, token, NOW),
        Err(DpopError::MethodMismatch)
    );
    assert_eq!(
        verifier.verify_at(
            text,
            DPOP_METHOD,
            "https://fuzz.gatepass.test/other",
            token,
            NOW
        ),
        Err(DpopError::UriMismatch)
    );
    let bytes = text.as_bytes();
    for at in [0, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let mut mutant = bytes.to_vec();
        mutant[at] ^= 0x01;
        let mutant = String::from_utf8_lossy(&mutant);
        assert!(
            verifier
                .verify_at(&mutant, DPOP_METHOD, DPOP_URI, token, NOW)
                .is_err(),
            "a proof with byte {at} flipped verified"
        );
    }
}

/// The input as `METHOD\nURI`: a proof for it verifies exactly when the URI does.
fn prove_request(text: &str) {
    let (method, uri) = text.split_once('\n').unwrap_or(("GET", text));
    let normal = crate::dpop::normalize_uri(uri);
    if let Some(normal) = &normal {
        assert_eq!(crate::dpop::normalize_uri(normal).as_ref(), Some(normal));
    }
    let keys = &world().keys;
    let key = &keys[text.len() % keys.len()];
    let proof = key.proof(method, uri).make_at(NOW).expect("proof made");
    let verdict = world().verifier.verify_at(&proof, method, uri, None, NOW);
    if proof.len() > crate::MAX_TOKEN_BYTES {
        assert!(
            matches!(verdict, Err(DpopError::TooLarge(_))),
            "{verdict:?}"
        );
        return;
    }
    match (&normal, verdict) {
        (Some(_), Ok(verified)) => assert_eq!(verified.jkt(), key.thumbprint()),
        (None, Err(DpopError::InvalidClaim(crate::DpopClaim::Htu))) => {}
        (_, verdict) => panic!("proof for {method:?} {uri:?}: {verdict:?}"),
    }
}

/// Named seeds for `fuzz/corpus/dpop_proof`: valid proofs by each fixture key (with and
/// without `ath`), each check's violation, and requests in `METHOD\nURI` form.
pub fn dpop_proof_seeds() -> Vec<(String, String)> {
    let keys = dpop_keys();
    let mut seeds = Vec::new();
    for key in keys {
        let alg = key.alg().as_str().to_ascii_lowercase();
        let plain = key
            .proof(DPOP_METHOD, DPOP_URI)
            .make_at(NOW)
            .expect("proof");
        seeds.push((format!("valid-{alg}"), plain));
        let bound = key
            .proof(DPOP_METHOD, DPOP_URI)
            .access_token(DPOP_TOKEN)
            .make_at(NOW - 30)
            .expect("proof");
        seeds.push((format!("valid-{alg}-with-ath"), bound));
    }
    let key = &keys[1];
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk()});
    let claims = json!({"jti": "seed", "htm": DPOP_METHOD, "htu": DPOP_URI, "iat": NOW});
    let edits: [(&str, Value, Value); 9] = [
        ("typ-jwt", json!({"typ": "JWT"}), json!({})),
        ("alg-none", json!({"alg": "none"}), json!({})),
        ("alg-hs256", json!({"alg": "HS256"}), json!({})),
        (
            "private-jwk",
            json!({"jwk": key.signing_key().to_private_jwk()}),
            json!({}),
        ),
        ("crit", json!({"crit": ["htm"]}), json!({})),
        (
            "htu-other",
            json!({}),
            json!({"htu": "https://fuzz.gatepass.test/other?x#y"}),
        ),
        ("htm-post", json!({}), json!({"htm": "POST"})),
        ("iat-stale", json!({}), json!({"iat": NOW - 600})),
        ("jti-number", json!({}), json!({"jti": 7})),
    ];
    for (name, header_edit, claims_edit) in edits {
        let mut h = header.clone();
        let mut c = claims.clone();
        merge(&mut h, header_edit);
        merge(&mut c, claims_edit);
        seeds.push((name.to_owned(), sign(key.signing_key(), &h, &c)));
    }
    seeds.push((
        "request-post-with-query".into(),
        "POST\nHTTPS://Fuzz.Gatepass.Test:443/a/../b?q=1#f".into(),
    ));
    seeds.push(("request-relative".into(), "GET\n/resource".into()));
    seeds.push((
        "request-ipv6-port".into(),
        "PUT\nhttp://[::1]:8080/%7euser/%2f".into(),
    ));
    seeds
}

fn merge(target: &mut Value, edit: Value) {
    if let (Some(target), Value::Object(edit)) = (target.as_object_mut(), edit) {
        target.extend(edit);
    }
}

fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut jws = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).expect("json"));
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("json")));
    let signature = key.sign(jws.as_bytes()).expect("signature");
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
    jws
}
