//! The session layer's boundary errors: [`SessionError`], and [`InvalidGrant`], the
//! reason a refresh is refused. They sit with the module that owns them.

use std::fmt;

use crate::error::{IssueError, VerifyError};
use crate::revocation::StoreError;

/// Why a refresh token (or a login's result) was refused: every variant is answered as
/// OAuth's `invalid_grant` (docs/REFERENCE.md §2), with this as the description.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidGrant {
    /// The refresh token itself did not verify (bad signature, expired, wrong type...).
    Token(VerifyError),
    /// The store does not know the session: ended, wiped, or another deployment's.
    UnknownSession,
    /// The token had already been rotated: the session has now been ended.
    Reused,
    /// No refresh within the idle timeout.
    IdleTimeout,
    /// Past the session's absolute lifetime.
    AbsoluteTimeout,
    /// A retry within the grace window, whose kept answer can no longer be read: the key
    /// that signed (and sealed) it has left the keyset. The client logs in again.
    GraceUnreadable,
    /// The refresh token is bound to a DPoP key (`cnf.jkt`) and the refresh came without
    /// a proof (RFC 9449 §5: a bound refresh token is redeemed only with its key).
    DpopProofRequired,
    /// The refresh token is bound to another DPoP key than the proof's.
    DpopKeyMismatch,
}

impl fmt::Display for InvalidGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(err) => write!(f, "the refresh token is invalid: {err}"),
            Self::UnknownSession => f.write_str("the session is unknown or has ended"),
            Self::Reused => {
                f.write_str("the refresh token was already used; the session has been revoked")
            }
            Self::IdleTimeout => f.write_str("the session timed out after inactivity"),
            Self::AbsoluteTimeout => f.write_str("the session reached its maximum lifetime"),
            Self::GraceUnreadable => f.write_str(
                "the refresh token was already rotated and its answer is no longer available; \
                 log in again",
            ),
            Self::DpopProofRequired => f.write_str(
                "the refresh token is bound to a DPoP key; the refresh needs a proof by that key",
            ),
            Self::DpopKeyMismatch => {
                f.write_str("the refresh token is bound to another DPoP key than the proof's")
            }
        }
    }
}

/// Why a session operation failed.
///
/// ```
/// use gatepass::{InvalidGrant, SessionError};
/// let err = SessionError::InvalidGrant(InvalidGrant::Reused);
/// assert_eq!(err.kind(), "invalid_grant");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The presented grant (refresh token) is not acceptable. HTTP 400 `invalid_grant`.
    InvalidGrant(InvalidGrant),
    /// The presented access token is not acceptable (logout with a bad token).
    InvalidToken(VerifyError),
    /// The store failed, or the revocation view is too stale to judge a token; nothing was
    /// acknowledged (a refresh whose reply timed out may still have rotated on the server).
    /// HTTP 503.
    Store(StoreError),
    /// Signing the new tokens failed. HTTP 500.
    Issue(IssueError),
    /// The keyset has no active signing key (the last one was revoked, retired or
    /// removed): nothing can be issued until one is activated. Verification and logout
    /// keep working. HTTP 503 with `Retry-After`.
    NoSigningKey,
    /// The session handle is not one of the caller's live sessions (ended, never
    /// existed, or another subject's: the answer is the same). HTTP 404 `not_found`.
    SessionNotFound,
}

impl SessionError {
    /// A stable machine-readable kind: `invalid_grant`, `invalid_token`,
    /// `store_unavailable`, `no_signing_key`, `not_found` or `server_error`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidGrant(_) => "invalid_grant",
            Self::InvalidToken(_) => "invalid_token",
            Self::Store(_) => "store_unavailable",
            Self::Issue(_) => "server_error",
            Self::NoSigningKey => "no_signing_key",
            Self::SessionNotFound => "not_found",
        }
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidGrant(why) => write!(f, "{why}"),
            Self::InvalidToken(why) => write!(f, "the access token is invalid: {why}"),
            Self::Store(why) => write!(f, "{why}"),
            Self::Issue(why) => write!(f, "{why}"),
            Self::NoSigningKey => f.write_str("the keyset has no active signing key"),
            Self::SessionNotFound => f.write_str("no such session"),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<StoreError> for SessionError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<IssueError> for SessionError {
    fn from(err: IssueError) -> Self {
        Self::Issue(err)
    }
}
