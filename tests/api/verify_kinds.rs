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

/// CONTRACT §3: out-of-range numbers, "even beyond a double such as `1e400`", make a claim
/// invalid; `malformed` is for structure. Found by review: only `exp`/`iat`/`nbf` were read
/// from their raw text, so `"iss": 1e400` or `"aud": [1e400]` failed the JSON parse.
#[test]
fn numbers_beyond_a_double_make_a_claim_invalid_not_the_token_malformed() {
    let fixture = Fixture::new();
    let verifier = fixture.verifier();
    let cases = [
        ("iss", "1e400", Claim::Iss),
        ("sub", "-1e400", Claim::Sub),
        ("aud", "1e400", Claim::Aud),
        ("aud", "[\"api\",1e400]", Claim::Aud),
        ("exp", "[1e400]", Claim::Exp),
        ("iat", "{\"a\":1e400}", Claim::Iat),
        ("jti", "1E+400", Claim::Jti),
        ("sid", "1e400", Claim::Sid),
        // Custom claims: well-formed JSON no claims map can hold, at any depth.
        ("x", "1e400", Claim::Custom),
        ("x", "{\"a\":[1,{\"b\":-1e400}]}", Claim::Custom),
    ];
    for (name, value, claim) in cases {
        let token = craft_hs256(&hs_header(), &claims_with(&[(name, value)]));
        assert_eq!(
            verifier.verify_access(&token),
            Err(VerifyError::InvalidClaim(claim)),
            "{name}={value}"
        );
    }
    // Registered claims are judged first, and time, issuer and audience before a custom
    // claim; revocation comes after all of them.
    let both = claims_with(&[("x", "1e400"), ("sub", "1")]);
    assert_eq!(
        verifier.verify_access(&craft_hs256(&hs_header(), &both)),
        Err(VerifyError::InvalidClaim(Claim::Sub))
    );
    let expired = claims_with(&[("x", "1e400"), ("exp", &(NOW - 3600).to_string())]);
    assert_eq!(
        verifier.verify_access(&craft_hs256(&hs_header(), &expired)),
        Err(VerifyError::Expired)
    );
    // Structure still comes first: a duplicate anywhere beside a huge number is malformed,
    // and so is a lone surrogate.
    for claims in [
        claims_with(&[("x", "[1e400,{\"c\":1,\"c\":2}]")]),
        claims_with(&[("aud", "[1e400,{\"c\":1,\"c\":2}]")]),
        claims_with(&[("x", "1e400"), ("y", "\"\\ud800\"")]),
        claims_with(&[("iss", "\"\\ud800\"")]),
    ] {
        let err = verifier
            .verify_access(&craft_hs256(&hs_header(), &claims))
            .unwrap_err();
        assert_eq!(err.kind(), "malformed", "{claims}: {err}");
    }
    // And no claim is judged before the signature.
    let token = craft_hs256(&hs_header(), &claims_with(&[("x", "1e400")]));
    let (unsigned, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{unsigned}.{}", b64([0u8; 32]));
    assert_eq!(
        verifier.verify_access(&forged),
        Err(VerifyError::BadSignature)
    );
}

/// The issuer never hands out a token that every verifier refuses as `too_large`: claims
/// nested deeper than 32 levels, or a token over 8192 bytes. Right at the limits it issues,
/// and the token verifies.
#[test]
fn the_issuer_refuses_tokens_every_verifier_would_call_too_large() {
    use gatepass::{IssueError, TooLarge, MAX_TOKEN_BYTES};
    let fixture = Fixture::new();
    let issuer = fixture.issuer(Algorithm::HS256);
    let verifier = fixture.verifier();
    let nested = |levels: usize| -> serde_json::Value {
        serde_json::from_str(&format!("{}{}", "[".repeat(levels), "]".repeat(levels))).unwrap()
    };
    let issue = |name: &str, value: serde_json::Value| {
        let mut claims = gatepass::CustomClaims::new();
        claims.insert(name.into(), value);
        issuer
            .access_token("alice")
            .claims(&claims)
            .and_then(|b| b.issue())
    };
    // Level 1 is the claims object itself, so 31 levels inside reach exactly 32.
    let deepest = issue("d", nested(31)).expect("32 levels issue");
    assert!(verifier.verify_access(&deepest.token).is_ok());
    assert_eq!(
        issue("d", nested(32)).unwrap_err(),
        IssueError::TooLarge(TooLarge::Depth { max: 32 })
    );
    // Find the longest string claim that still fits, by growing it one byte at a time
    // from a safe size: it issues a token of at most 8192 bytes, and one byte more is refused.
    let mut fill = 5500;
    let mut longest = None;
    while let Ok(issued) = issue("b", "x".repeat(fill).into()) {
        longest = Some(issued);
        fill += 1;
    }
    let longest = longest.expect("a 5500-byte claim fits");
    assert!(longest.token.len() <= MAX_TOKEN_BYTES && longest.token.len() > MAX_TOKEN_BYTES - 4);
    assert!(verifier.verify_access(&longest.token).is_ok());
    assert_eq!(
        issue("b", "x".repeat(fill).into()).unwrap_err(),
        IssueError::TooLarge(TooLarge::Length {
            max: MAX_TOKEN_BYTES
        })
    );
}

/// Size before structure on the CLI too, and a token that is not UTF-8 is a rejected token
/// (exit 1, one JSON line), not a usage error, whether it comes from stdin or an argument.
/// Found by review: stdin was decoded before its length was looked at, and clap refused a
/// non-UTF-8 argument with exit 2.
#[test]
fn cli_tokens_that_are_too_long_or_not_utf8_get_the_contract_kinds() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt as _;
    let fixture = Fixture::new();
    let keyset = fixture.keyset_path.display().to_string();
    let verify = |token: OsString, stdin: Option<&[u8]>| {
        let mut args: Vec<OsString> = ["verify", "--keyset", &keyset, "--iss", ISS, "--aud", AUD]
            .iter()
            .map(OsString::from)
            .collect();
        args.push(token);
        cli_rejection(&run_os(&args, stdin))
    };
    let mut long_invalid = vec![b'a'; 8194];
    long_invalid.extend_from_slice("é".as_bytes());
    long_invalid.extend_from_slice(&[b'a'; 100]);
    assert_eq!(verify("-".into(), Some(&long_invalid)), "too_large");
    assert_eq!(verify("-".into(), Some(&[0xff; 9000])), "too_large");
    assert_eq!(verify("-".into(), Some(b"a.b.\xff\n")), "malformed");
    assert_eq!(
        verify(OsString::from_vec(b"a.b.\xff".to_vec()), None),
        "malformed"
    );
    assert_eq!(
        verify(OsString::from_vec(vec![0xff; 9000]), None),
        "too_large"
    );
    let inspect = run_os(
        &[
            OsString::from("inspect"),
            OsString::from_vec(b"\xff".to_vec()),
        ],
        None,
    );
    assert_eq!(cli_rejection(&inspect), "malformed");
    let revocations = fixture.path("revocations.journal");
    let revoke = run_os(
        &[
            OsString::from("revoke"),
            OsString::from("--revocations"),
            revocations.into_os_string(),
            OsString::from("--token"),
            OsString::from_vec(b"\xff".to_vec()),
        ],
        None,
    );
    assert_eq!(cli_rejection(&revoke), "malformed");
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
