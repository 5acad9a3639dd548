//! Signing and verification primitives: ring keys prepared once, used many times.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use ring::{agreement, hmac};
use zeroize::Zeroizing;

use super::der;
use super::points;
use super::random;
use crate::crypto::Algorithm;
use crate::error::KeyRejected;

/// The curve parameters of an ECDSA algorithm.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Curve {
    /// The JWK `crv` name.
    pub(crate) name: &'static str,
    /// Bytes in one coordinate (and in the private scalar).
    pub(crate) coordinate_len: usize,
    signing: &'static signature::EcdsaSigningAlgorithm,
    verification: &'static signature::EcdsaVerificationAlgorithm,
    agreement: &'static agreement::Algorithm,
}

impl Curve {
    /// The curve behind an ECDSA algorithm (`None` for everything else).
    pub(crate) fn of(alg: Algorithm) -> Option<Self> {
        match alg {
            Algorithm::ES256 => Some(Self {
                name: "P-256",
                coordinate_len: 32,
                signing: &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                verification: &signature::ECDSA_P256_SHA256_FIXED,
                agreement: &agreement::ECDH_P256,
            }),
            Algorithm::ES384 => Some(Self {
                name: "P-384",
                coordinate_len: 48,
                signing: &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                verification: &signature::ECDSA_P384_SHA384_FIXED,
                agreement: &agreement::ECDH_P384,
            }),
            _ => None,
        }
    }

    /// The ECDSA algorithm for a JWK `crv`.
    pub(crate) fn algorithm_for(crv: &str) -> Option<Algorithm> {
        match crv {
            "P-256" => Some(Algorithm::ES256),
            "P-384" => Some(Algorithm::ES384),
            _ => None,
        }
    }

    /// Check lengths and that `0x04 || x || y` is on the curve; return the encoded point.
    pub(crate) fn public_point(&self, x: &[u8], y: &[u8]) -> Result<Vec<u8>, KeyRejected> {
        check_len("x", x, self.coordinate_len)?;
        check_len("y", y, self.coordinate_len)?;
        let mut point = Vec::with_capacity(1 + 2 * self.coordinate_len);
        point.push(0x04);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        if !points::ec_point_is_valid(self.agreement, &point) {
            return Err(KeyRejected::NotOnCurve);
        }
        Ok(point)
    }
}

fn hmac_algorithm(alg: Algorithm) -> Option<hmac::Algorithm> {
    match alg {
        Algorithm::HS256 => Some(hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

fn rsa_parameters(alg: Algorithm) -> Option<&'static signature::RsaParameters> {
    match alg {
        Algorithm::RS256 => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => Some(&signature::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => Some(&signature::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => Some(&signature::RSA_PSS_2048_8192_SHA512),
        _ => None,
    }
}

pub(crate) fn check_len(
    member: &'static str,
    bytes: &[u8],
    expected: usize,
) -> Result<(), KeyRejected> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(KeyRejected::WrongLength {
            member,
            expected,
            found: bytes.len(),
        })
    }
}

/// Secret key material in the JWK members that carry it, zeroized on drop.
pub(crate) enum KeyMaterial {
    /// `k`.
    Hmac { k: Zeroizing<Vec<u8>> },
    /// `d` (the seed) and `x`.
    Ed25519 { d: Zeroizing<Vec<u8>>, x: Vec<u8> },
    /// `d`, `x`, `y`.
    Ecdsa {
        d: Zeroizing<Vec<u8>>,
        x: Vec<u8>,
        y: Vec<u8>,
    },
}

impl KeyMaterial {
    /// The secret itself (`k` or `d`): input for deriving other keys from this one.
    pub(crate) fn secret(&self) -> &[u8] {
        match self {
            Self::Hmac { k } => k,
            Self::Ed25519 { d, .. } | Self::Ecdsa { d, .. } => d,
        }
    }
}

/// A ready-to-use private key.
pub(crate) enum SignPrimitive {
    Hmac(hmac::Key),
    Ed25519(Box<Ed25519KeyPair>),
    Ecdsa(Box<EcdsaKeyPair>),
}

impl SignPrimitive {
    /// Build from JWK material, validating everything ring and the contract require.
    pub(crate) fn from_material(
        alg: Algorithm,
        material: &KeyMaterial,
    ) -> Result<Self, KeyRejected> {
        match material {
            KeyMaterial::Hmac { k } => {
                let Some(hmac_alg) = hmac_algorithm(alg) else {
                    return Err(mismatch(alg, "oct"));
                };
                let min = alg.min_hmac_len();
                if k.len() < min {
                    return Err(KeyRejected::WeakHmacSecret { len: k.len(), min });
                }
                Ok(Self::Hmac(hmac::Key::new(hmac_alg, k)))
            }
            KeyMaterial::Ed25519 { d, x } => {
                if alg != Algorithm::EdDSA {
                    return Err(mismatch(alg, "OKP Ed25519"));
                }
                check_len("d", d, 32)?;
                let public = ed25519_public(x)?;
                Ed25519KeyPair::from_seed_and_public_key(d, &public)
                    .map(|pair| Self::Ed25519(Box::new(pair)))
                    .map_err(|_| KeyRejected::InconsistentKeyPair)
            }
            KeyMaterial::Ecdsa { d, x, y } => {
                let Some(curve) = Curve::of(alg) else {
                    return Err(mismatch(alg, "EC"));
                };
                check_len("d", d, curve.coordinate_len)?;
                let point = curve.public_point(x, y)?;
                EcdsaKeyPair::from_private_key_and_public_key(
                    curve.signing,
                    d,
                    &point,
                    &SystemRandom::new(),
                )
                .map(|pair| Self::Ecdsa(Box::new(pair)))
                .map_err(|_| KeyRejected::InconsistentKeyPair)
            }
        }
    }

    /// Generate a fresh key for `alg` from the OS CSPRNG.
    pub(crate) fn generate(alg: Algorithm) -> Result<(Self, KeyMaterial), KeyRejected> {
        let rng_failed = || KeyRejected::RandomnessUnavailable;
        let material = if let Some(_hmac) = hmac_algorithm(alg) {
            let mut k = Zeroizing::new(vec![0u8; alg.min_hmac_len()]);
            random::fill(&mut k).map_err(|_| rng_failed())?;
            KeyMaterial::Hmac { k }
        } else if alg == Algorithm::EdDSA {
            let seed = Zeroizing::new(random::bytes::<32>().map_err(|_| rng_failed())?);
            let pair = Ed25519KeyPair::from_seed_unchecked(&seed[..])
                .map_err(|_| KeyRejected::InconsistentKeyPair)?;
            KeyMaterial::Ed25519 {
                d: Zeroizing::new(seed.to_vec()),
                x: pair.public_key().as_ref().to_vec(),
            }
        } else if let Some(curve) = Curve::of(alg) {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(curve.signing, &rng).map_err(|_| rng_failed())?;
            let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
            let pair = EcdsaKeyPair::from_pkcs8(curve.signing, &pkcs8, &rng)
                .map_err(|_| KeyRejected::InconsistentKeyPair)?;
            let d = der::ec_private_scalar_from_pkcs8(&pkcs8).ok_or(KeyRejected::BadPem(
                "ring produced an unexpected PKCS#8 layout",
            ))?;
            let point = pair.public_key().as_ref();
            let n = curve.coordinate_len;
            let (x, y) = point
                .get(1..=n)
                .zip(point.get(n + 1..=2 * n))
                .ok_or(KeyRejected::InconsistentKeyPair)?;
            KeyMaterial::Ecdsa {
                d: Zeroizing::new(d.to_vec()),
                x: x.to_vec(),
                y: y.to_vec(),
            }
        } else {
            return Err(KeyRejected::NotASigningKey);
        };
        let primitive = Self::from_material(alg, &material)?;
        Ok((primitive, material))
    }

    /// Sign `message`. ECDSA draws a fresh nonce from the OS CSPRNG.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
        match self {
            Self::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            Self::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Self::Ecdsa(pair) => Ok(pair.sign(&SystemRandom::new(), message)?.as_ref().to_vec()),
        }
    }

    /// The verification half of this key.
    pub(crate) fn verifier(&self, alg: Algorithm) -> Result<VerifyPrimitive, KeyRejected> {
        match self {
            Self::Hmac(key) => Ok(VerifyPrimitive::Hmac(key.clone())),
            Self::Ed25519(pair) => {
                let public = ed25519_public(pair.public_key().as_ref())?;
                Ok(VerifyPrimitive::Ed25519(public))
            }
            Self::Ecdsa(pair) => {
                let curve = Curve::of(alg).ok_or_else(|| mismatch(alg, "EC"))?;
                Ok(VerifyPrimitive::Ecdsa {
                    alg: curve.verification,
                    point: pair.public_key().as_ref().to_vec(),
                })
            }
        }
    }
}

fn mismatch(alg: Algorithm, key: &str) -> KeyRejected {
    KeyRejected::AlgorithmMismatch {
        alg: alg.as_str().to_owned(),
        key: key.to_owned(),
    }
}

/// Check an Ed25519 public key: 32 bytes and not of small order.
pub(crate) fn ed25519_public(x: &[u8]) -> Result<[u8; 32], KeyRejected> {
    let public: [u8; 32] = x.try_into().map_err(|_| KeyRejected::WrongLength {
        member: "x",
        expected: 32,
        found: x.len(),
    })?;
    if points::ed25519_has_small_order(&public) {
        return Err(KeyRejected::SmallOrder);
    }
    Ok(public)
}

/// A ready-to-use public (or, for HMAC, shared) key.
#[derive(Clone)]
pub(crate) enum VerifyPrimitive {
    Hmac(hmac::Key),
    Ed25519([u8; 32]),
    Ecdsa {
        alg: &'static signature::EcdsaVerificationAlgorithm,
        point: Vec<u8>,
    },
    Rsa {
        params: &'static signature::RsaParameters,
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

impl VerifyPrimitive {
    /// An HMAC verification key (same strength rules as signing).
    pub(crate) fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, KeyRejected> {
        SignPrimitive::from_material(
            alg,
            &KeyMaterial::Hmac {
                k: Zeroizing::new(secret.to_vec()),
            },
        )?
        .verifier(alg)
    }

    /// An Ed25519 public key.
    pub(crate) fn ed25519(x: &[u8]) -> Result<Self, KeyRejected> {
        Ok(Self::Ed25519(ed25519_public(x)?))
    }

    /// An ECDSA public key from its coordinates.
    pub(crate) fn ecdsa(alg: Algorithm, x: &[u8], y: &[u8]) -> Result<Self, KeyRejected> {
        let curve = Curve::of(alg).ok_or_else(|| mismatch(alg, "EC"))?;
        let point = curve.public_point(x, y)?;
        Ok(Self::Ecdsa {
            alg: curve.verification,
            point,
        })
    }

    /// An RSA public key from big-endian modulus and exponent.
    ///
    /// ring itself rejects moduli under 2048 bits at verification time, but accepts e = 3;
    /// both limits are enforced here, at import, so the error names its reason.
    pub(crate) fn rsa(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Self, KeyRejected> {
        let params = rsa_parameters(alg).ok_or_else(|| mismatch(alg, "RSA"))?;
        let n = strip_leading_zeros(n);
        let bits = match n.first() {
            Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
            None => 0,
        };
        if !(2048..=8192).contains(&bits) {
            return Err(KeyRejected::RsaModulusSize { bits });
        }
        let e = strip_leading_zeros(e);
        if e.len() > 8 {
            return Err(KeyRejected::RsaExponent);
        }
        let exponent = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if exponent < 65537 || exponent % 2 == 0 || exponent > (1 << 33) - 1 {
            return Err(KeyRejected::RsaExponent);
        }
        Ok(Self::Rsa {
            params,
            n: n.to_vec(),
            e: e.to_vec(),
        })
    }

    /// Verify `signature` over `message`. The answer is deliberately a bare yes/no.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Self::Ed25519(public) => signature::UnparsedPublicKey::new(&signature::ED25519, public)
                .verify(message, signature)
                .is_ok(),
            Self::Ecdsa { alg, point } => signature::UnparsedPublicKey::new(*alg, point)
                .verify(message, signature)
                .is_ok(),
            Self::Rsa { params, n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok(),
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signing_algorithm_generates_signs_and_verifies() {
        for alg in Algorithm::SIGNING {
            let (key, _material) = SignPrimitive::generate(alg).unwrap();
            let sig = key.sign(b"message").unwrap();
            let verifier = key.verifier(alg).unwrap();
            assert!(verifier.verify(b"message", &sig), "{alg}");
            assert!(!verifier.verify(b"messagf", &sig), "{alg}");
        }
    }

    #[test]
    fn regenerating_from_material_gives_the_same_key() {
        for alg in Algorithm::SIGNING {
            let (key, material) = SignPrimitive::generate(alg).unwrap();
            let again = SignPrimitive::from_material(alg, &material).unwrap();
            let sig = again.sign(b"m").unwrap();
            assert!(key.verifier(alg).unwrap().verify(b"m", &sig), "{alg}");
        }
    }

    #[test]
    fn rsa_limits_are_enforced_at_import() {
        let mut n = vec![0xff; 256];
        assert!(VerifyPrimitive::rsa(Algorithm::RS256, &n, &[1, 0, 1]).is_ok());
        assert_eq!(
            VerifyPrimitive::rsa(Algorithm::RS256, &n, &[3]).err(),
            Some(KeyRejected::RsaExponent)
        );
        assert_eq!(
            VerifyPrimitive::rsa(Algorithm::RS256, &n, &[1, 0, 0]).err(),
            Some(KeyRejected::RsaExponent)
        );
        n.truncate(255);
        assert_eq!(
            VerifyPrimitive::rsa(Algorithm::PS256, &n, &[1, 0, 1]).err(),
            Some(KeyRejected::RsaModulusSize { bits: 2040 })
        );
    }
}
