//! The seed corpus generator. Run it (on stable; no libFuzzer needed) with
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --bin generate_corpus
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

use gatepass::internal::fuzzing::{
    RSA_D as RFC7515_A2_D, RSA_DP as RFC7515_A2_DP, RSA_DQ as RFC7515_A2_DQ, RSA_P as RFC7515_A2_P,
    RSA_Q as RFC7515_A2_Q, RSA_QI as RFC7515_A2_QI,
};

/// The fuzz crate's directory (its `corpus/` is what this writes).
fn fuzz_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Drive a store future to completion: the memory and file stores' futures are ready at
/// once, so no runtime is needed.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// RFC 7515 A.1: the HS256 example key, which is also the fixture's `fuzz-hs256` key.
const RFC7515_A1_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

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

fn main() {
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
    bearer_seeds(&mut out);
    cookie_seeds(&mut out);
    journal_seeds(&mut out);
    refresh_rotation_seeds(&mut out);
    cache_control_seeds(&mut out);
    dpop_proof_seeds(&mut out);
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
    profile_seeds(out);
}

/// Seeds for the jwt profile and the typed claims paths: generic or absent `typ`, optional
/// claims left out, `scope`/`scp` shapes, the custom claim the typed model reads (`role`),
/// duplicate custom members and numbers beyond any double where only a typed path skips.
fn profile_seeds(out: &mut Writer) {
    const T: &str = "verify_token";
    let untyped = json!({"alg": "HS256", "kid": "fuzz-hs256"}).to_string();
    let generic = header("HS256", "fuzz-hs256", "JWT");
    let at = header("HS256", "fuzz-hs256", "at+jwt");
    let ok = claims(json!({}));
    out.write(T, "profile-typ-absent", hs256(&untyped, &ok));
    out.write(
        T,
        "profile-typ-dpop",
        hs256(&header("HS256", "fuzz-hs256", "dpop+jwt"), &ok),
    );
    out.write(
        T,
        "profile-typ-application-refresh",
        hs256(
            &header("HS256", "fuzz-hs256", "application/refresh+jwt"),
            &ok,
        ),
    );
    out.write(
        T,
        "profile-typ-number",
        hs256(
            &json!({"alg": "HS256", "kid": "fuzz-hs256", "typ": 1}).to_string(),
            &ok,
        ),
    );
    let minimal = json!({"iss": ISSUER, "aud": AUDIENCE, "exp": ISSUED_AT + 3600}).to_string();
    out.write(T, "profile-jwt-minimal", hs256(&generic, &minimal));
    out.write(T, "profile-jwt-minimal-untyped", hs256(&untyped, &minimal));
    let no_aud = json!({"iss": ISSUER, "exp": ISSUED_AT + 3600, "scope": "a"}).to_string();
    out.write(T, "profile-jwt-no-aud", hs256(&generic, &no_aud));
    for (name, extra) in [
        ("profile-no-jti", json!({"jti": Value::Null})),
        ("profile-no-iat", json!({"iat": Value::Null})),
        ("profile-no-sub", json!({"sub": Value::Null})),
        ("profile-iat-string", json!({"iat": "now"})),
        ("profile-jti-number", json!({"jti": 1})),
    ] {
        out.write(
            T,
            &format!("{name}-jwt"),
            hs256(&generic, &claims(extra.clone())),
        );
        out.write(T, &format!("{name}-at"), hs256(&at, &claims(extra)));
    }
    for (name, extra) in [
        (
            "scope-string",
            json!({"scope": "orders:read  orders:write "}),
        ),
        ("scope-empty", json!({"scope": ""})),
        ("scope-number", json!({"scope": 7})),
        ("scope-array", json!({"scope": ["a", "b"]})),
        ("scp-string", json!({"scp": "a b"})),
        ("scp-array", json!({"scp": ["a", "b c", ""]})),
        ("scp-array-mixed", json!({"scp": ["a", 1, null]})),
        ("scope-and-scp", json!({"scope": "a b", "scp": ["b", "c"]})),
        ("scope-object", json!({"scope": {"a": 1}})),
        ("role-string", json!({"role": "admin"})),
        ("role-escaped", json!({"role": "ad\"m\u{e9}in"})),
        ("role-object", json!({"role": {"a": [1, 2.5, true]}})),
        ("role-array", json!({"role": ["admin", "ops"]})),
    ] {
        out.write(
            T,
            &format!("profile-{name}"),
            hs256(&at, &claims(extra.clone())),
        );
        out.write(
            T,
            &format!("profile-{name}-jwt"),
            hs256(&generic, &claims(extra)),
        );
    }
    out.write(
        T,
        "profile-scope-null",
        hs256(&at, &ok.replacen('{', r#"{"scope":null,"role":null,"#, 1)),
    );
    for (name, members) in [
        ("dup-custom", r#""x":1,"x":2,"#),
        ("dup-role", r#""role":"a","role":"b","#),
        ("dup-scope", r#""scope":"a","scope":"b","#),
        ("dup-scp-escaped", r#""scp":"a","s\u0063p":"b","#),
        ("dup-nested-custom", r#""x":{"k":1,"k":2},"#),
        ("custom-1e400", r#""x":1e400,"#),
        ("custom-array-1e400", r#""x":[1,{"y":-1e400}],"#),
        ("role-1e400", r#""role":1e400,"#),
        ("scope-1e400", r#""scope":1e400,"#),
        ("scp-1e400", r#""scp":[1e400],"#),
        ("custom-big-int", r#""x":123456789012345678901234567890,"#),
    ] {
        let text = ok.replacen('{', &format!("{{{members}"), 1);
        out.write(T, &format!("profile-{name}"), hs256(&at, &text));
        out.write(T, &format!("profile-{name}-jwt"), hs256(&generic, &text));
    }
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

/// Fixed pseudo-random byte strings of several lengths, for the structured targets: their
/// input goes through `arbitrary`, so any bytes are a case.
fn xorshift_seeds(out: &mut Writer, target: &str, lengths: &[usize]) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (i, &len) in lengths.iter().enumerate() {
        let bytes: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
        out.write(target, &format!("xorshift-{i:02}-{len}"), bytes);
    }
}

fn roundtrip_seeds(out: &mut Writer) {
    const T: &str = "roundtrip";
    xorshift_seeds(
        out,
        T,
        &[
            8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 4096,
        ],
    );
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

/// One `Authorization` value per seed; `\n` separates several fields.
fn bearer_seeds(out: &mut Writer) {
    const T: &str = "bearer_header";
    let tokens = issued_tokens();
    let access = &tokens[0].1;
    let refresh = &tokens[1].1;
    out.write(T, "issued-access", format!("Bearer {access}"));
    out.write(
        T,
        "issued-access-lowercase-spaces",
        format!("bearer   {access}"),
    );
    out.write(T, "issued-refresh", format!("Bearer {refresh}"));
    out.write(
        T,
        "issued-access-twice",
        format!("Bearer {access}\nBearer {access}"),
    );
    out.write(
        T,
        "issued-access-trailing-space",
        format!("Bearer {access} "),
    );
    for (name, value) in [
        ("alphabet-and-padding", &b"Bearer AZaz09-._~+/=="[..]),
        ("scheme-only", b"Bearer"),
        ("scheme-and-spaces", b"Bearer    "),
        ("tab-separator", b"Bearer\tabc"),
        ("comma-separator", b"Bearer,abc"),
        ("two-tokens", b"Bearer abc def"),
        ("padding-then-body", b"Bearer abc=d"),
        ("padding-only", b"Bearer =="),
        ("auth-params", b"Bearer abc, realm=\"x\""),
        ("quoted", b"Bearer \"abc\""),
        ("non-ascii", b"Bearer ab\xc3\xa9c"),
        ("invalid-utf8", b"Bearer ab\xffc"),
        ("control", b"Bearer ab\x00c"),
        ("basic", b"Basic dXNlcjpwYXNz"),
        ("no-scheme", b"abc.def.ghi"),
        ("leading-space", b" Bearer abc"),
        ("empty", b""),
        ("scheme-prefix", b"Bearerabc"),
        ("other-then-bearer", b"Basic dXNlcjpwYXNz\nBearer abc"),
        ("crlf-injection", b"Bearer abc\r\nX-Injected: 1"),
        (
            "random-jwt-shape",
            b"BEARER eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhIn0.c2ln",
        ),
    ] {
        out.write(T, name, value);
    }
}

/// Line 1 the cookie name, line 2 a path, then `Cookie` fields.
fn cookie_seeds(out: &mut Writer) {
    const T: &str = "cookie_header";
    let tokens = issued_tokens();
    let access = &tokens[0].1;
    out.write(
        T,
        "issued-access",
        format!("access\n/\n__Host-access={access}"),
    );
    out.write(
        T,
        "issued-access-quoted-among-others",
        format!("access\n/auth\ntheme=dark; __Host-access=\"{access}\"; lang=en"),
    );
    out.write(
        T,
        "secure-prefix",
        format!("refresh\n/auth/refresh\n__Secure-refresh={access}\n__Host-refresh=x"),
    );
    for (name, value) in [
        (
            "two-pairs-one-field",
            &b"access\n/\n__Host-access=a; __Host-access=b"[..],
        ),
        ("two-fields", b"access\n/\n__Host-access=a\n__Host-access=b"),
        ("two-empty", b"access\n/\n__Host-access=; __Host-access="),
        ("comma-in-value", b"access\n/\n__Host-access=a,b"),
        ("space-in-value", b"access\n/\n__Host-access=a b"),
        ("empty-value", b"access\n/\n__Host-access="),
        ("empty-quoted", b"access\n/\n__Host-access=\"\""),
        ("one-quote", b"access\n/\n__Host-access=\""),
        ("spaces-around", b"access\n/\n  __Host-access  =  tok  ;x=1"),
        ("wrong-case", b"access\n/\n__host-access=a; access=b"),
        (
            "malformed-neighbours",
            b"access\n/\njunk; x=\"; =; __Host-access=tok",
        ),
        ("no-equals", b"access\n/\n__Host-access; __Host-access"),
        ("prefixed-name", b"__Host-x\n/\n__Host-__Host-x=a"),
        ("secure-prefixed-name", b"__SECURE-x\n/\n"),
        ("name-with-space", b"a b\n/\n"),
        ("empty-name", b"\n/\n__Host-access=a"),
        ("relative-path", b"access\nauth\n__Host-access=a"),
        ("path-semicolon", b"access\n/a;b\n__Host-access=a"),
        ("non-ascii-path", b"access\n/caf\xc3\xa9\n__Host-access=a"),
        ("obs-text-value", b"access\n/\n__Host-access=caf\xe9"),
        ("tab-separated", b"access\n/\nx=1;\t__Host-access=t"),
    ] {
        out.write(T, name, value);
    }
}

/// `<first 8 bytes of SHA-256 in hex> <json>\n`, the journal's line format.
fn journal_line(json: &str) -> Vec<u8> {
    let hash = ring::digest::digest(&ring::digest::SHA256, json.as_bytes());
    let sum: String = hash.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{sum} {json}\n").into_bytes()
}

/// Journals written by a real `FileStore`, cut and damaged; and the target's `!<json>`
/// form, which it seals with a checksum, so that the fuzzer can mutate records.
fn journal_seeds(out: &mut Writer) {
    use gatepass::{
        ConsumeRequest, EndReason, FileStore, IssuedPair, SessionRecord, SessionStore as _,
        SubjectCutoff,
    };
    const T: &str = "revocation_journal";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    {
        let store = FileStore::open(&path).unwrap();
        for (sid, sub) in [("sid-1", "alice"), ("sid-2", "alice"), ("sid-3", "bob")] {
            let record = SessionRecord::new(
                sid.into(),
                sub.into(),
                format!("{sid}-r0"),
                ISSUED_AT,
                43_200,
                1_800,
            );
            block_on(store.create_session(record)).unwrap();
        }
        let next = IssuedPair::new("access-1".into(), "refresh-1".into(), 300);
        let rotate = ConsumeRequest::new(
            "sid-1".into(),
            0,
            "sid-1-r0".into(),
            ISSUED_AT + 10,
            "sid-1-r1".into(),
            next,
            5,
            ISSUED_AT + 610,
        );
        block_on(store.consume_if_current(rotate)).unwrap();
        block_on(store.revoke_token("jti-1", ISSUED_AT + 3600)).unwrap();
        block_on(store.revoke_session("sid-3", ISSUED_AT + 900, EndReason::Logout))
            .unwrap();
        block_on(store.revoke_subject(
            "alice",
            SubjectCutoff::new(ISSUED_AT + 20, Some(ISSUED_AT + 920)),
            ISSUED_AT + 920,
        ))
        .unwrap();
        block_on(store.revoke_token("jti-2", ISSUED_AT + 7200)).unwrap();
    }
    let journal = fs::read(&path).unwrap();
    let lines: Vec<&[u8]> = journal.split_inclusive(|&b| b == b'\n').collect();
    assert!(
        lines.len() >= 7,
        "the seed journal has {} lines",
        lines.len()
    );
    let first_two = lines[..2].concat();
    out.write(T, "store-journal", &journal);
    out.write(T, "torn-mid-record", &journal[..journal.len() - 9]);
    out.write(T, "torn-before-newline", &journal[..journal.len() - 1]);
    out.write(
        T,
        "garbage-tail",
        [&journal[..], b"\x00\xffgarbage\n"].concat(),
    );
    out.write(
        T,
        "two-garbage-lines",
        [&first_two[..], b"garbage\nmore garbage\n"].concat(),
    );
    let mut damaged = journal.clone();
    damaged[lines[0].len()] ^= 1;
    out.write(T, "damaged-then-valid", damaged);
    let mut upper = first_two.clone();
    upper[..16].make_ascii_uppercase();
    out.write(T, "uppercase-checksum", upper);
    out.write(T, "duplicated", [&journal[..], &journal[..]].concat());
    out.write(T, "empty", b"");
    out.write(T, "newlines", b"\n\n\n");
    out.write(
        T,
        "session-after-end",
        [
            lines[0],
            &journal_line(r#"{"t":"end","sid":"sid-1","until":1700000900,"reason":"reuse"}"#),
            lines[0],
        ]
        .concat(),
    );
    for (name, json) in [
        (
            "sealed-token",
            r#"{"t":"token","jti":"j","until":1700003600}"#,
        ),
        (
            "sealed-end",
            r#"{"t":"end","sid":"s","until":1700003600,"reason":"logout"}"#,
        ),
        (
            "sealed-subject",
            r#"{"t":"subject","sub":"alice","before":1700000100,"cutoff_until":null,"sids":["s","t"],"until":1700003600}"#,
        ),
        (
            "sealed-session",
            r#"{"t":"session","session":{"sid":"s","sub":"alice","gen":3,"refresh_jti":"r","created_at":1700000000,"last_used_at":1700000050,"expires_at":1700043200,"idle_timeout":1800,"grace":{"parent_jti":"p","rotated_at":1700000050,"until":1700000055,"successor":{"access_token":"a","refresh_token":"b","expires_in":300}}}}"#,
        ),
        ("sealed-unknown-tag", r#"{"t":"nope","jti":"j","until":1}"#),
        (
            "sealed-wrong-type",
            r#"{"t":"token","jti":7,"until":"soon"}"#,
        ),
    ] {
        out.write(T, name, format!("!{json}\n"));
    }
    out.write(
        T,
        "sealed-mix-torn",
        "!{\"t\":\"token\",\"jti\":\"a\",\"until\":9}\n!{\"t\":\"end\",\"sid\":\"s\",\"until\":9,\"reason\":\"revoked\"}\n!{\"t\":\"tok",
    );
}

/// The `refresh_rotation` input format (`internal::fuzzing`'s sessions target): settings,
/// then one tag byte per operation and its argument bytes.
mod rotation {
    /// Access TTL, idle timeout, absolute timeout and refresh TTL (0: the idle timeout) in
    /// seconds, grace in seconds, leeway index (0, 1, 5 or 300 s).
    pub(super) fn settings(
        access: u16,
        idle: u16,
        absolute: u16,
        refresh: u16,
        grace: u8,
        leeway: u8,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        for value in [access - 1, idle - 1, absolute - idle, refresh] {
            out.extend(value.to_le_bytes());
        }
        out.extend([grace, leeway]);
        out
    }
    pub(super) const LATEST: [u8; 2] = [0, 0];
    pub(super) const fn current(n: u8) -> [u8; 2] {
        [1, n]
    }
    pub(super) const fn parent(n: u8) -> [u8; 2] {
        [2, n]
    }
    pub(super) const fn any(n: u8) -> [u8; 2] {
        [3, n]
    }
    pub(super) fn login(subject: u8, node: u8) -> Vec<u8> {
        vec![0, subject, node]
    }
    pub(super) fn refresh(pick: [u8; 2], node: u8) -> Vec<u8> {
        vec![1, pick[0], pick[1], node]
    }
    pub(super) fn race(pick: [u8; 2], times: u8) -> Vec<u8> {
        vec![2, pick[0], pick[1], times]
    }
    pub(super) fn logout(pick: [u8; 2], node: u8) -> Vec<u8> {
        vec![3, pick[0], pick[1], node]
    }
    pub(super) fn logout_all(subject: u8, node: u8) -> Vec<u8> {
        vec![4, subject, node]
    }
    /// Hint: 0 none, 1 access_token, 2 refresh_token, 3 another.
    pub(super) fn revoke(refresh: u8, pick: [u8; 2], hint: u8) -> Vec<u8> {
        vec![5, refresh, pick[0], pick[1], hint]
    }
    pub(super) fn check(pick: [u8; 2]) -> Vec<u8> {
        vec![6, pick[0], pick[1]]
    }
    pub(super) fn prune() -> Vec<u8> {
        vec![7]
    }
    pub(super) fn advance(secs: u16) -> Vec<u8> {
        [vec![8], secs.to_le_bytes().to_vec()].concat()
    }
    /// Deadlines: idle, absolute and grace of session `n`, exp of an access or refresh
    /// token, end of a session's revocation.
    pub(super) fn to_idle(n: u8, delta: i8) -> Vec<u8> {
        to(&[0, n], delta)
    }
    pub(super) fn to_absolute(n: u8, delta: i8) -> Vec<u8> {
        to(&[1, n], delta)
    }
    pub(super) fn to_grace(n: u8, delta: i8) -> Vec<u8> {
        to(&[2, n], delta)
    }
    pub(super) fn to_access_exp(pick: [u8; 2], delta: i8) -> Vec<u8> {
        to(&[3, pick[0], pick[1]], delta)
    }
    pub(super) fn to_refresh_exp(pick: [u8; 2], delta: i8) -> Vec<u8> {
        to(&[4, pick[0], pick[1]], delta)
    }
    pub(super) fn to_revocation(n: u8, delta: i8) -> Vec<u8> {
        to(&[5, n], delta)
    }
    fn to(deadline: &[u8], delta: i8) -> Vec<u8> {
        [&[9][..], deadline, &[u8::try_from(delta + 2).unwrap()]].concat()
    }
}

/// Scenarios written in the target's byte format, and pseudo-random bytes (any bytes are a
/// case).
fn refresh_rotation_seeds(out: &mut Writer) {
    use rotation::*;
    const T: &str = "refresh_rotation";
    let defaults = settings(300, 1800, 43_200, 0, 0, 0);
    let scenarios = [
        (
            "rotate-then-reuse",
            defaults.clone(),
            vec![
                refresh(current(0), 0),
                check(LATEST),
                refresh(parent(0), 1),
                check(any(0)),
                check(LATEST),
                refresh(current(0), 0),
                prune(),
                to_revocation(0, -1),
                prune(),
                to_revocation(0, 0),
                prune(),
                refresh(current(0), 1),
            ],
        ),
        (
            "grace-window-edges",
            settings(300, 1800, 43_200, 0, 5, 0),
            vec![
                refresh(current(0), 0),
                refresh(parent(0), 1),
                to_grace(0, -1),
                refresh(parent(0), 0),
                to_grace(0, 0),
                refresh(parent(0), 1),
                check(LATEST),
            ],
        ),
        (
            "grace-then-rotate-again",
            settings(300, 1800, 43_200, 0, 10, 0),
            vec![
                refresh(current(0), 0),
                refresh(parent(0), 1),
                refresh(current(0), 1),
                refresh(parent(0), 0),
                refresh(any(0), 0),
                check(any(1)),
            ],
        ),
        (
            "race-two-nodes-without-grace",
            defaults.clone(),
            vec![
                race(current(0), 0),
                check(any(0)),
                check(any(1)),
                refresh(LATEST, 0),
            ],
        ),
        (
            "race-two-nodes-with-grace",
            settings(300, 1800, 43_200, 0, 3, 0),
            vec![
                race(current(0), 2),
                race(current(0), 1),
                advance(3),
                race(parent(0), 0),
            ],
        ),
        (
            "idle-timeout-edges",
            settings(300, 600, 43_200, 1200, 0, 0),
            vec![
                to_idle(0, -1),
                refresh(current(0), 0),
                to_idle(0, 0),
                refresh(current(0), 1),
                check(any(0)),
                check(any(1)),
            ],
        ),
        (
            "absolute-timeout-caps-exp",
            settings(300, 600, 600, 0, 0, 3),
            vec![
                advance(400),
                refresh(current(0), 0),
                advance(199),
                refresh(current(0), 0),
                to_absolute(0, 0),
                refresh(current(0), 1),
                check(LATEST),
            ],
        ),
        (
            "logout-and-logout-all",
            defaults.clone(),
            vec![
                login(1, 0),
                login(1, 1),
                logout(current(0), 0),
                logout(current(0), 1),
                logout_all(1, 1),
                login(1, 0),
                check(LATEST),
                check(any(1)),
                refresh(current(1), 0),
                refresh(current(3), 1),
            ],
        ),
        (
            "rfc7009-every-hint",
            defaults.clone(),
            vec![
                login(2, 0),
                revoke(0, current(0), 1),
                revoke(1, current(1), 0),
                login(0, 1),
                revoke(1, current(2), 1),
                revoke(0, current(2), 2),
                revoke(0, any(0), 3),
                check(any(0)),
                check(any(2)),
                refresh(current(2), 0),
            ],
        ),
        (
            "expiry-with-leeway",
            settings(10, 600, 43_200, 0, 0, 2),
            vec![
                check(LATEST),
                to_access_exp(LATEST, -1),
                check(LATEST),
                to_access_exp(LATEST, 2),
                check(LATEST),
                refresh(current(0), 0),
                to_access_exp(LATEST, 0),
                logout(LATEST, 0),
            ],
        ),
        (
            "short-refresh-ttl",
            settings(300, 1800, 43_200, 30, 0, 0),
            vec![
                to_refresh_exp(current(0), -1),
                refresh(current(0), 0),
                to_refresh_exp(current(0), 0),
                refresh(current(0), 1),
            ],
        ),
        (
            "prune-after-revocations",
            settings(60, 120, 200, 0, 0, 0),
            vec![
                login(1, 0),
                refresh(current(0), 0),
                refresh(parent(0), 1),
                logout_all(1, 0),
                revoke(0, current(0), 0),
                advance(120),
                prune(),
                advance(300),
                prune(),
                check(any(0)),
                refresh(any(1), 0),
                login(0, 0),
                prune(),
            ],
        ),
    ];
    for (name, settings, ops) in scenarios {
        out.write(T, name, [settings, ops.concat()].concat());
    }
    xorshift_seeds(out, T, &[16, 32, 64, 128, 256, 512, 1024]);
}

/// `Cache-Control` fields, one a line; `Age:` lines are `Age` fields.
fn cache_control_seeds(out: &mut Writer) {
    const T: &str = "jwks_cache_control";
    for (name, value) in [
        ("public-max-age", "public, max-age=600"),
        ("quoted-mixed-case", "Max-Age=\"60\", s-maxage=9999"),
        ("no-store", "no-store"),
        (
            "no-cache-with-field",
            "no-cache=\"set-cookie\", max-age=600",
        ),
        ("two-fields-and-age", "max-age=300\nmax-age=100\nAge: 40"),
        ("age-beyond-max-age", "max-age=10\nAge: 100"),
        ("age-twice", "max-age=1000\nAge: 5\nage: 900"),
        ("not-a-number", "max-age=soon"),
        ("plus-sign", "max-age=+5"),
        ("negative", "max-age=-5"),
        ("overflow", "max-age=99999999999999999999999"),
        ("zero", "max-age=0"),
        ("quoted-comma", "private=\"a, max-age=5\", max-age=600"),
        ("spaces", "\tmax-age = 30 ,,  , must-revalidate"),
        ("nothing", ""),
        ("only-age", "Age: 30"),
        ("obs-text", "max-age=60, x=caf\u{e9}"),
    ] {
        out.write(T, name, value);
    }
}

fn dpop_proof_seeds(out: &mut Writer) {
    for (name, seed) in gatepass::internal::fuzzing::dpop_proof_seeds() {
        out.write("dpop_proof", &name, seed);
    }
}
