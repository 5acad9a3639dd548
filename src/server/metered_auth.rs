//! The server's protected routes (`/api/me`, logout, logout-all, the session listing)
//! behind the http adapter's [`AuthLayer`], counted: each verification's outcome and how
//! long it took.
//!
//! A pass is counted where it is certain, in the service the layer calls only for
//! requests it let through ([`Passed`]); a rejection's kind where the layer hands it over
//! ([`MeteredRejection`]). The time is that of the layer's `call`: the whole verification
//! for bearer tokens (verified synchronously there); for DPoP the token and proof checks,
//! but not the replay-cache round trip awaited afterwards.

use std::task::{Context, Poll};
use std::time::Instant;

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::metrics::Metrics;
use crate::http::{AuthLayer, AuthRejection, AuthService, OnRejection};
use crate::token::CustomClaims;

/// Counts a rejection by its kind, then answers as the layer does by default.
#[derive(Clone, Debug)]
pub(crate) struct MeteredRejection(Metrics);

impl OnRejection for MeteredRejection {
    fn on_rejection(&self, rejection: AuthRejection) -> Response {
        self.0.verification(rejection.kind());
        rejection.into_response()
    }
}

/// An [`AuthLayer`] (as configured: bearer, or DPoP-aware) whose verifications are
/// counted and timed.
#[derive(Clone, Debug)]
pub(crate) struct MeteredAuth {
    auth: AuthLayer<CustomClaims, MeteredRejection>,
    metrics: Metrics,
}

impl MeteredAuth {
    pub(crate) fn new(layer: AuthLayer, metrics: &Metrics) -> Self {
        Self {
            auth: layer.on_rejection(MeteredRejection(metrics.clone())),
            metrics: metrics.clone(),
        }
    }
}

impl<S> Layer<S> for MeteredAuth {
    type Service = Timed<AuthService<Passed<S>, CustomClaims, MeteredRejection>>;

    fn layer(&self, inner: S) -> Self::Service {
        Timed {
            inner: self.auth.layer(Passed {
                inner,
                metrics: self.metrics.clone(),
            }),
            metrics: self.metrics.clone(),
        }
    }
}

/// Around the [`AuthService`]: times its `call`.
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

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let future = self.inner.call(request);
        self.metrics.verify_time(started.elapsed());
        future
    }
}

/// Inside the [`AuthService`]: reached only by requests that passed it, so each call is
/// one successful verification.
#[derive(Clone, Debug)]
pub(crate) struct Passed<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, B> Service<Request<B>> for Passed<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.metrics.verification("success");
        self.inner.call(request)
    }
}
