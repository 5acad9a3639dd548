//! The seed corpus generator. Run it with
//!
//! ```text
//! cargo test --test api generate_fuzz_seed_corpus -- --ignored
//! ```
//!
//! It writes `fuzz/corpus/<target>/<name>` for a fixed list of names: real tokens of every
//! kind issued by the fixture keys of `gatepass::internal::fuzzing`, RFC 7515/8037 example
//! tokens, and hand-made edge cases. Existing files are left alone (set
//! `GATEPASS_REGEN_CORPUS=1` to overwrite), because issued tokens carry a random `jti` and
//! session id and ECDSA/PSS signatures a random nonce: keeping the files keeps the corpus
//! stable. Every seed must pass its target, which the replay test checks.

use std::fs;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatepass::internal::fuzzing::{fixture, AUDIENCE, ISSUED_AT, ISSUER, RSA_E, RSA_N};
use gatepass::{GenerateOptions, KeyState, Keyset, SigningKey};
use ring::{hmac, rand, rsa, signature};
use serde_json::{json, Value};

use super::fuzz_dir;

/// RFC 7515 A.1: the HS256 example key, which is also the fixture's `fuzz-hs256` key.
const RFC7515_A1_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

/// RFC 7515 A.2: the private half of the fixture's RSA key.
const RFC7515_A2_D: &str = "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ";
const RFC7515_A2_P: &str = "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc";
const RFC7515_A2_Q: &str = "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc";
const RFC7515_A2_DP: &str = "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0";
const RFC7515_A2_DQ: &str = "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU";
const RFC7515_A2_QI: &str = "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U";

/// RFC 7515 A.1 (HS256), A.2 (RS256), A.3 (ES256) and RFC 8037 A.4 (EdDSA over a
/// non-JSON payload): their keys are fixture keys, so each reaches a real signature check.
const RFC_TOKENS: [(&str, &str); 4] = [
    (
        "rfc7515-a1-hs256",
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ),
    (
        "rfc7515-a2-rs256",
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
    ),
    (
        "rfc7515-a3-es256",
        "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
    ),
    (
        "rfc8037-a4-eddsa",
        "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
    ),
];

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// `header.claims` (both JSON text) signed with the fixture's HS256 key.
fn hs256(header: &str, claims: &str) -> String {
    hmac_signed(&unb64(RFC7515_A1_K), header, claims)
}

fn hmac_signed(secret: &[u8], header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag))
}

/// `header.claims` signed with the RFC 7515 A.2 RSA key.
fn rsa_signed(padding: &'static dyn signature::RsaEncoding, header: &str, claims: &str) -> String {
    let components = rsa::KeyPairComponents {
        public_key: rsa::PublicKeyComponents {
            n: unb64(RSA_N),
            e: unb64(RSA_E),
        },
        d: unb64(RFC7515_A2_D),
        p: unb64(RFC7515_A2_P),
        q: unb64(RFC7515_A2_Q),
        dP: unb64(RFC7515_A2_DP),
        dQ: unb64(RFC7515_A2_DQ),
        qInv: unb64(RFC7515_A2_QI),
    };
    let pair = rsa::KeyPair::from_components(&components).unwrap();
    let input = format!("{}.{}", b64(header), b64(claims));
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(
        padding,
        &rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", b64(sig))
}

/// Valid access-token claims, with `extra` members merged in (a `null` removes one).
fn claims(extra: Value) -> String {
    let mut claims = json!({
        "iss": ISSUER, "sub": "alice", "aud": AUDIENCE,
        "exp": ISSUED_AT + 3600, "iat": ISSUED_AT,
        "jti": "5f1c0e6e-8a4e-4a7b-9d0c-2c3f4b5a6d7e", "sid": "c2Vzc2lvbi1zZWVkLTAwMDAwMDAx",
    });
    for (name, value) in extra.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims.to_string()
}

fn header(alg: &str, kid: &str, typ: &str) -> String {
    json!({"alg": alg, "kid": kid, "typ": typ}).to_string()
}

struct Writer {
    force: bool,
    written: usize,
    kept: usize,
}

impl Writer {
    fn write(&mut self, target: &str, name: &str, bytes: impl AsRef<[u8]>) {
        let dir = fuzz_dir().join("corpus").join(target);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        if path.exists() && !self.force {
            self.kept += 1;
            return;
        }
        fs::write(path, bytes).unwrap();
        self.written += 1;
    }
}

#[test]
#[ignore = "writes the seed corpus; run by hand (see the module doc)"]
fn generate_fuzz_seed_corpus() {
    let mut out = Writer {
        force: std::env::var_os("GATEPASS_REGEN_CORPUS").is_some(),
        written: 0,
        kept: 0,
    };
    verify_token_seeds(&mut out);
    parse_header_claims_seeds(&mut out);
    keyset_seeds(&mut out);
    jwk_seeds(&mut out);
    roundtrip_seeds(&mut out);
    pem_seeds(&mut out);
    println!("{} seed files written, {} kept", out.written, out.kept);
}

fn issued_tokens() -> Vec<(String, String)> {
    let fx = fixture();
    let mut tokens = Vec::new();
    for (index, key) in fx.signing_keys().iter().enumerate() {
        let issuer = fx.issuer(index);
        let alg = key.alg().as_str().to_ascii_lowercase();
        let access = issuer
            .access_token("alice")
            .claim("role", "admin")
            .unwrap()
            .claim("scope", json!(["read", "write"]))
            .unwrap()
            .ttl(3600)
            .issue()
            .unwrap();
        tokens.push((format!("issued-access-{alg}"), access.token));
        let refresh = issuer
            .refresh_token("alice", &access.sid, 3)
            .ttl(12 * 3600)
            .issue()
            .unwrap();
        tokens.push((format!("issued-refresh-{alg}"), refresh.token));
    }
    let rsa: [(&str, &'static dyn signature::RsaEncoding); 6] = [
        ("RS256", &signature::RSA_PKCS1_SHA256),
        ("RS384", &signature::RSA_PKCS1_SHA384),
        ("RS512", &signature::RSA_PKCS1_SHA512),
        ("PS256", &signature::RSA_PSS_SHA256),
        ("PS384", &signature::RSA_PSS_SHA384),
        ("PS512", &signature::RSA_PSS_SHA512),
    ];
    for (alg, padding) in rsa {
        let kid = format!("fuzz-{}", alg.to_ascii_lowercase());
        let token = rsa_signed(padding, &header(alg, &kid, "at+jwt"), &claims(json!({})));
        tokens.push((format!("signed-access-{}", alg.to_ascii_lowercase()), token));
    }
    tokens
}

fn verify_token_seeds(out: &mut Writer) {
    const T: &str = "verify_token";
    for (name, token) in issued_tokens() {
        out.write(T, &name, token);
    }
    for (name, token) in RFC_TOKENS {
        out.write(T, name, token);
    }
    let ok = claims(json!({}));
    let h = header("HS256", "fuzz-hs256", "at+jwt");
    // Algorithm confusion: `none` spellings, an HMAC token naming the RSA key and keyed
    // with its public modulus, a kid of another algorithm, unknown kid, crit.
    for (i, none) in ["none", "None", "NONE", "nOnE"].iter().enumerate() {
        let h = json!({"alg": none, "typ": "at+jwt"}).to_string();
        out.write(
            T,
            &format!("alg-none-{i}"),
            format!("{}.{}.", b64(&h), b64(&ok)),
        );
        out.write(
            T,
            &format!("alg-none-sig-{i}"),
            format!("{}.{}.c2ln", b64(&h), b64(&ok)),
        );
    }
    let confused = header("HS256", "fuzz-rs256", "at+jwt");
    out.write(
        T,
        "alg-confusion-hs256-with-rsa-modulus",
        hmac_signed(&unb64(RSA_N), &confused, &ok),
    );
    out.write(
        T,
        "kid-of-another-alg",
        hs256(&header("HS256", "fuzz-eddsa", "at+jwt"), &ok),
    );
    out.write(
        T,
        "kid-unknown",
        hs256(&header("HS256", "nobody", "at+jwt"), &ok),
    );
    out.write(
        T,
        "kid-absent",
        hs256(&json!({"alg": "HS256", "typ": "at+jwt"}).to_string(), &ok),
    );
    let crit = json!({"alg": "HS256", "kid": "fuzz-hs256", "typ": "at+jwt", "crit": ["exp"]});
    out.write(T, "crit-exp", hs256(&crit.to_string(), &ok));
    let crit = json!({"alg": "HS256", "kid": "fuzz-hs256", "typ": "at+jwt", "crit": []});
    out.write(T, "crit-empty", hs256(&crit.to_string(), &ok));
    // Structure: duplicates, depth, sizes, encodings.
    out.write(
        T,
        "dup-header-alg",
        hs256(r#"{"alg":"HS256","alg":"none","typ":"at+jwt"}"#, &ok),
    );
    let dup = ok.replacen('{', r#"{"sub":"mallory","#, 1);
    out.write(T, "dup-claims-sub", hs256(&h, &dup));
    let dup = ok.replacen('{', r#"{"x":{"a":1,"\u0061":2},"#, 1);
    out.write(T, "dup-claims-escaped-nested", hs256(&h, &dup));
    let nest = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    out.write(
        T,
        "depth-32",
        hs256(
            &h,
            &ok.replacen('{', &format!(r#"{{"deep":{},"#, nest(31)), 1),
        ),
    );
    out.write(
        T,
        "depth-33",
        hs256(
            &h,
            &ok.replacen('{', &format!(r#"{{"deep":{},"#, nest(32)), 1),
        ),
    );
    for len in [8192, 8193] {
        // base64url grows in steps of one or two characters: pad the claims and the
        // header until the token is exactly `len` bytes.
        let token = (0..8192)
            .flat_map(|pad| (0..3).map(move |hpad| (pad, hpad)))
            .map(|(pad, hpad)| {
                let h = json!({"alg": "HS256", "kid": "fuzz-hs256", "typ": "at+jwt", "x-pad": "h".repeat(hpad)});
                hs256(&h.to_string(), &claims(json!({"pad": "p".repeat(pad)})))
            })
            .find(|token| token.len() == len)
            .unwrap();
        out.write(T, &format!("length-{len}"), token);
    }
    let mut parts: Vec<String> = hs256(&h, &ok).split('.').map(str::to_owned).collect();
    out.write(T, "two-segments", format!("{}.{}", parts[0], parts[1]));
    out.write(
        T,
        "four-segments",
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
    );
    out.write(T, "empty-signature", format!("{}.{}.", parts[0], parts[1]));
    parts[2].push('=');
    out.write(T, "padded-signature", parts.join("."));
    out.write(
        T,
        "standard-alphabet",
        hs256(&h, &ok).replace('-', "+").replace('_', "/"),
    );
    out.write(T, "whitespace", hs256(&h, &ok).replacen('.', " .", 1));
    let mut invalid_utf8 = format!("{}.", b64(&h)).into_bytes();
    invalid_utf8.extend(b64([b'{', b'"', 0xff, b'"', b':', b'1', b'}']).into_bytes());
    invalid_utf8.extend(b".c2ln");
    out.write(T, "claims-invalid-utf8", invalid_utf8);
    out.write(T, "raw-invalid-utf8", b"eyJ\xff\xfe.e30.c2ln");
    // Claims: types, times, issuer, audience, type.
    for (name, extra) in [
        ("exp-1e400", r#"{"exp":1e400}"#),
        ("exp-float", r#"{"exp":1700003600.0}"#),
        ("exp-minus-zero", r#"{"exp":-0}"#),
        ("exp-2pow53", r#"{"exp":9007199254740992}"#),
        ("exp-string", r#"{"exp":"1700003600"}"#),
    ] {
        let text = ok.replacen(
            &format!(r#""exp":{}"#, ISSUED_AT + 3600),
            &extra[1..extra.len() - 1],
            1,
        );
        out.write(T, name, hs256(&h, &text));
    }
    for (name, extra) in [
        ("expired", json!({"exp": ISSUED_AT + 29})),
        ("exp-at-leeway-edge", json!({"exp": ISSUED_AT + 31})),
        ("nbf-future", json!({"nbf": ISSUED_AT + 100})),
        ("iat-future", json!({"iat": ISSUED_AT + 91})),
        ("iss-wrong", json!({"iss": "https://evil.example"})),
        ("aud-array", json!({"aud": ["other", AUDIENCE]})),
        ("aud-empty-array", json!({"aud": []})),
        ("aud-wrong", json!({"aud": "other"})),
        ("sub-array", json!({"sub": ["alice"]})),
        ("jti-missing", json!({"jti": Value::Null})),
        ("sid-number", json!({"sid": 7})),
    ] {
        out.write(T, name, hs256(&h, &claims(extra)));
    }
    for (name, typ) in [
        ("typ-upper", "AT+JWT"),
        ("typ-application", "application/at+jwt"),
        ("typ-jwt", "JWT"),
        ("typ-refresh-on-access", "refresh+jwt"),
    ] {
        out.write(T, name, hs256(&header("HS256", "fuzz-hs256", typ), &ok));
    }
    let refresh = header("HS256", "fuzz-hs256", "refresh+jwt");
    out.write(
        T,
        "refresh-gen-float",
        hs256(&refresh, &claims(json!({"gen": 1.5}))),
    );
    out.write(T, "refresh-no-gen", hs256(&refresh, &ok));
}

fn parse_header_claims_seeds(out: &mut Writer) {
    const T: &str = "parse_header_claims";
    let h = r#"{"alg":"HS256","typ":"at+jwt"}"#;
    for (name, claims) in [
        (
            "floats",
            r#"{"a":1e2,"b":0.1,"c":1.7976931348623157e308,"d":5e-324,"e":-0.0}"#,
        ),
        (
            "integers",
            r#"{"a":18446744073709551615,"b":-9223372036854775808,"c":18446744073709551616}"#,
        ),
        ("minus-zero", r#"{"a":-0}"#),
        (
            "escapes",
            r#"{"\u0061":"\u00e9\ud83d\ude00\n\/","b":"\u0000"}"#,
        ),
        ("lone-surrogate", r#"{"a":"\ud800"}"#),
        ("nested", r#"{"a":[{"b":{"c":[null,true,false,{}]}}]}"#),
        ("whitespace", " {\t\"a\" :\r\n 1 } "),
        ("duplicate", r#"{"a":1,"a":1}"#),
        ("exp-1e400", r#"{"exp":1e400}"#),
        ("not-object", r#"[1,2]"#),
        ("trailing", r#"{} {}"#),
        ("empty", r#"{}"#),
    ] {
        out.write(T, name, format!("{}.{}.c2ln", b64(h), b64(claims)));
    }
    for (name, token) in issued_tokens().into_iter().step_by(3) {
        out.write(T, &name, token);
    }
    for (name, token) in RFC_TOKENS {
        out.write(T, name, token);
    }
}

fn keyset_seeds(out: &mut Writer) {
    const T: &str = "keyset_json";
    let fx = fixture();
    let mut keyset = Keyset::new();
    for (i, key) in fx.signing_keys().iter().enumerate() {
        let key = SigningKey::from_jwk(&key.to_private_jwk()).unwrap();
        let state = [KeyState::Active, KeyState::Active, KeyState::Pending][i % 3];
        keyset.insert(key, Some(state), ISSUED_AT).unwrap();
    }
    let full = keyset.to_json();
    out.write(T, "fixture-keyset", &full);
    let mut rotated = keyset.clone();
    let kid = rotated.entries()[0].kid().to_owned();
    rotated.revoke(&kid, ISSUED_AT + 10).unwrap();
    let retiring = rotated.entries()[3].kid().to_owned();
    rotated.retire(&retiring, ISSUED_AT + 20).unwrap();
    out.write(T, "fixture-keyset-rotated", rotated.to_json());
    let mut generated = Keyset::new();
    for alg in gatepass::Algorithm::SIGNING {
        generated
            .generate(alg, GenerateOptions::default(), ISSUED_AT)
            .unwrap();
    }
    out.write(T, "generated-thumbprint-kids", generated.to_json());

    let doc: Value = serde_json::from_slice(&full).unwrap();
    let entry = |i: usize| doc["keys"][i].clone();
    let with = |entries: Vec<Value>, extra: Value| {
        let mut doc = json!({"keys": entries});
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        serde_json::to_vec_pretty(&doc).unwrap()
    };
    let mut dup = entry(1);
    dup["state"] = "pending".into();
    out.write(T, "duplicate-kid", with(vec![entry(1), dup], json!({})));
    let mut second_active = entry(2);
    second_active["kid"] = "another".into();
    second_active["state"] = "active".into();
    out.write(
        T,
        "two-active-ecdsa",
        with(vec![entry(1), second_active], json!({})),
    );
    let mut weak = entry(3);
    weak["k"] = b64([7u8; 31]).into();
    out.write(T, "weak-hmac", with(vec![weak], json!({})));
    let rsa = json!({"kty": "RSA", "alg": "RS256", "kid": "rsa", "state": "active", "n": RSA_N, "e": RSA_E});
    out.write(T, "rsa-public-entry", with(vec![rsa], json!({})));
    let mut extra = entry(0);
    extra["note"] = json!({"rotated-by": "ops", "n": 1.5e300});
    extra["created_at"] = json!(ISSUED_AT);
    out.write(
        T,
        "extra-members",
        with(
            vec![extra],
            json!({"comment": "kept", "f": 0.30000000000000004}),
        ),
    );
    let mut no_state = entry(0);
    no_state.as_object_mut().unwrap().remove("state");
    out.write(T, "no-state", with(vec![no_state], json!({})));
    let mut empty_kid = entry(0);
    empty_kid["kid"] = "".into();
    out.write(T, "empty-kid", with(vec![empty_kid], json!({})));
    let mut float_date = entry(0);
    float_date["created_at"] = json!(1.5);
    out.write(T, "float-date", with(vec![float_date], json!({})));
    out.write(T, "empty", br#"{"keys":[]}"#);
    out.write(T, "keys-not-array", br#"{"keys":{}}"#);
    out.write(
        T,
        "deep",
        format!(r#"{{"keys":[],"x":{}{}}}"#, "[".repeat(40), "]".repeat(40)),
    );
    out.write(T, "duplicate-top-level", br#"{"keys":[],"keys":[]}"#);
}

fn jwk_seeds(out: &mut Writer) {
    const T: &str = "jwk_import";
    let fx = fixture();
    let mut public = Vec::new();
    for key in fx.signing_keys() {
        let name = key.kid().to_owned();
        out.write(
            T,
            &format!("private-{name}"),
            serde_json::to_vec(&key.to_private_jwk()).unwrap(),
        );
        if let Some(jwk) = key.verifying_key().to_public_jwk() {
            let jwk = serde_json::to_value(jwk).unwrap();
            out.write(T, &format!("public-{name}"), jwk.to_string());
            public.push(jwk);
        }
    }
    let rsa = json!({"kty": "RSA", "kid": "rsa", "n": RSA_N, "e": RSA_E});
    out.write(T, "public-rsa-no-alg", rsa.to_string());
    public.push(rsa.clone());
    out.write(T, "jwks-fixture", json!({"keys": public}).to_string());
    let ed = &public[0];
    let mut bad = Vec::new();
    let mut edit = |name: &str, base: &Value, changes: Value| {
        let mut jwk = base.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                jwk.as_object_mut().unwrap().remove(k);
            } else {
                jwk[k] = v.clone();
            }
        }
        out.write(T, name, jwk.to_string());
        bad.push(jwk);
    };
    edit("rsa-e-3", &rsa, json!({"e": "Aw"}));
    edit("rsa-1024", &rsa, json!({"n": b64([0xc5u8; 128])}));
    edit("rsa-ps256", &rsa, json!({"alg": "PS256", "use": "sig"}));
    edit(
        "ed25519-small-order",
        ed,
        json!({"x": b64({ let mut x = [0u8; 32]; x[0] = 1; x })}),
    );
    edit("ed25519-short", ed, json!({"x": b64([9u8; 31])}));
    edit("ec-not-on-curve", &public[1], json!({"y": b64([1u8; 32])}));
    edit("use-enc", ed, json!({"use": "enc"}));
    edit("key-ops-sign-only", ed, json!({"key_ops": ["sign"]}));
    edit("alg-mismatch", ed, json!({"alg": "ES256"}));
    edit(
        "hmac-weak",
        &json!({"kty": "oct", "alg": "HS256", "kid": "weak"}),
        json!({"k": b64([1u8; 31])}),
    );
    edit(
        "hmac-no-alg",
        &json!({"kty": "oct", "kid": "k"}),
        json!({"k": b64([1u8; 64])}),
    );
    edit(
        "padded-x",
        ed,
        json!({"x": format!("{}=", ed["x"].as_str().unwrap())}),
    );
    let mut hs = fx.signing_keys()[3].to_private_jwk();
    hs.insert("key_ops".into(), json!(["verify"]));
    out.write(
        T,
        "private-hs256-verify-only",
        Value::Object(hs).to_string(),
    );
    let duplicated = |n: usize| {
        let mut keys = vec![json!({"kty": "OKP", "crv": "Ed25519", "kid": "other", "x": ed["x"]})];
        keys.extend(std::iter::repeat_n(ed.clone(), n));
        json!({"keys": keys}).to_string()
    };
    out.write(T, "jwks-duplicate-kid-2", duplicated(2));
    out.write(T, "jwks-duplicate-kid-3", duplicated(3));
    out.write(T, "jwks-refused-keys", json!({"keys": bad}).to_string());
    out.write(
        T,
        "jwks-non-object-entries",
        br#"{"keys":[1,"x",null,[],{}]}"#,
    );
    let kidless = json!({"kty": "OKP", "crv": "Ed25519", "x": ed["x"]});
    out.write(
        T,
        "jwks-kidless-twice",
        json!({"keys": [kidless, kidless]}).to_string(),
    );
}

/// The structured target reads its input through `arbitrary`: any bytes are a case, so
/// the seeds are fixed pseudo-random byte strings of several lengths.
fn roundtrip_seeds(out: &mut Writer) {
    const T: &str = "roundtrip";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (i, len) in [
        8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 4096,
    ]
    .into_iter()
    .enumerate()
    {
        let bytes: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
        out.write(T, &format!("xorshift-{i:02}-{len}"), bytes);
    }
    out.write(T, "zeros-256", [0u8; 256]);
    out.write(T, "ones-256", [0xffu8; 256]);
    out.write(
        T,
        "text",
        b"gatepass structured fuzzing seed: alice admin read write",
    );
}

/// A DER TLV with a definite length.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 128 {
        out.push(u8::try_from(len).unwrap());
    } else if len < 256 {
        out.extend([0x81, u8::try_from(len).unwrap()]);
    } else {
        out.push(0x82);
        out.extend(u16::try_from(len).unwrap().to_be_bytes());
    }
    out.extend_from_slice(content);
    out
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn spki(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0];
    bits.extend_from_slice(key);
    der(0x30, &[der(0x30, algorithm), der(0x03, &bits)].concat())
}

fn pem_seeds(out: &mut Writer) {
    const T: &str = "pem_import";
    const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    const EC_P256: &[u8] = &[
        0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
        0x3d, 0x03, 0x01, 0x07,
    ];
    const EC_P384: &[u8] = &[
        0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
        0x22,
    ];
    const RSA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let fx = fixture();
    let public = |i: usize| {
        serde_json::to_value(fx.signing_keys()[i].verifying_key().to_public_jwk()).unwrap()
    };
    let point = |jwk: &Value| {
        [
            vec![4],
            unb64(jwk["x"].as_str().unwrap()),
            unb64(jwk["y"].as_str().unwrap()),
        ]
        .concat()
    };
    let ed = unb64(public(0)["x"].as_str().unwrap());
    let (p256, p384) = (point(&public(1)), point(&public(2)));
    let int = |bytes: &[u8]| der(0x02, &[&[0][..], bytes].concat());
    let pkcs1 = |n: &[u8], e: &[u8]| der(0x30, &[int(n), der(0x02, e)].concat());
    let rsa_n = unb64(RSA_N);
    let rsa = pkcs1(&rsa_n, &unb64(RSA_E));
    for (name, text) in [
        ("ed25519", pem("PUBLIC KEY", &spki(ED25519, &ed))),
        ("p256", pem("PUBLIC KEY", &spki(EC_P256, &p256))),
        ("p384", pem("PUBLIC KEY", &spki(EC_P384, &p384))),
        ("rsa-spki", pem("PUBLIC KEY", &spki(RSA, &rsa))),
        ("rsa-pkcs1", pem("RSA PUBLIC KEY", &rsa)),
        ("rsa-pkcs1-e3", pem("RSA PUBLIC KEY", &pkcs1(&rsa_n, &[3]))),
        (
            "rsa-1024",
            pem("RSA PUBLIC KEY", &pkcs1(&[0xc5; 128], &unb64(RSA_E))),
        ),
        (
            "ed25519-small-order",
            pem(
                "PUBLIC KEY",
                &spki(ED25519, &{
                    let mut x = [0u8; 32];
                    x[0] = 1;
                    x
                }),
            ),
        ),
        (
            "p256-off-curve",
            pem(
                "PUBLIC KEY",
                &spki(EC_P256, &[&p256[..33], &[1u8; 32][..]].concat()),
            ),
        ),
        ("p256-as-p384", pem("PUBLIC KEY", &spki(EC_P384, &p256))),
        (
            "trailing-der",
            pem("PUBLIC KEY", &[spki(ED25519, &ed), vec![0, 0]].concat()),
        ),
        ("private-label", pem("PRIVATE KEY", &spki(ED25519, &ed))),
        (
            "encrypted-header",
            pem("PUBLIC KEY", &spki(ED25519, &ed)).replacen("\n", "\nProc-Type: 4,ENCRYPTED\n", 1),
        ),
        (
            "crlf",
            pem("PUBLIC KEY", &spki(ED25519, &ed)).replace('\n', "\r\n"),
        ),
        (
            "no-end",
            pem("PUBLIC KEY", &spki(ED25519, &ed)).replace("-----END PUBLIC KEY-----", ""),
        ),
        (
            "two-blocks",
            format!(
                "{}{}",
                pem("CERTIFICATE", b"x"),
                pem("PUBLIC KEY", &spki(ED25519, &ed))
            ),
        ),
    ] {
        out.write(T, &format!("{name}.pem"), text);
    }
}
