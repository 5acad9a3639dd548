//! What the bench binaries share: the keys, a realistic ~1 KiB claims set, the tokens
//! signed with it, and the raw material the baselines need.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gatepass::{
    Algorithm, CustomClaims, IssuedToken, Issuer, RevocationList, SigningKey, VerificationKeys,
    Verifier, VerifyingKey,
};
use serde_json::{json, Value};

pub const ISS: &str = "https://auth.example.com";
pub const AUD: &str = "orders-api";
pub const SUB: &str = "user-7f3c2a91";
pub const HS_SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Custom claims of a typical enterprise access token: profile, tenancy, roles, scopes,
/// permissions and authentication context. About 1 KiB of JSON with the registered claims.
pub fn custom_claims() -> CustomClaims {
    let value = json!({
        "name": "Alice Example",
        "email": "alice.example@example.com",
        "email_verified": true,
        "locale": "en-GB",
        "zoneinfo": "Europe/London",
        "tenant": "acme-corporation-eu-west",
        "org_id": "org_01HZX3KQ7RB8M5T2W9YV4N6P0C",
        "client_id": "web-dashboard-prod",
        "acr": "urn:example:acr:mfa",
        "amr": ["pwd", "otp"],
        "auth_time": 1_700_000_000u64,
        "roles": ["orders.admin", "billing.viewer", "support.agent"],
        "scope": "openid profile email orders:read orders:write invoices:read customers:read",
        "permissions": [
            "orders.create", "orders.read", "orders.update", "orders.cancel",
            "invoices.read", "invoices.download", "customers.read", "customers.search",
            "reports.read", "reports.export", "webhooks.read", "settings.read"
        ],
        "groups": ["eu-support", "tier-2", "on-call-rota-b"],
        "feature_flags": {"new_checkout": true, "beta_reports": false, "max_exports": 25}
    });
    match value {
        Value::Object(map) => map,
        _ => CustomClaims::new(),
    }
}

/// One algorithm's key, its token, and a verifier for it.
pub struct Case {
    pub alg: Algorithm,
    pub key: Arc<SigningKey>,
    pub issuer: Issuer,
    pub token: String,
    /// `header.claims`: what the signature covers.
    pub signing_input: Vec<u8>,
    pub signature: Vec<u8>,
    pub verifier: Verifier,
}

impl Case {
    /// A case with the realistic ~1 KiB claims set.
    pub fn new(alg: Algorithm) -> Self {
        Self::with_claims(alg, &custom_claims())
    }

    /// A typical access token of about 470 bytes (HS256): the registered claims, a session
    /// id, `scope` and one custom claim (`tenant`).
    #[allow(dead_code)]
    pub fn typical(alg: Algorithm) -> Self {
        Self::with_claims(alg, &typical_custom())
    }

    /// A case with the registered claims only (a small token, about 350 bytes).
    #[allow(dead_code)]
    pub fn small(alg: Algorithm) -> Self {
        Self::with_claims(alg, &CustomClaims::new())
    }

    fn with_claims(alg: Algorithm, claims: &CustomClaims) -> Self {
        let key = Arc::new(match alg {
            Algorithm::HS256 => {
                SigningKey::from_hmac_secret(alg, HS_SECRET, Some("hs-2025")).expect("hmac key")
            }
            _ => SigningKey::generate(alg).expect("key"),
        });
        let issuer = Issuer::new(key.clone(), ISS, AUD).with_access_ttl(3600);
        let token = issuer
            .access_token(SUB)
            .session_id(TYPICAL_SID)
            .claims(claims)
            .expect("claims")
            .issue()
            .expect("issue")
            .token;
        let (signing_input, signature) = split(&token);
        let verifier = Verifier::builder(verification_keys(&key), ISS, AUD)
            .build()
            .expect("verifier");
        Self {
            alg,
            key,
            issuer,
            token,
            signing_input,
            signature,
            verifier,
        }
    }

    /// What `SessionManager::login` and `::refresh` sign: an access and a refresh token
    /// for session `sid`, both carrying `custom`.
    pub fn issue_pair(&self, sid: &str, custom: &CustomClaims) -> (IssuedToken, IssuedToken) {
        let access = self
            .issuer
            .access_token(SUB)
            .session_id(sid)
            .claims(custom)
            .expect("claims")
            .issue()
            .expect("access");
        let refresh = self
            .issuer
            .refresh_token(SUB, sid, 1)
            .claims(custom)
            .expect("claims")
            .issue()
            .expect("refresh");
        (access, refresh)
    }

    /// A member of the private JWK, base64url-decoded.
    pub fn jwk_bytes(&self, member: &str) -> Vec<u8> {
        let jwk = self.key.to_private_jwk();
        let text = jwk.get(member).and_then(Value::as_str).expect("member");
        URL_SAFE_NO_PAD.decode(text).expect("base64url")
    }

    /// A member of the private JWK as sent (base64url).
    pub fn jwk_text(&self, member: &str) -> String {
        let jwk = self.key.to_private_jwk();
        jwk.get(member)
            .and_then(Value::as_str)
            .expect("member")
            .to_owned()
    }
}

pub fn verification_keys(key: &SigningKey) -> VerificationKeys {
    VerificationKeys::new([key.verifying_key().clone()])
}

pub fn verifying_key(key: &SigningKey) -> VerifyingKey {
    key.verifying_key().clone()
}

pub fn split(token: &str) -> (Vec<u8>, Vec<u8>) {
    let dot = token.rfind('.').expect("three segments");
    let signing_input = token.as_bytes()[..dot].to_vec();
    let signature = URL_SAFE_NO_PAD
        .decode(&token[dot + 1..])
        .expect("signature");
    (signing_input, signature)
}

/// Deterministic pseudo-random ids (no RNG in the timing loop), shaped like real ones.
pub fn fake_uuid(i: u64, salt: u64) -> String {
    let mut x = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut next = || {
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        x
    };
    let (a, b) = (next(), next());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// A session id shaped like gatepass's (192 bits, base64url: 32 characters).
pub fn session_id(i: u64, salt: u64) -> String {
    URL_SAFE_NO_PAD.encode(&fake_uuid(i, salt).as_bytes()[..24])
}

/// A revocation list with `n` entries: half revoked tokens (by jti), half ended sessions
/// (by sid), and one subject cut-off per hundred entries (logout-everywhere is rarer).
pub fn revocation_list(n: u64) -> RevocationList {
    let list = RevocationList::new();
    let until = now() + 3600;
    for i in 0..n / 2 {
        list.revoke_token(&fake_uuid(i, 1), until);
    }
    for i in 0..n - n / 2 {
        list.revoke_session(&session_id(i, 2), until);
    }
    for i in 0..n / 100 {
        list.revoke_subject(&format!("user-{i:08x}"), until - 7200, Some(until));
    }
    list
}

/// Queries for tokens that are *not* revoked (the common case), spread over many keys so a
/// big list is not measured from a warm cache line.
pub fn live_queries(count: u64) -> Vec<(String, String, String)> {
    (0..count)
        .map(|i| {
            (
                fake_uuid(i, 3),
                session_id(i, 4),
                format!("user-live-{i:08x}"),
            )
        })
        .collect()
}

/// The session id every case's token carries (gatepass's: 192 bits, base64url).
pub const TYPICAL_SID: &str = "Zk9bJ3c2RkTqM1nV8xYpWg0aLs7HdE4u";

/// The custom claims of [`Case::typical`]: `scope` and one more.
pub fn typical_custom() -> CustomClaims {
    match json!({"scope": "orders:read orders:write", "tenant": "acme-eu-west"}) {
        Value::Object(map) => map,
        _ => CustomClaims::new(),
    }
}

/// The custom claim of [`Case::typical`], owned: what `verify_access_as` fills.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Tenant {
    pub tenant: String,
}

/// The custom claim of [`Case::typical`], borrowed from the token: `verify_access_in`.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct TenantRef<'a> {
    pub tenant: &'a str,
}

/// Every claim of [`Case::typical`] as jsonwebtoken decodes them: straight into a struct.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct TypicalClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub sid: String,
    pub scope: String,
    pub tenant: String,
}
