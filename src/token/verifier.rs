//! The verifier and its builder: size, structure, algorithm, key and signature, in that
//! order, then the claim rules (`rules.rs`) and, when the verifier has one, the cache
//! (`cached.rs`). The order is docs/REFERENCE.md §1's.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::claims::{AccessClaims, CustomMode, JwtClaims, RefreshClaims, TokenType};
use super::header::{HeaderAlg, ParsedHeader};
use super::parse::{UntrustedToken, MAX_TOKEN_BYTES};
use super::profile::Profile;
use super::rules::{
    check_leeway, custom_claims, typed, Checked, ClaimRules, Raw, Shape, DEFAULT_LEEWAY,
};
use super::verified::{Parts, Verified};
use crate::cache::TokenCache;
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::crypto::{Algorithm, AlgorithmSet};
use crate::error::{Claim, ConfigError, VerifyError};
use crate::keys::{KeySource, VerifyingKey};
use crate::revocation::RevocationView;

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
    pub(super) keys: Arc<dyn KeySource>,
    /// Every claim rule, with the policy they apply (issuers, audiences, profile, ...).
    pub(super) rules: ClaimRules,
    pub(super) allowed: AlgorithmSet,
    pub(super) max_len: usize,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) cache: Option<TokenCache>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("issuers", &self.rules.issuers)
            .field("audiences", &self.rules.audiences)
            .field("profile", &self.rules.profile)
            .field("required", &self.rules.required)
            .field("leeway", &self.rules.leeway)
            .field("max_age", &self.rules.max_age)
            .field("allowed", &self.allowed)
            .field("max_len", &self.max_len)
            .field("revocations", &self.rules.revocations)
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
    pub(super) keys: Arc<dyn KeySource>,
    pub(super) issuers: Vec<String>,
    pub(super) audiences: Vec<String>,
    /// `Some(false)`: skip the audience check; `Some(true)`: skipped, and yet an audience
    /// was added afterwards (refused at build).
    pub(super) no_audience: Option<bool>,
    pub(super) profile: Profile,
    pub(super) required: Vec<String>,
    pub(super) leeway: Duration,
    pub(super) max_age: Option<Duration>,
    pub(super) allowed: AlgorithmSet,
    pub(super) max_len: usize,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) revocations: Option<Arc<dyn RevocationView>>,
    pub(super) cache: Option<TokenCache>,
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
        check_leeway(self.leeway)?;
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
            rules: ClaimRules {
                issuers: self.issuers,
                audiences: self.audiences,
                profile: self.profile,
                required: self.required,
                leeway: self.leeway.as_secs(),
                max_age: self.max_age.map(|d| d.as_secs()),
                revocations: self.revocations,
            },
            allowed: self.allowed,
            max_len: self.max_len,
            clock: self.clock,
            cache: self.cache,
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
        self.rules.issuers.first().map_or("", String::as_str)
    }

    /// Every accepted issuer.
    pub fn issuers(&self) -> &[String] {
        &self.rules.issuers
    }

    /// The expected audience (the first accepted one; empty when the audience check is
    /// skipped).
    pub fn audience(&self) -> &str {
        self.rules.audiences.first().map_or("", String::as_str)
    }

    /// Every accepted audience; empty when the audience check is skipped.
    pub fn audiences(&self) -> &[String] {
        &self.rules.audiences
    }

    /// The profile: whose tokens this verifier accepts.
    pub fn profile(&self) -> Profile {
        self.rules.profile
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

    /// Size, structure, algorithm, key, signature, then the claim checks.
    pub(super) fn verify_raw(
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
        if !self
            .rules
            .profile
            .accepts(kind, parsed.header.typ.as_deref())
        {
            return Err(VerifyError::WrongType);
        }
        let json = parsed.take_claims_json();
        let checked = self.rules.check_claims(parsed.claims, shape, now)?;
        Ok(Raw {
            header: parsed.header.into_header(alg),
            checked,
            key,
            json,
        })
    }

    /// Algorithm, key, then signature: after this the signing input is authentic, and the
    /// algorithm returned is the verifying key's.
    pub(super) fn check_signature(
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
    /// `internal::verify_jws` (feature `fuzzing`). No claim is looked at.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn verify_jws(&self, token: &str) -> Result<(super::Header, Vec<u8>), VerifyError> {
        let untrusted = UntrustedToken::with_limit(token, self.max_len)?;
        let parsed = untrusted.parse_jws()?;
        let (alg, _) =
            self.check_signature(&parsed.header, parsed.signing_input, &parsed.signature)?;
        Ok((parsed.header.into_header(alg), parsed.payload))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU8, Ordering};

    use crate::revocation::{RevocationQuery, ViewHealth};

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
    pub(super) fn an_unavailable_view_fails_closed_but_a_known_revocation_still_says_revoked() {
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
    pub(super) fn a_cache_hit_fails_closed_too_when_the_view_becomes_unavailable() {
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
