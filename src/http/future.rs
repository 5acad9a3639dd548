//! [`AuthResponseFuture`]: the response future of an [`AuthService`](crate::AuthService).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;

pin_project! {
    /// The inner service's response, or the rejection the layer answered with: a concrete
    /// type, so the layer boxes nothing on its usual path. The `Future` of an
    /// [`AuthService`](crate::AuthService).
    ///
    /// The one boxed state: a layer whose keys come from a [`JwksClient`](crate::JwksClient)
    /// and that met an unknown `kid` while a refetch was running waits for that refetch,
    /// verifies again, and only then calls the inner service or answers the rejection.
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
        Verifying { pending: Pending<F> },
        Inner { #[pin] future: F },
        Rejected { response: Option<Response> },
    }
}

/// The verification that waits for a refetch: the inner service's future once the token
/// verified, else the rejection's response.
pub(crate) struct Pending<F>(Pin<Box<dyn Future<Output = Result<F, Response>> + Send>>);

impl<F> fmt::Debug for Pending<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pending(waiting for a JWKS refetch)")
    }
}

impl<F> AuthResponseFuture<F> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) fn rejected(response: Response) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn verifying(
        pending: impl Future<Output = Result<F, Response>> + Send + 'static,
    ) -> Self {
        Self {
            state: State::Verifying {
                pending: Pending(Box::pin(pending)),
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

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project().state.project() {
                StateProj::Verifying { pending } => {
                    let next = match ready!(pending.0.as_mut().poll(cx)) {
                        Ok(future) => State::Inner { future },
                        Err(response) => State::Rejected {
                            response: Some(response),
                        },
                    };
                    self.as_mut().project().state.set(next);
                }
                StateProj::Inner { future } => {
                    return future
                        .poll(cx)
                        .map(|result| result.map(IntoResponse::into_response))
                }
                // Polling again after completion breaks the Future contract; answer a 500
                // rather than panic inside a server.
                StateProj::Rejected { response } => {
                    return Poll::Ready(Ok(response
                        .take()
                        .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())))
                }
            }
        }
    }
}
