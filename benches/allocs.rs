//! Allocations per operation, and bytes per revocation entry, counted by an instrumented
//! global allocator (`stats_alloc`): exact and reproducible, unlike timings on a shared
//! machine. Kept out of the timing binary so counting never slows a timed loop.
//!
//! `cargo bench --bench allocs` prints the table of docs/PERFORMANCE.md; under
//! `cargo test` it runs with small revocation lists only.
#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

#[path = "common.rs"]
mod common;

use std::alloc::System;
use std::fmt::Write as _;
use std::hint::black_box;

use gatepass::{Algorithm, RevocationQuery, RevocationView};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

use common::*;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ROUNDS: usize = 100;

/// Allocations and bytes allocated per call of `f`, averaged over `ROUNDS` calls after
/// one warm-up call (lazy statics, first-use buffers).
fn per_call<R>(mut f: impl FnMut() -> R) -> (f64, f64) {
    drop(black_box(f()));
    let region = Region::new(GLOBAL);
    for _ in 0..ROUNDS {
        drop(black_box(f()));
    }
    let stats = region.change();
    (
        stats.allocations as f64 / ROUNDS as f64,
        stats.bytes_allocated as f64 / ROUNDS as f64,
    )
}

/// `GATEPASS_PROFILE=OP:N`: run one operation N times and nothing else, for
/// `valgrind --tool=callgrind` or `perf record` (instruction counts are reproducible on a
/// noisy machine where timings are not: run N and 0 times and subtract).
/// The request URI of the DPoP proof the `dpop-proof` profile checks.
const DPOP_URI: &str = "https://api.example.com/orders";

fn profile(spec: &str) {
    let (op, n) = spec.split_once(':').unwrap_or((spec, "1000"));
    let n: usize = n.parse().expect("N");
    let alg = match op {
        "hs256" | "ring-hmac" => Algorithm::HS256,
        "es256" => Algorithm::ES256,
        _ => Algorithm::EdDSA,
    };
    // GATEPASS_ALG picks the typical token's algorithm (HS256 by default).
    let typical_alg = match std::env::var("GATEPASS_ALG").as_deref() {
        Ok("ES256") => Algorithm::ES256,
        Ok("EdDSA") => Algorithm::EdDSA,
        _ => Algorithm::HS256,
    };
    let case = if op.starts_with("typical") || op == "dpop-proof" {
        Case::typical(typical_alg)
    } else {
        Case::new(alg)
    };
    let list = revocation_list(if op == "revocation" { 1_000_000 } else { 0 });
    let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HS_SECRET);
    let iat = now();
    let mut buf = Vec::new();
    let jwt_key = jsonwebtoken::DecodingKey::from_secret(HS_SECRET);
    let mut jwt_validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    jwt_validation.set_issuer(&[ISS]);
    jwt_validation.set_audience(&[AUD]);
    let jwt_enc = jsonwebtoken::EncodingKey::from_secret(HS_SECRET);
    let mut jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jwt_header.typ = Some("at+jwt".into());
    jwt_header.kid = Some("hs-2025".into());
    let rng = ring::rand::SystemRandom::new();
    let typical_custom = typical_custom();
    let dpop_key = gatepass::DpopKey::generate(Algorithm::ES256).expect("key");
    let dpop_proof = dpop_key
        .proof("GET", DPOP_URI)
        .access_token(&case.token)
        .make_at(1_700_000_000)
        .expect("proof");
    let dpop_verifier = gatepass::DpopVerifier::builder().build().expect("verifier");
    for i in 0..n {
        match op {
            "ring-hmac" => {
                let ok = ring::hmac::verify(&hmac, &case.signing_input, &case.signature);
                black_box(ok).expect("verifies");
            }
            "revocation" => {
                let (jti, sid, sub) = (fake_uuid(i as u64, 3), session_id(i as u64, 4), "x");
                black_box(list.check(&RevocationQuery::new(&jti, Some(&sid), sub, iat)));
            }
            "typical-ring" => {
                let ok = match typical_alg {
                    Algorithm::HS256 => {
                        ring::hmac::verify(&hmac, &case.signing_input, &case.signature)
                    }
                    _ => raw_public_key(&case).verify(&case.signing_input, &case.signature),
                };
                black_box(ok).expect("verifies");
            }
            "typical-borrowed" => {
                let verified = case
                    .verifier
                    .verify_access_in::<TenantRef<'_>>(&case.token, &mut buf)
                    .expect("verifies");
                black_box(verified.claims().exp);
            }
            "typical-jsonwebtoken" => drop(black_box(
                jsonwebtoken::decode::<TypicalClaims>(&case.token, &jwt_key, &jwt_validation)
                    .expect("verifies"),
            )),
            "typical-issue" => drop(black_box(
                case.issuer
                    .access_token(SUB)
                    .session_id(TYPICAL_SID)
                    .claims(&typical_custom)
                    .expect("claims")
                    .issue()
                    .expect("issue"),
            )),
            "typical-jsonwebtoken-issue" => {
                let mut id = [0u8; 16];
                ring::rand::SecureRandom::fill(&rng, &mut id).expect("random");
                let now = now();
                let claims = TypicalClaims {
                    iss: ISS.into(),
                    sub: SUB.into(),
                    aud: AUD.into(),
                    exp: now + 3600,
                    iat: now,
                    jti: base64::Engine::encode(
                        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                        id,
                    ),
                    sid: TYPICAL_SID.into(),
                    scope: "orders:read orders:write".into(),
                    tenant: "acme-eu-west".into(),
                };
                drop(black_box(
                    jsonwebtoken::encode(&jwt_header, &claims, &jwt_enc).expect("encode"),
                ));
            }
            "dpop-proof" => drop(black_box(
                dpop_verifier
                    .verify_at(
                        &dpop_proof,
                        "GET",
                        DPOP_URI,
                        Some(&case.token),
                        1_700_000_000,
                    )
                    .expect("verifies"),
            )),
            "typical" => drop(black_box(
                case.verifier
                    .verify_access_as::<Tenant>(&case.token)
                    .expect("verifies"),
            )),
            _ => drop(black_box(
                case.verifier.verify_access(&case.token).expect("verifies"),
            )),
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var("GATEPASS_PROFILE") {
        return profile(&spec);
    }
    let full = std::env::args().any(|a| a == "--bench");
    let mut out = String::from(
        "| operation | allocations per call | bytes allocated per call |\n|---|---|---|\n",
    );
    let mut row = |name: &str, (allocs, bytes): (f64, f64)| {
        let _ = writeln!(out, "| {name} | {allocs:.1} | {bytes:.0} |");
    };

    for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
        let case = Case::new(alg);
        row(
            &format!("{alg} `verify_access`"),
            per_call(|| case.verifier.verify_access(&case.token).expect("verifies")),
        );
    }
    // The typical ~470-byte token: typed (owned), typed borrowing from a reused buffer,
    // the JSON map, jsonwebtoken into a struct, and two refusals.
    let typical = Case::typical(Algorithm::HS256);
    row(
        &format!(
            "HS256 typical ({} B) `verify_access_as::<Tenant>`",
            typical.token.len()
        ),
        per_call(|| {
            typical
                .verifier
                .verify_access_as::<Tenant>(&typical.token)
                .expect("verifies")
        }),
    );
    let mut buf = Vec::new();
    row(
        "HS256 typical `verify_access_in::<TenantRef>` (buffer reused)",
        per_call(|| {
            let verified = typical
                .verifier
                .verify_access_in::<TenantRef<'_>>(&typical.token, &mut buf)
                .expect("verifies");
            verified.claims().exp
        }),
    );
    row(
        "HS256 typical `verify_access` (JSON map)",
        per_call(|| {
            typical
                .verifier
                .verify_access(&typical.token)
                .expect("verifies")
        }),
    );
    let hs_key = jsonwebtoken::DecodingKey::from_secret(HS_SECRET);
    let mut hs_validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    hs_validation.set_issuer(&[ISS]);
    hs_validation.set_audience(&[AUD]);
    row(
        "HS256 typical jsonwebtoken `decode` into a struct (reference)",
        per_call(|| {
            jsonwebtoken::decode::<TypicalClaims>(&typical.token, &hs_key, &hs_validation)
                .expect("verifies")
        }),
    );
    let forged = {
        let mut t = typical.token.clone();
        let last = t.pop().expect("non-empty");
        t.push(if last == 'A' { 'Q' } else { 'A' });
        t
    };
    row(
        "HS256 typical, bad signature (refused)",
        per_call(|| {
            typical
                .verifier
                .verify_access_as::<Tenant>(&forged)
                .expect_err("refused")
        }),
    );
    let other_audience =
        gatepass::Verifier::builder(verification_keys(&typical.key), ISS, "another-api")
            .build()
            .expect("verifier");
    row(
        "HS256 typical, wrong audience (refused)",
        per_call(|| {
            other_audience
                .verify_access_as::<Tenant>(&typical.token)
                .expect_err("refused")
        }),
    );

    let eddsa = Case::new(Algorithm::EdDSA);
    let cached = gatepass::Verifier::builder(verification_keys(&eddsa.key), ISS, AUD)
        .cache(gatepass::TokenCache::new(100, std::time::Duration::from_secs(60)).expect("cache"))
        .build()
        .expect("verifier");
    row(
        "cache hit `verify_access`",
        per_call(|| cached.verify_access(&eddsa.token).expect("verifies")),
    );
    let case = Case::new(Algorithm::HS256);
    let key = jsonwebtoken::DecodingKey::from_secret(HS_SECRET);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    row(
        "HS256 jsonwebtoken `decode` into a map (reference)",
        per_call(|| {
            jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
                &case.token,
                &key,
                &validation,
            )
            .expect("verifies")
        }),
    );

    let eddsa = Case::new(Algorithm::EdDSA);
    let custom = custom_claims();
    let sid = session_id(1, 9);
    row(
        "issue access + refresh (EdDSA)",
        per_call(|| eddsa.issue_pair(&sid, &custom)),
    );

    let list = revocation_list(1000);
    let queries = live_queries(64);
    let iat = now();
    let mut i = 0;
    row(
        "revocation check (not revoked)",
        per_call(|| {
            i = (i + 1) % queries.len();
            let (jti, sid, sub) = &queries[i];
            list.check(&RevocationQuery::new(jti, Some(sid), sub, iat))
        }),
    );
    drop(list);

    let _ = writeln!(
        out,
        "\n| revocation entries | bytes per entry (live heap, incl. the ids) |\n|---|---|"
    );
    let sizes: &[u64] = if full {
        &[1_000, 10_000, 100_000, 1_000_000]
    } else {
        &[1_000]
    };
    for &n in sizes {
        let region = Region::new(GLOBAL);
        let list = revocation_list(n);
        let stats = region.change();
        let live = stats.bytes_allocated as i128 - stats.bytes_deallocated as i128
            + stats.bytes_reallocated as i128;
        let _ = writeln!(out, "| {n} | {:.0} |", live as f64 / n as f64);
        drop(black_box(list));
    }

    println!("{out}");
    if full {
        let dir = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("criterion")));
        if let Some(dir) = dir {
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join("gatepass-allocs.md");
            if std::fs::write(&path, &out).is_ok() {
                println!("written to {}", path.display());
            }
        }
    }
}

/// The raw ring verifier of a case's public key (ES256: the uncompressed point; EdDSA: x).
fn raw_public_key(case: &Case) -> ring::signature::UnparsedPublicKey<Vec<u8>> {
    if case.alg == Algorithm::ES256 {
        let mut point = vec![4u8];
        point.extend(case.jwk_bytes("x"));
        point.extend(case.jwk_bytes("y"));
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
    } else {
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, case.jwk_bytes("x"))
    }
}
