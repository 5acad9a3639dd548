//! The auth endpoints' error answers: OAuth-style JSON bodies, never cached.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::dpop::DpopError;
use crate::session::{InvalidGrant, SessionError};

/// Why an auth endpoint refused a request.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// Wrong username or password: 401 `invalid_credentials`.
    InvalidCredentials,
    /// The refresh token is not acceptable: 400 `invalid_grant`.
    InvalidGrant(InvalidGrant),
    /// The token endpoint's DPoP proof was refused (RFC 9449 §5): 400 with the error code
    /// of the refusal (`invalid_dpop_proof`, or `use_dpop_nonce`); 503 when the replay
    /// cache cannot answer.
    Dpop(DpopError),
    /// The request is malformed: 400 `invalid_request`.
    InvalidRequest(&'static str),
    /// A cookie-mode refresh from an origin that is not allowed (CSRF): 403.
    ForbiddenOrigin,
    /// Not the content type the endpoint takes: 415.
    UnsupportedMediaType(&'static str),
    /// Body over the limit: 413.
    PayloadTooLarge,
    /// Too many login attempts: 429 with `Retry-After`.
    TooManyRequests { retry_after: u64 },
    /// The store is unreachable, or the revocation view too stale to judge a token: 503
    /// with `Retry-After`. Nothing was acknowledged; a refresh whose reply timed out may
    /// still have rotated on the server (docs/DEPLOYMENT.md: set a grace window).
    Unavailable,
    /// The application's user directory could not answer (its database is down): 503
    /// with `Retry-After`. Not a failed attempt.
    DirectoryUnavailable,
    /// No active signing key is loaded: 503 with `Retry-After`; nothing was consumed, so a
    /// refresh token presented now stays usable.
    NoSigningKey,
    /// Every password-hashing thread is busy and the queue is full: 503 with
    /// `Retry-After`. Nothing was checked.
    Busy,
    /// The named session is not one of the caller's live sessions: 404 `not_found`.
    NotFound,
    /// An internal failure (signing, hashing): 500.
    Server,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<String>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, Option<String>) {
        match self {
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials", None),
            Self::InvalidGrant(why) => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                Some(why.to_string()),
            ),
            Self::Dpop(DpopError::ReplayCache(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                Some("the DPoP replay cache is unavailable; retry later".to_owned()),
            ),
            Self::Dpop(why) => (
                StatusCode::BAD_REQUEST,
                why.error_code().as_str(),
                Some(format!("{}: {why}", why.kind())),
            ),
            Self::InvalidRequest(why) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some((*why).to_owned()),
            ),
            Self::ForbiddenOrigin => (
                StatusCode::FORBIDDEN,
                "invalid_request",
                Some("the request's Origin is not allowed to use the refresh cookie".to_owned()),
            ),
            Self::UnsupportedMediaType(expected) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                Some(format!("the body must be {expected}")),
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                Some("the body is larger than 16 KiB".to_owned()),
            ),
            Self::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                Some("too many login attempts; retry later".to_owned()),
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                Some("the session store is unavailable; retry later".to_owned()),
            ),
            Self::DirectoryUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                Some("the user directory is unavailable; retry later".to_owned()),
            ),
            Self::NoSigningKey => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                Some("no signing key is active; retry later".to_owned()),
            ),
            Self::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                Some("the server is busy; retry later".to_owned()),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                Some("no such session".to_owned()),
            ),
            Self::Server => (StatusCode::INTERNAL_SERVER_ERROR, "server_error", None),
        }
    }
}

impl ApiError {
    /// The `outcome` label of the login and refresh counters: a closed set, one value per
    /// way a request ends, `invalid_grant` split by its reason (reuse above all).
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidGrant(why) => match why {
                InvalidGrant::Token(_) => "invalid_grant_token",
                InvalidGrant::UnknownSession => "invalid_grant_unknown_session",
                InvalidGrant::Reused => "invalid_grant_reused",
                InvalidGrant::IdleTimeout => "invalid_grant_idle_timeout",
                InvalidGrant::AbsoluteTimeout => "invalid_grant_absolute_timeout",
                InvalidGrant::GraceUnreadable => "invalid_grant_grace_unreadable",
                InvalidGrant::DpopProofRequired => "invalid_grant_dpop_proof_required",
                InvalidGrant::DpopKeyMismatch => "invalid_grant_dpop_key_mismatch",
            },
            Self::InvalidRequest(_) => "invalid_request",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::TooManyRequests { .. } => "throttled",
            Self::Unavailable | Self::DirectoryUnavailable => "unavailable",
            Self::NoSigningKey => "no_signing_key",
            Self::Busy => "busy",
            Self::NotFound => "not_found",
            Self::Dpop(DpopError::ReplayCache(_)) => "unavailable",
            Self::Dpop(_) => "invalid_dpop_proof",
            Self::Server => "server_error",
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::InvalidGrant(why) => Self::InvalidGrant(why),
            SessionError::Store(_) => Self::Unavailable,
            SessionError::NoSigningKey => Self::NoSigningKey,
            SessionError::SessionNotFound => Self::NotFound,
            _ => Self::Server,
        }
    }
}

/// JSON with `Cache-Control: no-store` (RFC 6749 §5.1: token answers and their errors).
pub(crate) fn no_store_json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("pragma", HeaderValue::from_static("no-cache"));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, error_description) = self.parts();
        tracing::debug!(target: "gatepass::http", status = status.as_u16(), error, "auth request refused");
        let body = serde_json::to_vec(&Body {
            error,
            error_description,
        })
        .unwrap_or_default();
        let mut response = no_store_json(status, body);
        let retry_after = match self {
            Self::TooManyRequests { retry_after } => Some(retry_after),
            Self::Unavailable
            | Self::DirectoryUnavailable
            | Self::Busy
            | Self::Dpop(DpopError::ReplayCache(_)) => Some(1),
            // Key changes are picked up every couple of seconds.
            Self::NoSigningKey => Some(5),
            _ => None,
        };
        if let Some(secs) = retry_after {
            if let Ok(value) = HeaderValue::try_from(secs.to_string()) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
        }
        response
    }
}
