//! DPoP (RFC 9449) for the adapter: what a layer (or the auth server) needs to check a
//! request's proof — the mode, the public origin its `htu` is compared with, the proof
//! verifier and the replay cache — and the `Authorization: DPoP` credentials.

use std::fmt;
use std::sync::Arc;

use axum::http::{HeaderMap, Method};

use super::bearer::{parse_scheme, BearerCredentials};
use crate::dpop::{single_proof, DpopError, DpopVerifier, VerifiedProof};
use crate::error::ConfigError;
use crate::revocation::ReplayCache;

/// Whether DPoP is the only way in, or accepted beside plain Bearer tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopMode {
    /// Bearer tokens still work (unbound ones: a token bound to a key is refused as
    /// Bearer); `DPoP` credentials are checked when sent. At the auth server, a login or
    /// refresh without a proof gets Bearer tokens.
    Optional,
    /// Only `DPoP` credentials: Bearer tokens are refused. At the auth server, login and
    /// refresh need a proof and always issue bound tokens.
    Required,
}

impl DpopMode {
    /// `"optional"` or `"required"`, as `--dpop` takes it.
    ///
    /// ```
    /// assert_eq!(gatepass::DpopMode::Required.as_str(), "required");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
}

/// How a layer or the auth server checks DPoP proofs: the [`DpopMode`], the public origin
/// the server is reached at (the proof's `htu` must be that origin plus the request's
/// path: the `Host` header is never trusted for it), the [`DpopVerifier`] (default
/// settings unless [`verifier`](Self::verifier) replaces it) and the [`ReplayCache`] that
/// refuses a proof seen before — a shared store when several nodes serve one API, so a
/// proof replayed to another node is refused too.
///
/// ```
/// use std::sync::Arc;
/// use gatepass::{DpopConfig, DpopMode, MemoryReplayCache};
///
/// let dpop = DpopConfig::new(
///     DpopMode::Required,
///     "https://api.example.com/",
///     Arc::new(MemoryReplayCache::new(100_000)),
/// )?;
/// assert_eq!(dpop.public_origin(), "https://api.example.com");
/// assert_eq!(dpop.request_uri("/orders"), "https://api.example.com/orders");
/// assert!(DpopConfig::new(DpopMode::Optional, "api.example.com", Arc::new(MemoryReplayCache::new(1))).is_err());
/// # Ok::<(), gatepass::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct DpopConfig {
    mode: DpopMode,
    origin: String,
    verifier: Arc<DpopVerifier>,
    replay: Arc<dyn ReplayCache>,
}

impl fmt::Debug for DpopConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopConfig")
            .field("mode", &self.mode)
            .field("origin", &self.origin)
            .field("replay", &self.replay)
            .finish_non_exhaustive()
    }
}

/// A proof that verified for a request, with the replay check still to do (it may need
/// a network round trip, so the caller awaits it).
pub(crate) struct CheckedProof {
    pub(crate) proof: VerifiedProof,
    pub(crate) replay: Arc<dyn ReplayCache>,
    pub(crate) now: crate::clock::UnixTime,
}

impl CheckedProof {
    /// Remember the proof; `Err` when it was seen before or the cache cannot answer.
    pub(crate) async fn check_replay(self) -> Result<VerifiedProof, DpopError> {
        crate::dpop::check_replay(&*self.replay, &self.proof, self.now).await?;
        Ok(self.proof)
    }
}

impl DpopConfig {
    /// DPoP in `mode`, for a server whose clients reach it at `public_origin`
    /// (`https://host[:port]`, a trailing `/` allowed), remembering proofs in `replay`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPublicOrigin`] for anything but an absolute `http`/`https`
    /// URL without path, query, fragment or user info.
    pub fn new(
        mode: DpopMode,
        public_origin: &str,
        replay: Arc<dyn ReplayCache>,
    ) -> Result<Self, ConfigError> {
        let verifier = DpopVerifier::builder().build()?;
        Ok(Self {
            mode,
            origin: origin(public_origin)?,
            verifier: Arc::new(verifier),
            replay,
        })
    }

    /// Check proofs with `verifier` instead of the default one (60 s window, 5 s leeway,
    /// EdDSA, ES256 and ES384).
    #[must_use]
    pub fn verifier(mut self, verifier: DpopVerifier) -> Self {
        self.verifier = Arc::new(verifier);
        self
    }

    /// The mode.
    pub fn mode(&self) -> DpopMode {
        self.mode
    }

    /// The public origin, without a trailing `/`.
    pub fn public_origin(&self) -> &str {
        &self.origin
    }

    /// The absolute URI of `path` on this server: what a proof's `htu` must be.
    pub fn request_uri(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Check the request's one `DPoP` proof for `method` and `path`, made for
    /// `access_token` (`None` at a token endpoint). The replay check is left to the caller.
    pub(crate) fn check(
        &self,
        headers: &HeaderMap,
        method: &Method,
        path: &str,
        access_token: Option<&str>,
    ) -> Result<CheckedProof, DpopError> {
        let proof = proof_header(headers)?;
        let now = self.verifier.now();
        let proof = self.verifier.verify_at(
            proof,
            method.as_str(),
            &self.request_uri(path),
            access_token,
            now,
        )?;
        Ok(CheckedProof {
            proof,
            replay: Arc::clone(&self.replay),
            now,
        })
    }
}

/// Whether the request has any `DPoP` header field (the auth server's optional mode).
#[cfg(feature = "server")]
pub(crate) fn has_proof(headers: &HeaderMap) -> bool {
    headers.contains_key("dpop")
}

/// The request's one `DPoP` header value (RFC 9449 §4.3 point 1: exactly one field).
fn proof_header(headers: &HeaderMap) -> Result<&str, DpopError> {
    let values: Vec<&str> = headers
        .get_all("dpop")
        .iter()
        .map(|v| v.to_str().map_err(|_| DpopError::NotExactlyOneProof))
        .collect::<Result<_, _>>()?;
    single_proof(values)
}

/// `https://host[:port]` from what an operator wrote, or the refusal.
fn origin(raw: &str) -> Result<String, ConfigError> {
    let trimmed = raw.strip_suffix('/').unwrap_or(raw);
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or(ConfigError::InvalidPublicOrigin)?;
    let authority_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !authority_ok {
        return Err(ConfigError::InvalidPublicOrigin);
    }
    Ok(trimmed.to_owned())
}

/// What the `Authorization` header holds for a DPoP-aware layer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DpopCredentials<'a> {
    /// `DPoP <token>`.
    Dpop(&'a str),
    /// Anything else: Bearer, another scheme, nothing, malformed Bearer.
    Other,
    /// `DPoP` followed by anything but one token68-like b64token.
    Malformed(super::bearer::MalformedCredentials),
}

impl<'a> DpopCredentials<'a> {
    pub(crate) fn from_headers(headers: &'a HeaderMap) -> Self {
        let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
        match (values.next(), values.next()) {
            (Some(value), None) => match parse_scheme(value.as_bytes(), b"dpop") {
                BearerCredentials::Token(token) => Self::Dpop(token),
                BearerCredentials::Malformed(why) => Self::Malformed(why),
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::http::MalformedCredentials;

    #[test]
    fn origins_are_scheme_and_authority_only() {
        assert_eq!(
            origin("https://a.example").as_deref(),
            Ok("https://a.example")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert_eq!(origin("http://[::1]:80").as_deref(), Ok("http://[::1]:80"));
        for bad in [
            "",
            "a.example",
            "ftp://a",
            "https://",
            "https://a/b",
            "https://a?x",
            "https://u@a",
        ] {
            assert_eq!(origin(bad), Err(ConfigError::InvalidPublicOrigin), "{bad}");
        }
    }

    #[test]
    fn the_dpop_scheme_is_parsed_like_bearer() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("DPoP abc.def"));
        assert_eq!(
            DpopCredentials::from_headers(&headers),
            DpopCredentials::Dpop("abc.def")
        );
        headers.insert("authorization", HeaderValue::from_static("dpop a b"));
        assert_eq!(
            DpopCredentials::from_headers(&headers),
            DpopCredentials::Malformed(MalformedCredentials::TrailingData)
        );
        headers.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(
            DpopCredentials::from_headers(&headers),
            DpopCredentials::Other
        );
    }

    #[test]
    fn exactly_one_proof_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(proof_header(&headers), Err(DpopError::NotExactlyOneProof));
        headers.append("dpop", HeaderValue::from_static("a.b.c"));
        assert_eq!(proof_header(&headers), Ok("a.b.c"));
        headers.append("dpop", HeaderValue::from_static("d.e.f"));
        assert_eq!(proof_header(&headers), Err(DpopError::NotExactlyOneProof));
    }
}
