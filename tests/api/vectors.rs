//! Standards-conformance vectors: RFC 7515, 7520, 7638 and 8037 examples and Wycheproof's
//! JSON Web Signature cases, read from `tests/vectors/` (its README.md gives the format,
//! the provenance of every file and why each skipped vector is skipped).
//!
//! Each vector goes through the library's real paths: key import (`VerifyingKey::from_jwk`,
//! `SigningKey::from_jwk`), the verifier's size, structure, algorithm, key and signature
//! checks (`internal::verify_jws`, for payloads that are not JWTs) and the full verifier
//! with a pinned clock (`Verifier::verify_access`). The RFC examples carry no `at+jwt`
//! type and no gatepass claims, so the full verifier must reject them, and *where* it does
//! is the point: `wrong_type` is only reachable after the signature verified.

#[path = "vectors/format.rs"]
mod format;
#[path = "vectors/wycheproof.rs"]
mod wycheproof;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatepass::{
    internal, Algorithm, KeyRejected, ManualClock, SigningKey, UnixTime, VerificationKeys,
    Verifier, VerifyError, VerifyingKey,
};
use serde_json::{Map, Value};

use format::{Record, VectorFile};

const ISSUER: &str = "https://vectors.gatepass.test";
const AUDIENCE: &str = "gatepass-vectors";

/// The clock for vectors that name no time: pinned, so no test reads the system clock.
const PINNED_NOW: UnixTime = 1_700_000_000;

/// A verifier trusting `keys`, its clock pinned at `now`.
fn verifier(keys: impl IntoIterator<Item = VerifyingKey>, now: UnixTime) -> Verifier {
    Verifier::builder(VerificationKeys::new(keys), ISSUER, AUDIENCE)
        .clock(Arc::new(ManualClock::new(now)))
        .build()
        .unwrap()
}

/// A verification outcome as CONTRACT.md §3 names it: `ok` or the error's kind.
fn kind<T>(result: &Result<T, VerifyError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    }
}

/// A key-import outcome: `ok` or the `KeyRejected` variant's name.
fn key_outcome<T>(result: &Result<T, KeyRejected>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("{e:?}")
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).unwrap()
}

/// `compact` with the lowest bit of its signature's first byte flipped.
fn flip_signature_bit(compact: &str) -> String {
    let (signing_input, signature) = compact.rsplit_once('.').unwrap();
    let mut signature = decode(signature);
    signature[0] ^= 1;
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The record's `jwk` with `alg` bound: inserted when the JWK has none (gatepass binds an
/// `oct` key only to a named algorithm, and an RSA JWK alone means RS256), else equal.
fn jwk(record: &Record) -> Map<String, Value> {
    let mut jwk = record
        .opt_object("jwk")
        .unwrap_or_else(|| panic!("{}: no jwk", record.at()));
    if let Some(alg) = record.opt_str("alg") {
        match jwk.get("alg") {
            Some(existing) => assert_eq!(existing, alg, "{}", record.at()),
            None => {
                jwk.insert("alg".into(), alg.into());
            }
        }
    }
    jwk
}

/// Import the record's `jwk` for verification, checking the outcome against
/// `key_import`. A JWK with a private `d` must import as a signing key too, to the same
/// public key, or be refused for the same reason.
fn import(record: &Record) -> Option<VerifyingKey> {
    let jwk = jwk(record);
    let expected = record.str("key_import");
    let verifying = VerifyingKey::from_jwk(&jwk);
    assert_eq!(key_outcome(&verifying), expected, "{}", record.at());
    if jwk.contains_key("d") {
        let signing = SigningKey::from_jwk(&jwk);
        assert_eq!(
            key_outcome(&signing),
            expected,
            "{}: as a signing key",
            record.at()
        );
        if let (Ok(signing), Ok(verifying)) = (&signing, &verifying) {
            assert_eq!(
                signing.verifying_key().thumbprint(),
                verifying.thumbprint(),
                "{}: the private key's public half is not the JWK's",
                record.at()
            );
        }
    }
    if let (Ok(key), Some(alg)) = (&verifying, jwk.get("alg").and_then(Value::as_str)) {
        assert_eq!(
            key.alg(),
            Algorithm::from_name(alg).unwrap(),
            "{}",
            record.at()
        );
    }
    verifying.ok()
}

/// Run a record's `compact` JWS through the library with `key` (if any) trusted:
///
/// * its segments decode to `header` and `payload` (the bytes the RFC says are signed);
/// * `internal::verify_jws` (size, structure, algorithm, key, signature) gives `jws_result`;
/// * the full verifier, its clock pinned at `now`, gives `token_result`;
/// * when the JWS verifies, its payload comes back, `verify_signature_only` agrees, and
///   one flipped signature bit makes it `bad_signature` everywhere the signature is
///   reached, so a `wrong_type` from the full verifier can only mean it verified.
fn check_jws(record: &Record, key: Option<&VerifyingKey>) {
    let at = record.at();
    let compact = record.str("compact");
    let parts: Vec<&str> = compact.split('.').collect();
    if let Some(header) = record.opt_str("header") {
        assert_eq!(decode(parts[0]), header.as_bytes(), "{at}: header octets");
    }
    if let Some(payload) = record.opt_str("payload") {
        assert_eq!(decode(parts[1]), payload.as_bytes(), "{at}: payload octets");
    }
    let verifier = verifier(key.cloned(), record.opt_u64("now").unwrap_or(PINNED_NOW));

    let jws = internal::verify_jws(&verifier, compact);
    assert_eq!(kind(&jws), record.str("jws_result"), "{at}: verify_jws");
    let token_result = record.opt_str("token_result");
    if let Some(expected) = token_result {
        let token = verifier.verify_access(compact);
        assert_eq!(kind(&token), expected, "{at}: Verifier::verify_access");
    }

    let Ok((header, payload)) = jws else { return };
    let key = key.unwrap_or_else(|| panic!("{at}: verified without a key"));
    assert_eq!(header.alg(), key.alg(), "{at}");
    assert_eq!(payload, decode(parts[1]), "{at}");
    assert!(internal::verify_signature_only(key, compact), "{at}");
    let tampered = flip_signature_bit(compact);
    assert!(!internal::verify_signature_only(key, &tampered), "{at}");
    let tampered_jws = internal::verify_jws(&verifier, &tampered);
    assert_eq!(kind(&tampered_jws), "bad_signature", "{at}: tampered");
    if let Some(expected) = token_result {
        // Structure is checked before the signature; anything later must now fail there.
        let expected = if expected == "malformed" {
            "malformed"
        } else {
            "bad_signature"
        };
        let tampered_token = verifier.verify_access(&tampered);
        assert_eq!(kind(&tampered_token), expected, "{at}: tampered token");
    }
}

/// Import and check one JWS record.
fn run_jws(file: &str, id: &str) {
    let record = VectorFile::load(file).take(id);
    let key = import(&record);
    check_jws(&record, key.as_ref());
}

/// A coverage check: the file holds exactly the vectors the tests below take.
fn assert_vectors(file: &str, tested: &[&str]) {
    assert_eq!(
        VectorFile::load(file).ids(),
        tested,
        "{file}: every vector needs a test and every test a vector"
    );
}

// RFC 7515, Appendix A ---------------------------------------------------------------------

const RFC7515: &str = "rfc7515_appendix_a.txt";

#[test]
fn rfc7515_file_holds_exactly_the_tested_vectors() {
    assert_vectors(RFC7515, &["A.1", "A.2", "A.3", "A.4", "A.5"]);
}

#[test]
fn rfc7515_a1_hs256_signature_verifies_and_typ_is_then_rejected() {
    run_jws(RFC7515, "A.1");
}

#[test]
fn rfc7515_a2_rs256_signature_verifies_and_missing_typ_is_then_rejected() {
    run_jws(RFC7515, "A.2");
}

#[test]
fn rfc7515_a3_es256_signature_verifies_and_missing_typ_is_then_rejected() {
    run_jws(RFC7515, "A.3");
}

#[test]
fn rfc7515_a4_es512_key_and_signature_are_refused_as_unsupported() {
    run_jws(RFC7515, "A.4");
}

#[test]
fn rfc7515_a5_unsecured_none_token_is_malformed_before_its_algorithm_is_read() {
    let record = VectorFile::load(RFC7515).take("A.5");
    check_jws(&record, None);
    // Not in the RFC: the same token given a (meaningless) signature part reaches the
    // algorithm check, where "none" is refused whatever key is trusted.
    let signed = format!("{}AA", record.str("compact"));
    let hs256 = SigningKey::generate(Algorithm::HS256).unwrap();
    let verifier = verifier([hs256.verifying_key().clone()], PINNED_NOW);
    assert_eq!(
        kind(&verifier.verify_access(&signed)),
        "unsupported_algorithm"
    );
    assert_eq!(
        kind(&internal::verify_jws(&verifier, &signed)),
        "unsupported_algorithm"
    );
}

// RFC 7520, Section 4 ----------------------------------------------------------------------

const RFC7520: &str = "rfc7520_section_4.txt";

#[test]
fn rfc7520_file_holds_exactly_the_tested_vectors() {
    assert_vectors(RFC7520, &["4.1", "4.2", "4.3", "4.4", "4.5"]);
}

#[test]
fn rfc7520_4_1_rs256_signature_verifies_with_the_key_its_kid_names() {
    run_jws(RFC7520, "4.1");
}

#[test]
fn rfc7520_4_2_ps384_signature_verifies_though_pss_is_randomized() {
    run_jws(RFC7520, "4.2");
}

#[test]
fn rfc7520_4_3_es512_is_refused_at_import_and_before_any_key_lookup() {
    run_jws(RFC7520, "4.3");
}

#[test]
fn rfc7520_4_4_hs256_signature_verifies_with_the_key_its_kid_names() {
    run_jws(RFC7520, "4.4");
}

#[test]
fn rfc7520_4_5_detached_content_is_malformed_and_verifies_once_attached() {
    let record = VectorFile::load(RFC7520).take("4.5");
    let key = import(&record).unwrap();
    check_jws(&record, Some(&key));
    let (header, signature) = record.str("compact").split_once("..").unwrap();
    let attached = format!("{header}.{}.{signature}", record.str("payload_b64"));
    let verifier = verifier([key], PINNED_NOW);
    assert_eq!(
        kind(&internal::verify_jws(&verifier, &attached)),
        record.str("attached_jws_result")
    );
}

// RFC 7638, Section 3.1 --------------------------------------------------------------------

const RFC7638: &str = "rfc7638_section_3_1.txt";

#[test]
fn rfc7638_file_holds_exactly_the_tested_vectors() {
    assert_vectors(RFC7638, &["3.1"]);
}

#[test]
fn rfc7638_3_1_rsa_key_thumbprint_ignores_alg_and_kid() {
    let record = VectorFile::load(RFC7638).take("3.1");
    let key = import(&record).unwrap();
    assert_eq!(
        key.thumbprint(),
        record.str("thumbprint"),
        "{}",
        record.at()
    );
}

// RFC 8037, Appendix A ---------------------------------------------------------------------

const RFC8037: &str = "rfc8037_appendix_a.txt";

#[test]
fn rfc8037_file_holds_exactly_the_tested_vectors() {
    assert_vectors(RFC8037, &["A.1", "A.2", "A.3", "A.4", "A.5", "A.6", "A.7"]);
}

#[test]
fn rfc8037_a1_ed25519_private_key_imports_and_derives_its_public_key() {
    let record = VectorFile::load(RFC8037).take("A.1");
    // `import` checks the signing key's public half against the JWK's "x".
    let key = import(&record).unwrap();
    assert_eq!(key.alg(), Algorithm::EdDSA);
}

#[test]
fn rfc8037_a2_ed25519_public_key_imports_for_eddsa_only() {
    let record = VectorFile::load(RFC8037).take("A.2");
    let key = import(&record).unwrap();
    let published = serde_json::to_value(key.to_public_jwk().unwrap()).unwrap();
    assert_eq!(published["x"], record.opt_object("jwk").unwrap()["x"]);
}

#[test]
fn rfc8037_a3_ed25519_thumbprint_matches() {
    let record = VectorFile::load(RFC8037).take("A.3");
    let key = import(&record).unwrap();
    let thumbprint = key.thumbprint();
    assert_eq!(thumbprint, record.str("thumbprint"));
    assert_eq!(hex(&decode(&thumbprint)), record.str("thumbprint_hex"));
}

#[test]
fn rfc8037_a4_ed25519_signature_over_plain_text_verifies_under_the_signing_key() {
    // `import` also imports the JWK as a signing key and checks that its public half is
    // the key verifying here.
    run_jws(RFC8037, "A.4");
}

#[test]
fn rfc8037_a5_ed25519_validation_needs_only_the_public_key() {
    run_jws(RFC8037, "A.5");
}

#[test]
fn rfc8037_a6_x25519_agreement_key_is_refused_for_signatures() {
    refused_everywhere(RFC8037, "A.6");
}

#[test]
fn rfc8037_a7_x448_agreement_key_is_refused_for_signatures() {
    refused_everywhere(RFC8037, "A.7");
}

/// The record's key is refused as `key_import` says, alone and inside a JWK Set (which
/// leaves it out and says why).
fn refused_everywhere(file: &str, id: &str) {
    let record = VectorFile::load(file).take(id);
    assert!(import(&record).is_none(), "{}", record.at());
    let jwk = jwk(&record);
    let jwks = serde_json::json!({ "keys": [jwk] }).to_string();
    let (keys, skipped) = VerificationKeys::from_jwks_json(jwks.as_bytes()).unwrap();
    assert!(keys.is_empty());
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        key_outcome::<()>(&Err(skipped[0].reason.clone())),
        record.str("key_import")
    );
    assert_eq!(skipped[0].kid.as_deref(), jwk["kid"].as_str());
}
