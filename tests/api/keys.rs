//! Keys and keysets: weak keys refused at import, every algorithm round-trips, the file
//! survives save/load, and the CLI's key commands follow the contract.

use std::sync::Arc;

use gatepass::{
    Algorithm, GenerateOptions, Issuer, KeyRejected, KeySelector, KeyState, Keyset, KeysetError,
    ManualClock, SigningKey, VerificationKeys, Verifier, VerifyingKey,
};
use serde_json::{json, Value};

use crate::support::*;

fn jwk(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn every_algorithm_issues_and_verifies() {
    for alg in Algorithm::SIGNING {
        let key = Arc::new(SigningKey::generate(alg).unwrap());
        let issuer = Issuer::new(key.clone(), ISS, AUD).with_clock(Arc::new(ManualClock::new(NOW)));
        let issued = issuer
            .access_token("alice")
            .claim("n", 7)
            .unwrap()
            .issue()
            .unwrap();
        let verifier = Verifier::builder(
            VerificationKeys::new([key.verifying_key().clone()]),
            ISS,
            AUD,
        )
        .clock(Arc::new(ManualClock::new(NOW)))
        .build()
        .unwrap();
        let verified = verifier.verify_access(&issued.token).unwrap();
        assert_eq!(verified.header().alg(), alg);
        assert_eq!(verified.claims().jti, issued.jti);
        assert_eq!(verified.claims().sid.as_deref(), Some(issued.sid.as_str()));
        assert_eq!(verified.claims().custom["n"], 7);
        assert_eq!(
            uuid::Uuid::parse_str(&issued.jti)
                .unwrap()
                .get_version_num(),
            4
        );
        // The session id carries at least 128 random bits.
        let sid = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &issued.sid,
        )
        .unwrap();
        assert!(sid.len() * 8 >= 128);
        // Reloading the key from its private JWK signs tokens the original verifies.
        let again = Arc::new(SigningKey::from_jwk(&key.to_private_jwk()).unwrap());
        let token = Issuer::new(again, ISS, AUD)
            .with_clock(Arc::new(ManualClock::new(NOW)))
            .access_token("a")
            .issue()
            .unwrap()
            .token;
        assert!(verifier.verify_access(&token).is_ok(), "{alg}");
    }
}

#[test]
fn weak_and_malformed_keys_are_refused_with_their_reason() {
    let cases: Vec<(Value, KeyRejected)> = vec![
        (
            json!({"kty": "oct", "alg": "HS256", "k": b64([1u8; 31])}),
            KeyRejected::WeakHmacSecret { len: 31, min: 32 },
        ),
        (
            json!({"kty": "oct", "alg": "HS512", "k": b64([1u8; 32])}),
            KeyRejected::WeakHmacSecret { len: 32, min: 64 },
        ),
        (
            json!({"kty": "oct", "alg": "HS256", "k": ""}),
            KeyRejected::WeakHmacSecret { len: 0, min: 32 },
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64([1u8; 31])}),
            KeyRejected::WrongLength {
                member: "x",
                expected: 32,
                found: 31,
            },
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64({ let mut id = [0u8; 32]; id[0] = 1; id })}),
            KeyRejected::SmallOrder,
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64([0u8; 32])}),
            KeyRejected::SmallOrder,
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "x": b64([1u8; 32]), "y": b64([2u8; 32])}),
            KeyRejected::NotOnCurve,
        ),
        (
            json!({"kty": "EC", "crv": "P-256", "x": b64([1u8; 31]), "y": b64([2u8; 32])}),
            KeyRejected::WrongLength {
                member: "x",
                expected: 32,
                found: 31,
            },
        ),
        (
            json!({"kty": "RSA", "n": b64([0xffu8; 128]), "e": "AQAB"}),
            KeyRejected::RsaModulusSize { bits: 1024 },
        ),
        (
            json!({"kty": "RSA", "n": b64([0xffu8; 256]), "e": "Aw"}),
            KeyRejected::RsaExponent,
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "use": "enc", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
            KeyRejected::UsageForbidsVerification,
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "key_ops": ["sign"], "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
            KeyRejected::UsageForbidsVerification,
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "alg": "ES256", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
            KeyRejected::AlgorithmMismatch {
                alg: "ES256".into(),
                key: "OKP Ed25519".into(),
            },
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="}),
            KeyRejected::BadEncoding("x"),
        ),
        (
            json!({"kty": "oct", "k": b64([1u8; 32])}),
            KeyRejected::MissingMember("alg"),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(
            VerifyingKey::from_jwk(&jwk(value.clone())).unwrap_err(),
            expected,
            "{value}"
        );
    }
}

#[test]
fn a_keyset_holding_a_refused_key_is_invalid_and_a_jwks_skips_it() {
    let weak = json!({"kty": "oct", "alg": "HS256", "k": b64([1u8; 16]), "kid": "weak", "state": "active"});
    let err =
        Keyset::from_json(json!({"keys": [weak.clone()]}).to_string().as_bytes()).unwrap_err();
    assert_eq!(
        err,
        KeysetError::Key {
            kid: "weak".into(),
            reason: KeyRejected::WeakHmacSecret { len: 16, min: 32 }
        }
    );
    let good = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let mut good_jwk = serde_json::to_value(good.verifying_key().to_public_jwk().unwrap()).unwrap();
    good_jwk["kid"] = "good".into();
    let (keys, skipped) =
        VerificationKeys::from_jwks_json(json!({"keys": [weak, good_jwk]}).to_string().as_bytes())
            .unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].kid.as_deref(), Some("weak"));
}

#[test]
fn a_keyset_survives_save_and_load_in_meaning() {
    let fixture = Fixture::new();
    let loaded = Keyset::load(&fixture.keyset_path).unwrap();
    assert_eq!(loaded.len(), fixture.keyset.len());
    for (a, b) in loaded.entries().iter().zip(fixture.keyset.entries()) {
        assert_eq!(
            (
                a.kid(),
                a.alg(),
                a.state(),
                a.created_at(),
                a.activated_at(),
                a.retired_at()
            ),
            (
                b.kid(),
                b.alg(),
                b.state(),
                b.created_at(),
                b.activated_at(),
                b.retired_at()
            )
        );
        assert_eq!(a.key().to_private_jwk(), b.key().to_private_jwk());
    }
    // Saving again writes the same document.
    let again = fixture.path("again.json");
    loaded.save(&again).unwrap();
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&fixture.keyset_path).unwrap()
    );
    // And tokens from the saved keyset verify with the original.
    let key = loaded.signing_key(&KeySelector::Preferred).unwrap();
    let token = Issuer::new(key, ISS, AUD)
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .access_token("a")
        .issue()
        .unwrap()
        .token;
    assert!(fixture.verifier().verify_access(&token).is_ok());
}

#[test]
fn cli_keygen_creates_then_appends_with_the_contract_default_states() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json").display().to_string();
    let first = stdout_json(&run_str(&["keygen", "--alg", "ES256", "--keyset", &path]));
    assert_eq!(first["state"], "active");
    let second = stdout_json(&run_str(&["keygen", "--alg", "ES384", "--keyset", &path]));
    assert_eq!(
        second["state"], "pending",
        "same family (ECDSA) already has an active key"
    );
    let third = stdout_json(&run_str(&[
        "keygen",
        "--alg",
        "HS384",
        "--keyset",
        &path,
        "--kid",
        "-starts-with-dash",
    ]));
    assert_eq!(third["state"], "active");
    let forced = stdout_json(&run_str(&[
        "keygen", "--alg", "ES256", "--keyset", &path, "--state", "active",
    ]));
    assert_eq!(forced["state"], "active");
    let list = stdout_json(&run_str(&["keys", "list", "--keyset", &path, "--json"]));
    let states: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["retiring", "pending", "active", "active"]);
    assert!(list[0]["retired_at"].is_u64());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Thumbprint kids by default.
    let kid = first["kid"].as_str().unwrap();
    let keyset = Keyset::load(&path).unwrap();
    assert_eq!(
        keyset.get(kid).unwrap().key().verifying_key().thumbprint(),
        kid
    );
    // Human table lists every kid.
    let table = run_str(&["keys", "list", "--keyset", &path]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains(kid) && text.contains("-starts-with-dash") && text.contains("retiring"));
}

#[test]
fn cli_state_changes_follow_the_rotation_rules() {
    let fixture = Fixture::new();
    let path = fixture.keyset_path.display().to_string();
    let pending = fixture.pending_kid.clone();
    let old_ed = fixture
        .keyset
        .signing_key(&KeySelector::Algorithm(Algorithm::EdDSA))
        .unwrap()
        .kid()
        .to_owned();
    let out = stdout_json(&run_str(&[
        "keys", "activate", "--keyset", &path, "--", &pending,
    ]));
    assert_eq!(out, json!({"kid": pending, "state": "active"}));
    let keyset = Keyset::load(&path).unwrap();
    assert_eq!(keyset.get(&old_ed).unwrap().state(), KeyState::Retiring);
    // An active key cannot be removed; a retiring one can.
    assert_eq!(
        run_str(&["keys", "remove", "--keyset", &path, "--", &pending])
            .status
            .code(),
        Some(2)
    );
    let out = stdout_json(&run_str(&[
        "keys", "remove", "--keyset", &path, "--", &old_ed,
    ]));
    assert_eq!(out["removed"], true);
    // Revoke stops verification; a revoked key never comes back.
    stdout_json(&run_str(&[
        "keys", "revoke", "--keyset", &path, "--", &pending,
    ]));
    assert_eq!(
        run_str(&["keys", "activate", "--keyset", &path, "--", &pending])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run_str(&["keys", "retire", "--keyset", &path, "--", "no-such-kid"])
            .status
            .code(),
        Some(2)
    );
    let keyset = Keyset::load(&path).unwrap();
    assert_eq!(keyset.get(&pending).unwrap().state(), KeyState::Revoked);
    assert!(keyset.get(&old_ed).is_none());
}

#[test]
fn cli_jwks_publishes_public_keys_only() {
    let fixture = Fixture::new();
    let out = stdout_json(&run_str(&[
        "jwks",
        "--keyset",
        &fixture.keyset_path.display().to_string(),
    ]));
    let keys = out["keys"].as_array().unwrap();
    // EdDSA active, ES256 active, EdDSA pending; never the HMAC key.
    assert_eq!(keys.len(), 3);
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none() && key.get("k").is_none());
        assert_ne!(key["kty"], "oct");
    }
}

#[test]
fn cli_issue_signs_with_the_requested_key_and_claims() {
    let fixture = Fixture::new();
    let path = fixture.keyset_path.display().to_string();
    let at = NOW.to_string();
    let out = run_str(&[
        "issue",
        "--keyset",
        &path,
        "--iss",
        ISS,
        "--aud",
        AUD,
        "--sub",
        "carol",
        "--ttl",
        "60",
        "--claim",
        "role=\"admin\"",
        "--claim",
        "level=3",
        "--at",
        &at,
        "--alg",
        "HS256",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim_end().to_owned();
    let verified = fixture.verifier().verify_access(&token).unwrap();
    assert_eq!(verified.header().alg(), Algorithm::HS256);
    assert_eq!(verified.claims().exp - verified.claims().iat, 60);
    assert_eq!(verified.claims().custom["role"], "admin");
    assert_eq!(verified.claims().custom["level"], 3);
    // Default key: EdDSA is preferred.
    let out = run_str(&[
        "issue", "--keyset", &path, "--iss", ISS, "--aud", AUD, "--sub", "c", "--at", &at,
    ]);
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        fixture
            .verifier()
            .verify_access(token.trim_end())
            .unwrap()
            .header()
            .alg(),
        Algorithm::EdDSA
    );
    // Usage errors: reserved claim, non-JSON value, missing keyset, unknown alg.
    // ... and tokens every verifier would refuse as too_large (found by review: `issue`
    // printed them, exit 0).
    let deep = format!("d={}{}", "[".repeat(40), "]".repeat(40));
    let long = format!("b=\"{}\"", "x".repeat(9000));
    for bad in [
        vec!["--claim", "exp=1"],
        vec!["--claim", "role=admin"],
        vec!["--ttl", "0"],
        vec!["--alg", "none"],
        vec!["--claim", &deep],
        vec!["--claim", &long],
    ] {
        let mut args = vec![
            "issue", "--keyset", &path, "--iss", ISS, "--aud", AUD, "--sub", "c",
        ];
        args.extend(bad.iter().copied());
        assert_eq!(run_str(&args).status.code(), Some(2), "{bad:?}");
    }
    let missing = fixture.path("missing.json").display().to_string();
    assert_eq!(
        run_str(&["issue", "--keyset", &missing, "--iss", "i", "--aud", "a", "--sub", "s"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn cli_inspect_shows_claims_unverified_and_reads_stdin() {
    let token = craft_hs256(&hs_header(), &claims_with(&[]));
    let out = stdout_json(&run(
        &["inspect".into(), "-".into()],
        Some(format!("{token}\n").as_bytes()),
    ));
    assert_eq!(out["verified"], false);
    assert_eq!(out["claims"]["sub"], "alice");
    assert_eq!(out["header"]["kid"], "hs");
    assert_eq!(
        cli_rejection(&run_str(&["inspect", "not-a-token"])),
        "malformed"
    );
}

#[test]
fn cli_verify_reads_the_token_from_stdin() {
    let fixture = Fixture::new();
    let token = craft_hs256(&hs_header(), &claims_with(&[]));
    let args: Vec<String> = [
        "verify",
        "--keyset",
        &fixture.keyset_path.display().to_string(),
        "--iss",
        ISS,
        "--aud",
        AUD,
        "--at",
        &NOW.to_string(),
        "-",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = run(&args, Some(format!("{token}\n").as_bytes()));
    assert_eq!(stdout_json(&out)["claims"]["sub"], "alice");
    // An over-long stdin token is too large, not read without bound.
    let out = run(&args, Some(&vec![b'a'; 100_000]));
    assert_eq!(cli_rejection(&out), "too_large");
}

#[test]
fn cli_usage_errors_exit_2_and_help_exits_0() {
    let fixture = Fixture::new();
    let path = fixture.keyset_path.display().to_string();
    for args in [
        vec!["verify", "--iss", ISS, "--aud", AUD, "tok"],
        vec!["verify", "--keyset", &path, "--aud", AUD, "tok"],
        vec![
            "verify", "--keyset", &path, "--iss", ISS, "--aud", AUD, "--type", "id", "tok",
        ],
        vec![
            "verify",
            "--keyset",
            "/nonexistent/k.json",
            "--iss",
            ISS,
            "--aud",
            AUD,
            "tok",
        ],
        vec!["keygen", "--alg", "RS256", "--keyset", &path],
        // Times beyond 2^53 - 1 (found by review: rotate wrote u64::MAX dates).
        vec![
            "keys",
            "rotate",
            "--keyset",
            &path,
            "--at",
            "9007199254740992",
        ],
        vec![
            "verify",
            "--keyset",
            &path,
            "--iss",
            ISS,
            "--aud",
            AUD,
            "--at",
            "9007199254740992",
            "tok",
        ],
        vec!["nonsense"],
        vec![],
    ] {
        let out = run_str(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    for cmd in ["keygen", "keys", "jwks", "issue", "verify", "inspect"] {
        let out = run_str(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd} --help");
        assert!(!out.stdout.is_empty());
    }
    // An invalid keyset file is a configuration error.
    let bad = fixture.path("bad.json");
    std::fs::write(
        &bad,
        r#"{"keys":[{"kty":"oct","alg":"HS256","k":"c2hvcnQ","kid":"x","state":"active"}]}"#,
    )
    .unwrap();
    let token = craft_hs256(&hs_header(), &claims_with(&[]));
    assert_eq!(
        run_str(&[
            "verify",
            "--keyset",
            &bad.display().to_string(),
            "--iss",
            ISS,
            "--aud",
            AUD,
            &token
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn keyset_library_refuses_ambiguous_active_keys() {
    let mut keyset = Keyset::new();
    keyset
        .generate(Algorithm::HS256, GenerateOptions::default(), 0)
        .unwrap();
    let kid = keyset
        .generate(Algorithm::HS512, GenerateOptions::default(), 0)
        .unwrap();
    assert_eq!(keyset.get(&kid).unwrap().state(), KeyState::Pending);
    assert!(keyset
        .signing_key(&KeySelector::Algorithm(Algorithm::HS512))
        .is_err());
}
