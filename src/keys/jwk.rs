//! JSON Web Keys (RFC 7517/7518/8037): the members gatepass reads and writes, strict
//! base64url decoding, the RFC 7638 thumbprint, and the usage rules for verification.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use super::state::KeyState;
use super::KeysetError;
use crate::crypto::{digest, Algorithm, Curve, KeyMaterial, VerifyPrimitive};
use crate::error::KeyRejected;
use crate::json;

/// The members of one JWK as found in a keyset file or a JWK Set, unvalidated.
///
/// Keyset entries add `state` and the three dates; anything else is kept in `extra` so a
/// keyset survives load → save without losing members gatepass does not know.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct JwkMembers {
    pub(crate) kty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) y: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) d: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) k: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) alg: Option<String>,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub(crate) use_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key_ops: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<KeyState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) created_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) activated_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) retired_at: Option<u64>,
    #[serde(flatten)]
    pub(crate) extra: BTreeMap<String, Value>,
}

/// Decode a base64url member strictly: no padding, no whitespace, canonical trailing bits.
pub(crate) fn decode_member(member: &'static str, value: &str) -> Result<Vec<u8>, KeyRejected> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| KeyRejected::BadEncoding(member))
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn required<'a>(member: &'static str, value: &'a Option<String>) -> Result<&'a str, KeyRejected> {
    value.as_deref().ok_or(KeyRejected::MissingMember(member))
}

fn decode_required(member: &'static str, value: &Option<String>) -> Result<Vec<u8>, KeyRejected> {
    decode_member(member, required(member, value)?)
}

fn secret(member: &'static str, value: &Option<String>) -> Result<Zeroizing<Vec<u8>>, KeyRejected> {
    decode_required(member, value).map(Zeroizing::new)
}

/// The public parameters of a key, base64url-encoded as in a JWK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicParams {
    /// HMAC: nothing public. The thumbprint is over the secret and never published.
    Secret {
        k: String,
    },
    Okp {
        x: String,
    },
    Ec {
        crv: &'static str,
        x: String,
        y: String,
    },
    Rsa {
        n: String,
        e: String,
    },
}

impl PublicParams {
    /// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
    pub(crate) fn thumbprint(&self) -> String {
        // Every value is base64url or a fixed name, so no JSON escaping is needed.
        let canonical = match self {
            Self::Secret { k } => format!(r#"{{"k":"{k}","kty":"oct"}}"#),
            Self::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
            Self::Ec { crv, x, y } => {
                format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
            Self::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
        };
        encode(&digest::sha256(canonical.as_bytes()))
    }

    /// The public JWK (jsonwebtoken's serde type), or `None` for HMAC keys, which are
    /// never published.
    pub(crate) fn to_jwk(&self, alg: Algorithm, kid: Option<&str>) -> Option<jwk::Jwk> {
        let algorithm = match self {
            Self::Secret { .. } => return None,
            Self::Okp { x } => {
                jwk::AlgorithmParameters::OctetKeyPair(jwk::OctetKeyPairParameters {
                    key_type: jwk::OctetKeyPairType::OctetKeyPair,
                    curve: jwk::EllipticCurve::Ed25519,
                    x: x.clone(),
                })
            }
            Self::Ec { crv, x, y } => {
                jwk::AlgorithmParameters::EllipticCurve(jwk::EllipticCurveKeyParameters {
                    key_type: jwk::EllipticCurveKeyType::EC,
                    curve: if *crv == "P-384" {
                        jwk::EllipticCurve::P384
                    } else {
                        jwk::EllipticCurve::P256
                    },
                    x: x.clone(),
                    y: y.clone(),
                })
            }
            Self::Rsa { n, e } => jwk::AlgorithmParameters::RSA(jwk::RSAKeyParameters {
                key_type: jwk::RSAKeyType::RSA,
                n: n.clone(),
                e: e.clone(),
            }),
        };
        let key_algorithm = serde_json::from_value(Value::from(alg.as_str())).ok();
        Some(jwk::Jwk {
            common: jwk::CommonParameters {
                public_key_use: Some(jwk::PublicKeyUse::Signature),
                key_algorithm,
                key_id: kid.map(str::to_owned),
                ..Default::default()
            },
            algorithm,
        })
    }

    fn write_into(&self, members: &mut JwkMembers) {
        match self {
            Self::Secret { .. } => members.kty = "oct".into(),
            Self::Okp { x } => {
                members.kty = "OKP".into();
                members.crv = Some("Ed25519".into());
                members.x = Some(x.clone());
            }
            Self::Ec { crv, x, y } => {
                members.kty = "EC".into();
                members.crv = Some((*crv).into());
                members.x = Some(x.clone());
                members.y = Some(y.clone());
            }
            Self::Rsa { n, e } => {
                members.kty = "RSA".into();
                members.n = Some(n.clone());
                members.e = Some(e.clone());
            }
        }
    }
}

impl JwkMembers {
    /// The algorithm this JWK is for: its `alg`, checked against the key type, or for a
    /// public key without `alg` the one algorithm its type implies (RSA: RS256, the
    /// RFC 7518 "recommended" choice and OpenID Connect's default).
    pub(crate) fn algorithm(&self, require_alg: bool) -> Result<Algorithm, KeyRejected> {
        let implied = match (self.kty.as_str(), self.crv.as_deref()) {
            ("oct", _) => None,
            ("OKP", Some("Ed25519")) => Some(Algorithm::EdDSA),
            ("EC", Some(crv)) => Some(
                Curve::algorithm_for(crv)
                    .ok_or_else(|| KeyRejected::UnsupportedAlgorithm(format!("EC curve {crv}")))?,
            ),
            ("RSA", _) => Some(Algorithm::RS256),
            ("OKP" | "EC", None) => return Err(KeyRejected::MissingMember("crv")),
            ("OKP", Some(crv)) => {
                return Err(KeyRejected::UnsupportedAlgorithm(format!(
                    "OKP curve {crv}"
                )))
            }
            (kty, _) => {
                return Err(KeyRejected::UnsupportedAlgorithm(format!(
                    "key type {kty:?}"
                )))
            }
        };
        let Some(name) = self.alg.as_deref() else {
            return match implied {
                Some(alg) if !require_alg => Ok(alg),
                _ => Err(KeyRejected::MissingMember("alg")),
            };
        };
        let alg = Algorithm::from_name(name)
            .ok_or_else(|| KeyRejected::UnsupportedAlgorithm(format!("alg {name:?}")))?;
        let fits = match self.kty.as_str() {
            "oct" => alg.family() == crate::AlgorithmFamily::Hmac,
            "RSA" => alg.family() == crate::AlgorithmFamily::Rsa,
            _ => implied == Some(alg),
        };
        if !fits {
            let key = match &self.crv {
                Some(crv) => format!("{} {crv}", self.kty),
                None => self.kty.clone(),
            };
            return Err(KeyRejected::AlgorithmMismatch {
                alg: name.to_owned(),
                key,
            });
        }
        Ok(alg)
    }

    /// RFC 7517 §4.2–4.3: a key whose `use` is not `sig`, or whose `key_ops` do not
    /// include `operation` (`"verify"` or `"sign"`), is refused.
    pub(crate) fn check_usage(&self, operation: &str) -> Result<(), KeyRejected> {
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(KeyRejected::UsageForbidsVerification);
        }
        if let Some(ops) = &self.key_ops {
            if !ops.iter().any(|op| op == operation) {
                return Err(KeyRejected::UsageForbidsVerification);
            }
        }
        Ok(())
    }

    /// The private key material of a signing key (keyset entries).
    pub(crate) fn private_material(&self, alg: Algorithm) -> Result<KeyMaterial, KeyRejected> {
        match alg.family() {
            crate::AlgorithmFamily::Hmac => Ok(KeyMaterial::Hmac {
                k: secret("k", &self.k)?,
            }),
            crate::AlgorithmFamily::EdDSA => Ok(KeyMaterial::Ed25519 {
                d: secret("d", &self.d)?,
                x: decode_required("x", &self.x)?,
            }),
            crate::AlgorithmFamily::Ecdsa => Ok(KeyMaterial::Ecdsa {
                d: secret("d", &self.d)?,
                x: decode_required("x", &self.x)?,
                y: decode_required("y", &self.y)?,
            }),
            _ => Err(KeyRejected::NotASigningKey),
        }
    }

    /// The verification primitive and public parameters of a (public or private) JWK.
    pub(crate) fn public_key(
        &self,
        alg: Algorithm,
    ) -> Result<(VerifyPrimitive, PublicParams), KeyRejected> {
        match alg.family() {
            crate::AlgorithmFamily::Hmac => {
                let k = secret("k", &self.k)?;
                let primitive = VerifyPrimitive::hmac(alg, &k)?;
                Ok((primitive, PublicParams::Secret { k: encode(&k) }))
            }
            crate::AlgorithmFamily::EdDSA => {
                let x = decode_required("x", &self.x)?;
                let primitive = VerifyPrimitive::ed25519(&x)?;
                Ok((primitive, PublicParams::Okp { x: encode(&x) }))
            }
            crate::AlgorithmFamily::Ecdsa => {
                let x = decode_required("x", &self.x)?;
                let y = decode_required("y", &self.y)?;
                let primitive = VerifyPrimitive::ecdsa(alg, &x, &y)?;
                let crv = Curve::of(alg).map_or("P-256", |c| c.name);
                Ok((
                    primitive,
                    PublicParams::Ec {
                        crv,
                        x: encode(&x),
                        y: encode(&y),
                    },
                ))
            }
            _ => {
                let n = decode_required("n", &self.n)?;
                let e = decode_required("e", &self.e)?;
                let primitive = VerifyPrimitive::rsa(alg, &n, &e)?;
                Ok((
                    primitive,
                    PublicParams::Rsa {
                        n: encode(&n),
                        e: encode(&e),
                    },
                ))
            }
        }
    }

    /// The members of a private JWK for `material`.
    pub(crate) fn from_material(
        alg: Algorithm,
        kid: &str,
        public: &PublicParams,
        material: &KeyMaterial,
    ) -> Self {
        let mut members = Self::default();
        public.write_into(&mut members);
        match material {
            KeyMaterial::Hmac { k } => members.k = Some(encode(k)),
            KeyMaterial::Ed25519 { d, .. } | KeyMaterial::Ecdsa { d, .. } => {
                members.d = Some(encode(d))
            }
        }
        members.kid = Some(kid.to_owned());
        members.alg = Some(alg.as_str().to_owned());
        members
    }
}

/// Members that only a private or secret key carries (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The rule for a JWK Set read for verification: public keys only. A symmetric (`oct`)
/// key is a secret in a document anyone may read, and a key with private members has
/// leaked; either is refused, naming at most the member, never its value.
pub(crate) fn check_public_only(entry: &Value) -> Result<(), KeyRejected> {
    let Some(object) = entry.as_object() else {
        return Ok(()); // not a JWK at all: refused by the import that follows
    };
    if object.get("kty").and_then(Value::as_str) == Some("oct") {
        return Err(KeyRejected::SecretKeyInPublicSet);
    }
    match PRIVATE_MEMBERS.iter().find(|m| object.contains_key(**m)) {
        Some(member) => Err(KeyRejected::PrivateKeyInPublicSet(member)),
        None => Ok(()),
    }
}

/// Parse one JWK object from strict JSON into members.
pub(crate) fn members_from_value(value: Value) -> Result<JwkMembers, String> {
    if !value.is_object() {
        return Err("a JWK must be a JSON object".into());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Parse `{"keys": [...]}` strictly (no duplicate members, bounded depth) and return the
/// entries. Shared by keyset files and JWK Sets.
pub(crate) fn parse_key_array(bytes: &[u8]) -> Result<Vec<Value>, KeysetError> {
    split_key_array(bytes).map(|(keys, _)| keys)
}

pub(crate) fn split_key_array(
    bytes: &[u8],
) -> Result<(Vec<Value>, serde_json::Map<String, Value>), KeysetError> {
    if json::nests_deeper_than(bytes, json::MAX_DEPTH) {
        return Err(KeysetError::Format("JSON nests too deeply".into()));
    }
    let mut top = json::parse_object(bytes)
        .map_err(|e| KeysetError::Format(format!("not a JSON object: {e}")))?;
    match top.remove("keys") {
        Some(Value::Array(keys)) => Ok((keys, top)),
        Some(_) => Err(KeysetError::Format("\"keys\" must be an array".into())),
        None => Err(KeysetError::Format("no \"keys\" member".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7638_section_3_1_thumbprint() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let public = PublicParams::Rsa {
            n: n.into(),
            e: "AQAB".into(),
        };
        assert_eq!(
            public.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn usage_that_excludes_verification_is_refused() {
        let mut jwk = JwkMembers {
            kty: "OKP".into(),
            ..Default::default()
        };
        jwk.use_ = Some("enc".into());
        assert_eq!(
            jwk.check_usage("verify"),
            Err(KeyRejected::UsageForbidsVerification)
        );
        jwk.use_ = None;
        jwk.key_ops = Some(vec!["sign".into()]);
        assert_eq!(
            jwk.check_usage("verify"),
            Err(KeyRejected::UsageForbidsVerification)
        );
        assert_eq!(jwk.check_usage("sign"), Ok(()));
        jwk.key_ops = Some(vec!["sign".into(), "verify".into()]);
        assert_eq!(jwk.check_usage("verify"), Ok(()));
    }

    #[test]
    fn algorithm_must_fit_the_key_type() {
        let jwk = JwkMembers {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            alg: Some("HS256".into()),
            ..Default::default()
        };
        assert!(matches!(
            jwk.algorithm(false),
            Err(KeyRejected::AlgorithmMismatch { .. })
        ));
        let rsa = JwkMembers {
            kty: "RSA".into(),
            ..Default::default()
        };
        assert_eq!(rsa.algorithm(false), Ok(Algorithm::RS256));
        assert_eq!(rsa.algorithm(true), Err(KeyRejected::MissingMember("alg")));
        let oct = JwkMembers {
            kty: "oct".into(),
            ..Default::default()
        };
        assert_eq!(oct.algorithm(false), Err(KeyRejected::MissingMember("alg")));
    }
}
