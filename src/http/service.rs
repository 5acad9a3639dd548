//! [`AuthService`]: the service an [`AuthLayer`](crate::AuthLayer) wraps around yours.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::request::Parts;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tower::Service;

use super::dpop::CheckedProof;
use super::future::{AuthResponseFuture, Deferred};
use super::on_rejection::OnRejection;
use super::refetch::KeyWait;
use super::rejection::AuthRejection;
use super::request::Config;

/// Authenticates each request, then calls the inner service or answers the rejection.
/// Made by [`AuthLayer`](crate::AuthLayer); see there.
///
/// Any tower service over `http` requests works as the inner service, not only axum's:
///
/// ```
/// use std::future::poll_fn;
/// use axum::{body::Body, http::Request, routing::get};
/// use gatepass::*;
/// use tower::{Layer, Service};
///
/// # let verifier = Verifier::builder(VerificationKeys::default(), "i", "a").build()?;
/// let mut service = AuthLayer::new(verifier).layer(get(|| async { "hello" }));
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// poll_fn(|cx| Service::<Request<Body>>::poll_ready(&mut service, cx)).await?;
/// let response = service.call(Request::new(Body::empty())).await?;
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="gatepass""#);
/// # Ok::<(), std::convert::Infallible>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AuthService<S, C, F> {
    inner: S,
    config: Arc<Config<C, F>>,
}

impl<S, C, F> AuthService<S, C, F> {
    pub(crate) fn new(inner: S, config: Arc<Config<C, F>>) -> Self {
        Self { inner, config }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consuming the wrapper.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// The inner service is cloned (and the ready one moved into the response future) only
/// for requests that must wait before it is called: for a DPoP proof's replay check, or
/// for the refetch of a JWKS client that did not know the token's key yet. Hence the
/// `Clone + Send + 'static` bounds, which every axum router and handler meets, as in
/// tower's async middleware.
impl<S, C, F, B> Service<Request<B>> for AuthService<S, C, F>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    B: Send + 'static,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    F: OnRejection + Send + Sync + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = AuthResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let wait = KeyWait::before(&self.config.source);
        match self.config.verify_request(&mut parts) {
            Ok(None) => {
                AuthResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)))
            }
            Err(rejection) if !wait.worth_waiting(&rejection) => {
                rejection.trace();
                AuthResponseFuture::rejected(self.config.on_rejection.on_rejection(rejection))
            }
            outcome => {
                // The service that was polled ready goes with the request; its clone
                // stays for the next `poll_ready`.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                AuthResponseFuture::deferred(Deferred::new(finish(
                    outcome,
                    wait,
                    Arc::clone(&self.config),
                    inner,
                    parts,
                    body,
                )))
            }
        }
    }
}

/// What the synchronous check left open: after a refused first attempt worth waiting
/// for, the refetch, then the second and last attempt; for a DPoP proof, its replay
/// check. The inner service's future, or the rejection's response.
async fn finish<S, C, F, B>(
    outcome: Result<Option<CheckedProof>, AuthRejection>,
    wait: KeyWait,
    config: Arc<Config<C, F>>,
    mut inner: S,
    mut parts: Parts,
    body: B,
) -> Result<S::Future, Response>
where
    S: Service<Request<B>>,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    F: OnRejection,
{
    let outcome = match outcome {
        Err(_) => {
            wait.wait().await;
            config.verify_request(&mut parts)
        }
        decided => decided,
    };
    let rejection = match outcome {
        Ok(None) => return Ok(inner.call(Request::from_parts(parts, body))),
        Ok(Some(proof)) => match proof.check_replay().await {
            Ok(_) => return Ok(inner.call(Request::from_parts(parts, body))),
            Err(err) => AuthRejection::Dpop(err),
        },
        Err(rejection) => rejection,
    };
    rejection.trace();
    Err(config.on_rejection.on_rejection(rejection))
}

impl<S: Clone, C, F> Clone for AuthService<S, C, F> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

impl<S: fmt::Debug, C, F> fmt::Debug for AuthService<S, C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}
