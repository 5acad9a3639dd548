//! Public-key validity checks ring does not expose directly.

use ring::agreement;
use ring::rand::SystemRandom;

/// Whether `uncompressed` (`0x04 || x || y`) is a valid point on the curve of `alg`.
///
/// ring validates a peer's public key fully (on the curve, coordinates in range, not the
/// point at infinity) before an ECDH agreement, and a fresh ephemeral private key can never
/// be the reason an agreement fails. So "the agreement succeeds" is exactly "the point is
/// valid", computed by ring's audited code instead of hand-rolled field arithmetic. It costs
/// one ECDH, paid once per key import.
pub(crate) fn ec_point_is_valid(alg: &'static agreement::Algorithm, uncompressed: &[u8]) -> bool {
    let rng = SystemRandom::new();
    let Ok(ephemeral) = agreement::EphemeralPrivateKey::generate(alg, &rng) else {
        return false;
    };
    let peer = agreement::UnparsedPublicKey::new(alg, uncompressed);
    agreement::agree_ephemeral(ephemeral, &peer, |_| ()).is_ok()
}

/// Encodings of the Ed25519 points of small order (orders 1, 2, 4 and 8), including the
/// non-canonical encodings of y = p and y = p + 1, compared with the sign bit masked (the
/// list libsodium uses in `has_small_order`). ring accepts such keys, and with one of them
/// a fixed signature verifies every message.
const ED25519_SMALL_ORDER: [[u8; 32]; 7] = [
    // 0 (order 4)
    [0; 32],
    // 1 (order 1)
    [
        0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0,
    ],
    // 2707385501144840649318225287225658788936804267575313519463743609750303402022 (order 8)
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    // 55188659117513257062467267217118295137698188065244968500265048394206261417927 (order 8)
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    // p - 1 (order 2)
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p (= 0, order 4), non-canonical
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p + 1 (= 1, order 1), non-canonical
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Whether an encoded Ed25519 public key is a point of small order.
pub(crate) fn ed25519_has_small_order(public: &[u8; 32]) -> bool {
    ED25519_SMALL_ORDER.iter().any(|bad| {
        let (last_bad, head_bad) = bad.split_last().unwrap_or((&0, &[]));
        let (last, head) = public.split_last().unwrap_or((&0, &[]));
        head == head_bad && (last & 0x7f) == *last_bad
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_its_sign_flipped_twin_are_small_order() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(ed25519_has_small_order(&identity));
        identity[31] |= 0x80;
        assert!(ed25519_has_small_order(&identity));
    }

    #[test]
    fn a_real_public_key_is_not_small_order() {
        // RFC 8037 A.1 public key.
        let x = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        )
        .unwrap();
        assert!(!ed25519_has_small_order(&x.try_into().unwrap()));
    }

    #[test]
    fn p256_generator_is_on_the_curve_and_a_flipped_y_is_not() {
        let mut g = hex(concat!(
            "04",
            "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
        ));
        assert!(ec_point_is_valid(&agreement::ECDH_P256, &g));
        if let Some(last) = g.last_mut() {
            *last ^= 1;
        }
        assert!(!ec_point_is_valid(&agreement::ECDH_P256, &g));
        assert!(!ec_point_is_valid(&agreement::ECDH_P256, &[0x04; 65]));
        assert!(!ec_point_is_valid(&agreement::ECDH_P384, &g));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
