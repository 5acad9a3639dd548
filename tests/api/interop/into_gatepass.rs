//! What PyJWT, jwcrypto and jose sign and generate, verified and loaded by gatepass: their
//! tokens over our keyset file's keys (and their forgeries, each with its contract kind),
//! a keyset jose generated, and JWK Sets jose and jwcrypto exported.

use std::sync::Arc;

use gatepass::{ManualClock, VerificationKeys, Verifier};
use serde_json::{json, Value};

use super::harness::{
    cli_verify, lib_verify, node_batch, python_batch, replace_header, tamper_claims, verdict,
    Matrix,
};
use super::keysets::{claims_at, issue_cli, KeysetFile, Keysets};
use super::{accepted_as, lib_name, with_lib, PYTHON_LIBS};
use crate::support::*;

/// One token a third-party library signs, and what gatepass must make of it.
struct Case<'a> {
    label: String,
    file: &'a KeysetFile,
    jwk: Value,
    header: Value,
    claims: Value,
    /// `None`: accepted, with the claims' `sub`.
    want: Option<&'static str>,
    /// Also check copies with the claims tampered and with `alg: none` over its signature.
    forgeries: bool,
}

/// Everything one library signs with the keyset files' private JWK entries, as is.
fn cases<'a>(keysets: &'a Keysets, lib: &str) -> Vec<Case<'a>> {
    let mut cases = Vec::new();
    for alg in Keysets::all_algs() {
        let file = keysets.file_for(alg);
        let entry = file.active(alg);
        // Not ASCII: PyJWT and jwcrypto write it escaped (a surrogate pair for the emoji),
        // jose as raw UTF-8; gatepass must read back the same string from both.
        let sub = format!("{lib}-{alg}: Zoë 😀");
        let valid = claims_at(&sub, NOW, NOW + 300, AUD.into());
        let header = |typ: Option<&str>| match typ {
            Some(typ) => json!({ "alg": alg, "kid": entry["kid"], "typ": typ }),
            None => json!({ "alg": alg, "kid": entry["kid"] }),
        };
        let case = |label: &str, header: Value, claims: &Value, want| Case {
            label: format!("{alg} {label}"),
            file,
            jwk: entry.clone(),
            header,
            claims: claims.clone(),
            want,
            forgeries: false,
        };
        let at_jwt = header(Some("at+jwt"));
        let many = claims_at(&sub, NOW, NOW + 300, json!([AUD, "other-api"]));
        let expired = claims_at(&sub, NOW - 900, NOW - 600, AUD.into());
        cases.extend([
            Case {
                forgeries: true,
                ..case("at+jwt", at_jwt.clone(), &valid, None)
            },
            case(
                "application/at+jwt, aud array",
                header(Some("application/at+jwt")),
                &many,
                None,
            ),
            // No kid: the one verifying key for the algorithm is unambiguous.
            case(
                "no kid",
                json!({ "alg": alg, "typ": "at+jwt" }),
                &valid,
                None,
            ),
            case("typ JWT", header(Some("JWT")), &valid, Some("wrong_type")),
            case("no typ", header(None), &valid, Some("wrong_type")),
            case("expired", at_jwt, &expired, Some("expired")),
        ]);
        if !alg.starts_with("HS") {
            // Algorithm confusion: HMAC keyed with the public key, under the key's kid.
            let confused = json!({ "alg": "HS256", "kid": entry["kid"], "typ": "at+jwt" });
            cases.push(Case {
                label: format!("HS256 keyed with the {alg} public key"),
                jwk: json!({ "kty": "oct", "k": entry["x"], "alg": "HS256" }),
                ..case("", confused, &valid, Some("unsupported_algorithm"))
            });
        }
    }
    let main = &keysets.main;
    let pending = main.entries.iter().find(|e| e["state"] == "pending");
    let pending = pending.unwrap();
    cases.push(Case {
        label: "EdDSA with a pending key".into(),
        file: main,
        jwk: pending.clone(),
        header: json!({ "alg": "EdDSA", "kid": pending["kid"], "typ": "at+jwt" }),
        claims: claims_at(&format!("{lib}-pending"), NOW, NOW + 300, AUD.into()),
        want: Some("unknown_key"),
        forgeries: false,
    });
    // The library's own unsecured JWS (RFC 7515 A.5 shape): its empty signature makes it
    // not three non-empty parts, which is checked before the algorithm.
    cases.push(Case {
        label: "alg none (its own unsecured JWS)".into(),
        file: main,
        jwk: Value::Null,
        header: json!({ "alg": "none", "typ": "at+jwt" }),
        claims: claims_at(&format!("{lib}-none"), NOW, NOW + 300, AUD.into()),
        want: Some("malformed"),
        forgeries: false,
    });
    cases
}

fn sign_op(lib: &str, case: &Case<'_>) -> Value {
    json!({ "op": "sign", "lib": lib, "jwk": case.jwk, "header": case.header,
            "claims": case.claims })
}

fn token_kid(token: &str) -> Value {
    let inspected = run_str(&["inspect", "--", token]);
    stdout_json(&inspected)["header"]["kid"].clone()
}

#[test]
fn third_party_tokens_verify_in_gatepass_and_their_forgeries_get_the_contract_kind() {
    let keysets = Keysets::new();
    let py_cases: Vec<(&str, Case<'_>)> = PYTHON_LIBS
        .iter()
        .flat_map(|lib| cases(&keysets, lib).into_iter().map(move |c| (*lib, c)))
        .collect();
    let js_cases: Vec<(&str, Case<'_>)> = cases(&keysets, "jose")
        .into_iter()
        .map(|c| ("jose", c))
        .collect();
    let py_ops: Vec<Value> = py_cases.iter().map(|(lib, c)| sign_op(lib, c)).collect();
    let js_ops: Vec<Value> = js_cases.iter().map(|(lib, c)| sign_op(lib, c)).collect();
    let results = [python_batch(&py_ops), node_batch(&js_ops)].concat();

    let mut matrix = Matrix::new("PyJWT, jwcrypto, jose → gatepass");
    for ((lib, case), result) in py_cases.iter().chain(&js_cases).zip(&results) {
        let label = format!("{} {}", lib_name(lib), case.label);
        let token = match verdict(result) {
            Ok(signed) => signed["token"].as_str().unwrap().to_owned(),
            Err(why) => {
                matrix.record(format!("{label}: signing"), Err(why));
                continue;
            }
        };
        let mut checks = vec![(label.clone(), token.clone(), case.want)];
        if case.forgeries {
            let none = json!({ "alg": "none", "kid": token_kid(&token), "typ": "at+jwt" });
            checks.push((
                format!("{label}, claims tampered"),
                tamper_claims(&token),
                Some("bad_signature"),
            ));
            checks.push((
                format!("{label}, header swapped to alg none"),
                replace_header(&token, &none),
                Some("unsupported_algorithm"),
            ));
        }
        let keyset = case.file.path.to_str().unwrap();
        let verifier = case.file.verifier_at(NOW);
        let sub = case.claims["sub"].as_str().unwrap();
        for (label, token, want) in checks {
            let shown = want.unwrap_or("verifies");
            let got = cli_verify(&["--keyset", keyset], Some(NOW), &token);
            let pair = format!("{label} → gatepass verify: {shown}");
            matrix.expect(pair, &got, want, sub);
            let got = lib_verify(&verifier, &token);
            let pair = format!("{label} → gatepass Verifier: {shown}");
            matrix.expect(pair, &got, want, sub);
        }
    }
    matrix.finish();
}

#[test]
fn a_keyset_made_by_jose_loads_in_gatepass_and_signs_and_verifies() {
    let fixture = Fixture::new();
    // (alg, state, what gatepass makes of jose's token signed with that key): one active key
    // per family, and the states that verify (retiring) and do not (pending).
    let keys = [
        ("EdDSA", "active", None),
        ("ES256", "active", None),
        ("HS256", "active", None),
        ("ES384", "pending", Some("unknown_key")),
        ("HS512", "retiring", None),
    ];
    let generate = json!({
        "op": "generate",
        "keys": keys.map(|(alg, _, _)| json!({ "alg": alg })),
        "tokens": keys.iter().enumerate().map(|(i, (alg, _, _))| json!({
            "key": i, "header": { "typ": "at+jwt" },
            "claims": claims_at(&format!("jose-{alg}"), NOW, NOW + 300, AUD.into()),
        })).collect::<Vec<_>>(),
    });
    let made = node_batch(&[generate]).remove(0);
    let made = verdict(&made).unwrap();
    let mut matrix = Matrix::new("jose keyset ↔ gatepass");

    // jose's exported private JWKs, each with kid (jose's RFC 7638 thumbprint) and alg,
    // plus the one member only gatepass defines: state.
    let entries: Vec<Value> = made["private"]
        .as_array()
        .unwrap()
        .iter()
        .zip(keys)
        .map(|(jwk, (_, state, _))| {
            let mut entry = jwk.clone();
            entry["state"] = state.into();
            entry
        })
        .collect();
    let path = fixture.path("jose-keyset.json");
    std::fs::write(&path, json!({ "keys": entries }).to_string()).unwrap();
    let keyset = path.to_str().unwrap();
    let listed = run_str(&["keys", "list", "--keyset", keyset, "--json"]);
    let listed_kids = String::from_utf8_lossy(&listed.stdout)
        .matches("\"kid\"")
        .count();
    matrix.record(
        format!(
            "jose keyset → gatepass keys list: loads, {} keys",
            keys.len()
        ),
        if listed.status.success() && listed_kids == keys.len() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&listed.stderr).into_owned())
        },
    );
    let file = KeysetFile::read(&path);
    for entry in &entries {
        let (alg, kid) = (
            entry["alg"].as_str().unwrap(),
            entry["kid"].as_str().unwrap(),
        );
        let ours = file
            .keyset
            .get(kid)
            .unwrap()
            .key()
            .verifying_key()
            .thumbprint();
        matrix.record(
            format!("jose {alg} kid (its RFC 7638 thumbprint) = gatepass thumbprint"),
            if kid == ours {
                Ok(())
            } else {
                Err(format!("jose {kid}, gatepass {ours}"))
            },
        );
    }

    // jose signs with its own keys; gatepass verifies with the keyset file.
    let verifier = file.verifier_at(NOW);
    for ((alg, state, want), token) in keys.iter().zip(made["tokens"].as_array().unwrap()) {
        let (token, sub) = (token.as_str().unwrap(), format!("jose-{alg}"));
        let signed = format!("jose {alg} ({state} key of the jose keyset)");
        let shown = want.unwrap_or("verifies");
        let got = cli_verify(&["--keyset", keyset], Some(NOW), token);
        matrix.expect(
            format!("{signed} → gatepass verify: {shown}"),
            &got,
            *want,
            &sub,
        );
        let got = lib_verify(&verifier, token);
        matrix.expect(
            format!("{signed} → gatepass Verifier: {shown}"),
            &got,
            *want,
            &sub,
        );
    }

    // gatepass signs with jose's keys; gatepass, PyJWT, jwcrypto and jose verify.
    let mut ops = Vec::new();
    let mut issued = Vec::new();
    for (alg, _, _) in keys.iter().filter(|(_, state, _)| *state == "active") {
        let sub = format!("cli-{alg}");
        let token = issue_cli(&file, alg, &sub);
        let got = cli_verify(&["--keyset", keyset], None, &token);
        let pair = format!("gatepass issue {alg} (jose key) → gatepass verify: verifies");
        matrix.expect(pair, &got, None, &sub);
        let trust = file.trust_for(alg);
        ops.push(json!({ "op": "verify", "token": token, "iss": ISS, "aud": AUD, "jwks": trust }));
        issued.push((alg, sub));
    }
    let py_ops: Vec<Value> = PYTHON_LIBS
        .iter()
        .flat_map(|lib| ops.iter().map(|op| with_lib(op, lib)))
        .collect();
    let results = [python_batch(&py_ops), node_batch(&ops)].concat();
    let consumers = ["PyJWT", "jwcrypto", "jose"];
    for (i, result) in results.iter().enumerate() {
        let (alg, sub) = &issued[i % issued.len()];
        let consumer = consumers[i / issued.len()];
        matrix.record(
            format!("gatepass issue {alg} (jose key) → {consumer}: verifies"),
            accepted_as(result, sub),
        );
    }
    matrix.finish();
}

/// One key a library generates and exports, and the token it signs with it.
struct Exported {
    /// The generator's key spec (jose: `alg`, `with_alg`; jwcrypto: `JWK.generate` args).
    spec: Value,
    alg: &'static str,
    /// How the exported JWK is described in the matrix.
    note: &'static str,
    want: Option<&'static str>,
}

fn exported(spec: Value, alg: &'static str, note: &'static str) -> Exported {
    Exported {
        spec,
        alg,
        note,
        want: None,
    }
}

#[test]
fn jwk_sets_exported_by_jose_and_jwcrypto_verify_their_tokens_in_gatepass() {
    let fixture = Fixture::new();
    let jose = |alg, with_alg| json!({ "alg": alg, "with_alg": with_alg });
    let jose_keys = [
        exported(jose("EdDSA", true), "EdDSA", ""),
        exported(jose("ES256", false), "ES256", " (JWK without alg)"),
        exported(jose("ES384", true), "ES384", ""),
        exported(jose("RS256", false), "RS256", " (JWK without alg)"),
        exported(jose("PS256", true), "PS256", ""),
        // An RSA JWK without `alg` is bound to RS256 (docs/STANDARDS.md): PS256 is refused.
        Exported {
            want: Some("unsupported_algorithm"),
            ..exported(jose("PS256", false), "PS256", " (JWK without alg)")
        },
    ];
    let jwcrypto_keys = [
        exported(
            json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA" }),
            "EdDSA",
            "",
        ),
        exported(
            json!({ "kty": "EC", "crv": "P-256" }),
            "ES256",
            " (JWK without alg)",
        ),
        exported(
            json!({ "kty": "EC", "crv": "P-384", "alg": "ES384", "use": "sig" }),
            "ES384",
            "",
        ),
        exported(
            json!({ "kty": "RSA", "size": 2048, "alg": "RS256" }),
            "RS256",
            "",
        ),
        exported(
            json!({ "kty": "RSA", "size": 2048, "alg": "PS384" }),
            "PS384",
            "",
        ),
    ];
    let generate = |lib: &str, keys: &[Exported]| {
        json!({
            "op": "generate", "lib": lib,
            "keys": keys.iter().map(|k| k.spec.clone()).collect::<Vec<_>>(),
            "tokens": keys.iter().enumerate().map(|(i, k)| json!({
                "key": i, "header": { "alg": k.alg, "typ": "at+jwt" },
                "claims": claims_at(&format!("{lib}-{i}"), NOW, NOW + 300, AUD.into()),
            })).collect::<Vec<_>>(),
        })
    };
    let made_by_jose = node_batch(&[generate("jose", &jose_keys)]).remove(0);
    let made_by_jwcrypto = python_batch(&[generate("jwcrypto", &jwcrypto_keys)]).remove(0);

    let mut matrix = Matrix::new("jose, jwcrypto JWKS → gatepass verify --jwks");
    for (lib, made, keys) in [
        ("jose", &made_by_jose, &jose_keys[..]),
        ("jwcrypto", &made_by_jwcrypto, &jwcrypto_keys[..]),
    ] {
        let made = verdict(made).unwrap();
        let jwks = made["jwks"].to_string();
        let path = fixture.path(&format!("{lib}-jwks.json"));
        std::fs::write(&path, &jwks).unwrap();
        let (loaded, skipped) = VerificationKeys::from_jwks_json(jwks.as_bytes()).unwrap();
        matrix.record(
            format!(
                "{lib} JWKS → gatepass VerificationKeys: all {} keys load",
                keys.len()
            ),
            if skipped.is_empty() && loaded.len() == keys.len() {
                Ok(())
            } else {
                Err(format!("skipped {skipped:?}"))
            },
        );
        let verifier = Verifier::builder(loaded, ISS, AUD)
            .clock(Arc::new(ManualClock::new(NOW)))
            .build()
            .unwrap();
        let jwks_path = path.to_str().unwrap();
        let tokens = made["tokens"].as_array().unwrap();
        for (i, (key, token)) in keys.iter().zip(tokens).enumerate() {
            let (token, sub) = (token.as_str().unwrap(), format!("{lib}-{i}"));
            let shown = key.want.unwrap_or("verifies");
            let signed = format!("{lib} {}{}", key.alg, key.note);
            let got = cli_verify(&["--jwks", jwks_path], Some(NOW), token);
            let pair = format!("{signed} → gatepass verify --jwks: {shown}");
            matrix.expect(pair, &got, key.want, &sub);
            let got = lib_verify(&verifier, token);
            let pair = format!("{signed} → gatepass Verifier: {shown}");
            matrix.expect(pair, &got, key.want, &sub);
        }
    }
    matrix.finish();
}
