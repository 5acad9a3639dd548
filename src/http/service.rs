//! [`AuthService`]: the service an [`AuthLayer`](crate::AuthLayer) wraps around yours.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::request::Parts;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tower::Service;

use super::future::AuthResponseFuture;
use super::on_rejection::OnRejection;
use super::refetch::KeyWait;
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

/// `S: Clone + Send + 'static` (every axum router and handler service is): a request that
/// must wait for a JWKS refetch takes the ready inner service along into its future, and
/// leaves a clone in its place, as tower's async middleware do.
impl<S, C, F, B> Service<Request<B>> for AuthService<S, C, F>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Response: IntoResponse,
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
        match self
            .config
            .verify_request(&parts.headers, &mut parts.extensions)
        {
            Ok(()) => AuthResponseFuture::inner(self.inner.call(Request::from_parts(parts, body))),
            Err(rejection) if wait.worth_waiting(&rejection) => {
                // The ready service answers this request once the keys are in; the clone
                // left behind is driven to readiness by the next `poll_ready`.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                AuthResponseFuture::verifying(verify_after_refetch(
                    wait,
                    Arc::clone(&self.config),
                    ready,
                    parts,
                    body,
                ))
            }
            Err(rejection) => {
                rejection.trace();
                AuthResponseFuture::rejected(self.config.on_rejection.on_rejection(rejection))
            }
        }
    }
}

/// The second and last attempt, after the refetch the first one waited for: the inner
/// service's future, or the rejection's response.
async fn verify_after_refetch<S, C, F, B>(
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
    wait.wait().await;
    match config.verify_request(&parts.headers, &mut parts.extensions) {
        Ok(()) => Ok(inner.call(Request::from_parts(parts, body))),
        Err(rejection) => {
            rejection.trace();
            Err(config.on_rejection.on_rejection(rejection))
        }
    }
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
