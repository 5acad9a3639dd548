//! The bodies of the cargo-fuzz targets in `fuzz/fuzz_targets/`, one function per target.
//!
//! Each takes the raw fuzzer input and asserts properties with `assert!`/`panic!`, so a
//! violated property crashes the fuzzer just like a bug that panics on its own would. The
//! same functions replay the committed corpora in `cargo test` (`tests/api/fuzz_corpus.rs`),
//! so the properties are checked on stable without libFuzzer.
//!
//! Everything runs against one fixed world (`fixture`): a key per algorithm built from
//! published JWKs, an issuer and audience, and a pinned clock. See `docs/FUZZING.md`.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "property assertions: a violated property must crash the fuzzer"
)]

mod dpop;
mod fixture;
#[cfg(feature = "axum")]
mod http;
mod journal;
#[cfg(feature = "jwks-client")]
mod jwks;
mod keys;
mod model;
mod profiles;
mod roundtrip;
mod sessions;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

pub use dpop::{dpop_keys, dpop_proof, dpop_proof_seeds, DPOP_METHOD, DPOP_TOKEN, DPOP_URI};
pub use fixture::{
    fixture, Fixture, AUDIENCE, ISSUED_AT, ISSUER, LEEWAY, NOW, RSA_ALGORITHMS, RSA_D, RSA_DP,
    RSA_DQ, RSA_E, RSA_N, RSA_P, RSA_Q, RSA_QI,
};
#[cfg(feature = "axum")]
pub use http::{bearer_header, cookie_header};
pub use journal::revocation_journal;
#[cfg(feature = "jwks-client")]
pub use jwks::jwks_cache_control;
pub use keys::{jwk_import, keyset_json, pem_import};
pub use roundtrip::roundtrip;
pub use sessions::refresh_rotation;

use crate::{
    Header, InsecureInspection, Malformed, TokenType, TooLarge, UntrustedToken, Verified,
    VerifyError, MAX_TOKEN_BYTES,
};

/// Run an in-process future (a store, whose file journal answers from its writer thread;
/// a layer over a ready service) to completion on this thread.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    crate::revocation::block_on(future)
}

/// A verification result reduced to comparable data: the header and the claims as JSON.
type Outcome = Result<(Header, Value), VerifyError>;

fn outcome<T: Serialize>(result: Result<Verified<T>, VerifyError>) -> Outcome {
    result.map(|verified| {
        let (header, claims) = verified.into_parts();
        let claims = serde_json::to_value(claims).expect("verified claims serialize");
        (header, claims)
    })
}

fn verify(token: &str, kind: TokenType) -> Outcome {
    let verifier = fixture().verifier();
    match kind {
        TokenType::Refresh => outcome(verifier.verify_refresh_at(token, NOW)),
        _ => outcome(verifier.verify_access_at(token, NOW)),
    }
}

/// Split a compact token into its signing input and decoded signature.
fn signing_parts(token: &str) -> Option<(&[u8], Vec<u8>)> {
    let (input, signature) = token.rsplit_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    Some((input.as_bytes(), signature))
}

/// Target `verify_token`: arbitrary bytes through the full verifier, as an access and as
/// a refresh token.
///
/// Asserts: no panic; every error is a docs/REFERENCE.md §1 kind; the length cap is exactly 8192
/// bytes; structural errors are the ones `insecure_inspect` reports; the algorithm, key and
/// signature stages agree with [`model`](self) and an independent signature oracle (so a
/// token verifies only if one of the fixture keys really signed exactly these bytes: random
/// bytes never verify); an accepted token's header and claims are exactly what it carries,
/// satisfy every claim rule, and re-encode to the same bytes; no token is both an access
/// and a refresh token; the `EdDSA`-only verifier accepts nothing else; verifying twice
/// gives the same answer. The typed claims paths (owned, one custom claim, borrowed) reach
/// the map path's verdict kind and, on acceptance, its header, registered claims, scopes
/// and custom claim value. The jwt profile (plain, without the audience check, requiring
/// `scope`) gives the same size, structure, algorithm, key and signature verdicts as the
/// gatepass profile, accepts every access token the gatepass profile accepts with the same
/// claims and scopes, and never accepts a `typ` other than none, `JWT` or `at+jwt`.
pub fn verify_token(data: &[u8]) {
    let token = String::from_utf8_lossy(data);
    let inspected = UntrustedToken::new(&token).and_then(|t| t.insecure_inspect());
    let access = verify(&token, TokenType::Access);
    let refresh = verify(&token, TokenType::Refresh);
    check_verdict(&token, TokenType::Access, &inspected, &access);
    check_verdict(&token, TokenType::Refresh, &inspected, &refresh);
    assert!(
        access.is_err() || refresh.is_err(),
        "one token accepted both as an access and as a refresh token"
    );
    assert_eq!(
        verify(&token, TokenType::Access),
        access,
        "verification is not deterministic"
    );

    let eddsa_only = outcome(fixture().eddsa_only().verify_access_at(&token, NOW));
    let header_alg = inspected
        .as_ref()
        .ok()
        .and_then(|i| i.header.get("alg"))
        .and_then(Value::as_str);
    match &access {
        Err(e) if model::stage(e) == 0 => assert_eq!(&eddsa_only, &access),
        Err(VerifyError::UnsupportedAlgorithm) => assert_eq!(&eddsa_only, &access),
        _ if header_alg != Some("EdDSA") => assert_eq!(
            eddsa_only,
            Err(VerifyError::UnsupportedAlgorithm),
            "the allow-list let {header_alg:?} through"
        ),
        _ => assert_eq!(eddsa_only, access),
    }

    let map = fixture().verifier().verify_access_at(&token, NOW);
    profiles::check_typed(&token, &map);
    let header = inspected.as_ref().ok().map(|i| &i.header);
    profiles::check_jwt(&token, header, &map);
}

fn check_verdict(
    token: &str,
    kind: TokenType,
    inspected: &Result<InsecureInspection, VerifyError>,
    result: &Outcome,
) {
    if let Err(e) = result {
        assert!(
            model::ERROR_KINDS.contains(&e.kind()) && e.kind() != "revoked",
            "{kind} verification returned {e:?}, not a contract kind"
        );
    }
    assert_eq!(
        token.len() > MAX_TOKEN_BYTES,
        matches!(result, Err(VerifyError::TooLarge(TooLarge::Length { .. }))),
        "the length cap is not exactly {MAX_TOKEN_BYTES} bytes ({} bytes: {result:?})",
        token.len()
    );
    let inspection = match inspected {
        Ok(inspection) => inspection,
        Err(structural) => {
            // Structure is checked first, with the same strictness as `insecure_inspect`.
            match result {
                // Verification also type-checks the header before reading the claims, so
                // a `malformed` may name another reason: the contract fixes only the kind.
                Err(e)
                    if e.kind() == structural.kind()
                        && (e.kind() == "malformed" || e == structural) => {}
                Err(e)
                    if *structural == VerifyError::Malformed(Malformed::ClaimsJson)
                        && model::stage(e) > 0
                        && only_huge_numbers(token) => {}
                other => {
                    panic!("inspect says {structural:?} but {kind} verification says {other:?}")
                }
            }
            return;
        }
    };
    let (input, signature) = signing_parts(token).expect("inspect accepted the token's shape");
    let model = model::key_stage(fixture(), &inspection.header, input, &signature);
    let key = match (model, result) {
        (Err(model), Err(actual)) => {
            model::assert_same_error(&model, actual, kind.as_str());
            return;
        }
        (Err(model), Ok(_)) => panic!("{kind} token accepted; the contract says {model:?}"),
        (Ok(_), Err(actual)) => {
            // The signature is genuine: only a claim check may fail, typ first.
            assert_eq!(
                model::stage(actual),
                4,
                "{kind}: genuine token refused with {actual:?}"
            );
            if !model::typ_accepted(&inspection.header, kind) {
                assert_eq!(actual, &VerifyError::WrongType);
            }
            return;
        }
        (Ok(key), Ok(_)) => key,
    };
    let Ok((header, claims)) = result else {
        unreachable!()
    };
    assert_eq!(header.alg(), key.alg());
    assert!(model::typ_accepted(&inspection.header, kind));
    assert_eq!(
        header.to_json(),
        inspection.header,
        "verified header differs from the token's"
    );
    assert_eq!(
        claims,
        &Value::Object(inspection.claims.clone()),
        "verified claims differ from the token's"
    );
    let members: Vec<_> = inspection
        .claims
        .iter()
        .map(|(n, v)| (n.clone(), Some(v.clone())))
        .collect();
    assert_eq!(model::claims_stage(&members, kind), Ok(()));
    // Canonical base64url: an accepted token is the only spelling of its contents.
    for segment in token.split('.') {
        let bytes = URL_SAFE_NO_PAD
            .decode(segment)
            .expect("accepted segment decodes");
        assert_eq!(
            URL_SAFE_NO_PAD.encode(bytes),
            segment,
            "non-canonical segment accepted"
        );
    }
}

/// Whether the only thing `insecure_inspect` cannot show in these claims is a number
/// beyond any double (`"exp": 1e400`, `"x": [1e400]`): verification reads such a claim as
/// `invalid_claim` (docs/REFERENCE.md §1), while the untyped inspection has no value to show.
/// Decided without the library's JSON code: every number literal outside strings that
/// overflows an `f64` is replaced by `0`, and the result must then inspect cleanly.
fn only_huge_numbers(token: &str) -> bool {
    let Some(claims) = token
        .split('.')
        .nth(1)
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        .and_then(|c| String::from_utf8(c).ok())
    else {
        return false;
    };
    let mut tamed = String::with_capacity(claims.len());
    let mut chars = claims.chars().peekable();
    let mut replaced = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                tamed.push(c);
                while let Some(c) = chars.next() {
                    tamed.push(c);
                    match c {
                        '\\' => tamed.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '-' | '0'..='9' => {
                let mut literal = String::from(c);
                while let Some(&next) = chars.peek() {
                    if !matches!(next, '0'..='9' | '.' | 'e' | 'E' | '+' | '-') {
                        break;
                    }
                    literal.push(next);
                    chars.next();
                }
                if literal.parse::<f64>().is_ok_and(f64::is_infinite) {
                    tamed.push('0');
                    replaced = true;
                } else {
                    tamed.push_str(&literal);
                }
            }
            _ => tamed.push(c),
        }
    }
    let header = token.split('.').next().unwrap_or_default();
    let rebuilt = format!("{header}.{}.c2ln", URL_SAFE_NO_PAD.encode(tamed));
    replaced
        && UntrustedToken::with_limit(&rebuilt, usize::MAX)
            .and_then(|t| t.insecure_inspect())
            .is_ok()
}

/// Target `parse_header_claims`: `insecure_inspect`, then re-serialize the header and
/// claims it returned, re-encode, and inspect again.
///
/// Asserts: no panic; what inspection shows survives a serialize/parse round trip exactly
/// (same maps), and a second round trip reproduces the same bytes.
pub fn parse_header_claims(data: &[u8]) {
    let token = String::from_utf8_lossy(data);
    let Ok(first) = UntrustedToken::new(&token).and_then(|t| t.insecure_inspect()) else {
        return;
    };
    let signature = token.rsplit('.').next().unwrap_or("c2ln");
    let encoded = reencode(&first, signature);
    // Re-serializing may lengthen the token (`1e2` becomes `100.0`): no length cap here.
    let second = UntrustedToken::with_limit(&encoded, usize::MAX)
        .and_then(|t| t.insecure_inspect())
        .unwrap_or_else(|e| panic!("re-encoded header and claims refused: {e:?}"));
    assert_eq!(first, second, "inspection does not round-trip");
    assert_eq!(
        reencode(&second, signature),
        encoded,
        "re-encoding is not a fixpoint"
    );
}

fn reencode(inspection: &InsecureInspection, signature: &str) -> String {
    let header = serde_json::to_vec(&inspection.header).expect("a map serializes");
    let claims = serde_json::to_vec(&inspection.claims).expect("a map serializes");
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    )
}
