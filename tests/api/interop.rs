//! Third-party JWT libraries and gatepass, in both directions, with the real libraries:
//! PyJWT and jwcrypto (pinned in `tests/interop/requirements.txt`, installed by `.ci/run`
//! into `tests/interop/.venv`) and Node `jose` (pinned in `tests/interop/package.json` and
//! its `package-lock.json`, installed by `npm ci` into `tests/interop/node_modules`).
//!
//! Each test batches its checks into one process per runtime (`tests/interop/python_libs.py`,
//! `tests/interop/node_jose.mjs`: JSON in, JSON out), records every producer → consumer
//! pair in a matrix, prints it (`cargo test interop -- --nocapture` shows the counts) and
//! fails listing every pair that did not go as expected. Missing libraries, or versions
//! other than the pinned ones, fail the tests with the install commands: never a skip.
//!
//! Here: what gatepass issues, verified by the others. `into_gatepass`: what the others
//! sign and generate, verified and loaded by gatepass. `strictness`: validly signed tokens
//! gatepass refuses and some of the others accept (docs/STANDARDS.md's table).

#[path = "interop/dpop.rs"]
mod dpop;
#[path = "interop/harness.rs"]
mod harness;
#[path = "interop/into_gatepass.rs"]
mod into_gatepass;
#[path = "interop/keysets.rs"]
mod keysets;
#[cfg(feature = "jwks-client")]
#[path = "interop/recipes.rs"]
mod recipes;
#[path = "interop/strictness.rs"]
mod strictness;

use std::process::Command;

use gatepass::{Algorithm, Issuer, KeySelector};
use serde_json::{json, Value};

use crate::support::*;
pub use harness::{interop_script, pyjwt_verify_via_jwks_url, python};
use harness::{node_batch, python_batch, tamper_claims, verdict, JsonServer, Matrix};
use keysets::{issue_cli, KeysetFile, Keysets, ROLE};

const PYTHON_LIBS: [&str; 2] = ["pyjwt", "jwcrypto"];

fn lib_name(lib: &str) -> &'static str {
    match lib {
        "pyjwt" => "PyJWT",
        "jwcrypto" => "jwcrypto",
        _ => "jose",
    }
}

/// `op` for one of the Python libraries.
fn with_lib(op: &Value, lib: &str) -> Value {
    let mut op = op.clone();
    op["lib"] = lib.into();
    op
}

/// A third-party library's verdict on a gatepass token that must verify: the claims
/// gatepass wrote, and the RFC 9068 header.
fn accepted_as(result: &Value, sub: &str) -> Result<(), String> {
    let verified = verdict(result)?;
    let (header, claims) = (&verified["header"], &verified["claims"]);
    if claims["sub"] != sub || claims["role"] != ROLE || header["typ"] != "at+jwt" {
        return Err(format!("verified, but header {header} claims {claims}"));
    }
    if !claims["sid"].is_string() || !claims["jti"].is_string() {
        return Err(format!("verified without sid/jti: {claims}"));
    }
    Ok(())
}

fn rejected<T>(result: Result<T, String>) -> Result<(), String> {
    match result {
        Ok(_) => Err("accepted".into()),
        Err(_) => Ok(()),
    }
}

#[test]
fn gatepass_tokens_verify_in_pyjwt_jwcrypto_and_jose_with_the_published_jwks() {
    let keysets = Keysets::new();
    // (producer, alg, token, sub): each algorithm through the CLI and through the library.
    let mut tokens = Vec::new();
    for alg in Keysets::all_algs() {
        let file = keysets.file_for(alg);
        let sub = format!("cli-{alg}");
        tokens.push(("gatepass issue", alg, issue_cli(file, alg, &sub), sub));
        let selector = KeySelector::Algorithm(alg.parse::<Algorithm>().unwrap());
        let sub = format!("lib-{alg}");
        let issued = Issuer::new(file.keyset.signing_key(&selector).unwrap(), ISS, AUD)
            .access_token(&sub)
            .claim("role", ROLE)
            .unwrap()
            .issue()
            .unwrap();
        tokens.push(("gatepass Issuer", alg, issued.token, sub));
    }

    // Every token and a tampered copy, to PyJWT and jwcrypto in one Python process and to
    // jose in one Node process, each trusting what `gatepass jwks` printed (or, for HMAC,
    // the secret entry of the keyset file).
    let ops: Vec<Value> = tokens
        .iter()
        .flat_map(|(_, alg, token, _)| {
            let trust = keysets.file_for(alg).trust_for(alg);
            [token.clone(), tamper_claims(token)].map(|token| {
                json!({ "op": "verify", "token": token, "iss": ISS, "aud": AUD, "jwks": trust })
            })
        })
        .collect();
    let py_ops: Vec<Value> = PYTHON_LIBS
        .iter()
        .flat_map(|lib| ops.iter().map(|op| with_lib(op, lib)))
        .collect();
    let results = [python_batch(&py_ops), node_batch(&ops)].concat();

    let mut matrix = Matrix::new("gatepass → PyJWT, jwcrypto, jose");
    let mut results = results.iter();
    for lib in PYTHON_LIBS.into_iter().chain(["jose"]) {
        let consumer = lib_name(lib);
        for (producer, alg, _, sub) in &tokens {
            let (valid, tampered) = (results.next().unwrap(), results.next().unwrap());
            matrix.record(
                format!("{producer} {alg} → {consumer}: verifies"),
                accepted_as(valid, sub),
            );
            matrix.record(
                format!("{producer} {alg}, claims tampered → {consumer}: rejected"),
                rejected(verdict(tampered)),
            );
        }
    }
    matrix.finish();
}

#[test]
fn rfc_7638_thumbprints_agree_with_jose_and_jwcrypto() {
    let keysets = Keysets::new();
    let entries: Vec<(&KeysetFile, &Value)> = [&keysets.main, &keysets.alt]
        .into_iter()
        .flat_map(|file| file.entries.iter().map(move |e| (file, e)))
        .collect();
    let ops: Vec<Value> = entries
        .iter()
        .map(|(_, entry)| json!({ "op": "thumbprint", "lib": "jwcrypto", "jwk": entry }))
        .collect();
    let results = [python_batch(&ops), node_batch(&ops)].concat();
    let mut matrix = Matrix::new("RFC 7638 thumbprints: gatepass = jose = jwcrypto");
    for (i, result) in results.iter().enumerate() {
        let (file, entry) = entries[i % entries.len()];
        let lib = if i < entries.len() {
            "jwcrypto"
        } else {
            "jose"
        };
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
        let outcome = verdict(result).and_then(|r| match r["thumbprint"].as_str() {
            Some(theirs) if theirs == ours => Ok(()),
            theirs => Err(format!("{lib} {theirs:?}, gatepass {ours}")),
        });
        matrix.record(format!("{alg} key {kid} → {lib}: same thumbprint"), outcome);
    }
    matrix.finish();
}

/// The Python half of "the access token from `/auth/login` verifies in PyJWT against
/// `/.well-known/jwks.json`", against a loopback server publishing `gatepass jwks`.
#[test]
fn pyjwt_jwks_client_verifies_gatepass_tokens_from_a_jwks_url() {
    let keysets = Keysets::new();
    let server = JsonServer::start(serde_json::to_vec(&keysets.main.jwks).unwrap());
    let url = server.url("/.well-known/jwks.json");
    let stranger = Fixture::new();
    let stranger = KeysetFile::read(&stranger.keyset_path);
    let mut matrix = Matrix::new("gatepass JWKS URL → PyJWT PyJWKClient");
    for alg in ["EdDSA", "ES256"] {
        let sub = format!("url-{alg}");
        let token = issue_cli(&keysets.main, alg, &sub);
        matrix.record(
            format!("gatepass issue {alg} → PyJWKClient: verifies"),
            pyjwt_verify_via_jwks_url(&url, &token, ISS, AUD).and_then(|v| accepted_as(&v, &sub)),
        );
        let forged = pyjwt_verify_via_jwks_url(&url, &tamper_claims(&token), ISS, AUD);
        matrix.record(
            format!("gatepass issue {alg}, claims tampered → PyJWKClient: rejected"),
            rejected(forged),
        );
        let unknown = issue_cli(&stranger, alg, &sub);
        matrix.record(
            format!("another keyset's {alg} token → PyJWKClient: rejected"),
            rejected(pyjwt_verify_via_jwks_url(&url, &unknown, ISS, AUD)),
        );
    }
    let served = server.stop();
    matrix.record(
        "PyJWKClient fetched the set over HTTP".into(),
        if served > 0 {
            Ok(())
        } else {
            Err("no request reached the server".into())
        },
    );
    matrix.finish();
}

/// `tests/interop/pyjwt_verify.py`, the one-shot script for people: a JWKS file in.
#[test]
fn pyjwt_verifies_cli_tokens_against_the_cli_jwks() {
    let keysets = Keysets::new();
    let jwks_path = keysets.fixture.path("jwks.json");
    std::fs::write(&jwks_path, keysets.main.jwks.to_string()).unwrap();
    let pyjwt = |token: &str| {
        Command::new(python())
            .arg(interop_script("pyjwt_verify.py"))
            .args([jwks_path.to_str().unwrap(), token, ISS, AUD])
            .output()
            .unwrap()
    };
    for alg in ["EdDSA", "ES256"] {
        let token = issue_cli(&keysets.main, alg, "py");
        let py = pyjwt(&token);
        assert!(
            py.status.success(),
            "{alg}: {}",
            String::from_utf8_lossy(&py.stderr)
        );
        let claims: Value = serde_json::from_slice(&py.stdout).unwrap();
        assert_eq!(claims["sub"], "py");
        assert_eq!(claims["role"], ROLE);
        // And a tampered token is refused by PyJWT too (the test can fail).
        let py = pyjwt(&tamper_claims(&token));
        assert!(
            !py.status.success(),
            "{alg}: PyJWT accepted a forged signature"
        );
    }
}
