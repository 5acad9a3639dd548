//! The structured target over sessions: a generated sequence of logins, refreshes,
//! logouts and clock moves against two `SessionManager`s sharing one `MemoryStore`,
//! checked step by step against a reference model written from `docs/SESSIONS.md`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

use super::block_on;
use super::fixture::{AUDIENCE, ISSUER, NOW};
use crate::{
    CustomClaims, EndReason, InvalidGrant, Keyset, ManualClock, MemoryStore, Revoked,
    SessionConfig, SessionError, SessionManager, SessionRecord, SessionStore as _, TokenPair,
    VerifyError,
};

// Extra seconds a session's revocation outlives its access tokens (`docs/SESSIONS.md`:
// `access_ttl + 300 s`): the library's own constant, so the model cannot drift from it.
use crate::REVOCATION_MARGIN;

/// The fixture's HS256 key (RFC 7515 A.1) as the sessions' keyset: the cheapest signature,
/// since the target is about rotation, not algorithms, and issues dozens of tokens a case.
const KEYSET: &str = r#"{"keys":[{"kty":"oct","alg":"HS256","kid":"fuzz-hs256","state":"active",
    "k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}]}"#;

const SUBJECTS: [&str; 3] = ["alice", "bob", "carol"];

/// Target `refresh_rotation` (structured, needs the `arbitrary` feature).
///
/// Generates session settings (access TTL, idle and absolute timeouts, refresh TTL, grace
/// window, leeway) and up to 64 operations: logins, refreshes with any token ever issued
/// (the current one, its parent, the newest, any), the same token presented several times
/// at one instant (racing tabs, retried requests), logout with an access token, logout-all,
/// RFC 7009 revocation with every hint, pruning, access-token checks and clock moves (to
/// just before, at and after each deadline). They run against two managers (two nodes)
/// sharing one `MemoryStore` and one clock, and a reference model predicts every answer.
///
/// Asserts: every answer is the model's (a refresh rotates, replays the grace answer, or
/// fails with the exact `invalid_grant` reason; logins, logouts, revocations and prunes
/// report what the model says); **the chain never forks**: a refresh token has at most one
/// successor, and every answer it ever gets is byte-identical to the first; a spent token
/// outside the grace window never yields tokens again; reuse ends the session; issued tokens
/// carry the session's id and next generation, `iat` now and `exp` capped by the TTL and
/// the session's absolute end; the store's record of each session is the model's (one
/// current token, generation, clocks, grace entry, whose successor is kept sealed: neither
/// token's signature appears in it); and access tokens verify exactly when
/// the model says, so **access tokens of ended sessions are rejected as `revoked`** until
/// they expire.
pub fn refresh_rotation(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(settings) = Settings::arbitrary(&mut u) else {
        return;
    };
    let mut world = World::new(settings.limits());
    // Every case has a session to work with from the start.
    world.login(0, false);
    world.check_store();
    // Operations one at a time until the input runs out, rather than a `Vec` whose
    // length `arbitrary` would read first: every byte the fuzzer adds is one more step.
    for _ in 0..MAX_STEPS {
        if u.is_empty() {
            break;
        }
        let Ok(op) = Op::arbitrary(&mut u) else {
            break;
        };
        world.step(op);
        world.check_store();
    }
    world.check_every_access_token();
}

/// Operations per case.
const MAX_STEPS: usize = 64;

// The input format is bytes, not `derive(Arbitrary)`'s: one tag byte per operation and one
// or two bytes per argument, so that a seed is a readable scenario (see the corpus
// generator) and a mutated byte changes one decision.

fn byte(u: &mut Unstructured<'_>) -> arbitrary::Result<u8> {
    u8::arbitrary(u)
}

fn word(u: &mut Unstructured<'_>) -> arbitrary::Result<u16> {
    Ok(u16::from_le_bytes([byte(u)?, byte(u)?]))
}

/// Nine bytes: access TTL, idle timeout and absolute extra (u16 each), refresh TTL (u16,
/// 0 for the idle timeout), grace and leeway (a byte each).
#[derive(Debug)]
struct Settings {
    access_ttl: u16,
    idle: u16,
    absolute_extra: u16,
    refresh_ttl: u16,
    grace: u8,
    leeway: u8,
}

impl<'a> Arbitrary<'a> for Settings {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self {
            access_ttl: word(u)?,
            idle: word(u)?,
            absolute_extra: word(u)?,
            refresh_ttl: word(u)?,
            grace: byte(u)?,
            leeway: byte(u)?,
        })
    }
}

/// Which token of those issued so far: a tag byte and an argument byte.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// The newest.
    Latest,
    /// The current (newest) one of session `n`.
    Current(u8),
    /// The one before the current one of session `n`: the grace parent, or a spent token.
    Parent(u8),
    /// Any, by index.
    Any(u8),
}

impl<'a> Arbitrary<'a> for Pick {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let (tag, n) = (byte(u)?, byte(u)?);
        Ok(match tag % 4 {
            0 => Self::Latest,
            1 => Self::Current(n),
            2 => Self::Parent(n),
            _ => Self::Any(n),
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Hint {
    None,
    Access,
    Refresh,
    Other,
}

impl<'a> Arbitrary<'a> for Hint {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match byte(u)? % 4 {
            0 => Self::None,
            1 => Self::Access,
            2 => Self::Refresh,
            _ => Self::Other,
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Deadline {
    /// The idle timeout of session `n`.
    Idle(u8),
    /// The absolute end of session `n`.
    Absolute(u8),
    /// The grace window of session `n`.
    Grace(u8),
    /// The `exp` of an access token.
    AccessExp(Pick),
    /// The `exp` of a refresh token.
    RefreshExp(Pick),
    /// When the revocation of session `n` may be pruned.
    Revocation(u8),
}

impl<'a> Arbitrary<'a> for Deadline {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match byte(u)? % 6 {
            0 => Self::Idle(byte(u)?),
            1 => Self::Absolute(byte(u)?),
            2 => Self::Grace(byte(u)?),
            3 => Self::AccessExp(Pick::arbitrary(u)?),
            4 => Self::RefreshExp(Pick::arbitrary(u)?),
            _ => Self::Revocation(byte(u)?),
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Tag 0: subject, node.
    Login { subject: u8, node: bool },
    /// Tag 1: token (2 bytes), node.
    Refresh { token: Pick, node: bool },
    /// Tag 2: the same refresh token presented 2 to 4 times at one instant, alternating
    /// nodes: token, times.
    Race { token: Pick, times: u8 },
    /// Tag 3: logout with an access token: token, node.
    Logout { access: Pick, node: bool },
    /// Tag 4: subject, node.
    LogoutAll { subject: u8, node: bool },
    /// Tag 5: RFC 7009 revocation: refresh or access, token, hint.
    Revoke {
        refresh: bool,
        token: Pick,
        hint: Hint,
    },
    /// Tag 6: verify an access token: token.
    Check { access: Pick },
    /// Tag 7.
    Prune,
    /// Tag 8: seconds (u16).
    Advance { secs: u16 },
    /// Tag 9: move the clock to a deadline, then -2 to +2 seconds (never backwards).
    To { deadline: Deadline, delta: i8 },
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let flag = |u: &mut Unstructured<'a>| byte(u).map(|b| b % 2 == 1);
        Ok(match byte(u)? % 10 {
            0 => Self::Login {
                subject: byte(u)?,
                node: flag(u)?,
            },
            1 => Self::Refresh {
                token: Pick::arbitrary(u)?,
                node: flag(u)?,
            },
            2 => Self::Race {
                token: Pick::arbitrary(u)?,
                times: byte(u)?,
            },
            3 => Self::Logout {
                access: Pick::arbitrary(u)?,
                node: flag(u)?,
            },
            4 => Self::LogoutAll {
                subject: byte(u)?,
                node: flag(u)?,
            },
            5 => Self::Revoke {
                refresh: flag(u)?,
                token: Pick::arbitrary(u)?,
                hint: Hint::arbitrary(u)?,
            },
            6 => Self::Check {
                access: Pick::arbitrary(u)?,
            },
            7 => Self::Prune,
            8 => Self::Advance { secs: word(u)? },
            _ => Self::To {
                deadline: Deadline::arbitrary(u)?,
                delta: i8::try_from(byte(u)? % 5).unwrap_or(0) - 2,
            },
        })
    }
}

/// Session settings as plain numbers, for the model.
#[derive(Debug, Clone, Copy)]
struct Limits {
    access_ttl: u64,
    idle: u64,
    absolute: u64,
    refresh_ttl: u64,
    grace: u64,
    leeway: u64,
}

impl Settings {
    fn limits(&self) -> Limits {
        let idle = 1 + u64::from(self.idle) % 3600;
        Limits {
            access_ttl: 1 + u64::from(self.access_ttl) % 900,
            idle,
            absolute: idle + u64::from(self.absolute_extra) % 7200,
            refresh_ttl: match self.refresh_ttl {
                0 => idle,
                ttl => 1 + u64::from(ttl - 1) % 7200,
            },
            grace: u64::from(self.grace) % idle,
            leeway: [0, 1, 5, 300][usize::from(self.leeway % 4)],
        }
    }
}

fn keyset() -> &'static Keyset {
    static KEYSET_CELL: OnceLock<Keyset> = OnceLock::new();
    KEYSET_CELL.get_or_init(|| Keyset::from_json(KEYSET.as_bytes()).expect("the fixture keyset"))
}

/// A token as the model knows it.
#[derive(Debug, Clone)]
struct Token {
    token: String,
    session: usize,
    jti: String,
    iat: u64,
    exp: u64,
}

#[derive(Debug, Clone)]
struct Grace {
    parent: usize,
    until: u64,
    answer: TokenPair,
}

#[derive(Debug)]
struct Session {
    sid: String,
    sub: &'static str,
    /// In the store's table (not ended, not pruned).
    live: bool,
    /// Ended by an event that revokes its tokens (reuse, timeout seen at a refresh, logout,
    /// logout-all, revocation).
    ended: Option<EndReason>,
    gen: u64,
    /// Index of the current refresh token.
    current: usize,
    /// Index of the previous one, if any.
    parent: Option<usize>,
    last_used: u64,
    expires_at: u64,
    grace: Option<Grace>,
    /// Every access token of the session.
    access: Vec<usize>,
}

/// The reference model: sessions, tokens and the revocation list, from `docs/SESSIONS.md`.
struct Model {
    limits: Limits,
    now: u64,
    sessions: Vec<Session>,
    refresh: Vec<Token>,
    access: Vec<Token>,
    /// The first answer each refresh token got: any later one must be identical.
    answers: HashMap<usize, TokenPair>,
    revoked_tokens: HashMap<String, u64>,
    revoked_sessions: HashMap<String, u64>,
    /// sub -> (before, until)
    cutoffs: HashMap<String, (u64, Option<u64>)>,
}

/// What a refresh must answer.
#[derive(Debug)]
enum Expect {
    Rotate,
    Grace(TokenPair),
    Fail(InvalidGrant),
}

impl Model {
    fn pick(&self, pick: Pick, refresh: bool) -> Option<usize> {
        let len = if refresh {
            self.refresh.len()
        } else {
            self.access.len()
        };
        if len == 0 {
            return None;
        }
        let session = |n: u8| self.sessions.get(usize::from(n) % self.sessions.len());
        match pick {
            Pick::Latest => Some(len - 1),
            Pick::Any(i) => Some(usize::from(i) % len),
            Pick::Current(n) => session(n).map(|s| {
                if refresh {
                    s.current
                } else {
                    s.access[s.access.len() - 1]
                }
            }),
            Pick::Parent(n) => session(n).and_then(|s| {
                if refresh {
                    s.parent
                } else {
                    s.access.len().checked_sub(2).map(|i| s.access[i])
                }
            }),
        }
    }

    fn revoked(&self, token: &Token) -> Option<Revoked> {
        let session = &self.sessions[token.session];
        if self.revoked_tokens.contains_key(&token.jti) {
            return Some(Revoked::Token);
        }
        if self.revoked_sessions.contains_key(&session.sid) {
            return Some(Revoked::Session);
        }
        match self.cutoffs.get(session.sub) {
            Some((before, _)) if token.iat < *before => Some(Revoked::Subject),
            _ => None,
        }
    }

    /// The verifier's verdict on a token of the right type.
    fn verify(&self, token: &Token) -> Result<(), VerifyError> {
        if self.now >= token.exp + self.limits.leeway {
            return Err(VerifyError::Expired);
        }
        self.revoked(token)
            .map_or(Ok(()), |r| Err(VerifyError::Revoked(r)))
    }

    fn expect_refresh(&self, index: usize) -> Expect {
        let token = &self.refresh[index];
        if let Err(e) = self.verify(token) {
            return Expect::Fail(InvalidGrant::Token(e));
        }
        let session = &self.sessions[token.session];
        if !session.live {
            return Expect::Fail(InvalidGrant::UnknownSession);
        }
        if self.now >= session.expires_at {
            return Expect::Fail(InvalidGrant::AbsoluteTimeout);
        }
        if index == session.current {
            if self.now >= session.last_used + self.limits.idle {
                return Expect::Fail(InvalidGrant::IdleTimeout);
            }
            return Expect::Rotate;
        }
        match &session.grace {
            Some(grace) if grace.parent == index && self.now < grace.until => {
                Expect::Grace(grace.answer.clone())
            }
            _ => Expect::Fail(InvalidGrant::Reused),
        }
    }

    fn revoke_until(&self) -> u64 {
        self.now + self.limits.access_ttl + REVOCATION_MARGIN
    }

    /// End session `index`: out of the table, its id revoked.
    fn end(&mut self, index: usize, reason: EndReason) {
        let until = self.revoke_until();
        let session = &mut self.sessions[index];
        session.live = false;
        session.ended.get_or_insert(reason);
        let slot = self
            .revoked_sessions
            .entry(session.sid.clone())
            .or_insert(until);
        *slot = (*slot).max(until);
    }

    fn revoke_jti(&mut self, jti: &str, until: u64) {
        let slot = self.revoked_tokens.entry(jti.to_owned()).or_insert(until);
        *slot = (*slot).max(until);
    }

    /// Check a newly issued pair and add its tokens: generation `gen` of session `index`,
    /// whose absolute end is `end`.
    fn add_pair(&mut self, pair: &TokenPair, index: usize, gen: u64, end: u64) -> usize {
        let now = self.now;
        let remaining = end.saturating_sub(now).max(1);
        let session = &self.sessions[index];
        let (access, access_claims) = inspect(&pair.access_token, index);
        let (refresh, refresh_claims) = inspect(&pair.refresh_token, index);
        for (token, claims, ttl) in [
            // Access tokens are capped at the idle end too (docs/SESSIONS.md).
            (
                &access,
                &access_claims,
                self.limits.access_ttl.min(self.limits.idle),
            ),
            (&refresh, &refresh_claims, self.limits.refresh_ttl),
        ] {
            assert_eq!(claims.sub, session.sub);
            assert_eq!(claims.sid, session.sid);
            assert_eq!(token.iat, now, "iat is not now");
            assert_eq!(
                token.exp,
                now + ttl.min(remaining),
                "exp is not capped right"
            );
        }
        assert_eq!(refresh_claims.gen, Some(gen), "wrong generation");
        assert_eq!(access_claims.gen, None, "an access token with a generation");
        assert_eq!(pair.expires_in, access.exp - now);
        assert_eq!(pair.token_type, "Bearer");
        assert_eq!(pair.sid, session.sid);
        assert!(
            self.refresh.iter().all(|t| t.jti != refresh.jti)
                && self.access.iter().all(|t| t.jti != access.jti),
            "a jti was issued twice"
        );
        self.access.push(access);
        self.refresh.push(refresh);
        let access = self.access.len() - 1;
        self.sessions[index].access.push(access);
        self.refresh.len() - 1
    }

    fn deadline(&self, deadline: Deadline) -> Option<u64> {
        let session = |n: u8| {
            self.sessions
                .get(usize::from(n) % self.sessions.len().max(1))
        };
        match deadline {
            Deadline::Idle(n) => session(n).map(|s| s.last_used + self.limits.idle),
            Deadline::Absolute(n) => session(n).map(|s| s.expires_at),
            Deadline::Grace(n) => session(n).and_then(|s| s.grace.as_ref().map(|g| g.until)),
            Deadline::AccessExp(pick) => self.pick(pick, false).map(|i| self.access[i].exp),
            Deadline::RefreshExp(pick) => self.pick(pick, true).map(|i| self.refresh[i].exp),
            Deadline::Revocation(n) => {
                session(n).and_then(|s| self.revoked_sessions.get(&s.sid).copied())
            }
        }
    }
}

/// The claims the model reads from an issued token.
#[derive(Deserialize)]
struct IssuedClaims {
    sub: String,
    sid: String,
    jti: String,
    iat: u64,
    exp: u64,
    gen: Option<u64>,
}

/// A token as the model knows it, and its claims: decoded directly (the token is our own;
/// the verifier's parser is not what this target is about, and this is the hot path).
fn inspect(token: &str, session: usize) -> (Token, IssuedClaims) {
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        .and_then(|c| serde_json::from_slice::<IssuedClaims>(&c).ok())
        .expect("an issued token has the registered claims");
    let token = Token {
        token: token.to_owned(),
        session,
        jti: claims.jti.clone(),
        iat: claims.iat,
        exp: claims.exp,
    };
    (token, claims)
}

struct World {
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    nodes: [SessionManager; 2],
    model: Model,
}

impl World {
    fn new(limits: Limits) -> Self {
        let clock = Arc::new(ManualClock::new(NOW));
        let store = Arc::new(MemoryStore::new());
        let config = SessionConfig::default()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .access_ttl(Duration::from_secs(limits.access_ttl))
            .idle_timeout(Duration::from_secs(limits.idle))
            .absolute_timeout(Duration::from_secs(limits.absolute))
            .refresh_ttl(Duration::from_secs(limits.refresh_ttl))
            .grace(Duration::from_secs(limits.grace))
            .leeway(Duration::from_secs(limits.leeway))
            .clock(clock.clone())
            .event_key(b"gatepass fuzz");
        let node = || {
            SessionManager::new(keyset(), store.clone(), config.clone())
                .unwrap_or_else(|e| panic!("settings {limits:?} refused: {e}"))
        };
        Self {
            nodes: [node(), node()],
            clock,
            store,
            model: Model {
                limits,
                now: NOW,
                sessions: Vec::new(),
                refresh: Vec::new(),
                access: Vec::new(),
                answers: HashMap::new(),
                revoked_tokens: HashMap::new(),
                revoked_sessions: HashMap::new(),
                cutoffs: HashMap::new(),
            },
        }
    }
}

impl World {
    fn node(&self, second: bool) -> &SessionManager {
        &self.nodes[usize::from(second)]
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Login { subject, node } => self.login(subject, node),
            Op::Refresh { token, node } => {
                if let Some(index) = self.model.pick(token, true) {
                    self.refresh(index, node);
                }
            }
            Op::Race { token, times } => {
                if let Some(index) = self.model.pick(token, true) {
                    for attempt in 0..2 + times % 3 {
                        self.refresh(index, attempt % 2 == 1);
                    }
                }
            }
            Op::Logout { access, node } => {
                if let Some(index) = self.model.pick(access, false) {
                    self.logout(index, node);
                }
            }
            Op::LogoutAll { subject, node } => self.logout_all(subject, node),
            Op::Revoke {
                refresh,
                token,
                hint,
            } => {
                if let Some(index) = self.model.pick(token, refresh) {
                    self.revoke(refresh, index, hint);
                }
            }
            Op::Check { access } => {
                if let Some(index) = self.model.pick(access, false) {
                    let _ = self.check_access(index);
                }
            }
            Op::Prune => self.prune(),
            Op::Advance { secs } => self.set_now(self.model.now + u64::from(secs)),
            Op::To { deadline, delta } => {
                if let Some(at) = self.model.deadline(deadline) {
                    self.set_now(at.saturating_add_signed(i64::from(delta)));
                }
            }
        }
    }

    fn set_now(&mut self, now: u64) {
        if now > self.model.now {
            self.model.now = now;
            self.clock.set(now);
        }
    }

    fn login(&mut self, subject: u8, node: bool) {
        let sub = SUBJECTS[usize::from(subject) % SUBJECTS.len()];
        let now = self.model.now;
        let pair = block_on(self.node(node).login_at(sub, CustomClaims::new(), now))
            .unwrap_or_else(|e| panic!("login refused: {e}"));
        let model = &mut self.model;
        assert!(
            model.sessions.iter().all(|s| s.sid != pair.sid),
            "a session id was issued twice"
        );
        let expires_at = now + model.limits.absolute;
        model.sessions.push(Session {
            sid: pair.sid.clone(),
            sub,
            live: true,
            ended: None,
            gen: 0,
            current: usize::MAX,
            parent: None,
            last_used: now,
            expires_at,
            grace: None,
            access: Vec::new(),
        });
        let index = model.sessions.len() - 1;
        let current = model.add_pair(&pair, index, 0, expires_at);
        model.sessions[index].current = current;
    }

    fn refresh(&mut self, index: usize, node: bool) {
        let model = &mut self.model;
        let expect = model.expect_refresh(index);
        let token = model.refresh[index].clone();
        let result = block_on(self.nodes[usize::from(node)].refresh_at(&token.token, model.now));
        if let Ok(pair) = &result {
            // The chain never forks: one token, one answer, however often it is presented.
            if let Some(first) = model.answers.get(&index) {
                assert_eq!(
                    pair, first,
                    "a refresh token got a second, different answer"
                );
            }
        }
        match expect {
            Expect::Fail(reason) => {
                assert_eq!(result, Err(SessionError::InvalidGrant(reason.clone())));
                let reason = match reason {
                    InvalidGrant::Reused => EndReason::Reuse,
                    InvalidGrant::IdleTimeout => EndReason::IdleTimeout,
                    InvalidGrant::AbsoluteTimeout => EndReason::AbsoluteTimeout,
                    _ => return,
                };
                model.end(token.session, reason);
            }
            Expect::Grace(answer) => {
                assert_eq!(result.as_ref(), Ok(&answer), "the grace answer differs");
            }
            Expect::Rotate => {
                let pair = result.unwrap_or_else(|e| panic!("the current token refused: {e}"));
                assert!(
                    model.answers.insert(index, pair.clone()).is_none(),
                    "a refresh token rotated twice"
                );
                let session = &model.sessions[token.session];
                let (gen, end) = (session.gen + 1, session.expires_at);
                let next = model.add_pair(&pair, token.session, gen, end);
                let grace = model.limits.grace;
                let now = model.now;
                let session = &mut model.sessions[token.session];
                session.gen = gen;
                session.parent = Some(index);
                session.current = next;
                session.last_used = now;
                session.grace = (grace > 0).then(|| Grace {
                    parent: index,
                    until: now + grace,
                    answer: pair,
                });
            }
        }
    }

    fn logout(&mut self, index: usize, node: bool) {
        let model = &mut self.model;
        let token = model.access[index].clone();
        let manager = &self.nodes[usize::from(node)];
        let verified = manager.authenticate(&token.token);
        match (model.verify(&token), verified) {
            (Ok(()), Ok(verified)) => {
                block_on(manager.logout(&verified)).expect("logout");
                model.end(token.session, EndReason::Logout);
            }
            (Err(expected), actual) => {
                assert_eq!(actual.err(), Some(SessionError::InvalidToken(expected)));
            }
            (Ok(()), Err(e)) => panic!("a valid access token refused: {e}"),
        }
    }

    fn logout_all(&mut self, subject: u8, node: bool) {
        let sub = SUBJECTS[usize::from(subject) % SUBJECTS.len()];
        let model = &mut self.model;
        let ended = block_on(self.nodes[usize::from(node)].logout_all_at(sub, model.now))
            .expect("logout-all");
        let live: Vec<usize> = (0..model.sessions.len())
            .filter(|&i| model.sessions[i].live && model.sessions[i].sub == sub)
            .collect();
        assert_eq!(
            ended,
            live.len(),
            "logout-all ended another number of sessions"
        );
        for index in live {
            model.end(index, EndReason::LogoutAll);
        }
        let (now, until) = (model.now, model.revoke_until());
        let cutoff = model
            .cutoffs
            .entry(sub.to_owned())
            .or_insert((now, Some(until)));
        cutoff.0 = cutoff.0.max(now);
        cutoff.1 = cutoff.1.map(|u| u.max(until));
    }

    fn revoke(&mut self, refresh: bool, index: usize, hint: Hint) {
        let model = &mut self.model;
        let token = if refresh {
            model.refresh[index].clone()
        } else {
            model.access[index].clone()
        };
        let hint = match hint {
            Hint::None => None,
            Hint::Access => Some("access_token"),
            Hint::Refresh => Some("refresh_token"),
            Hint::Other => Some("id_token"),
        };
        block_on(self.nodes[0].revoke(&token.token, hint)).expect("revocation");
        // RFC 7009 as documented: a refresh token ends its session, an access token is
        // revoked alone, anything that does not verify is ignored.
        if model.verify(&token).is_ok() {
            if refresh {
                model.end(token.session, EndReason::Revoked);
            } else {
                model.revoke_jti(&token.jti, token.exp + REVOCATION_MARGIN);
            }
        }
    }

    /// The verifier's verdict on access token `index`, checked against the model's.
    fn check_access(&self, index: usize) -> Result<(), VerifyError> {
        let token = &self.model.access[index];
        let actual = self.nodes[usize::from(index % 2 == 1)]
            .verifier()
            .verify_access(&token.token)
            .map(|_| ());
        assert_eq!(
            actual,
            self.model.verify(token),
            "access token of session {} (ended: {:?})",
            token.session,
            self.model.sessions[token.session].ended
        );
        actual
    }

    fn prune(&mut self) {
        let report = block_on(self.nodes[1].prune()).expect("prune");
        let model = &mut self.model;
        let now = model.now;
        let idle = model.limits.idle;
        let mut removed = 0;
        for session in &mut model.sessions {
            if session.live && (session.last_used + idle).min(session.expires_at) <= now {
                session.live = false;
                removed += 1;
            }
            if session.grace.as_ref().is_some_and(|g| g.until <= now) {
                session.grace = None;
            }
        }
        let before =
            model.revoked_tokens.len() + model.revoked_sessions.len() + model.cutoffs.len();
        model.revoked_tokens.retain(|_, until| *until > now);
        model.revoked_sessions.retain(|_, until| *until > now);
        model
            .cutoffs
            .retain(|_, (_, until)| until.is_none_or(|u| u > now));
        let after = model.revoked_tokens.len() + model.revoked_sessions.len() + model.cutoffs.len();
        assert_eq!(
            report.sessions_removed, removed,
            "prune removed other sessions"
        );
        assert_eq!(report.revocations_removed, before - after);
        assert_eq!(
            report.sessions_live,
            model.sessions.iter().filter(|s| s.live).count()
        );
    }

    /// The store holds exactly the model's live sessions, each with one current token.
    fn check_store(&self) {
        let model = &self.model;
        for session in &model.sessions {
            let stored = block_on(self.store.session(&session.sid)).expect("a memory read");
            if !session.live {
                assert_eq!(stored, None, "an ended session is still in the store");
                continue;
            }
            let stored: SessionRecord = stored.expect("a live session is in the store");
            let current = &model.refresh[session.current];
            assert_eq!(stored.sub, session.sub);
            assert_eq!(stored.gen, session.gen, "the store's generation");
            assert_eq!(stored.refresh_jti, current.jti, "the store's current token");
            assert_eq!(stored.last_used_at, session.last_used);
            assert_eq!(stored.expires_at, session.expires_at);
            assert_eq!(stored.idle_timeout, model.limits.idle);
            match (&stored.grace, &session.grace) {
                (None, None) => {}
                (Some(stored), Some(grace)) => {
                    assert_eq!(stored.parent_jti, model.refresh[grace.parent].jti);
                    assert_eq!(stored.until, grace.until);
                    // Kept sealed: nothing in the store rebuilds either token (the
                    // refresh path opens it, and the grace answers above are checked
                    // byte for byte).
                    let kept = [
                        &stored.successor.access_token,
                        &stored.successor.refresh_token,
                    ];
                    for token in [&grace.answer.access_token, &grace.answer.refresh_token] {
                        let signature = token.rsplit('.').next().unwrap_or(token);
                        assert!(
                            kept.iter().all(|k| !k.contains(signature)),
                            "a grace successor is stored in clear"
                        );
                    }
                    assert_eq!(stored.successor.expires_in, grace.answer.expires_in);
                }
                (stored, model) => panic!("grace entry {stored:?}, model {model:?}"),
            }
        }
    }

    /// Every access token ever issued gets the model's verdict; those of ended sessions
    /// are `revoked` until they expire.
    fn check_every_access_token(&self) {
        for (index, token) in self.model.access.iter().enumerate() {
            let actual = self.check_access(index);
            let session = &self.model.sessions[token.session];
            if session.ended.is_some() && self.model.now < token.exp + self.model.limits.leeway {
                assert!(
                    matches!(actual, Err(VerifyError::Revoked(_))),
                    "an access token of a session ended by {:?} still verifies",
                    session.ended
                );
            }
        }
    }
}
