//! The fixed world every fuzz target runs in: one key per algorithm gatepass knows, built
//! from published JWKs so that seed corpora stay valid across runs and machines, and an
//! independent signature oracle that does not share code with the verifier's key lookup.

use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature;
use serde_json::{Map, Value};

use crate::{
    Algorithm, AlgorithmSet, Issuer, ManualClock, Profile, SigningKey, UnixTime, VerificationKeys,
    Verifier, VerifierBuilder, VerifyingKey,
};

/// The `iss` of every fixture token.
pub const ISSUER: &str = "https://fuzz.gatepass.test";
/// The `aud` of every fixture token.
pub const AUDIENCE: &str = "fuzz-api";
/// When corpus tokens are issued.
pub const ISSUED_AT: UnixTime = 1_700_000_000;
/// When every target verifies: fixed, so a corpus token verifies today and in ten years.
pub const NOW: UnixTime = ISSUED_AT + 60;
/// The verifiers' leeway in seconds (the library default).
pub const LEEWAY: u64 = 30;

/// The signing keys, as private JWKs. The EdDSA key is RFC 8037 A.1, ES256 is RFC 7515
/// A.3, HS256 is RFC 7515 A.1; the ES384, HS384 and HS512 keys were made for this
/// fixture. All of them are public: never use them for anything but tests.
const SIGNING_JWKS: [&str; 6] = [
    r#"{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"fuzz-eddsa",
        "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    r#"{"kty":"EC","crv":"P-256","alg":"ES256","kid":"fuzz-es256",
        "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#,
    r#"{"kty":"EC","crv":"P-384","alg":"ES384","kid":"fuzz-es384",
        "d":"ramVH8CPTdFYI0ec4dCjAmI9ecmXMfKk3onO0vFCXR5pIjW9RvyDhBAiJYRCXo9t",
        "x":"aivfejDHm7miELu0Yd12oze6SG7aKO4QQHAL42PJucpiedcTROQhObWqKXwT7EXx",
        "y":"JwTS7ZljYg0UnvAShaiIpWSte5TAAuFz3aJhRLYtDJbvmv5VTFC2IlyS0MKv1N-f"}"#,
    r#"{"kty":"oct","alg":"HS256","kid":"fuzz-hs256",
        "k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#,
    r#"{"kty":"oct","alg":"HS384","kid":"fuzz-hs384",
        "k":"Z2F0ZXBhc3MgZnV6eiBmaXh0dXJlOiBIUzM4NCBzZWNyZXQsIHB1YmxpYyEhISEh"}"#,
    r#"{"kty":"oct","alg":"HS512","kid":"fuzz-hs512",
        "k":"Z2F0ZXBhc3MgZnV6eiBmaXh0dXJlOiBIUzUxMiBzZWNyZXQsIHB1Ymxpc2hlZCBvbiBwdXJwb3NlLi4uLi4uLg"}"#,
];

/// The RSA modulus of RFC 7515 A.2 (2048 bits), verify-only in gatepass. The private half
/// is published in the RFC; the corpus generator uses it to sign RS/PS seeds.
pub const RSA_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
/// The RSA public exponent of RFC 7515 A.2.
pub const RSA_E: &str = "AQAB";
/// The private half of RFC 7515 A.2's key, as the RFC publishes it (a test key, never a
/// secret): the corpus generator and the tests sign RS/PS tokens with it.
pub const RSA_D: &str = "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ";
pub const RSA_P: &str = "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc";
pub const RSA_Q: &str = "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc";
pub const RSA_DP: &str = "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0";
pub const RSA_DQ: &str = "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU";
pub const RSA_QI: &str = "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U";

/// The verify-only algorithms; the fixture holds the RSA key once per algorithm, under
/// the kid `fuzz-` + the lowercase name, since a gatepass key is bound to one algorithm.
pub const RSA_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// The fixture: keys, and the verifiers every target uses.
#[derive(Debug)]
pub struct Fixture {
    signing: Vec<Arc<SigningKey>>,
    /// The uncompressed public point of each ECDSA signing key, decoded from the JWK text
    /// rather than taken from the key object, for the oracle.
    ec_points: Vec<Option<Vec<u8>>>,
    rsa: Vec<VerifyingKey>,
    rsa_n: Vec<u8>,
    rsa_e: Vec<u8>,
    verifier: Arc<Verifier>,
    eddsa_only: Verifier,
    /// The same keys, issuer, audience and clock in the jwt profile: as is, without the
    /// audience check, and requiring a `scope` claim.
    jwt: [Verifier; 3],
}

fn object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => panic!("fixture JWK is not a JSON object: {text}"),
    }
}

fn decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|_| panic!("fixture base64url does not decode: {text}"))
}

fn member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

impl Fixture {
    fn build() -> Self {
        let mut signing = Vec::new();
        let mut ec_points = Vec::new();
        for text in SIGNING_JWKS {
            let jwk = object(text);
            let key = SigningKey::from_jwk(&jwk)
                .unwrap_or_else(|e| panic!("fixture key refused: {e}: {text}"));
            let point = match (member(&jwk, "x"), member(&jwk, "y")) {
                (Some(x), Some(y)) => {
                    let mut point = vec![0x04];
                    point.extend(decode(x));
                    point.extend(decode(y));
                    Some(point)
                }
                _ => None,
            };
            signing.push(Arc::new(key));
            ec_points.push(point);
        }
        let rsa: Vec<VerifyingKey> = RSA_ALGORITHMS
            .iter()
            .map(|alg| {
                let kid = format!("fuzz-{}", alg.as_str().to_ascii_lowercase());
                let jwk = object(&format!(
                    r#"{{"kty":"RSA","alg":"{alg}","kid":"{kid}","n":"{RSA_N}","e":"{RSA_E}"}}"#
                ));
                VerifyingKey::from_jwk(&jwk)
                    .unwrap_or_else(|e| panic!("fixture RSA key refused: {e}"))
            })
            .collect();
        let all = signing
            .iter()
            .map(|k| k.verifying_key().clone())
            .chain(rsa.iter().cloned());
        let keys = VerificationKeys::new(all);
        let builder = || {
            Verifier::builder(keys.clone(), ISSUER, AUDIENCE).clock(Arc::new(ManualClock::new(NOW)))
        };
        let built = |builder: VerifierBuilder| {
            builder
                .build()
                .unwrap_or_else(|e| panic!("fixture verifier refused: {e}"))
        };
        let jwt = || builder().profile(Profile::Jwt);
        Self {
            verifier: Arc::new(built(builder().algorithms(AlgorithmSet::all()))),
            eddsa_only: built(builder().algorithms(AlgorithmSet::from_iter([Algorithm::EdDSA]))),
            jwt: [
                built(jwt()),
                built(jwt().no_audience()),
                built(jwt().require("scope")),
            ],
            signing,
            ec_points,
            rsa,
            rsa_n: decode(RSA_N),
            rsa_e: decode(RSA_E),
        }
    }

    /// The six signing keys, in [`Algorithm::SIGNING`] order.
    pub fn signing_keys(&self) -> &[Arc<SigningKey>] {
        &self.signing
    }

    /// The RSA verification keys, in [`RSA_ALGORITHMS`] order.
    pub fn rsa_keys(&self) -> &[VerifyingKey] {
        &self.rsa
    }

    /// A verifier trusting every fixture key, all algorithms allowed.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// [`verifier`](Self::verifier), shared: for an `AuthLayer`.
    pub fn shared_verifier(&self) -> Arc<Verifier> {
        Arc::clone(&self.verifier)
    }

    /// The same keys, but only `EdDSA` allowed.
    pub fn eddsa_only(&self) -> &Verifier {
        &self.eddsa_only
    }

    /// The jwt-profile verifiers over the same keys, issuer, audience and clock: as
    /// `[plain, without the audience check, requiring "scope"]`.
    pub fn jwt_verifiers(&self) -> &[Verifier; 3] {
        &self.jwt
    }

    /// An issuer for signing key `index` (taken modulo the number of keys).
    pub fn issuer(&self, index: usize) -> Issuer {
        let key = self
            .signing
            .get(index % self.signing.len())
            .cloned()
            .unwrap_or_else(|| panic!("the fixture has signing keys"));
        Issuer::new(key, ISSUER, AUDIENCE).with_clock(Arc::new(ManualClock::new(ISSUED_AT)))
    }

    /// The key a verifier following docs/REFERENCE.md §1 must pick: by exact `kid`, or without one
    /// the only key for `alg`. Written apart from `VerificationKeys::find` on purpose.
    pub(crate) fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Option<FixtureKey<'_>> {
        let signing = self
            .signing
            .iter()
            .enumerate()
            .map(|(index, key)| FixtureKey::Signing {
                fixture: self,
                index,
                key,
            });
        let rsa = self
            .rsa
            .iter()
            .map(|key| FixtureKey::Rsa { fixture: self, key });
        let mut all = signing.chain(rsa);
        match kid {
            Some(kid) => all.find(|k| k.kid() == kid),
            None => {
                let mut candidates = all.filter(|k| k.alg() == alg);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
    }
}

/// One fixture key, as the oracle sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FixtureKey<'a> {
    Signing {
        fixture: &'a Fixture,
        index: usize,
        key: &'a Arc<SigningKey>,
    },
    Rsa {
        fixture: &'a Fixture,
        key: &'a VerifyingKey,
    },
}

impl FixtureKey<'_> {
    pub(crate) fn alg(&self) -> Algorithm {
        match self {
            Self::Signing { key, .. } => key.alg(),
            Self::Rsa { key, .. } => key.alg(),
        }
    }

    pub(crate) fn kid(&self) -> &str {
        match self {
            Self::Signing { key, .. } => key.kid(),
            Self::Rsa { key, .. } => key.kid().unwrap_or_default(),
        }
    }

    /// Whether `sig` is this key's signature over `message`, decided without the
    /// verifier's code: deterministic schemes (HMAC, Ed25519) are re-signed and compared,
    /// ECDSA and RSA go straight to ring with the public values decoded from the JWK text.
    pub(crate) fn genuine(&self, message: &[u8], sig: &[u8]) -> bool {
        match *self {
            Self::Signing {
                fixture,
                index,
                key,
            } => match fixture.ec_points.get(index).and_then(Option::as_ref) {
                Some(point) => {
                    let alg: &'static signature::EcdsaVerificationAlgorithm = match key.alg() {
                        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
                        _ => &signature::ECDSA_P256_SHA256_FIXED,
                    };
                    signature::UnparsedPublicKey::new(alg, point)
                        .verify(message, sig)
                        .is_ok()
                }
                None => key.sign(message).is_ok_and(|mine| mine == sig),
            },
            Self::Rsa { fixture, key } => {
                let params: &'static signature::RsaParameters = match key.alg() {
                    Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                    _ => &signature::RSA_PSS_2048_8192_SHA512,
                };
                signature::RsaPublicKeyComponents {
                    n: &fixture.rsa_n,
                    e: &fixture.rsa_e,
                }
                .verify(params, message, sig)
                .is_ok()
            }
        }
    }
}

/// The fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(Fixture::build)
}
