//! Known attacks on JWT verifiers, each refused with the contract's kind.

use std::sync::Arc;

use gatepass::{
    Algorithm, KeySelector, Malformed, ManualClock, VerificationKeys, Verifier, VerifyError,
    VerifyingKey,
};

use crate::support::*;

/// The RFC 7517 A.1 / RFC 7638 §3.1 RSA public key (2048 bits, e = 65537).
const RSA_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

fn hmac_sign(secret: &[u8], header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    format!(
        "{input}.{}",
        b64(ring::hmac::sign(&key, input.as_bytes()).as_ref())
    )
}

#[test]
fn alg_none_in_every_spelling_is_refused() {
    let fixture = Fixture::new();
    let verifier = fixture.verifier();
    for spelling in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{spelling}","typ":"at+jwt","kid":"hs"}}"#);
        // With some signature bytes: the algorithm stage refuses it.
        let signed = format!("{}.{}.{}", b64(&header), b64(claims_with(&[])), b64("x"));
        assert_eq!(
            verifier.verify_access(&signed).unwrap_err(),
            VerifyError::UnsupportedAlgorithm,
            "{spelling}"
        );
        assert_eq!(
            cli_rejection(&fixture.cli_verify(&signed, &[])),
            "unsupported_algorithm"
        );
        // The classic unsecured form has an empty signature: structurally not a JWS here.
        let unsecured = format!("{}.{}.", b64(&header), b64(claims_with(&[])));
        assert_eq!(
            verifier.verify_access(&unsecured).unwrap_err(),
            VerifyError::Malformed(Malformed::Segments),
            "{spelling}"
        );
    }
}

#[test]
fn public_keys_used_as_hmac_secrets_are_refused() {
    let fixture = Fixture::new();
    let verifier = fixture.verifier();
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let key = fixture
            .keyset
            .signing_key(&KeySelector::Algorithm(alg))
            .unwrap();
        let public = serde_json::to_vec(&key.verifying_key().to_public_jwk().unwrap()).unwrap();
        // Naming the asymmetric key: its algorithm is bound, HS256 is not it.
        let header = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#, key.kid());
        let token = hmac_sign(&public, &header, &claims_with(&[]));
        assert_eq!(
            verifier.verify_access(&token).unwrap_err(),
            VerifyError::UnsupportedAlgorithm,
            "{alg}"
        );
        // Without a kid the only HS256 key is the real HMAC key, and the MAC is wrong.
        let token = hmac_sign(
            &public,
            r#"{"alg":"HS256","typ":"at+jwt"}"#,
            &claims_with(&[]),
        );
        assert_eq!(
            verifier.verify_access(&token).unwrap_err(),
            VerifyError::BadSignature,
            "{alg}"
        );
    }
    // RSA (verify-only, from a JWK Set) to HMAC.
    let jwks = format!(
        r#"{{"keys":[{{"kty":"RSA","kid":"rsa","alg":"RS256","n":"{RSA_N}","e":"AQAB"}}]}}"#
    );
    let (keys, skipped) = VerificationKeys::from_jwks_json(jwks.as_bytes()).unwrap();
    assert!(skipped.is_empty());
    let rsa_verifier = Verifier::builder(keys, ISS, AUD)
        .clock(Arc::new(ManualClock::new(NOW)))
        .build()
        .unwrap();
    let token = hmac_sign(
        jwks.as_bytes(),
        r#"{"alg":"HS256","typ":"at+jwt","kid":"rsa"}"#,
        &claims_with(&[]),
    );
    assert_eq!(
        rsa_verifier.verify_access(&token).unwrap_err(),
        VerifyError::UnsupportedAlgorithm
    );
    let token = hmac_sign(
        jwks.as_bytes(),
        r#"{"alg":"HS256","typ":"at+jwt"}"#,
        &claims_with(&[]),
    );
    assert_eq!(
        rsa_verifier.verify_access(&token).unwrap_err(),
        VerifyError::UnknownKey
    );
}

#[test]
fn stripped_and_bit_flipped_signatures_are_refused() {
    let fixture = Fixture::new();
    let verifier = fixture.verifier();
    for alg in Algorithm::SIGNING
        .into_iter()
        .filter(|a| [Algorithm::EdDSA, Algorithm::ES256, Algorithm::HS256].contains(a))
    {
        let token = fixture
            .issuer(alg)
            .access_token("alice")
            .issue()
            .unwrap()
            .token;
        assert!(verifier.verify_access(&token).is_ok(), "{alg}");
        let (input, _) = token.rsplit_once('.').unwrap();
        assert_eq!(
            verifier
                .verify_access(&format!("{input}."))
                .unwrap_err()
                .kind(),
            "malformed",
            "{alg}"
        );
        assert_eq!(
            verifier.verify_access(input).unwrap_err().kind(),
            "malformed",
            "{alg}"
        );
        let sig = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.rsplit_once('.').unwrap().1,
        )
        .unwrap();
        for bit in [0, 7, sig.len() * 8 - 1] {
            let mut flipped = sig.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let forged = format!("{input}.{}", b64(&flipped));
            assert_eq!(
                verifier.verify_access(&forged).unwrap_err(),
                VerifyError::BadSignature,
                "{alg} bit {bit}"
            );
        }
        // A flipped bit in the signed claims is a bad signature too.
        let (header, rest) = input.split_once('.').unwrap();
        let mut claims =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, rest)
                .unwrap();
        let i = claims.iter().position(|b| *b == b'a').unwrap();
        claims[i] = b'b';
        let forged = format!("{header}.{}.{}", b64(&claims), b64(&sig));
        assert_eq!(
            verifier.verify_access(&forged).unwrap_err(),
            VerifyError::BadSignature,
            "{alg}"
        );
    }
}

#[test]
fn truncated_ecdsa_and_der_encoded_signatures_are_refused() {
    let fixture = Fixture::new();
    let token = fixture.access_token(Algorithm::ES256, "alice");
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap();
    assert_eq!(sig.len(), 64, "JOSE ECDSA signatures are fixed-length r||s");
    let short = format!("{input}.{}", b64(&sig[..63]));
    assert_eq!(
        fixture.verifier().verify_access(&short).unwrap_err(),
        VerifyError::BadSignature
    );
}

#[test]
fn unknown_critical_extensions_are_refused() {
    let fixture = Fixture::new();
    for crit in [
        r#"["exp"]"#,
        r#"["b64"]"#,
        r#"["http://example.invalid/ext"]"#,
    ] {
        let header = format!(
            r#"{{"alg":"HS256","typ":"at+jwt","kid":"hs","crit":{crit},"b64":true,"exp":1,"http://example.invalid/ext":1}}"#
        );
        let token = craft_hs256(&header, &claims_with(&[]));
        assert_eq!(
            fixture.verifier().verify_access(&token).unwrap_err(),
            VerifyError::UnsupportedAlgorithm,
            "{crit}"
        );
    }
    let token = craft_hs256(
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs","crit":"exp"}"#,
        &claims_with(&[]),
    );
    assert_eq!(
        fixture.verifier().verify_access(&token).unwrap_err().kind(),
        "malformed"
    );
}

#[test]
fn duplicate_claims_are_refused_instead_of_last_one_wins() {
    let fixture = Fixture::new();
    let claims =
        claims_with(&[]).replace("\"sub\":\"alice\"", "\"sub\":\"alice\",\"sub\":\"admin\"");
    let token = craft_hs256(&hs_header(), &claims);
    assert_eq!(
        fixture.verifier().verify_access(&token).unwrap_err(),
        VerifyError::Malformed(Malformed::ClaimsJson)
    );
    // Also when the second spelling is escaped.
    let claims = claims_with(&[]).replace(
        "\"sub\":\"alice\"",
        "\"sub\":\"alice\",\"s\\u0075b\":\"admin\"",
    );
    let token = craft_hs256(&hs_header(), &claims);
    assert_eq!(
        fixture.verifier().verify_access(&token).unwrap_err().kind(),
        "malformed"
    );
    // And in the header.
    let token = craft_hs256(
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs","kid":"other"}"#,
        &claims_with(&[]),
    );
    assert_eq!(
        fixture.verifier().verify_access(&token).unwrap_err(),
        VerifyError::Malformed(Malformed::HeaderJson)
    );
}

#[test]
fn refresh_tokens_are_not_access_tokens_and_vice_versa() {
    let fixture = Fixture::new();
    let issuer = fixture.issuer(Algorithm::EdDSA);
    let verifier = fixture.verifier();
    let refresh = issuer
        .refresh_token("alice", "sid-1", 0)
        .issue()
        .unwrap()
        .token;
    let access = issuer.access_token("alice").issue().unwrap().token;
    assert_eq!(
        verifier.verify_access(&refresh).unwrap_err(),
        VerifyError::WrongType
    );
    assert_eq!(
        verifier.verify_refresh(&access).unwrap_err(),
        VerifyError::WrongType
    );
    assert!(verifier.verify_refresh(&refresh).is_ok());
    assert_eq!(
        cli_rejection(&fixture.cli_verify(&refresh, &[])),
        "wrong_type"
    );
    assert!(fixture
        .cli_verify(&refresh, &["--type", "refresh"])
        .status
        .success());
    assert_eq!(
        cli_rejection(&fixture.cli_verify(&access, &["--type", "refresh"])),
        "wrong_type"
    );
    // typ is compared case-insensitively, with or without the application/ prefix.
    for typ in ["AT+JWT", "application/at+jwt", "Application/At+Jwt"] {
        let token = craft_hs256(
            &format!(r#"{{"alg":"HS256","typ":"{typ}","kid":"hs"}}"#),
            &claims_with(&[]),
        );
        assert!(verifier.verify_access(&token).is_ok(), "{typ}");
    }
    for typ in ["at+jwt ", "application/refresh+jwt", "jwt", "application/"] {
        let token = craft_hs256(
            &format!(r#"{{"alg":"HS256","typ":"{typ}","kid":"hs"}}"#),
            &claims_with(&[]),
        );
        assert_eq!(
            verifier.verify_access(&token).unwrap_err(),
            VerifyError::WrongType,
            "{typ}"
        );
    }
    // A refresh token needs sid and gen.
    let no_gen = craft_hs256(
        r#"{"alg":"HS256","typ":"refresh+jwt","kid":"hs"}"#,
        &claims_with(&[("sid", "\"s\"")]),
    );
    assert_eq!(
        verifier.verify_refresh(&no_gen).unwrap_err(),
        VerifyError::MissingClaim(gatepass::Claim::Gen)
    );
}

#[test]
fn an_rsa_key_from_pem_verifies_only_its_own_algorithm() {
    // A PEM key is bound to the algorithm the caller names.
    let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";
    let key = VerifyingKey::from_pem(pem, Algorithm::EdDSA, Some("ed")).unwrap();
    let verifier = Verifier::builder(VerificationKeys::new([key]), ISS, AUD)
        .build()
        .unwrap();
    let token = craft_hs256(
        r#"{"alg":"HS256","typ":"at+jwt","kid":"ed"}"#,
        &claims_with(&[]),
    );
    assert_eq!(
        verifier.verify_access(&token).unwrap_err(),
        VerifyError::UnsupportedAlgorithm
    );
}
