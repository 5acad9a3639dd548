//! Timings of gatepass against its baselines, all measured in one run: raw ring (HMAC,
//! ECDSA P-256, Ed25519), ed25519-dalek, and jsonwebtoken 11 (`rust_crypto`) `decode` of
//! the same token with the same checks where it has them.
//!
//! `cargo bench --bench verify` runs everything (a few minutes), then prints the ratio
//! table of docs/PERFORMANCE.md and writes it, with the chart, next to criterion's
//! reports (`target/criterion/gatepass-report.md`, `gatepass-chart.png`). Under
//! `cargo test` every benchmark runs once, as a smoke test, and no report is written.
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
#[path = "report.rs"]
mod report;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header::AUTHORIZATION, HeaderValue, Request};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::{BenchmarkId, Criterion};
use gatepass::{Algorithm, AuthLayer, RevocationQuery, RevocationView, TokenCache, Verifier};
use ring::signature::{self as ring_sig, KeyPair as _};
use serde::Deserialize;
use tower::ServiceExt as _;

use common::*;

/// What jsonwebtoken users typically decode into: the registered claims as fields and
/// the rest flattened into a map, i.e. the same data gatepass returns.
#[derive(Deserialize)]
#[allow(dead_code)]
struct JwtClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    nbf: Option<u64>,
    jti: String,
    sid: Option<String>,
    #[serde(flatten)]
    custom: serde_json::Map<String, serde_json::Value>,
}

fn jwt_validation(alg: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 30;
    validation.validate_nbf = true;
    validation
}

fn jwt_key(case: &Case) -> jsonwebtoken::DecodingKey {
    match case.alg {
        Algorithm::HS256 => jsonwebtoken::DecodingKey::from_secret(HS_SECRET),
        Algorithm::ES256 => {
            jsonwebtoken::DecodingKey::from_ec_components(&case.jwk_text("x"), &case.jwk_text("y"))
                .expect("ec key")
        }
        _ => jsonwebtoken::DecodingKey::from_ed_components(&case.jwk_text("x")).expect("ed key"),
    }
}

fn jwt_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        _ => jsonwebtoken::Algorithm::EdDSA,
    }
}

fn bench_verify(c: &mut Criterion) {
    for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
        let case = Case::new(alg);
        let group_name = alg.as_str().to_ascii_lowercase();
        let mut group = c.benchmark_group(&group_name);
        let (message, signature) = (&case.signing_input, &case.signature);

        // The raw signature check of the same signing input: the floor.
        match alg {
            Algorithm::HS256 => {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HS_SECRET);
                group.bench_function("ring", |b| {
                    b.iter(|| ring::hmac::verify(&key, black_box(message), black_box(signature)))
                });
            }
            Algorithm::ES256 => {
                let mut point = vec![4u8];
                point.extend(case.jwk_bytes("x"));
                point.extend(case.jwk_bytes("y"));
                let key =
                    ring_sig::UnparsedPublicKey::new(&ring_sig::ECDSA_P256_SHA256_FIXED, point);
                group.bench_function("ring", |b| {
                    b.iter(|| key.verify(black_box(message), black_box(signature)))
                });
            }
            _ => {
                let x = case.jwk_bytes("x");
                let key = ring_sig::UnparsedPublicKey::new(&ring_sig::ED25519, x.clone());
                group.bench_function("ring", |b| {
                    b.iter(|| key.verify(black_box(message), black_box(signature)))
                });
                let dalek =
                    ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().expect("32 bytes"))
                        .expect("dalek key");
                let sig = ed25519_dalek::Signature::from_slice(signature).expect("dalek sig");
                group.bench_function("dalek", |b| {
                    b.iter(|| dalek.verify_strict(black_box(message), black_box(&sig)))
                });
            }
        }

        group.bench_function("gatepass", |b| {
            b.iter(|| {
                case.verifier
                    .verify_access(black_box(&case.token))
                    .expect("verifies")
            })
        });

        let key = jwt_key(&case);
        let validation = jwt_validation(jwt_alg(alg));
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<JwtClaims>(black_box(&case.token), &key, &validation)
                    .expect("jsonwebtoken verifies")
            })
        });
        group.bench_function("jsonwebtoken_map", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
                    black_box(&case.token),
                    &key,
                    &validation,
                )
                .expect("jsonwebtoken verifies")
            })
        });
        group.finish();
    }
}

/// HS256 on a small token (registered claims only): the same checks, little JSON, so the
/// ratio to the raw HMAC shows the fixed per-token cost rather than the claims' size.
fn bench_verify_small(c: &mut Criterion) {
    let case = Case::small(Algorithm::HS256);
    let mut group = c.benchmark_group("hs256_small");
    let (message, signature) = (&case.signing_input, &case.signature);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HS_SECRET);
    group.bench_function("ring", |b| {
        b.iter(|| ring::hmac::verify(&key, black_box(message), black_box(signature)))
    });
    group.bench_function("gatepass", |b| {
        b.iter(|| {
            case.verifier
                .verify_access(black_box(&case.token))
                .expect("verifies")
        })
    });
    let jwt = jwt_key(&case);
    let validation = jwt_validation(jsonwebtoken::Algorithm::HS256);
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<JwtClaims>(black_box(&case.token), &jwt, &validation)
                .expect("jsonwebtoken verifies")
        })
    });
    group.finish();
}

/// The typical ~470-byte access token (registered claims, `sid`, `scope`, one custom
/// claim) verified into a typed struct: owned (`verify_access_as`), borrowing from a reused
/// buffer (`verify_access_in`), against the raw signature check of the same bytes and
/// jsonwebtoken's `decode` straight into a struct.
fn bench_typical(c: &mut Criterion) {
    for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
        let case = Case::typical(alg);
        let mut group = c.benchmark_group(format!("typical_{}", alg.as_str().to_ascii_lowercase()));
        let (message, signature) = (&case.signing_input, &case.signature);
        match alg {
            Algorithm::HS256 => {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HS_SECRET);
                group.bench_function("ring", |b| {
                    b.iter(|| ring::hmac::verify(&key, black_box(message), black_box(signature)))
                });
            }
            Algorithm::ES256 => {
                let mut point = vec![4u8];
                point.extend(case.jwk_bytes("x"));
                point.extend(case.jwk_bytes("y"));
                let key =
                    ring_sig::UnparsedPublicKey::new(&ring_sig::ECDSA_P256_SHA256_FIXED, point);
                group.bench_function("ring", |b| {
                    b.iter(|| key.verify(black_box(message), black_box(signature)))
                });
            }
            _ => {
                let key = ring_sig::UnparsedPublicKey::new(&ring_sig::ED25519, case.jwk_bytes("x"));
                group.bench_function("ring", |b| {
                    b.iter(|| key.verify(black_box(message), black_box(signature)))
                });
            }
        }
        group.bench_function("gatepass_typed", |b| {
            b.iter(|| {
                case.verifier
                    .verify_access_as::<Tenant>(black_box(&case.token))
                    .expect("verifies")
            })
        });
        let mut buf = Vec::new();
        group.bench_function("gatepass_borrowed", |b| {
            b.iter(|| {
                let verified = case
                    .verifier
                    .verify_access_in::<TenantRef<'_>>(black_box(&case.token), &mut buf)
                    .expect("verifies");
                verified.claims().exp
            })
        });
        let key = jwt_key(&case);
        let validation = jwt_validation(jwt_alg(alg));
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<TypicalClaims>(black_box(&case.token), &key, &validation)
                    .expect("jsonwebtoken verifies")
            })
        });
        group.finish();
    }

    // Issuing the typical token (HS256): gatepass (a fresh jti from the CSPRNG per token)
    // against jsonwebtoken's `encode` of the same claims with a jti made the same way.
    let case = Case::typical(Algorithm::HS256);
    let mut group = c.benchmark_group("issue_typical_hs256");
    let custom = typical_custom();
    group.bench_function("gatepass", |b| {
        b.iter(|| {
            case.issuer
                .access_token(SUB)
                .session_id(TYPICAL_SID)
                .claims(black_box(&custom))
                .expect("claims")
                .issue()
                .expect("issue")
        })
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("hs-2025".into());
    let key = jsonwebtoken::EncodingKey::from_secret(HS_SECRET);
    let rng = ring::rand::SystemRandom::new();
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            let mut id = [0u8; 16];
            ring::rand::SecureRandom::fill(&rng, &mut id).expect("random");
            let now = now();
            let claims = TypicalClaims {
                iss: ISS.into(),
                sub: SUB.into(),
                aud: AUD.into(),
                exp: now + 3600,
                iat: now,
                jti: URL_SAFE_NO_PAD.encode(id),
                sid: TYPICAL_SID.into(),
                scope: "orders:read orders:write".into(),
                tenant: "acme-eu-west".into(),
            };
            jsonwebtoken::encode(&header, black_box(&claims), &key).expect("encode")
        })
    });
    group.finish();
}

fn bench_cache(c: &mut Criterion) {
    let case = Case::new(Algorithm::EdDSA);
    let cached = Verifier::builder(verification_keys(&case.key), ISS, AUD)
        .revocations(Arc::new(revocation_list(10_000)))
        .cache(TokenCache::new(10_000, Duration::from_secs(60)).expect("cache"))
        .build()
        .expect("verifier");
    cached.verify_access(&case.token).expect("verifies");
    let mut group = c.benchmark_group("cache");
    // A hit: HMAC of the token, table lookup, key still current, time checks, revocation
    // check against a 10k-entry list, and the shared claims handed out.
    group.bench_function("hit", |b| {
        b.iter(|| {
            cached
                .verify_access(black_box(&case.token))
                .expect("verifies")
        })
    });
    group.finish();
}

/// RFC 9449 §4.3 on one ES256 proof: parse, `typ`/`alg`/`jwk` checks, the JWK import and
/// its thumbprint, the signature, `htm`/`htu`/`iat`/`ath`. What a DPoP request costs on
/// top of its token's verification (the replay check is a store's round trip, not timed).
fn bench_dpop(c: &mut Criterion) {
    let key = gatepass::DpopKey::generate(Algorithm::ES256).expect("key");
    let now = 1_700_000_000;
    let uri = "https://api.example.com/orders";
    let token = "an-access-token-of-ordinary-length-0123456789";
    let proof = key
        .proof("GET", uri)
        .access_token(token)
        .make_at(now)
        .expect("proof");
    let verifier = gatepass::DpopVerifier::builder().build().expect("verifier");
    verifier
        .verify_at(&proof, "GET", uri, Some(token), now)
        .expect("verifies");
    let mut group = c.benchmark_group("dpop");
    group.bench_function("es256_proof", |b| {
        b.iter(|| {
            verifier
                .verify_at(black_box(&proof), "GET", uri, Some(token), now)
                .expect("verifies")
        })
    });
    group.finish();
}

fn bench_issue(c: &mut Criterion) {
    let case = Case::new(Algorithm::EdDSA);
    let custom = custom_claims();
    let sid = session_id(1, 9);
    let mut group = c.benchmark_group("issue");
    // What SessionManager::login and ::refresh sign: an access and a refresh token for
    // one session, both carrying the session's custom claims.
    group.bench_function("gatepass_pair", |b| {
        b.iter(|| case.issue_pair(&sid, &custom))
    });
    // Two raw Ed25519 signatures over signing inputs of the same sizes.
    let seed = case.jwk_bytes("d");
    let public = case.jwk_bytes("x");
    let pair = ring_sig::Ed25519KeyPair::from_seed_and_public_key(&seed, &public).expect("pair");
    assert_eq!(pair.public_key().as_ref(), public.as_slice());
    let access_input = case.signing_input.clone();
    let refresh_input = {
        let token = case
            .issuer
            .refresh_token(SUB, &sid, 1)
            .claims(&custom)
            .expect("claims")
            .issue()
            .expect("refresh")
            .token;
        split(&token).0
    };
    group.bench_function("ring_two_signs", |b| {
        b.iter(|| {
            (
                pair.sign(black_box(&access_input)),
                pair.sign(black_box(&refresh_input)),
            )
        })
    });
    group.finish();
}

fn bench_revocation(c: &mut Criterion, sizes: &[u64]) {
    let mut group = c.benchmark_group("revocation");
    let queries = live_queries(1 << 14);
    let iat = now();
    for &n in sizes {
        let mut i = 0usize;
        // Built inside: a filtered run (`--bench hs256`) skips the 1M-entry set-up.
        group.bench_with_input(BenchmarkId::new("check", n), &n, |b, &n| {
            let list = revocation_list(n);
            b.iter(|| {
                i = (i + 1) & ((1 << 14) - 1);
                let (jti, sid, sub) = &queries[i];
                list.check(&RevocationQuery::new(jti, Some(sid), sub, iat))
            })
        });
    }
    group.finish();
}

fn bench_axum(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let hs = Case::new(Algorithm::HS256);
    let bearer = HeaderValue::from_str(&format!("Bearer {}", hs.token)).expect("header");
    let request = || {
        Request::get("/api/orders")
            .header(AUTHORIZATION, bearer.clone())
            .body(Body::empty())
            .expect("request")
    };
    let route = || Router::new().route("/api/orders", get(|| async { "[]" }));
    let mut group = c.benchmark_group("axum");
    let plain = route();
    group.bench_function("unauthenticated", |b| {
        b.iter(|| runtime.block_on(plain.clone().oneshot(request())))
    });
    let guarded = route().route_layer(AuthLayer::new(Arc::new(hs.verifier)));
    group.bench_function("bearer_hs256", |b| {
        b.iter(|| {
            let response = runtime
                .block_on(guarded.clone().oneshot(request()))
                .expect("ok");
            assert_eq!(response.status(), 200);
            response
        })
    });
    let eddsa = Case::new(Algorithm::EdDSA);
    let cached = Verifier::builder(verification_keys(&eddsa.key), ISS, AUD)
        .cache(TokenCache::new(10_000, Duration::from_secs(60)).expect("cache"))
        .build()
        .expect("verifier");
    let eddsa_bearer = HeaderValue::from_str(&format!("Bearer {}", eddsa.token)).expect("header");
    let guarded = route().route_layer(AuthLayer::new(Arc::new(cached)));
    group.bench_function("bearer_cached", |b| {
        b.iter(|| {
            let request = Request::get("/api/orders")
                .header(AUTHORIZATION, eddsa_bearer.clone())
                .body(Body::empty())
                .expect("request");
            let response = runtime
                .block_on(guarded.clone().oneshot(request))
                .expect("ok");
            assert_eq!(response.status(), 200);
            response
        })
    });
    group.finish();
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let fonts = report::register_font();
    let c = Criterion::default();
    // Without a font plotters can lay out no text, so criterion's own charts go too.
    let c = if fonts { c } else { c.without_plots() };
    let mut c = c
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
        .configure_from_args();
    bench_verify(&mut c);
    bench_verify_small(&mut c);
    bench_typical(&mut c);
    bench_cache(&mut c);
    bench_dpop(&mut c);
    bench_issue(&mut c);
    let sizes: &[u64] = if smoke {
        &[1_000]
    } else {
        &[1_000, 10_000, 100_000, 1_000_000]
    };
    bench_revocation(&mut c, sizes);
    bench_axum(&mut c);
    c.final_summary();
    if !smoke {
        report::write(fonts);
    }
}
