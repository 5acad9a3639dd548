//! Public keys from PEM: SubjectPublicKeyInfo (`PUBLIC KEY`) for RSA, P-256, P-384 and
//! Ed25519, and PKCS#1 `RSA PUBLIC KEY`. The caller names the algorithm: a PEM file does
//! not say which RSA padding or hash a key is for, and gatepass never guesses from a token.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::jwk::{encode, PublicParams};
use super::key::VerifyingKey;
use crate::crypto::der::{tag, Der};
use crate::crypto::{Algorithm, AlgorithmFamily, Curve, VerifyPrimitive};
use crate::error::KeyRejected;

const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// The first PEM block of `input`: its label and DER contents.
fn decode_pem(input: &str) -> Result<(String, Vec<u8>), KeyRejected> {
    let mut lines = input
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN "));
    let begin = lines
        .next()
        .ok_or(KeyRejected::BadPem("no -----BEGIN line"))?;
    let label = begin
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or(KeyRejected::BadPem("malformed BEGIN line"))?
        .to_owned();
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    for line in lines {
        if line == end {
            let der = STANDARD
                .decode(&body)
                .map_err(|_| KeyRejected::BadPem("bad base64"))?;
            return Ok((label, der));
        }
        if line.contains(':') {
            return Err(KeyRejected::BadPem(
                "encrypted or annotated PEM is not supported",
            ));
        }
        body.push_str(line);
    }
    Err(KeyRejected::BadPem("no matching -----END line"))
}

fn rsa_from_pkcs1(
    der: &[u8],
    alg: Algorithm,
) -> Result<(VerifyPrimitive, PublicParams), KeyRejected> {
    let mut seq = Der::new(
        Der::new(der)
            .read(tag::SEQUENCE)
            .ok_or(KeyRejected::BadPem("not an RSAPublicKey"))?,
    );
    let n = seq
        .read_unsigned_integer()
        .ok_or(KeyRejected::BadPem("bad RSA modulus"))?;
    let e = seq
        .read_unsigned_integer()
        .ok_or(KeyRejected::BadPem("bad RSA exponent"))?;
    if !seq.is_empty() {
        return Err(KeyRejected::BadPem("trailing data in RSAPublicKey"));
    }
    let primitive = VerifyPrimitive::rsa(alg, n, e)?;
    Ok((
        primitive,
        PublicParams::Rsa {
            n: encode(n),
            e: encode(e),
        },
    ))
}

fn from_spki(der: &[u8], alg: Algorithm) -> Result<(VerifyPrimitive, PublicParams), KeyRejected> {
    let bad = KeyRejected::BadPem("not a SubjectPublicKeyInfo");
    let mut spki = Der::new(Der::new(der).read(tag::SEQUENCE).ok_or(bad.clone())?);
    let mut algorithm = Der::new(spki.read(tag::SEQUENCE).ok_or(bad.clone())?);
    let oid = algorithm.read(tag::OID).ok_or(bad.clone())?;
    let bits = spki.read(tag::BIT_STRING).ok_or(bad.clone())?;
    // The first byte of a BIT STRING counts unused bits; keys use whole bytes.
    let key = match bits.split_first() {
        Some((0, key)) => key,
        _ => return Err(bad),
    };
    let wrong = |key: &str| KeyRejected::AlgorithmMismatch {
        alg: alg.as_str().into(),
        key: key.into(),
    };
    match oid {
        OID_RSA_ENCRYPTION if alg.family() == AlgorithmFamily::Rsa => rsa_from_pkcs1(key, alg),
        OID_RSA_ENCRYPTION => Err(wrong("RSA")),
        OID_ED25519 if alg == Algorithm::EdDSA => {
            let primitive = VerifyPrimitive::ed25519(key)?;
            Ok((primitive, PublicParams::Okp { x: encode(key) }))
        }
        OID_ED25519 => Err(wrong("OKP Ed25519")),
        OID_EC_PUBLIC_KEY => {
            let curve_oid = algorithm
                .read(tag::OID)
                .ok_or(KeyRejected::BadPem("EC key without a named curve"))?;
            let (curve_alg, name) = match curve_oid {
                OID_P256 => (Algorithm::ES256, "EC P-256"),
                OID_P384 => (Algorithm::ES384, "EC P-384"),
                _ => {
                    return Err(KeyRejected::UnsupportedAlgorithm(
                        "EC curve other than P-256/P-384".into(),
                    ))
                }
            };
            if curve_alg != alg {
                return Err(wrong(name));
            }
            let curve = Curve::of(alg).ok_or_else(|| wrong(name))?;
            let n = curve.coordinate_len;
            let (x, y) = match key.split_first() {
                Some((0x04, point)) if point.len() == 2 * n => point.split_at(n),
                _ => {
                    return Err(KeyRejected::BadPem(
                        "EC point is not uncompressed or has the wrong length",
                    ))
                }
            };
            let primitive = VerifyPrimitive::ecdsa(alg, x, y)?;
            Ok((
                primitive,
                PublicParams::Ec {
                    crv: curve.name,
                    x: encode(x),
                    y: encode(y),
                },
            ))
        }
        _ => Err(KeyRejected::UnsupportedAlgorithm(
            "public key algorithm in PEM".into(),
        )),
    }
}

impl VerifyingKey {
    /// A verification key from a PEM public key, for the algorithm `alg`.
    ///
    /// Accepts `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo: RSA, P-256, P-384,
    /// Ed25519) and `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1). The same import rules as for
    /// JWKs apply: RSA of 2048 to 8192 bits with e >= 65537, points on the curve, no
    /// small-order Ed25519 keys.
    ///
    /// ```
    /// use gatepass::{Algorithm, VerifyingKey};
    /// let pem = "-----BEGIN PUBLIC KEY-----\n\
    ///            MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n\
    ///            -----END PUBLIC KEY-----\n";
    /// let key = VerifyingKey::from_pem(pem, Algorithm::EdDSA, Some("rfc8037"))?;
    /// assert_eq!(key.alg(), Algorithm::EdDSA);
    /// # Ok::<(), gatepass::KeyRejected>(())
    /// ```
    pub fn from_pem(pem: &str, alg: Algorithm, kid: Option<&str>) -> Result<Self, KeyRejected> {
        let (label, der) = decode_pem(pem)?;
        let (primitive, public) = match label.as_str() {
            "PUBLIC KEY" => from_spki(&der, alg)?,
            "RSA PUBLIC KEY" if alg.family() == AlgorithmFamily::Rsa => rsa_from_pkcs1(&der, alg)?,
            "RSA PUBLIC KEY" => {
                return Err(KeyRejected::AlgorithmMismatch {
                    alg: alg.as_str().into(),
                    key: "RSA".into(),
                })
            }
            _ if label.contains("PRIVATE") => {
                return Err(KeyRejected::BadPem(
                    "a private key was given where a public key is expected",
                ))
            }
            _ => return Err(KeyRejected::BadPem("unsupported PEM label")),
        };
        Ok(Self::from_parts(
            kid.map(str::to_owned),
            alg,
            primitive,
            public,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_algorithm_for_the_pem_key_is_refused() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            VerifyingKey::from_pem(pem, Algorithm::ES256, None),
            Err(KeyRejected::AlgorithmMismatch { .. })
        ));
    }

    #[test]
    fn garbage_is_a_clear_error() {
        assert!(matches!(
            VerifyingKey::from_pem("hello", Algorithm::RS256, None),
            Err(KeyRejected::BadPem(_))
        ));
        let truncated = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2Vw\n-----END PUBLIC KEY-----\n";
        assert!(VerifyingKey::from_pem(truncated, Algorithm::EdDSA, None).is_err());
    }
}
