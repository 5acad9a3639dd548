//! The session manager: login, rotation, logout, logout-all and RFC 7009 revocation over
//! a [`SessionStore`], with the issuer and verifier for the server's own tokens.

use std::fmt;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use super::config::SessionConfig;
use super::context::RequestContext;
use super::listing::{session_handle, SessionInfo};
use super::seal::SuccessorSeal;
use super::{InvalidGrant, SessionError};
use crate::cache::TokenCache;
use crate::clock::UnixTime;
use crate::dpop::{confirmation_jkt, VerifiedProof};
use crate::error::{ConfigError, VerifyError};
use crate::events::Events;
use crate::keys::{KeySelector, Keyset, ReloadableKeys};
use crate::revocation::{
    ConsumeOutcome, ConsumeRequest, EndReason, IssuedPair, SessionRecord, SessionStore, StoreError,
    SubjectCutoff,
};
use crate::token::{AccessClaims, CustomClaims, Issuer, Verified, Verifier};

/// The answer to a login or a refresh: the OAuth token response (RFC 6749 §5.1).
///
/// Serializes as `{"access_token", "refresh_token", "token_type", "expires_in"}`;
/// `token_type` is `"DPoP"` when the pair is bound to a DPoP key (RFC 9449 §5), else
/// `"Bearer"`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TokenPair {
    /// The access token.
    pub access_token: String,
    /// The rotating refresh token.
    pub refresh_token: String,
    /// `"DPoP"` for a pair bound to a DPoP key (`cnf.jkt`), `"Bearer"` otherwise.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The session id (not part of the JSON answer).
    #[serde(skip)]
    pub sid: String,
}

impl TokenPair {
    fn from_issued(pair: IssuedPair, sid: String, bound: bool) -> Self {
        Self {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: if bound { "DPoP" } else { "Bearer" },
            expires_in: pair.expires_in,
            sid,
        }
    }
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Sessions: login, refresh-token rotation with reuse detection, timeouts, logout.
///
/// Every login creates a new session id (192 random bits) that the client never chooses;
/// every refresh rotates the refresh token through one atomic store operation, so of N
/// concurrent refreshes of one token exactly one wins and the chain never forks.
///
/// ```
/// use std::sync::Arc;
/// use gatepass::{Algorithm, GenerateOptions, Keyset, MemoryStore, SessionConfig, SessionManager};
///
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let waker = std::task::Waker::noop();
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut std::task::Context::from_waker(&waker)) { return v } }
/// # }
/// let mut keyset = Keyset::new();
/// keyset.generate(Algorithm::EdDSA, GenerateOptions::default(), 0)?;
/// let sessions = SessionManager::new(&keyset, Arc::new(MemoryStore::new()), SessionConfig::default())?;
///
/// block_on(async {
///     let pair = sessions.login("alice", Default::default()).await?;
///     let next = sessions.refresh(&pair.refresh_token).await?;
///     // The old refresh token is spent: presenting it again ends the whole session.
///     assert!(sessions.refresh(&pair.refresh_token).await.is_err());
///     assert!(sessions.verifier().verify_access(&next.access_token).is_err());
///     Ok::<(), gatepass::SessionError>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SessionManager {
    /// Signs with the keyset's preferred active key; swapped whole on a key reload.
    /// `None` while the keyset has no active signing key: the routes that issue tokens
    /// answer "temporarily unavailable" and everything else keeps working.
    issuer: RwLock<Option<Arc<Issuer>>>,
    /// Opens grace successors sealed under any key that still verifies; swapped with the
    /// issuer on a key reload.
    seal: RwLock<Arc<SuccessorSeal>>,
    /// Trusts the keyset's active and retiring keys; replaced in place on a key reload,
    /// so the verifier below (and every `Arc` of it handed out) follows.
    keys: Arc<ReloadableKeys>,
    verifier: Arc<Verifier>,
    store: Arc<dyn SessionStore>,
    config: SessionConfig,
    events: Events,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Who and what a token pair is for.
struct PairSpec<'a> {
    sub: &'a str,
    sid: &'a str,
    gen: u64,
    custom: &'a CustomClaims,
    /// The DPoP key thumbprint both tokens are bound to, if any.
    jkt: Option<&'a str>,
}

/// How long past a token's `exp` its revocation must be kept: the largest leeway any
/// verifier may apply, since until then some verifier may still accept the token. Every
/// revocation gatepass writes (logout, reuse, `gatepass revoke`) outlives its token by this.
///
/// ```
/// assert_eq!(gatepass::REVOCATION_MARGIN, gatepass::MAX_LEEWAY.as_secs());
/// ```
pub const REVOCATION_MARGIN: u64 = crate::MAX_LEEWAY.as_secs();

/// Why a session manager could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionSetupError {
    /// The settings are refused.
    Config(ConfigError),
    /// The system random number generator failed.
    Randomness,
}

impl fmt::Display for SessionSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "{e}"),
            Self::Randomness => f.write_str("the system random number generator failed"),
        }
    }
}

impl std::error::Error for SessionSetupError {}

impl From<ConfigError> for SessionSetupError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl SessionManager {
    /// A manager signing with `keyset`'s preferred active key, keeping state in `store`.
    ///
    /// A keyset without an active key is accepted (an operator may have revoked the last
    /// one): tokens of its retiring keys still verify, logout still works, and
    /// [`login`](Self::login) and [`refresh`](Self::refresh) fail with
    /// [`SessionError::NoSigningKey`] until [`update_keys`](Self::update_keys) brings one.
    /// [`can_sign`](Self::can_sign) tells which.
    pub fn new(
        keyset: &Keyset,
        store: Arc<dyn SessionStore>,
        config: SessionConfig,
    ) -> Result<Self, SessionSetupError> {
        config.validate()?;
        let events =
            Events::new(config.event_key.as_deref()).map_err(|_| SessionSetupError::Randomness)?;
        let issuer = Self::build_issuer(keyset, &config);
        let seal = SuccessorSeal::new(keyset).map_err(|_| SessionSetupError::Randomness)?;
        let keys = Arc::new(ReloadableKeys::new(keyset.verification_keys()));
        let mut builder =
            Verifier::builder_shared(keys.clone(), config.issuer.clone(), config.audience.clone())
                .leeway(config.leeway)
                .clock(config.clock.clone())
                .revocations(store.revocations());
        if let Some((capacity, ttl)) = config.token_cache {
            builder = builder.cache(TokenCache::new(capacity, ttl)?);
        }
        let verifier = builder.build()?;
        Ok(Self {
            issuer: RwLock::new(issuer.map(Arc::new)),
            seal: RwLock::new(Arc::new(seal)),
            keys,
            verifier: Arc::new(verifier),
            store,
            config,
            events,
        })
    }

    /// The issuer for `keyset`'s preferred active key, if it has one.
    fn build_issuer(keyset: &Keyset, config: &SessionConfig) -> Option<Issuer> {
        let key = keyset.signing_key(&KeySelector::Preferred).ok()?;
        Some(
            Issuer::new(key, config.issuer.clone(), config.audience.as_str())
                .with_access_ttl(config.access_ttl.as_secs())
                .with_clock(config.clock.clone()),
        )
    }

    /// Follow `keyset` from now on: trust exactly its active and retiring keys (a key that
    /// was revoked or removed stops verifying at once, and cached verifications made with
    /// it are dropped) and sign with its preferred active key. When the keyset has no
    /// active key left, the manager stops issuing ([`SessionError::NoSigningKey`]) but
    /// keeps verifying with what remains. Requests in flight finish with the old keys.
    ///
    /// Returns whether the manager can sign after the update.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gatepass::{Algorithm, GenerateOptions, Keyset, MemoryStore, SessionConfig, SessionManager};
    ///
    /// let mut keyset = Keyset::new();
    /// let kid = keyset.generate(Algorithm::EdDSA, GenerateOptions::default(), 0)?;
    /// let sessions = SessionManager::new(&keyset, Arc::new(MemoryStore::new()), SessionConfig::default())?;
    /// assert!(sessions.can_sign());
    ///
    /// // The operator revokes the only key: it stops verifying, and nothing can be issued.
    /// keyset.revoke(&kid, 10)?;
    /// assert!(!sessions.update_keys(&keyset));
    /// assert!(!sessions.can_sign());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn update_keys(&self, keyset: &Keyset) -> bool {
        let issuer = Self::build_issuer(keyset, &self.config).map(Arc::new);
        // Deriving the sealing keys cannot fail in practice (HKDF of a fixed length); if it
        // did, the previous opener stays and a grace retry is refused, never misanswered.
        let seal = SuccessorSeal::new(keyset).ok();
        let keys = keyset.verification_keys();
        if let Some(cache) = self.verifier.cache() {
            // Entries of keys that are gone would never be served again (a hit re-checks
            // its key); free them now rather than when CLOCK gets to them.
            cache.retain_kids(|kid| {
                kid.is_some_and(|kid| keys.iter().any(|k| k.kid() == Some(kid)))
            });
        }
        self.keys.replace(keys);
        let can_sign = issuer.is_some();
        // The opener before the issuer: a pair sealed under the new signing key must
        // always find that key when its retry comes.
        if let Some(seal) = seal {
            *self
                .seal
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(seal);
        }
        *self
            .issuer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = issuer;
        can_sign
    }

    /// Whether an active signing key is loaded (logins and refreshes can be answered).
    pub fn can_sign(&self) -> bool {
        self.issuer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    /// Whether logins and refreshes can be answered now: an active signing key is loaded
    /// and the store answers. What a server's readiness check (`GET /readyz`) reports.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gatepass::{Keyset, MemoryStore, SessionConfig, SessionError, SessionManager};
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let waker = std::task::Waker::noop();
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut std::task::Context::from_waker(&waker)) { return v } }
    /// # }
    /// // A keyset without an active key: the manager runs, but cannot issue.
    /// let sessions = SessionManager::new(&Keyset::new(), Arc::new(MemoryStore::new()), SessionConfig::default())?;
    /// assert_eq!(block_on(sessions.ready()), Err(SessionError::NoSigningKey));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn ready(&self) -> Result<(), SessionError> {
        if !self.can_sign() {
            return Err(SessionError::NoSigningKey);
        }
        // The store's own state first (reconnecting, repairing a loss of its data), then
        // whether it answers now.
        let readiness = self.store.readiness();
        if !readiness.is_ready() {
            return Err(SessionError::Store(StoreError::Unavailable(
                readiness.to_string(),
            )));
        }
        self.store.ping().await?;
        Ok(())
    }

    fn seal(&self) -> Arc<SuccessorSeal> {
        self.seal
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn issuer(&self) -> Result<Arc<Issuer>, SessionError> {
        self.issuer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(SessionError::NoSigningKey)
    }

    /// The verifier for this server's access tokens: own keys, own issuer and audience,
    /// and the store's revocations (ended sessions, logged-out subjects, revoked tokens).
    /// The same verifier for the manager's whole life: key reloads happen underneath it.
    pub fn verifier(&self) -> Arc<Verifier> {
        self.verifier.clone()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    fn now(&self) -> UnixTime {
        self.config.clock.now()
    }

    fn revoke_until(&self, now: UnixTime) -> UnixTime {
        now.saturating_add(self.config.access_ttl.as_secs())
            .saturating_add(REVOCATION_MARGIN)
    }

    /// Sign an access + refresh pair for a session whose absolute end is `session_end`.
    fn sign_pair(
        &self,
        issuer: &Issuer,
        pair: PairSpec<'_>,
        now: UnixTime,
        session_end: UnixTime,
    ) -> Result<(IssuedPair, String), SessionError> {
        let PairSpec {
            sub,
            sid,
            gen,
            custom,
            jkt,
        } = pair;
        let remaining = session_end.saturating_sub(now).max(1);
        // An access token never outlives its session: not its absolute end, and not the
        // idle end this issuance starts (so a session that times out idle has no live
        // access token left, even when access_ttl was configured above idle_timeout).
        let access_ttl = self
            .config
            .access_ttl
            .as_secs()
            .min(self.config.idle_timeout.as_secs())
            .min(remaining);
        let refresh_ttl = self.config.refresh_ttl_secs().min(remaining);
        let mut access = issuer
            .access_token(sub)
            .session_id(sid)
            .claims(custom)?
            .ttl(access_ttl)
            .issued_at(now);
        let mut refresh = issuer
            .refresh_token(sub, sid, gen)
            .claims(custom)?
            .ttl(refresh_ttl)
            .issued_at(now);
        if let Some(jkt) = jkt {
            access = access.confirmation(jkt);
            refresh = refresh.confirmation(jkt);
        }
        let access = access.issue()?;
        let refresh = refresh.issue()?;
        Ok((
            IssuedPair::new(access.token, refresh.token, access_ttl),
            refresh.jti,
        ))
    }

    /// Log `subject` in: a new session with a fresh id, its first token pair, and its
    /// record in the store. `claims` go into every access token of the session.
    pub async fn login(
        &self,
        subject: &str,
        claims: CustomClaims,
    ) -> Result<TokenPair, SessionError> {
        self.login_at(subject, claims, self.now()).await
    }

    /// [`login`](Self::login) as of `now`.
    pub async fn login_at(
        &self,
        subject: &str,
        claims: CustomClaims,
        now: UnixTime,
    ) -> Result<TokenPair, SessionError> {
        self.login_with_at(subject, claims, RequestContext::new(), now)
            .await
    }

    /// [`login`](Self::login) with what the caller knows of the request
    /// ([`RequestContext`]): the client (user agent, truncated address), remembered with
    /// the session for [`list_sessions`](Self::list_sessions); and a DPoP proof the caller
    /// has verified (RFC 9449 §5), which binds the session to the proof's key: both tokens
    /// carry `cnf: {"jkt": ...}`, the pair's `token_type` is `DPoP`, and every refresh of
    /// the session must come with a proof by the same key.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gatepass::*;
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let waker = std::task::Waker::noop();
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut std::task::Context::from_waker(&waker)) { return v } }
    /// # }
    /// let mut keyset = Keyset::new();
    /// keyset.generate(Algorithm::EdDSA, GenerateOptions::default(), 0)?;
    /// let sessions = SessionManager::new(&keyset, Arc::new(MemoryStore::new()), SessionConfig::default())?;
    /// let dpop = DpopVerifier::builder().build()?;
    /// let key = DpopKey::generate(Algorithm::ES256)?;
    /// let now = SystemClock.now();
    /// let url = "https://auth.example/auth/login";
    /// let proof = dpop.verify_at(&key.proof("POST", url).make_at(now)?, "POST", url, None, now)?;
    ///
    /// block_on(async {
    ///     let pair = sessions.login_with("alice", Default::default(), RequestContext::new().proof(&proof)).await?;
    ///     assert_eq!(pair.token_type, "DPoP");
    ///     let claims = sessions.verifier().verify_access(&pair.access_token)?.into_claims();
    ///     assert_eq!(confirmation_jkt(&claims.custom), Some(key.thumbprint()));
    ///     // The refresh token is bound too: without a proof by that key, no refresh.
    ///     assert!(sessions.refresh(&pair.refresh_token).await.is_err());
    ///     Ok::<(), SessionError>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn login_with(
        &self,
        subject: &str,
        claims: CustomClaims,
        context: RequestContext<'_>,
    ) -> Result<TokenPair, SessionError> {
        self.login_with_at(subject, claims, context, self.now())
            .await
    }

    /// [`login_with`](Self::login_with) as of `now`.
    pub async fn login_with_at(
        &self,
        subject: &str,
        claims: CustomClaims,
        context: RequestContext<'_>,
        now: UnixTime,
    ) -> Result<TokenPair, SessionError> {
        let issuer = self.issuer()?;
        let RequestContext { client, proof } = context;
        let client = client.unwrap_or_default();
        let jkt = proof.map(VerifiedProof::jkt);
        let sid = crate::crypto::random::session_id().map_err(|_| crate::IssueError::Randomness)?;
        let session_end = now.saturating_add(self.config.absolute_timeout.as_secs());
        let spec = PairSpec {
            sub: subject,
            sid: &sid,
            gen: 0,
            custom: &claims,
            jkt,
        };
        let (pair, refresh_jti) = self.sign_pair(&issuer, spec, now, session_end)?;
        let record = SessionRecord::new(
            sid.clone(),
            subject.to_owned(),
            refresh_jti,
            now,
            self.config.absolute_timeout.as_secs(),
            self.config.idle_timeout.as_secs(),
        )
        .with_client(client);
        self.store.create_session(record).await?;
        self.events.login(subject, &sid);
        Ok(TokenPair::from_issued(pair, sid, jkt.is_some()))
    }

    /// Record a login refused for bad credentials (the username is logged hashed only).
    #[cfg(feature = "server")]
    pub(crate) fn login_failed(&self, username: &str) {
        self.events.login_failed(username);
    }

    /// Rotate a refresh token: the presented token is consumed and a new pair with the
    /// next generation is returned. A token that was already rotated ends the session
    /// (unless it is the direct parent within the grace window, which gets the answer
    /// already given).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, SessionError> {
        self.refresh_at(refresh_token, self.now()).await
    }

    /// [`refresh`](Self::refresh) as of `now`.
    pub async fn refresh_at(
        &self,
        refresh_token: &str,
        now: UnixTime,
    ) -> Result<TokenPair, SessionError> {
        self.refresh_with_at(refresh_token, RequestContext::new(), now)
            .await
    }

    /// [`refresh`](Self::refresh) with what the caller knows of the request
    /// ([`RequestContext`]): the client, remembered as the session's client when the token
    /// rotates (a grace retry or a refused token changes nothing; without one the session
    /// keeps the client it had), and the DPoP proof the caller verified for this request,
    /// if any. A refresh token bound to a key (`cnf.jkt`) is redeemed only with a proof by
    /// that key ([`InvalidGrant::DpopProofRequired`], [`InvalidGrant::DpopKeyMismatch`]),
    /// checked before the token is consumed so a thief without the key cannot spend it;
    /// the successor pair stays bound to the same key. An unbound session refreshed with a
    /// proof is bound to the proof's key from then on.
    pub async fn refresh_with(
        &self,
        refresh_token: &str,
        context: RequestContext<'_>,
    ) -> Result<TokenPair, SessionError> {
        self.refresh_with_at(refresh_token, context, self.now())
            .await
    }

    /// [`refresh_with`](Self::refresh_with) as of `now`.
    pub async fn refresh_with_at(
        &self,
        refresh_token: &str,
        context: RequestContext<'_>,
        now: UnixTime,
    ) -> Result<TokenPair, SessionError> {
        let RequestContext { client, proof } = context;
        // Before the token is consumed: with no key to sign its successor, the client
        // must keep its refresh token and retry.
        let issuer = self.issuer()?;
        let verified = self
            .verifier
            .verify_refresh_at(refresh_token, now)
            .map_err(|e| {
                self.events.refresh_rejected(e.kind());
                // The verifier could not judge the token (keys or revocation list out of
                // date): a store outage (503, retry), never `invalid_grant`, which tells
                // an OAuth client to throw its refresh token away.
                unavailable(&e).unwrap_or(SessionError::InvalidGrant(InvalidGrant::Token(e)))
            })?;
        let mut claims = verified.into_claims();
        // The binding is the token's own, never a custom claim carried forward: take it
        // out, so the successor gets it from `confirmation` alone.
        let bound = confirmation_jkt(&claims.custom).map(str::to_owned);
        claims.custom.remove("cnf");
        let jkt = match (bound.as_deref(), proof) {
            (None, None) => None,
            (None, Some(proof)) => Some(proof.jkt().to_owned()),
            (Some(_), None) => {
                self.events.refresh_rejected("dpop_proof_required");
                return Err(SessionError::InvalidGrant(InvalidGrant::DpopProofRequired));
            }
            (Some(bound), Some(proof)) => {
                if proof.check_binding(Some(bound)).is_err() {
                    self.events.refresh_rejected("dpop_key_mismatch");
                    return Err(SessionError::InvalidGrant(InvalidGrant::DpopKeyMismatch));
                }
                Some(bound.to_owned())
            }
        };
        let Some(record) = self.store.session(&claims.sid).await? else {
            self.events.refresh_rejected("unknown_session");
            return Err(SessionError::InvalidGrant(InvalidGrant::UnknownSession));
        };
        let next_gen = claims.gen.saturating_add(1);
        let spec = PairSpec {
            sub: &claims.sub,
            sid: &claims.sid,
            gen: next_gen,
            custom: &claims.custom,
            jkt: jkt.as_deref(),
        };
        let (next, next_jti) = self.sign_pair(&issuer, spec, now, record.expires_at)?;
        // The store keeps the successor for a retry within the grace window: sealed, so
        // nothing in it rebuilds a token (see `seal.rs`).
        let sealed = SuccessorSeal::seal(issuer.key(), &claims.sid, next_gen, &next)
            .map_err(|_| crate::IssueError::Randomness)?;
        let mut request = ConsumeRequest::new(
            claims.sid.clone(),
            claims.gen,
            claims.jti,
            now,
            next_jti,
            sealed,
            self.config.grace.as_secs(),
            self.revoke_until(now),
        );
        if let Some(client) = client {
            request = request.with_client(client);
        }
        match self.store.consume_if_current(request).await? {
            ConsumeOutcome::Rotated => {
                self.events.refresh(&claims.sub, &claims.sid, next_gen);
                Ok(TokenPair::from_issued(next, claims.sid, jkt.is_some()))
            }
            ConsumeOutcome::Grace(sealed) => match self.seal().open(&claims.sid, next_gen, &sealed)
            {
                Some(previous) => Ok(TokenPair::from_issued(previous, claims.sid, jkt.is_some())),
                None => {
                    // The key that sealed it is gone (rotated out, revoked): the client
                    // logs in again. Never a fresh pair, which would fork the chain.
                    self.events.refresh_rejected("grace_unreadable");
                    Err(SessionError::InvalidGrant(InvalidGrant::GraceUnreadable))
                }
            },
            ConsumeOutcome::Reused => {
                self.events
                    .reuse_detected(&claims.sub, &claims.sid, claims.gen);
                self.events
                    .session_revoked(&claims.sid, EndReason::Reuse.as_str());
                Err(SessionError::InvalidGrant(InvalidGrant::Reused))
            }
            ConsumeOutcome::Ended(reason) => {
                self.events
                    .timeout(&claims.sub, &claims.sid, reason.as_str());
                Err(SessionError::InvalidGrant(match reason {
                    EndReason::IdleTimeout => InvalidGrant::IdleTimeout,
                    EndReason::AbsoluteTimeout => InvalidGrant::AbsoluteTimeout,
                    _ => InvalidGrant::UnknownSession,
                }))
            }
            _ => {
                self.events.refresh_rejected("unknown_session");
                Err(SessionError::InvalidGrant(InvalidGrant::UnknownSession))
            }
        }
    }

    /// Verify an access token of this server (with revocations), as of now.
    pub fn authenticate(&self, access_token: &str) -> Result<Verified<AccessClaims>, SessionError> {
        self.verifier()
            .verify_access(access_token)
            .map_err(SessionError::InvalidToken)
    }

    /// End the session of a verified access token: its refresh tokens and its access
    /// tokens stop working.
    pub async fn logout(&self, session: &Verified<AccessClaims>) -> Result<(), SessionError> {
        self.logout_claims(session.claims()).await
    }

    /// [`logout`](Self::logout) from the claims of a verified access token (of any custom
    /// claims type).
    pub async fn logout_claims<C>(&self, claims: &AccessClaims<C>) -> Result<(), SessionError> {
        let Some(sid) = claims.sid.as_deref() else {
            // A token without a session: revoke just it.
            return self.revoke_jti(&claims.jti, claims.exp).await;
        };
        self.logout_sid_at(sid, self.now()).await?;
        self.events.logout(&claims.sub, sid);
        Ok(())
    }

    /// End session `sid` as of `now`. Returns whether it was live.
    pub async fn logout_sid_at(&self, sid: &str, now: UnixTime) -> Result<bool, SessionError> {
        let live = self
            .store
            .revoke_session(sid, self.revoke_until(now), EndReason::Logout)
            .await?;
        self.events.session_revoked(sid, EndReason::Logout.as_str());
        Ok(live)
    }

    /// The live sessions of the subject of a verified access token, the asking session
    /// marked [`current`](SessionInfo::current), most recently created first. Each has
    /// an opaque [`id`](SessionInfo::id) for [`end_session`](Self::end_session); session
    /// ids are never shown.
    pub async fn list_sessions(
        &self,
        session: &Verified<AccessClaims>,
    ) -> Result<Vec<SessionInfo>, SessionError> {
        self.list_sessions_claims_at(session.claims(), self.now())
            .await
    }

    /// [`list_sessions`](Self::list_sessions) from the claims of a verified access token
    /// (of any custom claims type).
    pub async fn list_sessions_claims<C>(
        &self,
        claims: &AccessClaims<C>,
    ) -> Result<Vec<SessionInfo>, SessionError> {
        self.list_sessions_claims_at(claims, self.now()).await
    }

    /// [`list_sessions_claims`](Self::list_sessions_claims) as of `now`.
    pub async fn list_sessions_claims_at<C>(
        &self,
        claims: &AccessClaims<C>,
        now: UnixTime,
    ) -> Result<Vec<SessionInfo>, SessionError> {
        let records = self.store.list_sessions(&claims.sub, now).await?;
        let current = claims.sid.as_deref();
        let mut listed: Vec<SessionInfo> = records
            .iter()
            // A store indexes by subject; the subject is checked again here all the same.
            .filter(|record| record.sub == claims.sub)
            .map(|record| SessionInfo::from_record(record, current))
            .collect();
        listed.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(listed)
    }

    /// End one session of the subject of a verified access token, named by its
    /// [`SessionInfo::id`] handle: exactly a [`logout`](Self::logout) of that session
    /// (its refresh token is refused, its access tokens are rejected by `sid` until they
    /// expire). [`SessionError::SessionNotFound`] when `handle` is not one of the
    /// subject's live sessions, whether or not it names another subject's.
    pub async fn end_session(
        &self,
        session: &Verified<AccessClaims>,
        handle: &str,
    ) -> Result<(), SessionError> {
        self.end_session_claims_at(session.claims(), handle, self.now())
            .await
    }

    /// [`end_session`](Self::end_session) from the claims of a verified access token (of
    /// any custom claims type).
    pub async fn end_session_claims<C>(
        &self,
        claims: &AccessClaims<C>,
        handle: &str,
    ) -> Result<(), SessionError> {
        self.end_session_claims_at(claims, handle, self.now()).await
    }

    /// [`end_session_claims`](Self::end_session_claims) as of `now`.
    pub async fn end_session_claims_at<C>(
        &self,
        claims: &AccessClaims<C>,
        handle: &str,
        now: UnixTime,
    ) -> Result<(), SessionError> {
        // Only the caller's own sessions are searched: a handle of another subject's
        // session is not found, exactly like one that never existed.
        let records = self.store.list_sessions(&claims.sub, now).await?;
        let Some(record) = records
            .iter()
            .find(|r| r.sub == claims.sub && session_handle(&r.sub, &r.sid) == handle)
        else {
            return Err(SessionError::SessionNotFound);
        };
        if !self.logout_sid_at(&record.sid, now).await? {
            // Ended between the listing and now (a timeout, another logout).
            return Err(SessionError::SessionNotFound);
        }
        self.events.logout(&claims.sub, &record.sid);
        Ok(())
    }

    /// End every session of `subject` that exists now; sessions created afterwards are
    /// unaffected. Returns how many sessions ended.
    pub async fn logout_all(&self, subject: &str) -> Result<usize, SessionError> {
        self.logout_all_at(subject, self.now()).await
    }

    /// [`logout_all`](Self::logout_all) as of `now`.
    pub async fn logout_all_at(&self, subject: &str, now: UnixTime) -> Result<usize, SessionError> {
        let until = self.revoke_until(now);
        // Strictly-before cut-off: a session logged in later in this same second keeps
        // working, while this second's earlier sessions are caught by their sid.
        let cutoff = SubjectCutoff {
            before: now,
            until: Some(until),
        };
        let ended = self.store.revoke_subject(subject, cutoff, until).await?;
        for sid in &ended {
            self.events
                .session_revoked(sid, EndReason::LogoutAll.as_str());
        }
        self.events.logout_all(subject, ended.len());
        Ok(ended.len())
    }

    async fn revoke_jti(&self, jti: &str, exp: UnixTime) -> Result<(), SessionError> {
        self.store
            .revoke_token(jti, exp.saturating_add(REVOCATION_MARGIN))
            .await?;
        Ok(())
    }

    /// RFC 7009 token revocation. A refresh token ends its session (and with it the
    /// session's access tokens); an access token is revoked alone. Tokens that do not
    /// verify (unknown, expired, forged) are ignored, as the RFC asks: the answer is the
    /// same, so a caller learns nothing about tokens it could not already verify. A token
    /// that cannot be judged right now (the keys or the revocation view are out of date,
    /// e.g. a Redis outage past the staleness bound) is an error
    /// ([`SessionError::Store`], HTTP 503), never a silent success with nothing stored.
    pub async fn revoke(&self, token: &str, hint: Option<&str>) -> Result<(), SessionError> {
        let verifier = self.verifier();
        let now = self.now();
        // A token the verifier cannot judge right now (keys or revocation list out of
        // date) is not "invalid": answering 200 would tell the client it is revoked while
        // nothing was stored. Fail with the outage instead (503, retry).
        let as_refresh = || judged(verifier.verify_refresh_at(token, now));
        let as_access = || judged(verifier.verify_access_at(token, now));
        if hint == Some("access_token") {
            if let Some(access) = as_access()? {
                return self
                    .revoke_jti(&access.claims().jti, access.claims().exp)
                    .await;
            }
        }
        if let Some(refresh) = as_refresh()? {
            let sid = &refresh.claims().sid;
            self.store
                .revoke_session(sid, self.revoke_until(now), EndReason::Revoked)
                .await?;
            self.events
                .session_revoked(sid, EndReason::Revoked.as_str());
            return Ok(());
        }
        if let Some(access) = as_access()? {
            return self
                .revoke_jti(&access.claims().jti, access.claims().exp)
                .await;
        }
        Ok(())
    }

    /// Drop expired sessions and revocations from the store.
    pub async fn prune(&self) -> Result<crate::revocation::PruneReport, SessionError> {
        Ok(self.store.prune(self.now()).await?)
    }
}

/// A verification that failed because the verifier could not judge the token (its keys
/// or its revocation view are out of date), as the store outage it is.
fn unavailable(err: &VerifyError) -> Option<SessionError> {
    match err {
        VerifyError::KeysUnavailable | VerifyError::RevocationsUnavailable => Some(
            SessionError::Store(StoreError::Unavailable(err.to_string())),
        ),
        _ => None,
    }
}

/// A verification result for RFC 7009 revocation: the token, `None` for a token that is
/// simply not valid (ignored, as the RFC asks), or the outage that kept it from being judged.
fn judged<T>(result: Result<T, VerifyError>) -> Result<Option<T>, SessionError> {
    match result {
        Ok(verified) => Ok(Some(verified)),
        Err(e) => unavailable(&e).map_or(Ok(None), Err),
    }
}

impl From<VerifyError> for SessionError {
    fn from(err: VerifyError) -> Self {
        Self::InvalidToken(err)
    }
}
