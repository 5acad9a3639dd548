//! The issuer: claims in, compact JWS out, signed by the key it was built with.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use super::claims::{Audience, CustomClaims, TokenType, MAX_SAFE_INTEGER};
use super::parse::MAX_TOKEN_BYTES;
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::random;
use crate::error::{IssueError, TooLarge};
use crate::json;
use crate::keys::SigningKey;

/// Default access-token lifetime: 5 minutes (docs/REFERENCE.md §5).
pub const DEFAULT_ACCESS_TTL: u64 = 300;

/// Claim names the issuer sets itself and that custom claims may not override.
const RESERVED_CLAIMS: [&str; 10] = [
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "gen", "cnf",
];

/// Whether `name` is a claim the issuer sets itself, so no custom claim may use it.
pub(crate) fn is_reserved_claim(name: &str) -> bool {
    RESERVED_CLAIMS.contains(&name)
}

/// A freshly signed token and the values it carries that callers usually need.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `sid`.
    pub sid: String,
    /// Its `iat`.
    pub iat: UnixTime,
    /// Its `exp`.
    pub exp: UnixTime,
}

impl fmt::Debug for IssuedToken {
    // The token is a bearer credential: never print it whole.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("jti", &self.jti)
            .field("iat", &self.iat)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// Signs access and refresh tokens with one key, for one issuer and audience.
///
/// The header (`alg`, `kid`, `typ`) is serialized once, when the issuer is built.
///
/// ```
/// use std::sync::Arc;
/// use gatepass::{Algorithm, Issuer, SigningKey};
///
/// let key = Arc::new(SigningKey::generate(Algorithm::EdDSA)?);
/// let issuer = Issuer::new(key, "https://auth.example", "api").with_access_ttl(600);
/// let issued = issuer.access_token("alice").claim("role", "admin")?.issue()?;
/// assert_eq!(issued.exp - issued.iat, 600);
/// assert_eq!(issued.token.split('.').count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Issuer {
    key: Arc<SigningKey>,
    issuer: String,
    audience: Audience,
    access_ttl: u64,
    clock: Arc<dyn Clock>,
    access_header: String,
    refresh_header: String,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("key", &self.key)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl", &self.access_ttl)
            .finish_non_exhaustive()
    }
}

fn encoded_header(key: &SigningKey, typ: TokenType) -> String {
    let mut header = jsonwebtoken::Header::new(key.alg().to_jsonwebtoken());
    header.typ = Some(typ.typ().to_owned());
    header.kid = Some(key.kid().to_owned());
    // A struct of strings and an enum: serialization cannot fail.
    let json = serde_json::to_vec(&header).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

impl Issuer {
    /// An issuer signing with `key` for tokens with `iss` = `issuer` and `aud` = `audience`.
    pub fn new(
        key: Arc<SigningKey>,
        issuer: impl Into<String>,
        audience: impl Into<Audience>,
    ) -> Self {
        let access_header = encoded_header(&key, TokenType::Access);
        let refresh_header = encoded_header(&key, TokenType::Refresh);
        Self {
            key,
            issuer: issuer.into(),
            audience: audience.into(),
            access_ttl: DEFAULT_ACCESS_TTL,
            clock: Arc::new(SystemClock),
            access_header,
            refresh_header,
        }
    }

    /// Access-token lifetime in seconds (default 300).
    #[must_use]
    pub fn with_access_ttl(mut self, secs: u64) -> Self {
        self.access_ttl = secs;
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The signing key.
    pub fn key(&self) -> &Arc<SigningKey> {
        &self.key
    }

    /// The `iss` this issuer writes.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` this issuer writes.
    pub fn audience(&self) -> &Audience {
        &self.audience
    }

    /// The access-token lifetime in seconds.
    pub fn access_ttl(&self) -> u64 {
        self.access_ttl
    }

    /// Start an access token for `subject`. A fresh session id is generated unless one
    /// is given with [`AccessTokenBuilder::session_id`].
    pub fn access_token<'a>(&'a self, subject: &'a str) -> AccessTokenBuilder<'a> {
        AccessTokenBuilder {
            issuer: self,
            sub: subject,
            sid: None,
            ttl: self.access_ttl,
            now: None,
            nbf: None,
            cnf: None,
            custom: CustomClaims::new(),
        }
    }

    /// Start a refresh token for `subject` in session `sid` at rotation generation `gen`.
    pub fn refresh_token<'a>(
        &'a self,
        subject: &'a str,
        sid: &'a str,
        gen: u64,
    ) -> RefreshTokenBuilder<'a> {
        RefreshTokenBuilder {
            issuer: self,
            sub: subject,
            sid,
            gen,
            ttl: None,
            now: None,
            cnf: None,
            custom: CustomClaims::new(),
        }
    }

    fn now_or(&self, now: Option<UnixTime>) -> UnixTime {
        now.unwrap_or_else(|| self.clock.now())
    }

    fn sign(&self, typ: TokenType, claims: &impl Serialize) -> Result<String, IssueError> {
        let header = match typ {
            TokenType::Refresh => &self.refresh_header,
            _ => &self.access_header,
        };
        let claims = serde_json::to_vec(claims).map_err(|e| IssueError::Claims(e.to_string()))?;
        // Never hand out a token that every verifier refuses (docs/REFERENCE.md §1 `too_large`).
        if json::nests_deeper_than(&claims, json::MAX_DEPTH) {
            return Err(IssueError::TooLarge(TooLarge::Depth {
                max: json::MAX_DEPTH,
            }));
        }
        let too_long = || {
            IssueError::TooLarge(TooLarge::Length {
                max: MAX_TOKEN_BYTES,
            })
        };
        if header.len() + 1 + claims.len().div_ceil(3) * 4 > MAX_TOKEN_BYTES + 3 {
            return Err(too_long()); // too long before the signature, so skip signing
        }
        let mut token = String::with_capacity(header.len() + claims.len() * 4 / 3 + 100);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        let signature = self
            .key
            .sign(token.as_bytes())
            .map_err(|_| IssueError::Signing)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        if token.len() > MAX_TOKEN_BYTES {
            return Err(too_long());
        }
        Ok(token)
    }
}

fn check_custom(name: &str) -> Result<(), IssueError> {
    if is_reserved_claim(name) {
        return Err(IssueError::ReservedClaim(name.to_owned()));
    }
    Ok(())
}

/// The members of `claims` (which must serialize to a JSON object) added to `custom`,
/// refusing registered names.
fn add_custom<T: Serialize + ?Sized>(
    custom: &mut CustomClaims,
    claims: &T,
) -> Result<(), IssueError> {
    match serde_json::to_value(claims) {
        Ok(Value::Object(members)) => {
            for (name, value) in members {
                check_custom(&name)?;
                custom.insert(name, value);
            }
            Ok(())
        }
        Ok(_) => Err(IssueError::Claims(
            "custom claims must serialize to a JSON object".to_owned(),
        )),
        Err(e) => Err(IssueError::Claims(e.to_string())),
    }
}

fn expiry(now: UnixTime, ttl: u64) -> Result<UnixTime, IssueError> {
    match now.checked_add(ttl) {
        Some(exp) if exp <= MAX_SAFE_INTEGER => Ok(exp),
        _ => Err(IssueError::TimeOutOfRange),
    }
}

fn random_failed(_: random::RandomFailed) -> IssueError {
    IssueError::Randomness
}

#[derive(Serialize)]
struct AccessOut<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a Audience,
    exp: UnixTime,
    iat: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<UnixTime>,
    jti: &'a str,
    sid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation<'a>>,
    #[serde(flatten)]
    custom: &'a CustomClaims,
}

/// The `cnf` claim of a token bound to a key (RFC 7800 §3.1, RFC 9449 §6.1): the key's
/// RFC 7638 thumbprint as `jkt`.
#[derive(Serialize)]
struct Confirmation<'a> {
    jkt: &'a str,
}

/// Builds one access token; see [`Issuer::access_token`].
#[derive(Debug)]
#[must_use]
pub struct AccessTokenBuilder<'a> {
    issuer: &'a Issuer,
    sub: &'a str,
    sid: Option<&'a str>,
    ttl: u64,
    now: Option<UnixTime>,
    nbf: Option<UnixTime>,
    cnf: Option<&'a str>,
    custom: CustomClaims,
}

impl<'a> AccessTokenBuilder<'a> {
    /// Bind the token to the DPoP key whose RFC 7638 thumbprint is `jkt` (RFC 9449 §6.1):
    /// the token carries `cnf: {"jkt": jkt}`, and a resource server accepts it only with
    /// a proof signed by that key. `cnf` is never accepted as a custom claim.
    ///
    /// ```
    /// # use gatepass::*;
    /// # let key = std::sync::Arc::new(SigningKey::generate(Algorithm::EdDSA)?);
    /// let issuer = Issuer::new(key.clone(), "https://auth.example", "api");
    /// let dpop_key = DpopKey::generate(Algorithm::ES256)?;
    /// let token = issuer.access_token("alice").confirmation(dpop_key.thumbprint()).issue()?.token;
    /// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "https://auth.example", "api").build()?;
    /// let claims = verifier.verify_access(&token)?.into_claims();
    /// assert_eq!(confirmation_jkt(&claims.custom), Some(dpop_key.thumbprint()));
    /// assert!(issuer.access_token("alice").claim("cnf", "x").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn confirmation(mut self, jkt: &'a str) -> Self {
        self.cnf = Some(jkt);
        self
    }

    /// Add a custom claim. Registered names (`exp`, `sub`, ...) are refused.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Result<Self, IssueError> {
        check_custom(name)?;
        self.custom.insert(name.to_owned(), value.into());
        Ok(self)
    }

    /// Add the members of `claims` as custom claims: a [`CustomClaims`] map, or any value
    /// that serializes to a JSON object (a `#[derive(Serialize)]` struct of yours).
    /// Registered names (`exp`, `sub`, ...) are refused, as is a value that is not an object.
    ///
    /// ```
    /// # use gatepass::*;
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Roles { roles: Vec<String>, tenant: String }
    ///
    /// # let key = std::sync::Arc::new(SigningKey::generate(Algorithm::EdDSA)?);
    /// let issuer = Issuer::new(key.clone(), "https://auth.example", "api");
    /// let roles = Roles { roles: vec!["admin".into()], tenant: "acme".into() };
    /// let token = issuer.access_token("alice").claims(&roles)?.issue()?.token;
    /// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "https://auth.example", "api").build()?;
    /// let back = verifier.verify_access_as::<Roles>(&token)?;
    /// assert_eq!(back.claims().custom.tenant, "acme");
    ///
    /// #[derive(serde::Serialize)]
    /// struct Bad { exp: u64 }
    /// assert!(matches!(
    ///     issuer.access_token("alice").claims(&Bad { exp: 1 }),
    ///     Err(IssueError::ReservedClaim(name)) if name == "exp"
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn claims<T: Serialize + ?Sized>(mut self, claims: &T) -> Result<Self, IssueError> {
        add_custom(&mut self.custom, claims)?;
        Ok(self)
    }

    /// Put the token in an existing session.
    pub fn session_id(mut self, sid: &'a str) -> Self {
        self.sid = Some(sid);
        self
    }

    /// Lifetime in seconds (default: the issuer's access TTL).
    pub fn ttl(mut self, secs: u64) -> Self {
        self.ttl = secs;
        self
    }

    /// Issue as of `now` instead of the clock's time.
    pub fn issued_at(mut self, now: UnixTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Not valid before `nbf`.
    pub fn not_before(mut self, nbf: UnixTime) -> Self {
        self.nbf = Some(nbf);
        self
    }

    /// Sign the token.
    pub fn issue(self) -> Result<IssuedToken, IssueError> {
        let iat = self.issuer.now_or(self.now);
        let exp = expiry(iat, self.ttl)?;
        if iat > MAX_SAFE_INTEGER || self.nbf.is_some_and(|n| n > MAX_SAFE_INTEGER) {
            return Err(IssueError::TimeOutOfRange);
        }
        let jti = random::uuid_v4().map_err(random_failed)?.to_string();
        let sid = match self.sid {
            Some(sid) => sid.to_owned(),
            None => random::session_id().map_err(random_failed)?,
        };
        let claims = AccessOut {
            iss: &self.issuer.issuer,
            sub: self.sub,
            aud: &self.issuer.audience,
            exp,
            iat,
            nbf: self.nbf,
            jti: &jti,
            sid: &sid,
            cnf: self.cnf.map(|jkt| Confirmation { jkt }),
            custom: &self.custom,
        };
        let token = self.issuer.sign(TokenType::Access, &claims)?;
        Ok(IssuedToken {
            token,
            jti,
            sid,
            iat,
            exp,
        })
    }
}

#[derive(Serialize)]
struct RefreshOut<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a Audience,
    exp: UnixTime,
    iat: UnixTime,
    jti: &'a str,
    sid: &'a str,
    gen: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation<'a>>,
    #[serde(flatten)]
    custom: &'a CustomClaims,
}

/// Builds one refresh token; see [`Issuer::refresh_token`].
#[derive(Debug)]
#[must_use]
pub struct RefreshTokenBuilder<'a> {
    issuer: &'a Issuer,
    sub: &'a str,
    sid: &'a str,
    gen: u64,
    ttl: Option<u64>,
    now: Option<UnixTime>,
    cnf: Option<&'a str>,
    custom: CustomClaims,
}

impl<'a> RefreshTokenBuilder<'a> {
    /// Bind the refresh token to the DPoP key whose thumbprint is `jkt`: it carries
    /// `cnf: {"jkt": jkt}`, so whoever redeems it must prove possession of that key (RFC
    /// 9449 §5). As for access tokens, `cnf` is never a custom claim.
    pub fn confirmation(mut self, jkt: &'a str) -> Self {
        self.cnf = Some(jkt);
        self
    }

    /// Lifetime in seconds (default: 12 hours, the default absolute session lifetime).
    pub fn ttl(mut self, secs: u64) -> Self {
        self.ttl = Some(secs);
        self
    }

    /// Issue as of `now` instead of the clock's time.
    pub fn issued_at(mut self, now: UnixTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Add custom claims carried by the refresh token (for example the claims to put in
    /// every access token of the session). Registered names are refused.
    /// Like [`AccessTokenBuilder::claims`]: a map or any value serializing to an object.
    pub fn claims<T: Serialize + ?Sized>(mut self, claims: &T) -> Result<Self, IssueError> {
        add_custom(&mut self.custom, claims)?;
        Ok(self)
    }

    /// Sign the token.
    pub fn issue(self) -> Result<IssuedToken, IssueError> {
        let iat = self.issuer.now_or(self.now);
        let exp = expiry(iat, self.ttl.unwrap_or(12 * 3600))?;
        if self.gen > MAX_SAFE_INTEGER {
            return Err(IssueError::TimeOutOfRange);
        }
        let jti = random::uuid_v4().map_err(random_failed)?.to_string();
        let claims = RefreshOut {
            iss: &self.issuer.issuer,
            sub: self.sub,
            aud: &self.issuer.audience,
            exp,
            iat,
            jti: &jti,
            sid: self.sid,
            gen: self.gen,
            cnf: self.cnf.map(|jkt| Confirmation { jkt }),
            custom: &self.custom,
        };
        let token = self.issuer.sign(TokenType::Refresh, &claims)?;
        Ok(IssuedToken {
            token,
            jti,
            sid: self.sid.to_owned(),
            iat,
            exp,
        })
    }
}
