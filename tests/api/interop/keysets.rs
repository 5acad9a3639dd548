//! The keys both sides use: gatepass keyset files read the way gatepass reads them and the
//! way a third-party library does (raw private JWK entries, the printed JWK Set), and the
//! tokens and claims the interop tests make with them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gatepass::{Keyset, ManualClock, Verifier};
use serde_json::{json, Value};

use crate::support::*;

/// Algorithms whose active keys live in the fixture keyset (EdDSA, ES256, HS256) and in a
/// second keyset made with `gatepass keygen` (one active key per family).
pub const MAIN_ALGS: [&str; 3] = ["EdDSA", "ES256", "HS256"];
pub const ALT_ALGS: [&str; 2] = ["ES384", "HS512"];

/// The custom claim gatepass puts in its interop tokens: not ASCII, and outside the Basic
/// Multilingual Plane, so a library that escapes (`\u00eb`, surrogate pairs) or not must
/// give back the same string.
pub const ROLE: &str = "reader: Zoë 😀";

/// A keyset file as both sides see it: gatepass's parsed keyset, the raw private JWK
/// entries a third-party library imports, and the JWK Set `gatepass jwks` prints.
pub struct KeysetFile {
    pub path: PathBuf,
    pub keyset: Keyset,
    pub entries: Vec<Value>,
    pub jwks: Value,
}

impl KeysetFile {
    pub fn read(path: &Path) -> Self {
        let raw: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let jwks = run_str(&["jwks", "--keyset", path.to_str().unwrap()]);
        Self {
            path: path.to_owned(),
            keyset: Keyset::load(path).unwrap(),
            entries: raw["keys"].as_array().unwrap().clone(),
            jwks: stdout_json(&jwks),
        }
    }

    /// The raw entry of the active key for `alg`.
    pub fn active(&self, alg: &str) -> &Value {
        self.entries
            .iter()
            .find(|e| e["alg"] == alg && e["state"] == "active")
            .unwrap_or_else(|| panic!("no active {alg} key in {}", self.path.display()))
    }

    /// What a verifier of this key's tokens trusts: the published JWK Set, or for an HMAC
    /// key the set holding just its secret entry, taken from the keyset file.
    pub fn trust_for(&self, alg: &str) -> Value {
        if alg.starts_with("HS") {
            json!({ "keys": [self.active(alg)] })
        } else {
            self.jwks.clone()
        }
    }

    /// A library verifier trusting the keyset's verification keys, its clock at `now`.
    pub fn verifier_at(&self, now: u64) -> Verifier {
        Verifier::builder(self.keyset.verification_keys(), ISS, AUD)
            .clock(Arc::new(ManualClock::new(now)))
            .build()
            .unwrap()
    }
}

/// The fixture keyset (EdDSA, ES256, HS256 active; EdDSA pending) and an ES384 + HS512
/// keyset created through the CLI, both read the way each side reads them.
pub struct Keysets {
    pub fixture: Fixture,
    pub main: KeysetFile,
    pub alt: KeysetFile,
}

impl Keysets {
    pub fn new() -> Self {
        super::harness::require_all();
        let fixture = Fixture::new();
        let alt_path = fixture.path("alt-keyset.json");
        for alg in ALT_ALGS {
            let out = run_str(&[
                "keygen",
                "--alg",
                alg,
                "--keyset",
                alt_path.to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let main = KeysetFile::read(&fixture.keyset_path);
        let alt = KeysetFile::read(&alt_path);
        Self { fixture, main, alt }
    }

    /// The keyset holding the active key for `alg`.
    pub fn file_for(&self, alg: &str) -> &KeysetFile {
        if ALT_ALGS.contains(&alg) {
            &self.alt
        } else {
            &self.main
        }
    }

    /// Every algorithm with an active key: EdDSA, ES256, HS256, ES384, HS512.
    pub fn all_algs() -> impl Iterator<Item = &'static str> {
        MAIN_ALGS.into_iter().chain(ALT_ALGS)
    }
}

/// `gatepass issue --alg ALG` with the [`ROLE`] claim: one access token, signed now.
pub fn issue_cli(file: &KeysetFile, alg: &str, sub: &str) -> String {
    let keyset = file.path.to_str().unwrap();
    let out = run_str(&[
        "issue",
        "--keyset",
        keyset,
        "--iss",
        ISS,
        "--aud",
        AUD,
        "--sub",
        sub,
        "--alg",
        alg,
        "--claim",
        &format!("role={}", serde_json::to_string(ROLE).unwrap()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
}

/// Access-token claims for a third-party library to sign: every claim gatepass requires,
/// `nbf`, and a custom `role`.
pub fn claims_at(sub: &str, iat: u64, exp: u64, aud: Value) -> Value {
    json!({ "iss": ISS, "sub": sub, "aud": aud, "iat": iat, "nbf": iat, "exp": exp,
            "jti": format!("{sub}-{iat}"), "role": "writer" })
}
