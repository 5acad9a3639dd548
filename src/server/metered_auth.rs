//! The server's protected routes (`/api/me`, logout, logout-all) behind the http adapter's
//! [`AuthLayer`], counted: each verification's outcome and how long it took.
//!
//! The layer verifies inside `AuthService::call`, synchronously, before the handler's
//! future exists; so the time that call takes is the verification's, and whether the inner
//! service was called tells a pass from a rejection. A rejection's kind is counted where
//! the layer hands it over, in [`MeteredRejection`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::metrics::Metrics;
use crate::http::{AuthLayer, AuthRejection, AuthService, OnRejection};
use crate::token::{CustomClaims, Verifier};

/// Counts a rejection by its kind, then answers as the layer does by default.
#[derive(Clone, Debug)]
pub(crate) struct MeteredRejection(Metrics);

impl OnRejection for MeteredRejection {
    fn on_rejection(&self, rejection: AuthRejection) -> Response {
        self.0.verification(rejection.kind());
        rejection.into_response()
    }
}

/// Set by [`Passed`] when a request got through the [`AuthLayer`].
#[derive(Clone, Debug)]
struct Verdict(Arc<AtomicBool>);

/// An [`AuthLayer`] whose verifications are counted and timed.
#[derive(Clone, Debug)]
pub(crate) struct MeteredAuth {
    auth: AuthLayer<CustomClaims, MeteredRejection>,
    metrics: Metrics,
}

impl MeteredAuth {
    pub(crate) fn new(verifier: Arc<Verifier>, metrics: &Metrics) -> Self {
        Self {
            auth: AuthLayer::new(verifier).on_rejection(MeteredRejection(metrics.clone())),
            metrics: metrics.clone(),
        }
    }
}

impl<S> Layer<S> for MeteredAuth {
    type Service = Timed<AuthService<Passed<S>, CustomClaims, MeteredRejection>>;

    fn layer(&self, inner: S) -> Self::Service {
        Timed {
            inner: self.auth.layer(Passed(inner)),
            metrics: self.metrics.clone(),
        }
    }
}

/// Around the [`AuthService`]: times its `call` and counts the passes.
#[derive(Clone, Debug)]
pub(crate) struct Timed<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, B> Service<Request<B>> for Timed<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let passed = Arc::new(AtomicBool::new(false));
        request.extensions_mut().insert(Verdict(passed.clone()));
        let started = Instant::now();
        let future = self.inner.call(request);
        self.metrics.verify_time(started.elapsed());
        if passed.load(Ordering::Relaxed) {
            self.metrics.verification("success");
        }
        future
    }
}

/// Inside the [`AuthService`]: reached only by requests that passed it.
#[derive(Clone, Debug)]
pub(crate) struct Passed<S>(S);

impl<S, B> Service<Request<B>> for Passed<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if let Some(Verdict(passed)) = request.extensions().get::<Verdict>() {
            passed.store(true, Ordering::Relaxed);
        }
        self.0.call(request)
    }
}
