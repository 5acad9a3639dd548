//! The `jwt` profile's recipes (docs/RECIPES.md), one per identity provider: a token with
//! that provider's real header and claim shapes, signed by a third-party library (jwcrypto)
//! with a fresh key served as a JWK Set over loopback, accepted by
//! `gatepass verify --profile jwt --jwks URL` with the recipe's flags, and refused with the
//! right kind when one thing is wrong.

use serde_json::{json, Value};

use super::harness::{python_batch, tamper_claims, verdict, JsonServer};
use crate::support::*;

/// One provider: its key, its token, the recipe's flags, and broken variants (a change to
/// the claims or header, the expected kind).
struct Recipe {
    name: &'static str,
    key: Value,
    header: Value,
    claims: Value,
    flags: &'static [&'static str],
    broken: Vec<(&'static str, Value, Value, &'static str)>,
}

const NOW_S: u64 = NOW;

fn times(claims: &mut Value) {
    claims["iat"] = json!(NOW_S - 60);
    claims["exp"] = json!(NOW_S + 240);
}

fn rsa() -> Value {
    json!({"kty": "RSA", "size": 2048, "alg": "RS256"})
}

fn with(base: &Value, changes: &Value) -> Value {
    let mut out = base.clone();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            out.as_object_mut().unwrap().remove(name);
        } else {
            out[name] = value.clone();
        }
    }
    out
}

fn recipes() -> Vec<Recipe> {
    let mut keycloak = json!({
        "jti": "onrtro:4d1c2a5e-8f7b-4c55-9b0a-2f1d9c3e7a61",
        "iss": "https://sso.example.com/realms/acme",
        "aud": ["orders-api", "account"],
        "sub": "f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "typ": "Bearer", "azp": "web-app", "sid": "0c2b6f0e-1d7a-4c1e-9a63-6a3b5f1d2e4c",
        "scope": "openid profile orders:read",
        "realm_access": {"roles": ["offline_access", "buyer"]},
        "preferred_username": "alice"
    });
    times(&mut keycloak);
    let mut auth0 = json!({
        "iss": "https://acme.eu.auth0.com/", "sub": "auth0|64f1c2d3e4b5a6978812",
        "aud": ["https://api.acme.example", "https://acme.eu.auth0.com/userinfo"],
        "azp": "Xq9Yb8c7D6e5F4g3H2i1", "scope": "openid profile read:orders",
        "permissions": ["read:orders"]
    });
    times(&mut auth0);
    let mut entra = json!({
        "aud": "api://orders", "iss": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
        "nbf": NOW_S - 60, "aio": "AWQAm/8VAAAA", "azp": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        "azpacr": "0", "name": "Alice", "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
        "preferred_username": "alice@acme.example", "rh": "0.ARoAv4j5cvGGr0GRqy180BHbR",
        "scp": "Orders.Read", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "tid": "9188040d-6c67-4c5b-b112-36a304b66dad", "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0"
    });
    times(&mut entra);
    let mut cognito = json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": ["buyers"],
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        "version": 2, "client_id": "1example23456789", "origin_jti": "a1b2c3d4",
        "event_id": "e1f2a3b4", "token_use": "access", "scope": "orders/read",
        "auth_time": NOW_S - 60, "jti": "c9d8e7f6-a5b4-4c3d-8e2f-1a0b9c8d7e6f", "username": "alice"
    });
    times(&mut cognito);
    let mut supabase = json!({
        "iss": "https://abcdefghijklmnop.supabase.co/auth/v1",
        "sub": "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901", "aud": "authenticated",
        "email": "alice@acme.example", "phone": "", "app_metadata": {"provider": "email"},
        "user_metadata": {}, "role": "authenticated", "aal": "aal1",
        "amr": [{"method": "password", "timestamp": NOW_S - 60}],
        "session_id": "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f", "is_anonymous": false
    });
    times(&mut supabase);
    let mut hydra = json!({
        "aud": ["orders-api"], "client_id": "web-app", "ext": {},
        "iss": "https://auth.acme.example/", "jti": "8d7c6b5a-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
        "nbf": NOW_S - 60, "scp": ["offline", "orders.read"], "sub": "alice"
    });
    times(&mut hydra);
    let mut google = json!({
        "iss": "https://accounts.google.com", "azp": "1234567890-abc.apps.googleusercontent.com",
        "aud": "1234567890-abc.apps.googleusercontent.com", "sub": "110169484474386276334",
        "email": "alice@acme.example", "email_verified": true, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q"
    });
    times(&mut google);

    vec![
        Recipe {
            name: "Keycloak",
            key: rsa(),
            header: json!({"alg": "RS256", "typ": "JWT"}),
            claims: keycloak,
            flags: &[
                "--iss",
                "https://sso.example.com/realms/acme",
                "--aud",
                "orders-api",
            ],
            broken: vec![
                (
                    "another realm",
                    json!({"iss": "https://sso.example.com/realms/other"}),
                    json!({}),
                    "wrong_issuer",
                ),
                (
                    "a refresh token",
                    json!({}),
                    json!({"typ": "refresh+jwt"}),
                    "wrong_type",
                ),
            ],
        },
        Recipe {
            name: "Auth0",
            key: rsa(),
            header: json!({"alg": "RS256", "typ": "JWT"}),
            claims: auth0,
            flags: &[
                "--iss",
                "https://acme.eu.auth0.com/",
                "--aud",
                "https://api.acme.example",
            ],
            broken: vec![
                (
                    "another API",
                    json!({"aud": "https://other.acme.example"}),
                    json!({}),
                    "wrong_audience",
                ),
                ("no exp", json!({"exp": null}), json!({}), "missing_claim"),
            ],
        },
        Recipe {
            name: "Microsoft Entra ID",
            key: rsa(),
            header: json!({"alg": "RS256", "typ": "JWT"}),
            claims: entra,
            flags: &[
                "--iss",
                "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
                "--aud",
                "api://orders",
                "--require",
                "scp",
            ],
            broken: vec![
                (
                    "not yet valid",
                    json!({"nbf": NOW_S + 3600}),
                    json!({}),
                    "not_yet_valid",
                ),
                (
                    "no scp (an app-only token)",
                    json!({"scp": null, "roles": ["Orders.Read.All"]}),
                    json!({}),
                    "missing_claim",
                ),
            ],
        },
        Recipe {
            name: "Amazon Cognito",
            key: rsa(),
            header: json!({"alg": "RS256"}),
            claims: cognito,
            flags: &[
                "--iss",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
                "--no-audience",
                "--require",
                "client_id",
            ],
            broken: vec![
                (
                    "no client_id",
                    json!({"client_id": null}),
                    json!({}),
                    "missing_claim",
                ),
                (
                    "expired",
                    json!({"exp": NOW_S - 3600}),
                    json!({}),
                    "expired",
                ),
            ],
        },
        Recipe {
            name: "Supabase",
            key: json!({"kty": "EC", "crv": "P-256", "alg": "ES256"}),
            header: json!({"alg": "ES256", "typ": "JWT"}),
            claims: supabase,
            flags: &[
                "--iss",
                "https://abcdefghijklmnop.supabase.co/auth/v1",
                "--aud",
                "authenticated",
            ],
            broken: vec![
                (
                    "an anonymous audience",
                    json!({"aud": "anon"}),
                    json!({}),
                    "wrong_audience",
                ),
                (
                    "iat as a string",
                    json!({"iat": "1799999940"}),
                    json!({}),
                    "invalid_claim",
                ),
            ],
        },
        Recipe {
            name: "Ory Hydra",
            key: rsa(),
            header: json!({"alg": "RS256", "typ": "JWT"}),
            claims: hydra,
            flags: &["--iss", "https://auth.acme.example/", "--aud", "orders-api"],
            broken: vec![
                (
                    "no audience requested",
                    json!({"aud": []}),
                    json!({}),
                    "invalid_claim",
                ),
                (
                    "a DPoP proof",
                    json!({}),
                    json!({"typ": "dpop+jwt"}),
                    "wrong_type",
                ),
            ],
        },
        Recipe {
            name: "Google",
            key: rsa(),
            header: json!({"alg": "RS256", "typ": "JWT"}),
            claims: google,
            flags: &[
                "--iss",
                "https://accounts.google.com",
                "--iss",
                "accounts.google.com",
                "--aud",
                "1234567890-abc.apps.googleusercontent.com",
            ],
            broken: vec![
                (
                    "another client",
                    json!({"aud": "999-other.apps.googleusercontent.com"}),
                    json!({}),
                    "wrong_audience",
                ),
                (
                    "a lookalike issuer",
                    json!({"iss": "https://accounts.google.com.evil.example"}),
                    json!({}),
                    "wrong_issuer",
                ),
            ],
        },
    ]
}

fn verify(url: &str, flags: &[&str], token: &str) -> Result<Value, String> {
    let mut args = vec!["verify", "--profile", "jwt", "--jwks", url];
    args.extend_from_slice(flags);
    let at = NOW_S.to_string();
    args.extend_from_slice(&["--at", &at, "--", token]);
    let output = run_str(&args);
    match output.status.code() {
        Some(0) => Ok(stdout_json(&output)),
        Some(1) => Err(cli_rejection(&output)),
        _ => panic!("usage error: {}", String::from_utf8_lossy(&output.stderr)),
    }
}

#[test]
fn each_providers_access_token_is_accepted_with_its_recipe_and_refused_when_one_thing_is_wrong() {
    let recipes = recipes();
    // One jwcrypto process: a fresh key per provider, its good token and the broken ones.
    let ops: Vec<Value> = recipes
        .iter()
        .map(|r| {
            let mut tokens = vec![json!({"key": 0, "header": r.header, "claims": r.claims})];
            for (_, claims, header, _) in &r.broken {
                tokens.push(json!({"key": 0, "header": with(&r.header, header),
                                   "claims": with(&r.claims, claims)}));
            }
            json!({"op": "generate", "lib": "jwcrypto", "keys": [r.key], "tokens": tokens})
        })
        .collect();
    let results = python_batch(&ops);
    let mut keys = Vec::new();
    let mut tokens = Vec::new();
    for result in &results {
        let result = verdict(result).unwrap();
        keys.extend(result["jwks"]["keys"].as_array().unwrap().iter().cloned());
        tokens.push(result["tokens"].as_array().unwrap().clone());
    }
    let server = JsonServer::start(json!({ "keys": keys }).to_string().into_bytes());
    let url = server.url("/jwks.json");

    let mut failures = Vec::new();
    for (recipe, tokens) in recipes.iter().zip(&tokens) {
        let good = tokens[0].as_str().unwrap();
        match verify(&url, recipe.flags, good) {
            Ok(out) => {
                if out["claims"]["iss"] != recipe.claims["iss"]
                    || out["header"]["alg"] != recipe.header["alg"]
                {
                    failures.push(format!(
                        "{}: accepted with other claims: {out}",
                        recipe.name
                    ));
                }
            }
            Err(kind) => failures.push(format!("{}: refused ({kind})", recipe.name)),
        }
        // The gatepass profile refuses every one of them: not our token type or claims.
        let mut strict = vec!["verify", "--jwks", &url];
        strict.extend_from_slice(recipe.flags);
        let at = NOW_S.to_string();
        strict.extend_from_slice(&["--at", &at, "--", good]);
        let output = run_str(&strict);
        if output.status.code() != Some(1) {
            failures.push(format!(
                "{}: the gatepass profile did not refuse it",
                recipe.name
            ));
        }
        // A forged copy never verifies.
        if verify(&url, recipe.flags, &tamper_claims(good)) != Err("bad_signature".into()) {
            failures.push(format!(
                "{}: a tampered token was not bad_signature",
                recipe.name
            ));
        }
        for ((what, _, _, want), token) in recipe.broken.iter().zip(&tokens[1..]) {
            let got = verify(&url, recipe.flags, token.as_str().unwrap());
            if got.as_ref().err().map(String::as_str) != Some(*want) {
                failures.push(format!(
                    "{} / {what}: want {want}, got {got:?}",
                    recipe.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn google_issues_under_two_issuer_spellings_and_both_are_accepted() {
    let mut claims = recipes().remove(6).claims;
    claims["iss"] = json!("accounts.google.com");
    let results = python_batch(
        &[json!({"op": "generate", "lib": "jwcrypto", "keys": [rsa()],
        "tokens": [{"key": 0, "header": {"alg": "RS256", "typ": "JWT"}, "claims": claims}]})],
    );
    let result = verdict(&results[0]).unwrap();
    let server = JsonServer::start(result["jwks"].to_string().into_bytes());
    let token = result["tokens"][0].as_str().unwrap();
    let flags = [
        "--iss",
        "https://accounts.google.com",
        "--iss",
        "accounts.google.com",
        "--aud",
        "1234567890-abc.apps.googleusercontent.com",
    ];
    let out = verify(&server.url("/jwks.json"), &flags, token).unwrap();
    assert_eq!(out["claims"]["iss"], "accounts.google.com");
    // Named once, the other spelling is wrong_issuer.
    assert_eq!(
        verify(&server.url("/jwks.json"), &flags[2..], token).err(),
        None
    );
    assert_eq!(
        verify(
            &server.url("/jwks.json"),
            &[&flags[..2], &flags[4..]].concat(),
            token
        ),
        Err("wrong_issuer".into())
    );
}
