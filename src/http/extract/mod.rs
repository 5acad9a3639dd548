//! Extractors, one per file, over one shared lookup.

mod authenticated;
mod optional;

pub use authenticated::Authenticated;

use std::sync::Arc;

use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::credentials::find_token;
use super::refetch::KeyWait;
use super::rejection::AuthRejection;
use super::request::TokenSource;
use crate::token::{AccessClaims, Verified, Verifier};

/// The request's authentication: `Ok(None)` when it carries no credentials.
///
/// 1. Claims an [`AuthLayer`](crate::AuthLayer) verified into `C`: cloned.
/// 2. Claims a layer verified into the JSON map: cloned and deserialized into `C`.
/// 3. Claims a layer verified into another type: the same token verified again into `C`
///    with the layer's verifier (a type mismatch is never an error), waiting for the
///    layer's JWKS refetch as the layer does.
/// 4. Else the `Authorization` header, verified with the `Arc<Verifier>` extension.
async fn verify_parts<C>(parts: &Parts) -> Result<Option<Authenticated<C>>, AuthRejection>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    if let Some(verified) = parts.extensions.get::<Verified<AccessClaims<C>>>() {
        return Ok(Some(Authenticated::from(verified.clone())));
    }
    if let Some(verified) = parts.extensions.get::<Verified<AccessClaims>>() {
        let verified = verified.clone().into_custom::<C>()?;
        return Ok(Some(Authenticated::from(verified)));
    }
    if let Some(source) = parts.extensions.get::<Arc<TokenSource>>() {
        let Some(token) = find_token(&parts.headers, source.cookie.as_ref())? else {
            return Ok(None);
        };
        let wait = KeyWait::before(source);
        let verified = match source.verifier.verify_access_typed::<C>(token) {
            Ok(verified) => verified,
            Err(err) => {
                // The layer's keys were just replaced: wait for the refetch, as the layer does.
                let rejection = AuthRejection::from(err);
                if !wait.worth_waiting(&rejection) {
                    return Err(rejection);
                }
                wait.wait().await;
                source.verifier.verify_access_typed::<C>(token)?
            }
        };
        return Ok(Some(Authenticated::from(verified)));
    }
    let Some(token) = find_token(&parts.headers, None)? else {
        return Ok(None);
    };
    let Some(verifier) = parts.extensions.get::<Arc<Verifier>>() else {
        return Err(AuthRejection::MissingVerifier);
    };
    Ok(Some(Authenticated::from(
        verifier.verify_access_typed::<C>(token)?,
    )))
}
