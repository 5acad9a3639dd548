//! The handlers of docs/REFERENCE.md §2's routes.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE, USER_AGENT};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::body;
use super::client_address::client_address;
use super::error::{no_store_json, ApiError};
use super::metrics::{Revocation, StoreOperation};
use super::users::UsersError;
use super::AuthState;
use crate::dpop::VerifiedProof;
use crate::http::{clear_site_data, has_proof, Authenticated, DpopMode};
use crate::revocation::ClientInfo;
use crate::session::{InvalidGrant, RequestContext, SessionError, TokenPair};

/// The token response (RFC 6749 §5.1), with the refresh token moved into the cookie in
/// cookie mode.
fn token_response(state: &AuthState, pair: &TokenPair) -> Result<Response, ApiError> {
    let Some(mode) = &state.cookies else {
        let body = serde_json::to_vec(pair).map_err(|_| ApiError::Server)?;
        return Ok(no_store_json(StatusCode::OK, body));
    };
    let body = serde_json::json!({
        "access_token": pair.access_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
    });
    let mut response = no_store_json(StatusCode::OK, body.to_string().into_bytes());
    let max_age = state.sessions.config().refresh_ttl_secs();
    let cookie = mode
        .cookie
        .set(
            &pair.refresh_token,
            Some(std::time::Duration::from_secs(max_age)),
        )
        .map_err(|_| ApiError::Server)?;
    response.headers_mut().insert(SET_COOKIE, cookie);
    Ok(response)
}

/// The token endpoint's DPoP proof (RFC 9449 §5), checked and remembered: `None` when
/// DPoP is off, or optional and the request has no proof.
async fn token_endpoint_proof(
    state: &AuthState,
    parts: &axum::http::request::Parts,
) -> Result<Option<VerifiedProof>, ApiError> {
    let Some(dpop) = &state.dpop else {
        return Ok(None);
    };
    if dpop.mode() == DpopMode::Optional && !has_proof(&parts.headers) {
        return Ok(None);
    }
    let checked = dpop
        .check(&parts.headers, &parts.method, parts.uri.path(), None)
        .map_err(ApiError::Dpop)?;
    let proof = checked.check_replay().await.map_err(ApiError::Dpop)?;
    Ok(Some(proof))
}

/// The client's address: the TCP peer, or behind a trusted proxy the address it reports.
fn client_ip(state: &AuthState, parts: &axum::http::request::Parts) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    client_address(peer, &parts.headers, &state.trusted_proxies)
}

/// What a session remembers of the client of a login or refresh: its `User-Agent` and
/// its address as [`client_ip`] judges it, both bounded by [`ClientInfo`] (which keeps
/// only the /24 or /48 network). No address without the peer (a router not served with
/// connect info): an unknown client is better than a made-up one.
fn client_info(state: &AuthState, parts: &axum::http::request::Parts) -> ClientInfo {
    let address = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| client_address(info.0.ip(), &parts.headers, &state.trusted_proxies));
    let user_agent = parts
        .headers
        .get(USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    ClientInfo::new(user_agent.as_deref(), address)
}

/// Count a store failure met by `operation`: the session layer's `Store` error is the
/// handlers' `Unavailable`.
fn count_store_error<T>(
    state: &AuthState,
    result: &Result<T, ApiError>,
    operation: StoreOperation,
) {
    if let Err(ApiError::Unavailable) = result {
        state.metrics.store_error(operation);
    }
}

/// A session-layer result as the handlers answer it, its store failure counted under
/// `operation`.
fn counted<T>(
    state: &AuthState,
    operation: StoreOperation,
    result: Result<T, SessionError>,
) -> Result<T, ApiError> {
    let result = result.map_err(ApiError::from);
    count_store_error(state, &result, operation);
    result
}

/// The `outcome` label of a login or refresh answer.
fn outcome(result: &Result<Response, ApiError>) -> &'static str {
    match result {
        Ok(_) => "success",
        Err(e) => e.outcome(),
    }
}

/// `POST /auth/login` `{"username", "password"}`, counted and timed.
pub(crate) async fn login(
    State(state): State<AuthState>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let result = log_in(&state, request).await;
    count_store_error(&state, &result, StoreOperation::Login);
    state.metrics.login(outcome(&result), started.elapsed());
    result
}

async fn log_in(state: &AuthState, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    // The proof first: it is cheap, and a request without a good one never costs a
    // password hash.
    let proof = token_endpoint_proof(state, &parts).await?;
    let ip = client_ip(state, &parts);
    let object = body::json_object(&parts.headers, body, false)
        .await?
        .ok_or(ApiError::InvalidRequest("a JSON body is required"))?;
    let username = body::string_member(&object, "username", "\"username\" must be a string")?;
    let password = body::string_member(&object, "password", "\"password\" must be a string")?;
    state
        .limiter
        .check(username, ip)
        .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    // The directory checks the hash on the bounded hashing threads it is lent, never on
    // an async worker; a refusal for lack of capacity or of its database is not a failure
    // of the client's.
    let checked = state
        .credentials
        .verify_password(username, password, &state.hashing)
        .await;
    let subject = match checked {
        Ok(subject) => subject,
        Err(e) => {
            let refused = directory_error(e);
            if matches!(refused, ApiError::Busy | ApiError::DirectoryUnavailable) {
                state.limiter.cancelled(username, ip);
            }
            return Err(refused);
        }
    };
    let Some(subject) = subject else {
        state.limiter.failed(username);
        state.sessions.login_failed(username);
        return Err(ApiError::InvalidCredentials);
    };
    state.limiter.succeeded(username, ip);
    // The user's own claims (the directory's), then the application's hook, which wins
    // where both name a claim.
    let mut claims = state
        .credentials
        .claims(&subject)
        .await
        .map_err(directory_error)?;
    claims.extend((state.claims_for)(&subject));
    let context = RequestContext::new()
        .client(client_info(state, &parts))
        .maybe_proof(proof.as_ref());
    let pair = state.sessions.login_with(&subject, claims, context).await?;
    token_response(state, &pair)
}

/// What a directory's error answers.
fn directory_error(err: UsersError) -> ApiError {
    match err {
        UsersError::Busy => ApiError::Busy,
        UsersError::Unavailable(why) => {
            tracing::warn!(target: "gatepass::users", event = "directory_unavailable", error = %why);
            ApiError::DirectoryUnavailable
        }
        other => {
            tracing::error!(target: "gatepass::users", event = "directory_failed", kind = other.kind(), error = %other);
            ApiError::Server
        }
    }
}

/// `POST /auth/refresh` `{"refresh_token"}`, or the refresh cookie in cookie mode;
/// counted and timed, a reuse also as a detection and a revocation.
pub(crate) async fn refresh(
    State(state): State<AuthState>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let result = rotate(&state, request).await;
    count_store_error(&state, &result, StoreOperation::Refresh);
    if let Err(ApiError::InvalidGrant(InvalidGrant::Reused)) = &result {
        state.metrics.reuse_detected();
    }
    state.metrics.refresh(outcome(&result), started.elapsed());
    result
}

async fn rotate(state: &AuthState, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let proof = token_endpoint_proof(state, &parts).await?;
    let object = body::json_object(&parts.headers, body, state.cookies.is_some()).await?;
    let from_body = match &object {
        Some(object) => match object.get("refresh_token") {
            Some(value) => Some(value.as_str().ok_or(ApiError::InvalidRequest(
                "\"refresh_token\" must be a string",
            ))?),
            None => None,
        },
        None => None,
    };
    let token = match (from_body, &state.cookies) {
        (Some(token), _) => token.to_owned(),
        (None, Some(mode)) => {
            let cookie = mode
                .cookie
                .find(&parts.headers)
                .map_err(|_| ApiError::InvalidRequest("the refresh cookie is malformed"))?
                .ok_or(ApiError::InvalidRequest(
                    "no refresh token in the body or the cookie",
                ))?;
            if !mode.origin_allowed(&parts.headers) {
                return Err(ApiError::ForbiddenOrigin);
            }
            cookie.to_owned()
        }
        (None, None) => return Err(ApiError::InvalidRequest("\"refresh_token\" is required")),
    };
    let context = RequestContext::new()
        .client(client_info(state, &parts))
        .maybe_proof(proof.as_ref());
    let pair = state.sessions.refresh_with(&token, context).await?;
    token_response(state, &pair)
}

fn logged_out(state: &AuthState) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(mode) = &state.cookies {
        headers.insert(SET_COOKIE, mode.cookie.clear());
        headers.insert("clear-site-data", clear_site_data());
    }
    response
}

/// `POST /auth/logout` with a bearer access token: that session ends. A body is ignored,
/// but one over 16 KiB is still 413 (docs/REFERENCE.md §2), as on every route.
pub(crate) async fn logout(
    State(state): State<AuthState>,
    auth: Authenticated,
    ignored: axum::body::Body,
) -> Result<Response, ApiError> {
    body::read(ignored).await?;
    counted(
        &state,
        StoreOperation::Logout,
        state.sessions.logout_claims(auth.claims()).await,
    )?;
    state.metrics.revoked(Revocation::Logout, 1);
    Ok(logged_out(&state))
}

/// `POST /auth/logout-all` with a bearer access token: every session of its subject ends.
/// A body is ignored, but one over 16 KiB is 413.
pub(crate) async fn logout_all(
    State(state): State<AuthState>,
    auth: Authenticated,
    ignored: axum::body::Body,
) -> Result<Response, ApiError> {
    body::read(ignored).await?;
    let sessions = counted(
        &state,
        StoreOperation::LogoutAll,
        state.sessions.logout_all(&auth.claims().sub).await,
    )?;
    state.metrics.revoked(
        Revocation::LogoutAll,
        u64::try_from(sessions).unwrap_or(u64::MAX),
    );
    Ok(logged_out(&state))
}

/// `GET /auth/sessions` with a bearer access token: the subject's live sessions. A body
/// is ignored, but one over 16 KiB is 413.
pub(crate) async fn list_sessions(
    State(state): State<AuthState>,
    auth: Authenticated,
    ignored: axum::body::Body,
) -> Result<Response, ApiError> {
    body::read(ignored).await?;
    let sessions = counted(
        &state,
        StoreOperation::Sessions,
        state.sessions.list_sessions_claims(auth.claims()).await,
    )?;
    let body = serde_json::to_vec(&serde_json::json!({ "sessions": sessions }))
        .map_err(|_| ApiError::Server)?;
    Ok(no_store_json(StatusCode::OK, body))
}

/// `DELETE /auth/sessions/{id}` with a bearer access token: that session of the subject
/// ends, as a logout of it; 404 for a handle that is not one of the subject's live
/// sessions. A body is ignored, but one over 16 KiB is 413.
pub(crate) async fn end_session(
    State(state): State<AuthState>,
    Path(handle): Path<String>,
    auth: Authenticated,
    ignored: axum::body::Body,
) -> Result<Response, ApiError> {
    body::read(ignored).await?;
    counted(
        &state,
        StoreOperation::Sessions,
        state
            .sessions
            .end_session_claims(auth.claims(), &handle)
            .await,
    )?;
    // Ending one session is a logout of it.
    state.metrics.revoked(Revocation::Logout, 1);
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /auth/revoke` (RFC 7009): `token=...&token_type_hint=...`; 200 even for tokens
/// that are unknown or invalid.
pub(crate) async fn revoke(
    State(state): State<AuthState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let params = body::form(&parts.headers, body).await?;
    let find = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let token = find("token")
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::InvalidRequest(
            "the \"token\" parameter is required",
        ))?;
    counted(
        &state,
        StoreOperation::Revoke,
        state.sessions.revoke(token, find("token_type_hint")).await,
    )?;
    // Unknown and invalid tokens included: RFC 7009 answers them alike, so the server
    // cannot tell (and does not say) whether anything was live.
    state.metrics.revoked(Revocation::Revoke, 1);
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /.well-known/jwks.json`: the public keys, cacheable for the rotation policy's
/// max-age.
pub(crate) async fn jwks(State(state): State<AuthState>) -> Response {
    let document = state.jwks();
    let mut response = (StatusCode::OK, document.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, document.cache_control.clone());
    response
}

/// `GET /api/me`: the verified claims of the bearer access token.
pub(crate) async fn me(auth: Authenticated) -> Response {
    let mut response = Json(auth.claims()).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /healthz`: liveness (the process answers).
pub(crate) async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: 200 `{"status": "ready"}` when an active signing key is loaded and the
/// store answers; else 503 `{"status": "unready", "reason"}`, so a load balancer sends
/// logins elsewhere. The reason is one of `no_signing_key`, `store_unreachable`,
/// `store_reseeding`, `store_data_lost`: never the store's own error text (addresses).
pub(crate) async fn readyz(State(state): State<AuthState>) -> Response {
    let (status, body) = match state.sessions.ready().await {
        Ok(()) => (StatusCode::OK, serde_json::json!({ "status": "ready" })),
        Err(SessionError::NoSigningKey) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "unready", "reason": "no_signing_key" }),
        ),
        Err(_) => {
            state.metrics.store_error(StoreOperation::Readiness);
            // The store's own account (reconnecting, re-seeding after a loss of its data)
            // when it has one; never its error text, which may name addresses.
            let readiness = state.sessions.store().readiness();
            let reason = if readiness.is_ready() {
                "store_unreachable"
            } else {
                readiness.as_str()
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "status": "unready", "reason": reason }),
            )
        }
    };
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
