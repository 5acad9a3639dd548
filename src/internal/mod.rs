//! Hooks for fuzz targets and conformance tests. Not a stable API: hidden from the docs,
//! free to change between any two releases.

/// Check a JWS signature alone, skipping every structural and claim check: for test
/// vectors whose payload is not a JWT (RFC 8037 A.4 signs plain text).
pub fn verify_signature_only(key: &crate::VerifyingKey, compact: &str) -> bool {
    let mut parts = compact.rsplitn(2, '.');
    let (Some(signature), Some(signing_input)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(signature) =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
    else {
        return false;
    };
    key.verify_signature(signing_input.as_bytes(), &signature)
}

/// Run a verifier's size, structure, algorithm, key and signature checks (docs/REFERENCE.md §1, in
/// its order) on a compact JWS whose payload need not be a JWT, and return the header and
/// payload: for conformance vectors (RFC 7520, Wycheproof) whose payloads are plain text.
/// No claim, type or time is checked, so this must never decide whether to trust a token.
pub fn verify_jws(
    verifier: &crate::Verifier,
    compact: &str,
) -> Result<(crate::Header, Vec<u8>), crate::VerifyError> {
    verifier.verify_jws(compact)
}

pub mod fuzzing;
