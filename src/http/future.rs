//! [`AuthResponseFuture`]: the response future of an [`AuthService`](crate::AuthService).

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
}

impl<F, R, E> Future for AuthResponseFuture<F>
where
    F: Future<Output = Result<R, E>>,
    R: IntoResponse,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(IntoResponse::into_response)),
            // Polling again after completion breaks the Future contract; answer a 500 rather
            // than panic inside a server.
            StateProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()))),
        }
    }
}
