//! [`AuthResponseFuture`]: the response future of an [`AuthService`](crate::AuthService).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;

pin_project! {
    /// The inner service's response, or the rejection the layer answered with: a concrete
    /// type, so the layer boxes nothing. The `Future` of an [`AuthService`](crate::AuthService).
    #[derive(Debug)]
    pub struct AuthResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response> },
        Deferred { #[pin] check: Deferred<F> },
    }
}

/// A check still running before the inner service may be called (the DPoP replay check,
/// which may ask a shared store): resolves to the inner service's future, or to the
/// rejection's response.
pub(crate) struct Deferred<F>(Pin<Box<dyn Future<Output = Result<F, Response>> + Send>>);

impl<F> Deferred<F> {
    pub(crate) fn new(check: impl Future<Output = Result<F, Response>> + Send + 'static) -> Self {
        Self(Box::pin(check))
    }
}

impl<F> Future for Deferred<F> {
    type Output = Result<F, Response>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl<F> fmt::Debug for Deferred<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Deferred")
    }
}

impl<F> AuthResponseFuture<F> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) fn deferred(check: Deferred<F>) -> Self {
        Self {
            state: State::Deferred { check },
        }
    }

    pub(crate) fn rejected(response: Response) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, R, E> Future for AuthResponseFuture<F>
where
    F: Future<Output = Result<R, E>>,
    R: IntoResponse,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        if let StateProj::Deferred { check } = state.as_mut().project() {
            let next = match check.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(future)) => State::Inner { future },
                Poll::Ready(Err(response)) => State::Rejected {
                    response: Some(response),
                },
            };
            state.set(next);
        }
        match state.project() {
            StateProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(IntoResponse::into_response)),
            // Only reached in the branch above, which replaces it.
            StateProj::Deferred { .. } => Poll::Pending,
            // Polling again after completion breaks the Future contract; answer a 500 rather
            // than panic inside a server.
            StateProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()))),
        }
    }
}
