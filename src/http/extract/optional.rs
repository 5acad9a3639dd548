//! `Option<Authenticated<C>>`: optional authentication (axum 0.8's
//! [`OptionalFromRequestParts`]).

use axum::extract::OptionalFromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::Authenticated;
use crate::http::rejection::AuthRejection;

/// `None` when the request carries no Bearer credentials (no `Authorization` header, or
/// another scheme); `Some` for a valid token; and still the 400/401 rejection for malformed
/// or invalid credentials, which are a client bug to report, not an anonymous visit.
impl<S, C> OptionalFromRequestParts<S> for Authenticated<C>
where
    S: Send + Sync,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, AuthRejection> {
        super::verify_parts(parts)
            .await
            .inspect_err(AuthRejection::trace)
    }
}
