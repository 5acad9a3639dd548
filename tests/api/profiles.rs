//! Verification profiles: `gatepass verify --profile jwt` (and the library's
//! `Profile::Jwt`) for other issuers' access tokens, several issuers and audiences,
//! `--no-audience` and `--require`. Strictness about everything but claims is unchanged.

use std::sync::Arc;

use gatepass::{
    Algorithm, Claim, ConfigError, ManualClock, Profile, SigningKey, VerificationKeys, Verifier,
    VerifyError,
};

use crate::support::*;

fn jwt_header(typ: Option<&str>) -> String {
    match typ {
        Some(typ) => format!(r#"{{"alg":"HS256","typ":"{typ}","kid":"{HS_KID}"}}"#),
        None => format!(r#"{{"alg":"HS256","kid":"{HS_KID}"}}"#),
    }
}

/// A third-party style token: `typ: JWT`, no `jti`, no `iat`, a scope.
fn third_party(replace: &[(&str, &str)]) -> String {
    let mut all = vec![("jti", ""), ("iat", ""), ("scope", "\"orders:read\"")];
    all.extend_from_slice(replace);
    craft_hs256(&jwt_header(Some("JWT")), &claims_with(&all))
}

/// `gatepass verify --keyset <fixture> --at NOW ARGS... -- TOKEN`: Ok(claims) or the kind;
/// `Err("usage")` for exit 2.
fn verify(fixture: &Fixture, args: &[&str], token: &str) -> Result<serde_json::Value, String> {
    let keyset = fixture.keyset_path.display().to_string();
    let at = NOW.to_string();
    let mut all = vec!["verify", "--keyset", &keyset, "--at", &at];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--", token]);
    let output = run_str(&all);
    match output.status.code() {
        Some(0) => Ok(stdout_json(&output)["claims"].clone()),
        Some(1) => Err(cli_rejection(&output)),
        Some(2) => Err("usage".into()),
        other => panic!("exit {other:?}"),
    }
}

const JWT: [&str; 6] = ["--profile", "jwt", "--iss", ISS, "--aud", AUD];

#[test]
fn the_gatepass_profile_refuses_other_issuers_tokens_and_the_jwt_profile_takes_them() {
    let fixture = Fixture::new();
    let token = third_party(&[]);
    assert_eq!(
        verify(&fixture, &["--iss", ISS, "--aud", AUD], &token),
        Err("wrong_type".into())
    );
    let claims = verify(&fixture, &JWT, &token).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["scope"], "orders:read");
    assert!(claims.get("jti").is_none() && claims.get("iat").is_none());
    // Without `typ`, or with the access-token types, also fine; other types are not.
    for typ in [
        None,
        Some("application/jwt"),
        Some("AT+JWT"),
        Some("application/at+jwt"),
    ] {
        let token = craft_hs256(&jwt_header(typ), &claims_with(&[("jti", "")]));
        assert!(verify(&fixture, &JWT, &token).is_ok(), "{typ:?}");
    }
    for typ in [
        "refresh+jwt",
        "dpop+jwt",
        "application/refresh+jwt",
        "secevent+jwt",
    ] {
        let token = craft_hs256(&jwt_header(Some(typ)), &claims_with(&[]));
        assert_eq!(
            verify(&fixture, &JWT, &token),
            Err("wrong_type".into()),
            "{typ}"
        );
    }
}

#[test]
fn the_jwt_profile_requires_iss_exp_and_aud_and_still_checks_every_present_claim() {
    let fixture = Fixture::new();
    for (claim, kind) in [
        ("iss", "missing_claim"),
        ("exp", "missing_claim"),
        ("aud", "missing_claim"),
        ("sub", "ok"),
        ("nbf", "ok"),
    ] {
        let got = verify(&fixture, &JWT, &third_party(&[(claim, "")]));
        assert_eq!(
            got.map(|_| "ok".to_owned()),
            if kind == "ok" {
                Ok("ok".into())
            } else {
                Err(kind.into())
            },
            "{claim}"
        );
    }
    for (claim, value, kind) in [
        ("iat", "\"1\"", "invalid_claim"),
        ("jti", "7", "invalid_claim"),
        ("sub", "null", "invalid_claim"),
        ("aud", "[]", "invalid_claim"),
        ("iat", &(NOW + 3600).to_string(), "not_yet_valid"),
        ("nbf", &(NOW + 3600).to_string(), "not_yet_valid"),
        ("exp", &(NOW - 3600).to_string(), "expired"),
        ("iss", "\"https://elsewhere\"", "wrong_issuer"),
        ("aud", "\"elsewhere\"", "wrong_audience"),
    ] {
        assert_eq!(
            verify(&fixture, &JWT, &third_party(&[(claim, value)])),
            Err(kind.into()),
            "{claim}={value}"
        );
    }
    // --max-age needs iat.
    let mut args = JWT.to_vec();
    args.extend_from_slice(&["--max-age", "60"]);
    assert_eq!(
        verify(&fixture, &args, &third_party(&[])),
        Err("missing_claim".into())
    );
    // Structure, algorithm and signature rules do not change with the profile.
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(claims_with(&[]))
    );
    assert_eq!(verify(&fixture, &JWT, &none), Err("malformed".into()));
    let mut forged = third_party(&[]);
    forged.pop();
    forged.push(if third_party(&[]).ends_with('A') {
        'B'
    } else {
        'A'
    });
    assert_eq!(verify(&fixture, &JWT, &forged), Err("bad_signature".into()));
}

#[test]
fn several_issuers_and_audiences_are_each_accepted() {
    let fixture = Fixture::new();
    let args = [
        "--profile",
        "jwt",
        "--iss",
        "https://a.example",
        "--iss",
        ISS,
        "--aud",
        "other",
        "--aud",
        AUD,
    ];
    assert!(verify(&fixture, &args, &third_party(&[])).is_ok());
    let many = third_party(&[
        ("aud", "[\"x\",\"other\"]"),
        ("iss", "\"https://a.example\""),
    ]);
    assert!(verify(&fixture, &args, &many).is_ok());
    assert_eq!(
        verify(&fixture, &args, &third_party(&[("aud", "[\"x\",\"y\"]")])),
        Err("wrong_audience".into())
    );
    // Repeated flags work in the gatepass profile too.
    let own = craft_hs256(&hs_header(), &claims_with(&[]));
    assert!(verify(&fixture, &args[2..], &own).is_ok());
}

#[test]
fn skipping_the_audience_check_takes_the_explicit_flag() {
    let fixture = Fixture::new();
    let no_aud = third_party(&[("aud", ""), ("client_id", "\"web\"")]);
    let args = [
        "--profile",
        "jwt",
        "--iss",
        ISS,
        "--no-audience",
        "--require",
        "client_id",
    ];
    assert_eq!(
        verify(&fixture, &args, &no_aud).unwrap()["client_id"],
        "web"
    );
    // A present aud is still type-checked, not compared.
    let bad = third_party(&[("aud", "7"), ("client_id", "\"web\"")]);
    assert_eq!(verify(&fixture, &args, &bad), Err("invalid_claim".into()));
    assert!(verify(&fixture, &args, &third_party(&[("client_id", "\"w\"")])).is_ok());
    // Neither --aud nor --no-audience, or both: usage errors (exit 2).
    assert_eq!(
        verify(&fixture, &["--profile", "jwt", "--iss", ISS], &no_aud),
        Err("usage".into())
    );
    assert_eq!(
        verify(
            &fixture,
            &["--iss", ISS, "--aud", AUD, "--no-audience"],
            &no_aud
        ),
        Err("usage".into())
    );
    // The refresh type has no jwt profile.
    assert_eq!(
        verify(
            &fixture,
            &[
                "--profile",
                "jwt",
                "--type",
                "refresh",
                "--iss",
                ISS,
                "--aud",
                AUD
            ],
            &no_aud
        ),
        Err("usage".into())
    );
    assert_eq!(
        verify(
            &fixture,
            &["--profile", "oidc", "--iss", ISS, "--aud", AUD],
            &no_aud
        ),
        Err("usage".into())
    );
}

#[test]
fn required_claims_are_missing_claim_in_either_profile() {
    let fixture = Fixture::new();
    let mut args = JWT.to_vec();
    args.extend_from_slice(&["--require", "jti"]);
    assert_eq!(
        verify(&fixture, &args, &third_party(&[])),
        Err("missing_claim".into())
    );
    args.extend_from_slice(&["--require", "roles"]);
    let with_jti = third_party(&[("jti", "\"j\"")]);
    assert_eq!(
        verify(&fixture, &args, &with_jti),
        Err("missing_claim".into())
    );
    let both = third_party(&[("jti", "\"j\""), ("roles", "[\"admin\"]")]);
    assert!(verify(&fixture, &args, &both).is_ok());
    let own = craft_hs256(&hs_header(), &claims_with(&[]));
    assert_eq!(
        verify(
            &fixture,
            &["--iss", ISS, "--aud", AUD, "--require", "scope"],
            &own
        ),
        Err("missing_claim".into())
    );
}

#[test]
fn the_library_offers_the_same_choices() {
    let key =
        Arc::new(SigningKey::from_hmac_secret(Algorithm::HS256, HS_SECRET, Some(HS_KID)).unwrap());
    let keys = VerificationKeys::new([key.verifying_key().clone()]);
    let build = |f: fn(gatepass::VerifierBuilder) -> gatepass::VerifierBuilder| {
        f(Verifier::builder(keys.clone(), ISS, AUD).clock(Arc::new(ManualClock::new(NOW)))).build()
    };
    let jwt = build(|b| b.profile(Profile::Jwt).require("scope")).unwrap();
    let verified = jwt.verify_jwt(&third_party(&[])).unwrap();
    assert_eq!(verified.claims().sub.as_deref(), Some("alice"));
    assert_eq!(verified.claims().jti, None);
    // AccessClaims has sub, iat and jti as fields: verify_access needs them whatever the
    // profile.
    assert_eq!(
        jwt.verify_access(&third_party(&[])).unwrap_err(),
        VerifyError::MissingClaim(Claim::Iat)
    );
    assert_eq!(
        jwt.verify_jwt(&third_party(&[("scope", "")])).unwrap_err(),
        VerifyError::MissingClaim(Claim::Custom)
    );
    let gatepass = build(|b| b).unwrap();
    assert_eq!(
        gatepass.verify_jwt(&third_party(&[])).unwrap_err(),
        VerifyError::WrongType
    );
    let skipped = build(|b| b.no_audience()).unwrap();
    assert!(skipped.audiences().is_empty());
    assert_eq!(
        build(|b| b.no_audience().audience("x")).unwrap_err(),
        ConfigError::AudienceConflict
    );
    assert_eq!(
        build(|b| b.issuer("")).unwrap_err(),
        ConfigError::EmptyIssuerOrAudience
    );
}
