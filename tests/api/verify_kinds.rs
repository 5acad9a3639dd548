//! One case per CONTRACT §3 error kind, asserted through the library AND the CLI binary,
//! plus the contract's check order where two failures compete.

use gatepass::{Algorithm, AlgorithmSet, Claim, VerifyError};

use crate::support::*;

struct Case {
    name: &'static str,
    token: String,
    kind: &'static str,
    /// CLI flags (and the equivalent library configuration) this case needs.
    allowed: Option<Algorithm>,
    leeway: Option<u64>,
}

fn case(name: &'static str, token: String, kind: &'static str) -> Case {
    Case {
        name,
        token,
        kind,
        allowed: None,
        leeway: None,
    }
}

fn cases() -> Vec<Case> {
    let ok_header = hs_header();
    let ok_claims = claims_with(&[]);
    let good = craft_hs256(&ok_header, &ok_claims);
    let mut flipped = good.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let deep = format!("{}1{}", "[".repeat(32), "]".repeat(32));
    // "al\xFFce": 0xFF is never part of UTF-8 (RFC 8725 §3.7).
    let mut not_utf8 = ok_claims.clone().into_bytes();
    not_utf8[ok_claims.find("alice").unwrap() + 2] = 0xff;
    vec![
        case("three parts required", "abc.def".into(), "malformed"),
        case(
            "header not json",
            format!("{}.{}.c2ln", b64("nope"), b64(&ok_claims)),
            "malformed",
        ),
        case(
            "duplicate claim",
            craft_hs256(
                &ok_header,
                &claims_with(&[("x", "1")]).replace('}', ",\"x\":2}"),
            ),
            "malformed",
        ),
        case("padded base64", format!("{}=", good), "malformed"),
        case(
            "claims not UTF-8",
            craft_hs256_bytes(&ok_header, &not_utf8),
            "malformed",
        ),
        case(
            "over 8192 bytes",
            format!(
                "{}.{}.{}",
                "a".repeat(4000),
                "b".repeat(4000),
                "c".repeat(193)
            ),
            "too_large",
        ),
        case(
            "nested 33 deep",
            craft_hs256(&ok_header, &claims_with(&[("deep", &deep)])),
            "too_large",
        ),
        case(
            "alg none",
            format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"none","typ":"at+jwt"}"#),
                b64(&ok_claims)
            ),
            "unsupported_algorithm",
        ),
        case(
            "unknown crit",
            craft_hs256(
                r#"{"alg":"HS256","typ":"at+jwt","kid":"hs","crit":["exp"],"exp":1}"#,
                &ok_claims,
            ),
            "unsupported_algorithm",
        ),
        Case {
            allowed: Some(Algorithm::EdDSA),
            ..case("alg not allowed", good.clone(), "unsupported_algorithm")
        },
        case(
            "unknown kid",
            craft_hs256(r#"{"alg":"HS256","typ":"at+jwt","kid":"nope"}"#, &ok_claims),
            "unknown_key",
        ),
        case(
            "bad signature",
            String::from_utf8(flipped).unwrap(),
            "bad_signature",
        ),
        case(
            "typ JWT",
            craft_hs256(r#"{"alg":"HS256","typ":"JWT","kid":"hs"}"#, &ok_claims),
            "wrong_type",
        ),
        Case {
            leeway: Some(0),
            ..case(
                "exp == now at leeway 0",
                craft_hs256(&ok_header, &claims_with(&[("exp", &NOW.to_string())])),
                "expired",
            )
        },
        case(
            "nbf in the future",
            craft_hs256(
                &ok_header,
                &claims_with(&[("nbf", &(NOW + 31).to_string())]),
            ),
            "not_yet_valid",
        ),
        case(
            "wrong issuer",
            craft_hs256(
                &ok_header,
                &claims_with(&[("iss", "\"https://evil.test\"")]),
            ),
            "wrong_issuer",
        ),
        case(
            "wrong audience",
            craft_hs256(&ok_header, &claims_with(&[("aud", "[\"other\",\"x\"]")])),
            "wrong_audience",
        ),
        case(
            "missing jti",
            craft_hs256(&ok_header, &claims_with(&[("jti", "")])),
            "missing_claim",
        ),
        case(
            "exp as string",
            craft_hs256(&ok_header, &claims_with(&[("exp", "\"1800000300\"")])),
            "invalid_claim",
        ),
    ]
}

#[test]
fn every_error_kind_is_reported_by_the_library() {
    let fixture = Fixture::new();
    for case in cases() {
        let verifier = fixture.verifier_with(|mut b| {
            if let Some(alg) = case.allowed {
                b = b.algorithms(AlgorithmSet::from_iter([alg]));
            }
            if let Some(secs) = case.leeway {
                b = b.leeway(std::time::Duration::from_secs(secs));
            }
            b
        });
        let err = verifier.verify_access(&case.token).unwrap_err();
        assert_eq!(err.kind(), case.kind, "{}: {err}", case.name);
    }
}

#[test]
fn every_error_kind_is_reported_by_the_cli_as_one_json_line() {
    let fixture = Fixture::new();
    for case in cases() {
        let mut extra: Vec<String> = Vec::new();
        if let Some(alg) = case.allowed {
            extra.extend(["--alg".into(), alg.as_str().into()]);
        }
        if let Some(secs) = case.leeway {
            extra.extend(["--leeway".into(), secs.to_string()]);
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let output = fixture.cli_verify(&case.token, &extra);
        assert_eq!(cli_rejection(&output), case.kind, "{}", case.name);
    }
}

#[test]
fn a_good_token_is_accepted_with_header_and_claims_on_stdout() {
    let fixture = Fixture::new();
    let token = craft_hs256(&hs_header(), &claims_with(&[("role", "\"admin\"")]));
    let verified = fixture.verifier().verify_access(&token).unwrap();
    assert_eq!(verified.claims().custom["role"], "admin");
    let out = stdout_json(&fixture.cli_verify(&token, &[]));
    assert_eq!(out["header"]["alg"], "HS256");
    assert_eq!(out["claims"]["sub"], "alice");
    assert_eq!(out["claims"]["role"], "admin");
    assert!(out.as_object().unwrap().len() == 2);
}

#[test]
fn missing_and_invalid_claims_name_the_claim() {
    let fixture = Fixture::new();
    let verifier = fixture.verifier();
    for (name, claim) in [
        ("iss", Claim::Iss),
        ("sub", Claim::Sub),
        ("aud", Claim::Aud),
        ("exp", Claim::Exp),
        ("iat", Claim::Iat),
        ("jti", Claim::Jti),
    ] {
        let token = craft_hs256(&hs_header(), &claims_with(&[(name, "")]));
        assert_eq!(
            verifier.verify_access(&token).unwrap_err(),
            VerifyError::MissingClaim(claim),
            "{name}"
        );
        let token = craft_hs256(&hs_header(), &claims_with(&[(name, "null")]));
        assert_eq!(
            verifier.verify_access(&token).unwrap_err(),
            VerifyError::InvalidClaim(claim),
            "{name}"
        );
    }
}

#[test]
fn registered_claim_types_and_ranges_are_enforced() {
    let fixture = Fixture::new();
    let verifier = fixture.verifier();
    let invalid = [
        ("exp", "1800000300.0"),
        ("exp", "1e400"),
        ("exp", "-1"),
        ("exp", "9007199254740992"),
        ("iat", "\"1800000000\""),
        ("nbf", "true"),
        ("iss", "1"),
        ("iss", "[\"https://auth.test\"]"),
        ("sub", "{}"),
        ("jti", "7"),
        ("aud", "[]"),
        ("aud", "[\"api\",3]"),
        ("aud", "{\"api\":1}"),
        ("sid", "12"),
    ];
    for (name, value) in invalid {
        let token = craft_hs256(&hs_header(), &claims_with(&[(name, value)]));
        let err = verifier.verify_access(&token).unwrap_err();
        assert_eq!(err.kind(), "invalid_claim", "{name}={value}: {err}");
    }
    // The largest safe integer is a valid exp.
    let token = craft_hs256(&hs_header(), &claims_with(&[("exp", "9007199254740991")]));
    assert!(verifier.verify_access(&token).is_ok());
}

#[test]
fn time_checks_follow_the_contract_boundaries() {
    let fixture = Fixture::new();
    let at = |leeway: u64, claims: &[(&str, &str)]| {
        let verifier = fixture.verifier_with(|b| b.leeway(std::time::Duration::from_secs(leeway)));
        verifier
            .verify_access(&craft_hs256(&hs_header(), &claims_with(claims)))
            .map(|_| ())
            .map_err(|e| e.kind())
    };
    let t = |n: u64| n.to_string();
    // now >= exp + leeway is expired; one second earlier is fine.
    assert_eq!(at(30, &[("exp", &t(NOW - 30))]), Err("expired"));
    assert_eq!(at(30, &[("exp", &t(NOW - 29))]), Ok(()));
    assert_eq!(at(0, &[("exp", &t(NOW + 1))]), Ok(()));
    // now < nbf - leeway is not yet valid.
    assert_eq!(at(30, &[("nbf", &t(NOW + 30))]), Ok(()));
    assert_eq!(at(30, &[("nbf", &t(NOW + 31))]), Err("not_yet_valid"));
    // iat > now + leeway is not yet valid.
    assert_eq!(at(30, &[("iat", &t(NOW + 30))]), Ok(()));
    assert_eq!(at(30, &[("iat", &t(NOW + 31))]), Err("not_yet_valid"));
    // Expired is reported before not-yet-valid.
    assert_eq!(
        at(0, &[("exp", &t(NOW)), ("nbf", &t(NOW + 100))]),
        Err("expired")
    );
}

#[test]
fn max_age_counts_from_iat_plus_leeway() {
    let fixture = Fixture::new();
    let token = craft_hs256(
        &hs_header(),
        &claims_with(&[
            ("iat", &(NOW - 100).to_string()),
            ("exp", &(NOW + 1000).to_string()),
        ]),
    );
    let strict = fixture.verifier_with(|b| b.max_age(std::time::Duration::from_secs(70)));
    assert_eq!(
        strict.verify_access(&token).unwrap_err(),
        VerifyError::Expired
    );
    let loose = fixture.verifier_with(|b| b.max_age(std::time::Duration::from_secs(71)));
    assert!(loose.verify_access(&token).is_ok());
    assert_eq!(
        cli_rejection(&fixture.cli_verify(&token, &["--max-age", "70"])),
        "expired"
    );
}

#[test]
fn check_order_reports_the_first_failure() {
    let fixture = Fixture::new();
    let verifier = fixture.verifier();
    let bad_claims = claims_with(&[("iss", "1"), ("exp", "1")]);
    // Signature before claims: a forged token with bad claims is a bad signature.
    let forged = format!(
        "{}.{}.{}",
        b64(hs_header()),
        b64(&bad_claims),
        b64([0u8; 32])
    );
    assert_eq!(
        verifier.verify_access(&forged).unwrap_err(),
        VerifyError::BadSignature
    );
    // Type before claims.
    let jwt = craft_hs256(r#"{"alg":"HS256","typ":"JWT","kid":"hs"}"#, &bad_claims);
    assert_eq!(
        verifier.verify_access(&jwt).unwrap_err(),
        VerifyError::WrongType
    );
    // Claim types before time, time before issuer, issuer before audience.
    let token = craft_hs256(&hs_header(), &claims_with(&[("exp", "1"), ("jti", "1")]));
    assert_eq!(
        verifier.verify_access(&token).unwrap_err(),
        VerifyError::InvalidClaim(Claim::Jti)
    );
    let token = craft_hs256(
        &hs_header(),
        &claims_with(&[("exp", "1"), ("iss", "\"x\"")]),
    );
    assert_eq!(
        verifier.verify_access(&token).unwrap_err(),
        VerifyError::Expired
    );
    let token = craft_hs256(
        &hs_header(),
        &claims_with(&[("iss", "\"x\""), ("aud", "\"y\"")]),
    );
    assert_eq!(
        verifier.verify_access(&token).unwrap_err(),
        VerifyError::WrongIssuer
    );
    // Algorithm before key: alg none with an unknown kid is unsupported, not unknown.
    let none = format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"none","kid":"nope"}"#),
        b64(claims_with(&[]))
    );
    assert_eq!(
        verifier.verify_access(&none).unwrap_err(),
        VerifyError::UnsupportedAlgorithm
    );
    // Structure before algorithm: duplicate header members with alg none is malformed.
    let dup = format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"none","alg":"HS256"}"#),
        b64(claims_with(&[]))
    );
    assert_eq!(
        verifier.verify_access(&dup).unwrap_err().kind(),
        "malformed"
    );
}

#[test]
fn pending_and_revoked_keys_do_not_verify() {
    let mut fixture = Fixture::new();
    let pending = fixture
        .keyset
        .get(&fixture.pending_kid)
        .unwrap()
        .key()
        .clone();
    let issuer = gatepass::Issuer::new(pending, ISS, AUD)
        .with_clock(std::sync::Arc::new(gatepass::ManualClock::new(NOW)));
    let token = issuer.access_token("bob").issue().unwrap().token;
    assert_eq!(
        fixture.verifier().verify_access(&token).unwrap_err(),
        VerifyError::UnknownKey
    );
    assert_eq!(
        cli_rejection(&fixture.cli_verify(&token, &[])),
        "unknown_key"
    );
    // Activated, it verifies; revoked, it stops.
    let kid = fixture.pending_kid.clone();
    fixture.keyset.activate(&kid, NOW).unwrap();
    assert!(fixture.verifier().verify_access(&token).is_ok());
    fixture.keyset.revoke(&kid, NOW).unwrap();
    assert_eq!(
        fixture.verifier().verify_access(&token).unwrap_err(),
        VerifyError::UnknownKey
    );
}

#[test]
fn leeway_above_300_is_a_usage_error() {
    let fixture = Fixture::new();
    let token = craft_hs256(&hs_header(), &claims_with(&[]));
    let out = fixture.cli_verify(&token, &["--leeway", "301"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(fixture
        .cli_verify(&token, &["--leeway", "300"])
        .status
        .success());
}
