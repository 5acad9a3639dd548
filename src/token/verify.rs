//! The verifier: every check of docs/REFERENCE.md §1, in its documented order, in one pass.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::claims::{
    custom_from_json, is_registered, AccessClaims, Audience, CustomClaims, CustomMode, JwtClaims,
    RawClaims, RefreshClaims, Slot, TokenType,
};
use super::header::{Header, HeaderAlg, ParsedHeader};
use super::parse::{ClaimsJson, UntrustedToken, MAX_TOKEN_BYTES};
use super::profile::Profile;
use crate::cache::TokenCache;
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::{Algorithm, AlgorithmSet};
use crate::error::{Claim, ConfigError, VerifyError};
use crate::keys::{KeySource, VerifyingKey};
use crate::revocation::{RevocationQuery, RevocationView, ViewHealth};

/// Default clock-skew leeway (docs/REFERENCE.md §1).
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The largest leeway a verifier accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// A token whose signature and claims have been verified, with its header.
///
/// Only a [`Verifier`] creates one, so a `Verified<AccessClaims>` in a function signature
/// is proof of verification, and a `Verified<RefreshClaims>` can never be passed where an
/// access token is expected.
///
/// A verification served by the [`TokenCache`] shares its header and claims with the
/// cache: reading them, and cloning the `Verified` (as an axum extractor does), copies
/// nothing; [`into_claims`](Self::into_claims) copies them only if the cache still holds
/// them.
pub struct Verified<T> {
    repr: Repr<T>,
}

struct Parts<T> {
    header: Header,
    claims: T,
    /// The scope tokens of `scope` and `scp`, space-separated, whatever `T` is.
    scopes: Option<Box<str>>,
}

enum Repr<T> {
    Owned(Parts<T>),
    /// Shared with the cache; `unshare` copies the parts (captured where `T: Clone`).
    Shared {
        parts: Arc<Parts<T>>,
        unshare: fn(&Parts<T>) -> Parts<T>,
    },
}

fn unshare<T: Clone>(parts: &Parts<T>) -> Parts<T> {
    Parts {
        header: parts.header.clone(),
        claims: parts.claims.clone(),
        scopes: parts.scopes.clone(),
    }
}

impl<T> Verified<T> {
    fn owned(header: Header, claims: T, scopes: Option<Box<str>>) -> Self {
        Self {
            repr: Repr::Owned(Parts {
                header,
                claims,
                scopes,
            }),
        }
    }

    /// The scope tokens the token grants: those of its `scope` claim (a space-separated
    /// string) and its `scp` claim (the same, or an array of strings), read whatever the
    /// claims type is. A claim of any other JSON type, or an array holding anything but
    /// strings, grants nothing.
    ///
    /// ```
    /// # use gatepass::*;
    /// # let key = std::sync::Arc::new(SigningKey::generate(Algorithm::HS256)?);
    /// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "i", "a").build()?;
    /// let token = Issuer::new(key, "i", "a").access_token("alice")
    ///     .claim("scope", "orders:read orders:write")?.issue()?.token;
    /// #[derive(serde::Deserialize)]
    /// struct Nothing {}
    /// let verified = verifier.verify_access_as::<Nothing>(&token)?;
    /// assert!(verified.has_scope("orders:write"));
    /// assert_eq!(verified.scopes().count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.parts()
            .scopes
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// Whether the token grants `scope` (one scope token, compared exactly).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|granted| granted == scope)
    }

    fn parts(&self) -> &Parts<T> {
        match &self.repr {
            Repr::Owned(parts) => parts,
            Repr::Shared { parts, .. } => parts,
        }
    }

    /// The verified claims.
    pub fn claims(&self) -> &T {
        &self.parts().claims
    }

    /// The token's header.
    pub fn header(&self) -> &Header {
        &self.parts().header
    }

    /// The claims, consuming the wrapper.
    pub fn into_claims(self) -> T {
        self.into_parts().1
    }

    /// Header and claims.
    pub fn into_parts(self) -> (Header, T) {
        let parts = self.into_all_parts();
        (parts.header, parts.claims)
    }

    fn into_all_parts(self) -> Parts<T> {
        match self.repr {
            Repr::Owned(parts) => parts,
            Repr::Shared { parts, unshare } => {
                Arc::try_unwrap(parts).unwrap_or_else(|shared| unshare(&shared))
            }
        }
    }
}

impl<T: Clone> Verified<T> {
    fn shared(parts: Arc<Parts<T>>) -> Self {
        Self {
            repr: Repr::Shared {
                parts,
                unshare: unshare::<T>,
            },
        }
    }
}

impl<T: Clone> Clone for Verified<T> {
    fn clone(&self) -> Self {
        match &self.repr {
            Repr::Owned(parts) => Self::owned(
                parts.header.clone(),
                parts.claims.clone(),
                parts.scopes.clone(),
            ),
            Repr::Shared { parts, unshare } => Self {
                repr: Repr::Shared {
                    parts: Arc::clone(parts),
                    unshare: *unshare,
                },
            },
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Verified<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("header", self.header())
            .field("claims", self.claims())
            .finish()
    }
}

impl<T: PartialEq> PartialEq for Verified<T> {
    fn eq(&self, other: &Self) -> bool {
        self.header() == other.header() && self.claims() == other.claims()
    }
}

impl Verified<AccessClaims> {
    /// The same verified token with its custom claims deserialized into `C`, as
    /// [`Verifier::verify_access_as`] would have done (for a layer that verified into the
    /// JSON map and a handler that asks for its own type).
    #[cfg(feature = "axum")]
    pub(crate) fn into_custom<C: DeserializeOwned>(
        self,
    ) -> Result<Verified<AccessClaims<C>>, VerifyError> {
        let Parts {
            header,
            claims,
            scopes,
        } = self.into_all_parts();
        let AccessClaims {
            iss,
            sub,
            aud,
            exp,
            iat,
            nbf,
            jti,
            sid,
            custom,
        } = claims;
        Ok(Verified::owned(
            header,
            AccessClaims {
                iss,
                sub,
                aud,
                exp,
                iat,
                nbf,
                jti,
                sid,
                custom: custom_claims::<C>(custom)?,
            },
            scopes,
        ))
    }
}

/// Verifies tokens: built once, shared (`Arc`) across threads and requests.
///
/// ```
/// use std::sync::Arc;
/// use gatepass::*;
///
/// let key = Arc::new(SigningKey::generate(Algorithm::EdDSA)?);
/// let issuer = Issuer::new(key.clone(), "https://auth.example", "api");
/// let token = issuer.access_token("alice").issue()?.token;
///
/// let keys = VerificationKeys::new([key.verifying_key().clone()]);
/// let verifier = Verifier::builder(keys, "https://auth.example", "api").build()?;
/// let verified = verifier.verify_access(&token)?;
/// assert_eq!(verified.claims().sub, "alice");
///
/// // A refresh token is never an access token, and vice versa.
/// let refresh = issuer.refresh_token("alice", "sid", 0).issue()?.token;
/// assert_eq!(verifier.verify_access(&refresh).unwrap_err(), VerifyError::WrongType);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Verifier {
    keys: Arc<dyn KeySource>,
    /// Accepted issuers (at least one).
    issuers: Vec<String>,
    /// Accepted audiences; empty only when the audience check was explicitly skipped.
    audiences: Vec<String>,
    profile: Profile,
    /// Claims required beyond the profile's, by name.
    required: Vec<String>,
    leeway: u64,
    max_age: Option<u64>,
    allowed: AlgorithmSet,
    max_len: usize,
    clock: Arc<dyn Clock>,
    revocations: Option<Arc<dyn RevocationView>>,
    cache: Option<TokenCache>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("profile", &self.profile)
            .field("required", &self.required)
            .field("leeway", &self.leeway)
            .field("max_age", &self.max_age)
            .field("allowed", &self.allowed)
            .field("max_len", &self.max_len)
            .field("revocations", &self.revocations)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Verifier`]. The expected issuer and audience are required up front;
/// everything else has a secure default.
///
/// Tokens of another issuer (an OpenID Connect provider's access tokens) take the
/// [`Profile::Jwt`] profile, usually several accepted issuers or audiences, and sometimes
/// extra required claims:
///
/// ```
/// use gatepass::{Profile, VerificationKeys, Verifier};
/// # let keys = VerificationKeys::default();
/// let verifier = Verifier::builder(keys, "https://idp.example/realms/main", "orders-api")
///     .profile(Profile::Jwt)
///     .issuer("https://idp.example/realms/legacy") // accepted too
///     .audience("orders-api-staging")               // accepted too
///     .require("scope")                             // absent: missing_claim
///     .build()?;
/// assert_eq!(verifier.issuers().len(), 2);
/// # Ok::<(), gatepass::ConfigError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct VerifierBuilder {
    keys: Arc<dyn KeySource>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    /// `Some(false)`: skip the audience check; `Some(true)`: skipped, and yet an audience
    /// was added afterwards (refused at build).
    no_audience: Option<bool>,
    profile: Profile,
    required: Vec<String>,
    leeway: Duration,
    max_age: Option<Duration>,
    allowed: AlgorithmSet,
    max_len: usize,
    clock: Arc<dyn Clock>,
    revocations: Option<Arc<dyn RevocationView>>,
    cache: Option<TokenCache>,
}

impl VerifierBuilder {
    /// Which family of tokens to accept (default [`Profile::Gatepass`]): the `typ` values
    /// and the required claims. Everything else is the same in every profile.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Accept tokens whose `iss` is `issuer` too (besides the builder's). The token's
    /// `iss` must equal one of the accepted issuers exactly.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accept tokens for `audience` too (besides the builder's): the token's `aud` must
    /// contain one of the accepted audiences.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        if let Some(conflict) = &mut self.no_audience {
            *conflict = true;
        }
        self.audiences.push(audience.into());
        self
    }

    /// Skip the audience check: `aud` is neither required nor compared (it is still
    /// type-checked when present). The only way to accept tokens of any audience, for
    /// issuers that put none in access tokens (Amazon Cognito: check `client_id` instead).
    /// The builder's audience is dropped; adding one afterwards is refused at build.
    pub fn no_audience(mut self) -> Self {
        self.audiences.clear();
        self.no_audience = Some(false);
        self
    }

    /// Require claim `name` (a registered claim such as `sub` or `jti`, or any other
    /// member such as `scope` or `client_id`) in every token: absent is `missing_claim`.
    pub fn require(mut self, name: impl Into<String>) -> Self {
        self.required.push(name.into());
        self
    }

    /// Clock-skew tolerance for `exp`, `nbf`, `iat` and max-age. Default 30 s, at most 300 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Reject tokens whose `iat` is older than `max_age` (plus leeway), whatever their `exp`.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Accept only these algorithms (default: all that gatepass supports; the key still
    /// fixes the algorithm of each token).
    pub fn algorithms(mut self, allowed: AlgorithmSet) -> Self {
        self.allowed = allowed;
        self
    }

    /// The longest token accepted, in bytes (default 8192).
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_len = max;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reject tokens this view reports revoked (by `jti`, by session, or by the
    /// subject's cut-off). Checked last, after every other check passed.
    pub fn revocations(mut self, view: Arc<dyn RevocationView>) -> Self {
        self.revocations = Some(view);
        self
    }

    /// Keep verified tokens in `cache` (off by default): a token presented again is
    /// answered without parsing or a signature check, while expiry, revocation and the
    /// key's presence are still checked on every hit. See [`TokenCache`].
    pub fn cache(mut self, cache: TokenCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Build the verifier, refusing configurations that would weaken it.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge {
                secs: self.leeway.as_secs() + u64::from(self.leeway.subsec_nanos() > 0),
                max: MAX_LEEWAY.as_secs(),
            });
        }
        if self.allowed.is_empty() {
            return Err(ConfigError::NoAlgorithmAllowed);
        }
        if self.issuers.iter().any(String::is_empty)
            || self.audiences.iter().any(String::is_empty)
            || (self.audiences.is_empty() && self.no_audience.is_none())
        {
            return Err(ConfigError::EmptyIssuerOrAudience);
        }
        if self.no_audience == Some(true) {
            return Err(ConfigError::AudienceConflict);
        }
        if self.required.iter().any(String::is_empty) {
            return Err(ConfigError::EmptyIssuerOrAudience);
        }
        if self.max_len == 0 {
            return Err(ConfigError::InvalidDuration("token size limit"));
        }
        Ok(Verifier {
            keys: self.keys,
            issuers: self.issuers,
            audiences: self.audiences,
            profile: self.profile,
            required: self.required,
            leeway: self.leeway.as_secs(),
            max_age: self.max_age.map(|d| d.as_secs()),
            allowed: self.allowed,
            max_len: self.max_len,
            clock: self.clock,
            revocations: self.revocations,
            cache: self.cache,
        })
    }
}

/// The registered claims of a token whose claims passed, unwrapped. Which of the
/// optional ones are present was decided by the profile and by the claims type asked for.
struct Checked {
    iss: String,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: UnixTime,
    iat: Option<UnixTime>,
    nbf: Option<UnixTime>,
    jti: Option<String>,
    sid: Option<String>,
    gen: Option<u64>,
    custom: CustomClaims,
    scopes: Option<String>,
}

/// A verification's result before it becomes a claims type.
struct Raw {
    header: Header,
    checked: Checked,
    /// The key that verified the signature (what a cache entry re-checks).
    key: Arc<VerifyingKey>,
    /// The claims text, for a claims type that deserializes itself from it.
    json: ClaimsJson,
}

impl Raw {
    /// The granted scopes, moved out (the claims types do not keep them).
    fn take_scopes(&mut self) -> Option<Box<str>> {
        self.checked.scopes.take().map(String::into_boxed_str)
    }
}

/// The claims type a verification produces, and so the claims it needs whatever the
/// profile says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// [`AccessClaims`]: `sub`, `aud`, `iat` and `jti` are fields, so they are required.
    Access,
    /// [`RefreshClaims`].
    Refresh,
    /// [`JwtClaims`]: only what the profile and the verifier require.
    Jwt,
}

impl Shape {
    fn kind(self) -> TokenType {
        match self {
            Self::Refresh => TokenType::Refresh,
            _ => TokenType::Access,
        }
    }

    fn needs(self, claim: Claim) -> bool {
        self == Self::Access && matches!(claim, Claim::Sub | Claim::Aud | Claim::Iat | Claim::Jti)
    }
}

impl Checked {
    fn into_access<C>(
        self,
        custom: impl FnOnce(CustomClaims) -> Result<C, VerifyError>,
    ) -> Result<AccessClaims<C>, VerifyError> {
        // Presence was checked for this shape; these are unreachable fallbacks.
        let sub = self.sub.ok_or(VerifyError::MissingClaim(Claim::Sub))?;
        let aud = self.aud.ok_or(VerifyError::MissingClaim(Claim::Aud))?;
        let iat = self.iat.ok_or(VerifyError::MissingClaim(Claim::Iat))?;
        let jti = self.jti.ok_or(VerifyError::MissingClaim(Claim::Jti))?;
        let custom = custom(self.custom)?;
        Ok(AccessClaims {
            iss: self.iss,
            sub,
            aud,
            exp: self.exp,
            iat,
            nbf: self.nbf,
            jti,
            sid: self.sid,
            custom,
        })
    }

    fn into_jwt<C>(
        self,
        custom: impl FnOnce(CustomClaims) -> Result<C, VerifyError>,
    ) -> Result<JwtClaims<C>, VerifyError> {
        let custom = custom(self.custom)?;
        Ok(JwtClaims {
            iss: self.iss,
            sub: self.sub,
            aud: self.aud,
            exp: self.exp,
            iat: self.iat,
            nbf: self.nbf,
            jti: self.jti,
            sid: self.sid,
            custom,
        })
    }
}

impl Verifier {
    /// Start configuring a verifier that trusts `keys` and expects tokens from `issuer`
    /// for `audience`.
    pub fn builder(
        keys: impl KeySource + 'static,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> VerifierBuilder {
        Self::builder_shared(Arc::new(keys), issuer, audience)
    }

    /// Like [`builder`](Self::builder), for a key source that is shared (for example a
    /// JWKS client also used elsewhere).
    pub fn builder_shared(
        keys: Arc<dyn KeySource>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> VerifierBuilder {
        VerifierBuilder {
            keys,
            issuers: vec![issuer.into()],
            audiences: vec![audience.into()],
            no_audience: None,
            profile: Profile::Gatepass,
            required: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            max_age: None,
            allowed: AlgorithmSet::all(),
            max_len: MAX_TOKEN_BYTES,
            clock: Arc::new(SystemClock),
            revocations: None,
            cache: None,
        }
    }

    /// The verifier's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The expected issuer (the first accepted one).
    pub fn issuer(&self) -> &str {
        self.issuers.first().map_or("", String::as_str)
    }

    /// Every accepted issuer.
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }

    /// The expected audience (the first accepted one; empty when the audience check is
    /// skipped).
    pub fn audience(&self) -> &str {
        self.audiences.first().map_or("", String::as_str)
    }

    /// Every accepted audience; empty when the audience check is skipped.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The profile: whose tokens this verifier accepts.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Verify an access token now.
    pub fn verify_access(&self, token: &str) -> Result<Verified<AccessClaims>, VerifyError> {
        self.verify_access_at(token, self.clock.now())
    }

    /// Verify an access token as of `now` (unix seconds).
    pub fn verify_access_at(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Verified<AccessClaims>, VerifyError> {
        // The default claims type is the parsed map itself: no conversion.
        self.verify_kind(token, Shape::Access, now, |checked| checked.into_access(Ok))
    }

    /// Verify an access token now, deserializing the custom claims into `C`.
    ///
    /// ```
    /// # use gatepass::*;
    /// #[derive(serde::Deserialize)]
    /// struct Roles { roles: Vec<String> }
    /// # let key = std::sync::Arc::new(SigningKey::generate(Algorithm::HS256)?);
    /// # let token = Issuer::new(key.clone(), "i", "a").access_token("u")
    /// #     .claim("roles", serde_json::json!(["admin"]))?.issue()?.token;
    /// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "i", "a").build()?;
    /// let verified = verifier.verify_access_as::<Roles>(&token)?;
    /// assert_eq!(verified.claims().custom.roles, ["admin"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_access_as<C: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Verified<AccessClaims<C>>, VerifyError> {
        self.verify_access_as_at(token, self.clock.now())
    }

    /// Verify an access token as of `now`, deserializing the custom claims into `C`.
    pub fn verify_access_as_at<C: DeserializeOwned>(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Verified<AccessClaims<C>>, VerifyError> {
        if self.cache.is_some() {
            // The cache holds the JSON map; convert from it.
            let Parts {
                header,
                claims,
                scopes,
            } = self.verify_access_at(token, now)?.into_all_parts();
            let claims = Checked::from_access(claims).into_access(custom_claims::<C>)?;
            return Ok(Verified::owned(header, claims, scopes));
        }
        // Straight from the claims text into `C`: no map, no `Value`.
        let mut raw = self.verify_raw(token, Shape::Access, now, CustomMode::Skip)?;
        let custom = typed::<C>(raw.json.bytes(), TokenType::Access)?;
        let scopes = raw.take_scopes();
        Ok(Verified::owned(
            raw.header,
            raw.checked.into_access(|_| Ok(custom))?,
            scopes,
        ))
    }

    /// Verify an access token now into a claims type that borrows from the token: the
    /// decoded claims text is kept in `buf` (cleared first; reuse it across calls to
    /// allocate nothing for it), and `C` may hold `&str` or `Cow<str>` slices of it. A
    /// `&str` field fails on a string with JSON escapes (`invalid_claim`); `Cow<str>`
    /// borrows when it can and copies when it must. The token cache, if any, is not used.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// # use gatepass::*;
    /// # let key = std::sync::Arc::new(SigningKey::generate(Algorithm::EdDSA)?);
    /// # let token = Issuer::new(key.clone(), "i", "a").access_token("alice")
    /// #     .claim("tenant", "acme")?.claim("plan", "pro")?.issue()?.token;
    /// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "i", "a").build()?;
    /// #[derive(serde::Deserialize)]
    /// struct Tenant<'a> {
    ///     tenant: &'a str,
    ///     #[serde(borrow)]
    ///     plan: Cow<'a, str>,
    /// }
    ///
    /// let mut buf = Vec::new();
    /// let verified = verifier.verify_access_in::<Tenant<'_>>(&token, &mut buf)?;
    /// assert_eq!(verified.claims().custom.tenant, "acme");
    /// assert!(matches!(verified.claims().custom.plan, Cow::Borrowed("pro")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_access_in<'b, C: Deserialize<'b>>(
        &self,
        token: &str,
        buf: &'b mut Vec<u8>,
    ) -> Result<Verified<AccessClaims<C>>, VerifyError> {
        let mut raw = self.verify_raw(token, Shape::Access, self.clock.now(), CustomMode::Skip)?;
        buf.clear();
        buf.extend_from_slice(raw.json.bytes());
        let text: &'b Vec<u8> = buf;
        let custom = typed::<C>(text, TokenType::Access)?;
        let scopes = raw.take_scopes();
        Ok(Verified::owned(
            raw.header,
            raw.checked.into_access(|_| Ok(custom))?,
            scopes,
        ))
    }

    /// [`verify_access_as`](Self::verify_access_as) for callers that know `C: 'static`
    /// (the axum layer and extractor): the default claims type skips the conversion
    /// through `serde_json::Value` that a generic `C` needs.
    #[cfg(feature = "axum")]
    pub(crate) fn verify_access_typed<C: DeserializeOwned + 'static>(
        &self,
        token: &str,
    ) -> Result<Verified<AccessClaims<C>>, VerifyError> {
        let mut slot: Option<Verified<AccessClaims<C>>> = None;
        if let Some(default) =
            (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<Verified<AccessClaims>>>()
        {
            *default = Some(self.verify_access(token)?);
        }
        match slot {
            Some(verified) => Ok(verified),
            None => self.verify_access_as(token),
        }
    }

    /// Verify an access token now with only the claims the profile and the verifier
    /// require: the verification for other issuers' tokens ([`Profile::Jwt`]), whose
    /// `sub`, `iat` or `jti` may be absent.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gatepass::*;
    /// let key = Arc::new(SigningKey::generate(Algorithm::ES256)?);
    /// // A token with a `scope` claim (made here with gatepass's issuer; any issuer's
    /// // token with a generic `typ` or no `jti` is accepted the same way).
    /// let token = Issuer::new(key.clone(), "https://idp.example", "api")
    ///     .access_token("alice")
    ///     .claim("scope", "orders:read")?
    ///     .issue()?
    ///     .token;
    /// let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "https://idp.example", "api")
    ///     .profile(Profile::Jwt)
    ///     .require("scope")
    ///     .build()?;
    /// let verified = verifier.verify_jwt(&token)?;
    /// assert_eq!(verified.claims().sub.as_deref(), Some("alice"));
    /// assert_eq!(verified.claims().custom["scope"], "orders:read");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_jwt(&self, token: &str) -> Result<Verified<JwtClaims>, VerifyError> {
        self.verify_jwt_at(token, self.clock.now())
    }

    /// [`verify_jwt`](Self::verify_jwt) as of `now`.
    pub fn verify_jwt_at(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Verified<JwtClaims>, VerifyError> {
        self.verify_kind(token, Shape::Jwt, now, |checked| checked.into_jwt(Ok))
    }

    /// [`verify_jwt`](Self::verify_jwt), deserializing the custom claims into `C`.
    pub fn verify_jwt_as<C: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Verified<JwtClaims<C>>, VerifyError> {
        let mut raw = self.verify_raw(token, Shape::Jwt, self.clock.now(), CustomMode::Skip)?;
        let custom = typed::<C>(raw.json.bytes(), TokenType::Access)?;
        let scopes = raw.take_scopes();
        Ok(Verified::owned(
            raw.header,
            raw.checked.into_jwt(|_| Ok(custom))?,
            scopes,
        ))
    }

    /// Verify a refresh token now: signature and claims only. Whether it is still the
    /// current token of a live session is the session store's question.
    pub fn verify_refresh(&self, token: &str) -> Result<Verified<RefreshClaims>, VerifyError> {
        self.verify_refresh_at(token, self.clock.now())
    }

    /// Verify a refresh token as of `now`.
    pub fn verify_refresh_at(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Verified<RefreshClaims>, VerifyError> {
        self.verify_kind(token, Shape::Refresh, now, |checked| {
            // Presence of these was checked for refresh tokens (every profile).
            let (Some(sub), Some(aud), Some(iat), Some(jti), Some(sid), Some(gen)) = (
                checked.sub,
                checked.aud,
                checked.iat,
                checked.jti,
                checked.sid,
                checked.gen,
            ) else {
                return Err(VerifyError::MissingClaim(Claim::Sid));
            };
            Ok(RefreshClaims {
                iss: checked.iss,
                sub,
                aud,
                exp: checked.exp,
                iat,
                nbf: checked.nbf,
                jti,
                sid,
                gen,
                custom: checked.custom,
            })
        })
    }

    /// Verify a token of `kind`, through the cache when there is one.
    ///
    /// A hit is served only if (in the full verification's order) the key source still
    /// returns the key that verified the token, the time checks pass as of `now`, and the
    /// revocation view does not know the token. A key that is gone makes the hit a miss
    /// (the full verification then says what is wrong); a failed time or revocation
    /// check is the answer, and the entry is dropped.
    fn verify_kind<T>(
        &self,
        token: &str,
        shape: Shape,
        now: UnixTime,
        build: impl FnOnce(Checked) -> Result<T, VerifyError>,
    ) -> Result<Verified<T>, VerifyError>
    where
        T: CachedClaims + Clone + Send + Sync + 'static,
    {
        let Some(cache) = &self.cache else {
            let mut raw = self.verify_raw(token, shape, now, CustomMode::Map)?;
            let scopes = raw.take_scopes();
            return Ok(Verified::owned(raw.header, build(raw.checked)?, scopes));
        };
        // The size limit comes first, as always, and bounds what is hashed.
        UntrustedToken::with_limit(token, self.max_len)?;
        let digest = cache.digest(shape as u8, token);
        if let Some(entry) = cache
            .get(&digest, now)
            .and_then(|value| value.downcast::<CachedToken<T>>().ok())
        {
            match self.serve(&entry, now) {
                Ok(()) => return Ok(Verified::shared(Arc::clone(&entry.parts))),
                Err(Some(refused)) => {
                    cache.remove(&digest);
                    return Err(refused);
                }
                Err(None) => cache.remove(&digest),
            }
        }
        let mut raw = self.verify_raw(token, shape, now, CustomMode::Map)?;
        let scopes = raw.take_scopes();
        let Raw {
            header,
            checked,
            key,
            ..
        } = raw;
        let exp = checked.exp;
        let parts = Arc::new(Parts {
            header,
            claims: build(checked)?,
            scopes,
        });
        let kid = key.kid().map(str::to_owned);
        let entry = CachedToken {
            parts: Arc::clone(&parts),
            key,
        };
        cache.insert(digest, kid.as_deref(), exp, now, Arc::new(entry));
        Ok(Verified::shared(parts))
    }

    /// Whether a cached verification still stands as of `now`: `Err(None)` when its key
    /// is no longer trusted (verify afresh), `Err(Some(_))` when the token is now refused.
    fn serve<T: CachedClaims>(
        &self,
        entry: &CachedToken<T>,
        now: UnixTime,
    ) -> Result<(), Option<VerifyError>> {
        let Parts { header, claims, .. } = &*entry.parts;
        match self.keys.find(header.kid(), header.alg()) {
            Ok(key) if Arc::ptr_eq(&key, &entry.key) => {}
            _ => return Err(None),
        }
        let (exp, iat, nbf) = claims.times();
        self.check_times(exp, iat, nbf, now).map_err(Some)?;
        self.check_revocation(&claims.revocation_query())
            .map_err(Some)
    }

    /// The last check, on fresh verifications and cache hits alike: revoked, or a
    /// revocation view too stale to say "not revoked" (fail closed; a "revoked" from a
    /// stale view still stands, since revocations are never taken back).
    fn check_revocation(&self, query: &RevocationQuery<'_>) -> Result<(), VerifyError> {
        let Some(view) = &self.revocations else {
            return Ok(());
        };
        if let Some(reason) = view.check(query) {
            return Err(VerifyError::Revoked(reason));
        }
        if view.health() == ViewHealth::Unavailable {
            return Err(VerifyError::RevocationsUnavailable);
        }
        Ok(())
    }

    /// Size, structure, algorithm, key, signature, then the claim checks.
    fn verify_raw(
        &self,
        token: &str,
        shape: Shape,
        now: UnixTime,
        mode: CustomMode,
    ) -> Result<Raw, VerifyError> {
        let kind = shape.kind();
        let untrusted = UntrustedToken::with_limit(token, self.max_len)?;
        let mut parsed = untrusted.parse(kind, mode)?;
        let (alg, key) =
            self.check_signature(&parsed.header, parsed.signing_input, parsed.signature())?;

        // From here on the bytes are authentic; now judge them.
        if !self.profile.accepts(kind, parsed.header.typ.as_deref()) {
            return Err(VerifyError::WrongType);
        }
        let json = parsed.take_claims_json();
        let checked = self.check_claims(parsed.claims, shape, now)?;
        Ok(Raw {
            header: parsed.header.into_header(alg),
            checked,
            key,
            json,
        })
    }

    /// Algorithm, key, then signature: after this the signing input is authentic, and the
    /// algorithm returned is the verifying key's.
    fn check_signature(
        &self,
        header: &ParsedHeader,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(Algorithm, Arc<VerifyingKey>), VerifyError> {
        let HeaderAlg::Known(alg) = header.alg else {
            return Err(VerifyError::UnsupportedAlgorithm);
        };
        if !self.allowed.contains(alg) || header.has_crit {
            return Err(VerifyError::UnsupportedAlgorithm);
        }

        let key = self.keys.find(header.kid.as_deref(), alg)?;
        if key.alg() != alg {
            return Err(VerifyError::UnsupportedAlgorithm);
        }
        if !key.verify_signature(signing_input, signature) {
            return Err(VerifyError::BadSignature);
        }
        Ok((alg, key))
    }

    /// Size, structure, algorithm, key and signature for a JWS whose payload need not be
    /// a JWT, returning the header and payload: the conformance-vector hook behind
    /// [`internal::verify_jws`](crate::internal::verify_jws). No claim is looked at.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn verify_jws(&self, token: &str) -> Result<(Header, Vec<u8>), VerifyError> {
        let untrusted = UntrustedToken::with_limit(token, self.max_len)?;
        let parsed = untrusted.parse_jws()?;
        let (alg, _) =
            self.check_signature(&parsed.header, parsed.signing_input, &parsed.signature)?;
        Ok((parsed.header.into_header(alg), parsed.payload))
    }

    /// Whether a claim must be present: by the profile, by the claims type asked for, by
    /// `max_age` (which needs `iat`), or by the caller's own list.
    fn requires(&self, claim: Claim, shape: Shape) -> bool {
        let audience = !self.audiences.is_empty();
        self.profile
            .required(shape.kind(), audience)
            .contains(&claim)
            || shape.needs(claim)
            || (claim == Claim::Iat && self.max_age.is_some())
            || self
                .required
                .iter()
                .any(|name| name == claim.name() && is_registered(name, shape.kind()))
    }

    fn check_claims(
        &self,
        raw: RawClaims,
        shape: Shape,
        now: UnixTime,
    ) -> Result<Checked, VerifyError> {
        // Types first: a present-but-wrong claim is reported before a missing one.
        let invalid = [
            (raw.iss.is_invalid(), Claim::Iss),
            (raw.sub.is_invalid(), Claim::Sub),
            (raw.aud.is_invalid(), Claim::Aud),
            (raw.exp.is_invalid(), Claim::Exp),
            (raw.nbf.is_invalid(), Claim::Nbf),
            (raw.iat.is_invalid(), Claim::Iat),
            (raw.jti.is_invalid(), Claim::Jti),
            (raw.sid.is_invalid(), Claim::Sid),
            (raw.gen.is_invalid(), Claim::Gen),
        ];
        if let Some((_, claim)) = invalid.iter().find(|(bad, _)| *bad) {
            return Err(VerifyError::InvalidClaim(*claim));
        }
        // Then presence, in one fixed order whatever made a claim required.
        let absent = [
            (raw.iss.is_absent(), Claim::Iss),
            (raw.sub.is_absent(), Claim::Sub),
            (raw.aud.is_absent(), Claim::Aud),
            (raw.exp.is_absent(), Claim::Exp),
            (raw.nbf.is_absent(), Claim::Nbf),
            (raw.iat.is_absent(), Claim::Iat),
            (raw.jti.is_absent(), Claim::Jti),
            (raw.sid.is_absent(), Claim::Sid),
            (raw.gen.is_absent(), Claim::Gen),
        ];
        if let Some((_, claim)) = absent
            .iter()
            .find(|(absent, claim)| *absent && self.requires(*claim, shape))
        {
            return Err(VerifyError::MissingClaim(*claim));
        }
        if self.required.iter().any(|name| {
            !is_registered(name, shape.kind()) && !raw.custom.contains_key(name.as_str())
        }) {
            return Err(VerifyError::MissingClaim(Claim::Custom));
        }
        let RawClaims {
            iss,
            sub,
            aud,
            exp,
            nbf,
            iat,
            jti,
            sid,
            gen,
            custom,
            scopes,
            custom_unrepresentable,
        } = raw;
        // `iss` and `exp` are required in every profile.
        let (Slot::Present(iss), Slot::Present(exp)) = (iss, exp) else {
            return Err(VerifyError::MissingClaim(Claim::Iss));
        };
        let (sub, aud, iat, nbf, jti, sid) = (
            sub.present(),
            aud.present(),
            iat.present(),
            nbf.present(),
            jti.present(),
            sid.present(),
        );

        self.check_times(exp, iat, nbf, now)?;

        if !self.issuers.contains(&iss) {
            return Err(VerifyError::WrongIssuer);
        }
        // An empty list means the audience check was skipped on purpose.
        if !self.audiences.is_empty()
            && !aud
                .as_ref()
                .is_some_and(|aud| self.audiences.iter().any(|a| aud.contains(a)))
        {
            return Err(VerifyError::WrongAudience);
        }
        // A custom claim holding a number beyond any double: well-formed JSON, but no
        // claims value can carry it. The last claim check, before revocation.
        if custom_unrepresentable {
            return Err(VerifyError::InvalidClaim(Claim::Custom));
        }
        self.check_revocation(&revocation_query(
            jti.as_deref(),
            sid.as_deref(),
            sub.as_deref(),
            iat,
        ))?;
        Ok(Checked {
            iss,
            sub,
            aud,
            exp,
            iat,
            nbf,
            jti,
            sid,
            gen: gen.present(),
            custom,
            scopes,
        })
    }
}

/// The revocation question for a token whose `jti`, `sub` or `iat` may be absent (other
/// issuers' tokens): nothing is revoked under an empty id, and a token without `iat`
/// counts as issued at 0, so any "logged out everywhere" cut-off of its subject catches it.
fn revocation_query<'a>(
    jti: Option<&'a str>,
    sid: Option<&'a str>,
    sub: Option<&'a str>,
    iat: Option<UnixTime>,
) -> RevocationQuery<'a> {
    RevocationQuery::new(jti.unwrap_or(""), sid, sub.unwrap_or(""), iat.unwrap_or(0))
}

impl Verifier {
    /// The time checks, for a fresh verification and for every cache hit.
    fn check_times(
        &self,
        exp: UnixTime,
        iat: Option<UnixTime>,
        nbf: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<(), VerifyError> {
        // All values are < 2^53 and leeway <= 300, so these sums cannot overflow.
        let leeway = self.leeway;
        if now >= exp + leeway {
            return Err(VerifyError::Expired);
        }
        // With a max-age, `iat` was required (checked before the times).
        if let (Some(max_age), Some(iat)) = (self.max_age, iat) {
            if now >= iat.saturating_add(max_age).saturating_add(leeway) {
                return Err(VerifyError::Expired);
            }
        }
        if nbf.is_some_and(|nbf| now < nbf.saturating_sub(leeway))
            || iat.is_some_and(|iat| iat > now.saturating_add(leeway))
        {
            return Err(VerifyError::NotYetValid);
        }
        Ok(())
    }

    /// The verified-token cache, if the verifier has one.
    pub fn cache(&self) -> Option<&TokenCache> {
        self.cache.as_ref()
    }
}

/// What the cache keeps for one token: the verification's result, shared with every
/// `Verified` served from it, and the key that verified it.
struct CachedToken<T> {
    parts: Arc<Parts<T>>,
    key: Arc<VerifyingKey>,
}

/// What a cache hit re-checks, read from the cached claims.
trait CachedClaims {
    fn times(&self) -> (UnixTime, Option<UnixTime>, Option<UnixTime>);
    fn revocation_query(&self) -> RevocationQuery<'_>;
}

impl CachedClaims for AccessClaims {
    fn times(&self) -> (UnixTime, Option<UnixTime>, Option<UnixTime>) {
        (self.exp, Some(self.iat), self.nbf)
    }

    fn revocation_query(&self) -> RevocationQuery<'_> {
        RevocationQuery::new(&self.jti, self.sid.as_deref(), &self.sub, self.iat)
    }
}

impl CachedClaims for JwtClaims {
    fn times(&self) -> (UnixTime, Option<UnixTime>, Option<UnixTime>) {
        (self.exp, self.iat, self.nbf)
    }

    fn revocation_query(&self) -> RevocationQuery<'_> {
        revocation_query(
            self.jti.as_deref(),
            self.sid.as_deref(),
            self.sub.as_deref(),
            self.iat,
        )
    }
}

impl CachedClaims for RefreshClaims {
    fn times(&self) -> (UnixTime, Option<UnixTime>, Option<UnixTime>) {
        (self.exp, Some(self.iat), self.nbf)
    }

    fn revocation_query(&self) -> RevocationQuery<'_> {
        RevocationQuery::new(&self.jti, Some(&self.sid), &self.sub, self.iat)
    }
}

impl Checked {
    /// Back from verified access claims (a cache hit converted to a custom type).
    fn from_access(claims: AccessClaims) -> Self {
        Self {
            iss: claims.iss,
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            exp: claims.exp,
            iat: Some(claims.iat),
            nbf: claims.nbf,
            jti: Some(claims.jti),
            sid: claims.sid,
            gen: None,
            custom: claims.custom,
            // Carried beside the claims (in the verified token's parts).
            scopes: None,
        }
    }
}

/// The caller's custom-claims type from a verified token's claims text.
fn typed<'de, C: Deserialize<'de>>(json: &'de [u8], kind: TokenType) -> Result<C, VerifyError> {
    custom_from_json(json, kind).map_err(|_| VerifyError::InvalidClaim(Claim::Custom))
}

fn custom_claims<C: DeserializeOwned>(custom: CustomClaims) -> Result<C, VerifyError> {
    serde_json::from_value(serde_json::Value::Object(custom))
        .map_err(|_| VerifyError::InvalidClaim(Claim::Custom))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU8, Ordering};

    use super::*;
    use crate::error::Revoked;
    use crate::keys::{SigningKey, VerificationKeys};
    use crate::revocation::RevocationList;
    use crate::token::Issuer;

    /// A mirror whose health the test sets, over a real list.
    #[derive(Debug, Default)]
    struct Mirror {
        list: RevocationList,
        health: AtomicU8,
    }

    impl RevocationView for Mirror {
        fn check(&self, query: &RevocationQuery<'_>) -> Option<Revoked> {
            self.list.check(query)
        }

        fn health(&self) -> ViewHealth {
            match self.health.load(Ordering::SeqCst) {
                0 => ViewHealth::Current,
                1 => ViewHealth::Stale,
                _ => ViewHealth::Unavailable,
            }
        }
    }

    #[test]
    fn an_unavailable_view_fails_closed_but_a_known_revocation_still_says_revoked() {
        let key = Arc::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
        let issuer = Issuer::new(key.clone(), "i", "a");
        let live = issuer.access_token("alice").issue().unwrap();
        let dead = issuer.access_token("alice").issue().unwrap();
        let mirror = Arc::new(Mirror::default());
        mirror.list.revoke_token(&dead.jti, u64::MAX);
        let verifier = Verifier::builder(
            VerificationKeys::new([key.verifying_key().clone()]),
            "i",
            "a",
        )
        .revocations(mirror.clone())
        .build()
        .unwrap();
        let verify = |token: &str| {
            verifier
                .verify_access(token)
                .map(|_| ())
                .map_err(|e| e.kind())
        };

        assert_eq!(verify(&live.token), Ok(()));
        mirror.health.store(1, Ordering::SeqCst); // stale, operator chose fail-open
        assert_eq!(verify(&live.token), Ok(()));
        mirror.health.store(2, Ordering::SeqCst);
        assert_eq!(verify(&live.token), Err("revocations_unavailable"));
        assert_eq!(verify(&dead.token), Err("revoked"));
    }

    #[test]
    fn a_cache_hit_fails_closed_too_when_the_view_becomes_unavailable() {
        let key = Arc::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
        let live = Issuer::new(key.clone(), "i", "a")
            .access_token("alice")
            .issue()
            .unwrap();
        let mirror = Arc::new(Mirror::default());
        let verifier = Verifier::builder(
            VerificationKeys::new([key.verifying_key().clone()]),
            "i",
            "a",
        )
        .revocations(mirror.clone())
        .cache(TokenCache::new(16, Duration::from_secs(60)).unwrap())
        .build()
        .unwrap();
        assert!(verifier.verify_access(&live.token).is_ok());
        assert!(
            verifier.verify_access(&live.token).is_ok(),
            "now served from the cache"
        );
        let (hits, _) = verifier.cache().unwrap().stats();
        assert_eq!(hits, 1);
        mirror.health.store(2, Ordering::SeqCst);
        assert_eq!(
            verifier.verify_access(&live.token).unwrap_err(),
            VerifyError::RevocationsUnavailable
        );
    }
}
