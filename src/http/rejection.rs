//! Why a request was not authenticated, and the RFC 6750 §3 response that says so.

use std::fmt;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::bearer::MalformedCredentials;
use crate::dpop::{DpopError, DpopErrorCode};
use crate::error::VerifyError;

/// The `realm` of every `Bearer` challenge gatepass writes (docs/REFERENCE.md §2).
///
/// ```
/// assert_eq!(gatepass::REALM, "gatepass");
/// ```
pub const REALM: &str = "gatepass";

/// The challenge for a request without Bearer credentials: no `error` attribute (RFC 6750 §3.1).
const BARE_CHALLENGE: &str = "Bearer realm=\"gatepass\"";

/// The `DPoP` challenge (RFC 9449 §7.1), naming the algorithms a proof may use: those
/// of the default [`DpopVerifier`](crate::DpopVerifier).
const DPOP_CHALLENGE: &str = "DPoP algs=\"EdDSA ES256 ES384\"";

/// Why a request was refused, as the [`AuthLayer`](crate::AuthLayer) and the
/// [`Authenticated`](crate::Authenticated) extractor report it.
///
/// It is a response ([`IntoResponse`]): the status, a `WWW-Authenticate: Bearer` challenge
/// with the RFC 6750 error attributes, `Cache-Control: no-store` and a JSON body
/// `{"error": ..., "error_description": ...}`.
///
/// | variant | status | challenge / body `error` |
/// |---|---|---|
/// | [`MissingCredentials`](Self::MissingCredentials) | 401 | `Bearer realm="gatepass"` / `missing_credentials` |
/// | [`InvalidRequest`](Self::InvalidRequest) | 400 | `error="invalid_request"` |
/// | [`InvalidToken`](Self::InvalidToken) | 401 | `error="invalid_token"` |
/// | [`InsufficientScope`](Self::InsufficientScope) | 403 | `error="insufficient_scope"`, `scope="..."` |
/// | [`KeysUnavailable`](Self::KeysUnavailable) | 503 | none / `temporarily_unavailable` |
/// | [`RevocationsUnavailable`](Self::RevocationsUnavailable) | 503 | none / `temporarily_unavailable` |
/// | [`MissingVerifier`](Self::MissingVerifier) | 500 | none / `server_error` |
/// | [`Dpop`](Self::Dpop) | 401 (503 when the replay cache cannot answer) | `DPoP algs="…", error="invalid_dpop_proof"` (or `use_dpop_nonce`; `invalid_token` for a token not bound to the proof's key) |
/// | [`DpopInvalidToken`](Self::DpopInvalidToken) | 401 | `DPoP algs="…", error="invalid_token"` |
/// | [`BearerNotAccepted`](Self::BearerNotAccepted) | 401 | `DPoP algs="…", error="invalid_token"` |
/// | [`MissingDpopCredentials`](Self::MissingDpopCredentials) | 401 | `DPoP algs="…"` (and `Bearer realm="gatepass"` when Bearer is accepted) / `missing_credentials` |
///
/// The `error_description` comes from the [`VerifyError`]'s kind and message (never from
/// the token), reduced to the characters RFC 6750 allows in the header: `"` becomes `'`,
/// `\` becomes `/`, and anything outside printable ASCII becomes `?`.
///
/// ```
/// use gatepass::{AuthRejection, VerifyError};
///
/// let rejection = AuthRejection::from(VerifyError::Expired);
/// assert_eq!(rejection.status(), 401);
/// assert_eq!(
///     rejection.www_authenticate().unwrap(),
///     r#"Bearer realm="gatepass", error="invalid_token", error_description="expired: the token has expired""#,
/// );
/// assert_eq!(AuthRejection::MissingCredentials.www_authenticate().unwrap(), r#"Bearer realm="gatepass""#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No Bearer credentials: no `Authorization` header (and no token cookie, when one is
    /// configured), or credentials of another scheme.
    MissingCredentials,
    /// The credentials are malformed: `Bearer` followed by anything but one b64token,
    /// several `Authorization` headers, or a duplicated or invalid token cookie.
    InvalidRequest(MalformedCredentials),
    /// The token did not verify: bad, expired, revoked, refresh-typed, ...
    /// ([`VerifyError::KeysUnavailable`] is [`KeysUnavailable`](Self::KeysUnavailable)).
    InvalidToken(VerifyError),
    /// The token verified but does not grant every scope the route requires.
    InsufficientScope {
        /// The required scopes, space-separated (the challenge's `scope` attribute).
        required: String,
    },
    /// The verifier's key source could not answer (an unreachable JWKS past its staleness
    /// bound): the token may be fine, so this is the server's failure, 503, not the client's.
    KeysUnavailable,
    /// The verifier's revocation view is too stale to trust (a shared store unreachable
    /// past its staleness bound): fail closed with 503, the token may be fine.
    RevocationsUnavailable,
    /// An [`Authenticated`](crate::Authenticated) extractor found neither claims from an
    /// [`AuthLayer`](crate::AuthLayer) nor an `Arc<Verifier>` extension: a wiring mistake, 500.
    /// (A layer built with `with_claims::<T>()` serves `Authenticated<T>` only; one built
    /// with `AuthLayer::new` serves every claims type.)
    MissingVerifier,
    /// With DPoP configured: the `DPoP` proof was refused (missing, malformed, for another
    /// method or URI, stale, replayed, without `ath`, ...), or the token is not bound to
    /// the proof's key. [`DpopError::error_code`] gives the challenge's `error`.
    Dpop(DpopError),
    /// With DPoP configured: under `Authorization: DPoP`, the access token did not verify.
    DpopInvalidToken(VerifyError),
    /// With DPoP configured: Bearer credentials where they are not accepted — a token
    /// bound to a key (`bound`: it carries `cnf.jkt`, RFC 9449 §7.2), or any token when
    /// DPoP is required.
    BearerNotAccepted {
        /// Whether the token carried a `cnf.jkt` binding.
        bound: bool,
    },
    /// With DPoP configured: no credentials. The answer carries the `DPoP` challenge, and
    /// also the `Bearer` one when Bearer tokens are accepted (RFC 9449 §7.1).
    MissingDpopCredentials {
        /// Whether Bearer tokens are accepted too (DPoP optional).
        bearer_accepted: bool,
    },
}

impl AuthRejection {
    /// The HTTP status of the response.
    ///
    /// ```
    /// use gatepass::{AuthRejection, MalformedCredentials};
    /// assert_eq!(AuthRejection::from(MalformedCredentials::TrailingData).status(), 400);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingCredentials => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::InvalidToken(
                VerifyError::KeysUnavailable | VerifyError::RevocationsUnavailable,
            )
            | Self::KeysUnavailable
            | Self::RevocationsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::MissingVerifier | Self::Dpop(DpopError::InvalidRequestUri) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Dpop(DpopError::ReplayCache(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Dpop(_)
            | Self::DpopInvalidToken(_)
            | Self::BearerNotAccepted { .. }
            | Self::MissingDpopCredentials { .. } => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 §3.1 error code of the challenge, if the challenge has one.
    ///
    /// ```
    /// use gatepass::{AuthRejection, VerifyError};
    /// assert_eq!(AuthRejection::MissingCredentials.error_code(), None);
    /// assert_eq!(AuthRejection::from(VerifyError::BadSignature).error_code(), Some("invalid_token"));
    /// ```
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::InvalidRequest(_) => Some("invalid_request"),
            Self::InvalidToken(
                VerifyError::KeysUnavailable | VerifyError::RevocationsUnavailable,
            ) => None,
            Self::InvalidToken(_) => Some("invalid_token"),
            Self::InsufficientScope { .. } => Some("insufficient_scope"),
            Self::Dpop(DpopError::ReplayCache(_) | DpopError::InvalidRequestUri) => None,
            Self::Dpop(err) => Some(err.error_code().as_str()),
            Self::DpopInvalidToken(_) | Self::BearerNotAccepted { .. } => {
                Some(DpopErrorCode::InvalidToken.as_str())
            }
            Self::MissingCredentials
            | Self::MissingDpopCredentials { .. }
            | Self::KeysUnavailable
            | Self::RevocationsUnavailable
            | Self::MissingVerifier => None,
        }
    }

    /// A stable snake_case name for logs and metrics: the [`VerifyError::kind`] for a bad
    /// token (`expired`, `bad_signature`, ...), else `missing_credentials`,
    /// `invalid_request`, `insufficient_scope`, `keys_unavailable` or `missing_verifier`.
    ///
    /// ```
    /// use gatepass::{AuthRejection, VerifyError};
    /// assert_eq!(AuthRejection::from(VerifyError::Expired).kind(), "expired");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingCredentials => "missing_credentials",
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidToken(err) => err.kind(),
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::KeysUnavailable => "keys_unavailable",
            Self::RevocationsUnavailable => "revocations_unavailable",
            Self::MissingVerifier => "missing_verifier",
            Self::Dpop(err) => err.kind(),
            Self::DpopInvalidToken(err) => err.kind(),
            Self::BearerNotAccepted { bound: true } => "bound_token_as_bearer",
            Self::BearerNotAccepted { bound: false } => "dpop_required",
            Self::MissingDpopCredentials { .. } => "missing_credentials",
        }
    }

    /// Whether the challenge is RFC 9449's `DPoP` scheme rather than `Bearer`.
    fn is_dpop(&self) -> bool {
        matches!(
            self,
            Self::Dpop(_)
                | Self::DpopInvalidToken(_)
                | Self::BearerNotAccepted { .. }
                | Self::MissingDpopCredentials { .. }
        )
    }

    /// The `error_description` (also the JSON body's), before it is reduced to the
    /// header's character set.
    ///
    /// ```
    /// use gatepass::{AuthRejection, Claim, VerifyError};
    /// assert_eq!(
    ///     AuthRejection::from(VerifyError::MissingClaim(Claim::Jti)).description(),
    ///     r#"missing_claim: the required claim "jti" is missing"#,
    /// );
    /// ```
    pub fn description(&self) -> String {
        match self {
            Self::InvalidToken(err) | Self::DpopInvalidToken(err) => {
                format!("{}: {err}", err.kind())
            }
            Self::Dpop(err) => format!("{}: {err}", err.kind()),
            other => other.to_string(),
        }
    }

    /// The `WWW-Authenticate` challenge, or `None` for the server-side failures (5xx).
    /// DPoP rejections answer with the `DPoP` scheme (RFC 9449 §7.1); for
    /// [`MissingDpopCredentials`](Self::MissingDpopCredentials) with Bearer accepted, the
    /// response carries the `Bearer` challenge as a second `WWW-Authenticate` field.
    ///
    /// ```
    /// use gatepass::AuthRejection;
    /// let rejection = AuthRejection::InsufficientScope { required: "admin".into() };
    /// assert_eq!(
    ///     rejection.www_authenticate().unwrap(),
    ///     r#"Bearer realm="gatepass", error="insufficient_scope", error_description="the token does not grant the scope this resource requires", scope="admin""#,
    /// );
    /// ```
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        if self.status().is_server_error() {
            return None;
        }
        let bare = if self.is_dpop() {
            DPOP_CHALLENGE
        } else {
            BARE_CHALLENGE
        };
        let Some(code) = self.error_code() else {
            return Some(HeaderValue::from_static(bare));
        };
        let mut challenge = String::with_capacity(160);
        challenge.push_str(bare);
        push_attribute(&mut challenge, "error", code);
        push_attribute(&mut challenge, "error_description", &self.description());
        if let Self::InsufficientScope { required } = self {
            push_attribute(&mut challenge, "scope", required);
        }
        // Every byte is printable ASCII after `push_attribute`, so this cannot fail; should it
        // ever, the bare challenge is still a correct (if less helpful) answer.
        Some(HeaderValue::try_from(challenge).unwrap_or_else(|_| HeaderValue::from_static(bare)))
    }

    /// The `error` member of the JSON body.
    fn body_error(&self) -> &'static str {
        match self {
            Self::MissingCredentials | Self::MissingDpopCredentials { .. } => "missing_credentials",
            other if other.status() == StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
            Self::MissingVerifier => "server_error",
            other => other.error_code().unwrap_or("server_error"),
        }
    }

    /// Emit the rejection's `tracing` event: debug for the client's mistakes, warn and error
    /// for the server's. Never the token, only the kind.
    pub(crate) fn trace(&self) {
        match self {
            Self::MissingVerifier => tracing::error!(
                target: "gatepass::http",
                kind = self.kind(),
                "Authenticated extractor found no claims of its type and no verifier: add an AuthLayer (one built with_claims::<T>() serves only Authenticated<T>; AuthLayer::new serves every type) or an Extension(Arc<Verifier>)",
            ),
            other if other.status() == StatusCode::SERVICE_UNAVAILABLE => {
                tracing::warn!(
                    target: "gatepass::http",
                    kind = self.kind(),
                    "request refused: {other}",
                );
            }
            Self::InvalidRequest(reason) => tracing::debug!(
                target: "gatepass::http",
                kind = self.kind(),
                reason = reason.as_str(),
                "request refused",
            ),
            _ => tracing::debug!(
                target: "gatepass::http",
                kind = self.kind(),
                status = self.status().as_u16(),
                "request refused",
            ),
        }
    }
}

/// Append `, name="value"` with `value` reduced to RFC 6750's attribute characters
/// (`%x20-21 / %x23-5B / %x5D-7E`: printable ASCII without `"` and `\`), so nothing can
/// close the quoted string or smuggle a header line.
fn push_attribute(out: &mut String, name: &str, value: &str) {
    out.push_str(", ");
    out.push_str(name);
    out.push_str("=\"");
    out.extend(value.chars().map(|c| match c {
        '"' => '\'',
        '\\' => '/',
        ' '..='~' => c,
        _ => '?',
    }));
    out.push('"');
}

impl From<VerifyError> for AuthRejection {
    fn from(err: VerifyError) -> Self {
        match err {
            VerifyError::KeysUnavailable => Self::KeysUnavailable,
            VerifyError::RevocationsUnavailable => Self::RevocationsUnavailable,
            err => Self::InvalidToken(err),
        }
    }
}

impl From<MalformedCredentials> for AuthRejection {
    fn from(reason: MalformedCredentials) -> Self {
        Self::InvalidRequest(reason)
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingCredentials => f.write_str("the request has no bearer token"),
            Self::InvalidRequest(reason) => fmt::Display::fmt(reason, f),
            Self::InvalidToken(err) => fmt::Display::fmt(err, f),
            Self::InsufficientScope { .. } => {
                f.write_str("the token does not grant the scope this resource requires")
            }
            Self::KeysUnavailable => f.write_str("the verification keys are unavailable"),
            Self::RevocationsUnavailable => {
                f.write_str("the revocation list is unavailable; retry shortly")
            }
            Self::MissingVerifier => f.write_str("authentication is not configured for this route"),
            Self::Dpop(err) => fmt::Display::fmt(err, f),
            Self::DpopInvalidToken(err) => fmt::Display::fmt(err, f),
            Self::BearerNotAccepted { bound: true } => f.write_str(
                "the token is bound to a DPoP key: send it as 'Authorization: DPoP' with a proof",
            ),
            Self::BearerNotAccepted { bound: false } => {
                f.write_str("this resource requires DPoP-bound tokens and a DPoP proof")
            }
            Self::MissingDpopCredentials { .. } => {
                f.write_str("the request has no access token and DPoP proof")
            }
        }
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidToken(err) | Self::DpopInvalidToken(err) => Some(err),
            Self::Dpop(err) => Some(err),
            _ => None,
        }
    }
}

#[derive(serde::Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let description = self.description();
        let body = serde_json::to_vec(&Body {
            error: self.body_error(),
            error_description: &description,
        })
        .unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.www_authenticate() {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        if let Self::MissingDpopCredentials {
            bearer_accepted: true,
        } = self
        {
            headers.append(WWW_AUTHENTICATE, HeaderValue::from_static(BARE_CHALLENGE));
        }
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Claim, Malformed};

    fn challenge(rejection: &AuthRejection) -> String {
        rejection
            .www_authenticate()
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    #[test]
    fn quotes_in_descriptions_never_reach_the_header() {
        let rejection = AuthRejection::from(VerifyError::MissingClaim(Claim::Jti));
        assert_eq!(
            challenge(&rejection),
            "Bearer realm=\"gatepass\", error=\"invalid_token\", \
             error_description=\"missing_claim: the required claim 'jti' is missing\""
        );
        let rejection = AuthRejection::from(VerifyError::Malformed(Malformed::HeaderParameter(
            "x5t#S256",
        )));
        assert!(challenge(&rejection)
            .ends_with("the header parameter 'x5t#S256' has the wrong JSON type\""));
    }

    #[test]
    fn attributes_are_reduced_to_the_rfc_6750_characters() {
        let rejection = AuthRejection::InsufficientScope {
            required: "a\"b\\c\u{e9}\r\nX-Injected: 1".into(),
        };
        let value = challenge(&rejection);
        assert!(
            value.ends_with(r#"scope="a'b/c???X-Injected: 1""#),
            "{value}"
        );
    }

    #[test]
    fn server_failures_have_no_challenge() {
        assert_eq!(AuthRejection::KeysUnavailable.www_authenticate(), None);
        assert_eq!(AuthRejection::MissingVerifier.www_authenticate(), None);
        assert_eq!(
            AuthRejection::from(VerifyError::KeysUnavailable),
            AuthRejection::KeysUnavailable
        );
        assert_eq!(
            AuthRejection::InvalidToken(VerifyError::KeysUnavailable).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
