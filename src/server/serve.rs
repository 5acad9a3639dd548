//! Serving a router over TCP so that one client cannot hold the server: a deadline for the
//! request head, a deadline for the whole request, a cap on open connections, and graceful
//! shutdown. `axum::serve` has none of the limits, so a slow or silent client keeps its
//! connection (and a file descriptor) forever.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service as _;

/// The longest timeout taken: longer ones are cut to this (a deadline past the end of the
/// clock's range would overflow).
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// The shortest timeout taken: shorter ones, zero included, are raised to this.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// How long to wait before accepting again after the listener failed (out of file
/// descriptors, mostly): long enough not to spin, short enough not to matter to clients.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How long a client may take and how many may be connected at once: the limits that keep
/// slow or idle clients (slowloris) from holding the server. Used by [`serve`].
///
/// | limit | default | what happens at the limit |
/// |---|---|---|
/// | [`header_timeout`](Self::header_timeout) | 10 s | a connection whose next request head has not fully arrived in time (a half-sent head, or an idle keep-alive connection) is closed |
/// | [`request_timeout`](Self::request_timeout) | 30 s | a request not answered in time, counted from its complete head (a trickled body included), gets `408 Request Timeout` and its connection is closed |
/// | [`max_connections`](Self::max_connections) | 1024 | no further connection is accepted until one closes: new ones wait in the kernel's listen backlog |
///
/// Timeouts are taken between 1 ms and 24 h, and `max_connections` is at least 1: values
/// outside are moved to the nearest bound. Keep `max_connections` below the process's
/// file-descriptor limit (`ulimit -n`), less what the store and files need.
///
/// ```
/// use std::time::Duration;
/// use gatepass::ServeLimits;
///
/// let limits = ServeLimits::default()
///     .header_timeout(Duration::from_secs(5))
///     .max_connections(256);
/// assert_eq!(limits.request_timeout, Duration::from_secs(30));
/// assert_eq!(limits.max_connections, 256);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeLimits {
    /// How long a client may take to send a request head (default 10 s).
    pub header_timeout: Duration,
    /// How long a request may take once its head has arrived: reading the body and
    /// answering (default 30 s).
    pub request_timeout: Duration,
    /// How many connections may be open at once (default 1024).
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

impl ServeLimits {
    /// Set how long a client may take to send a request head.
    #[must_use]
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Set how long a request may take once its head has arrived.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Set how many connections may be open at once.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// The limits moved into the ranges [`serve`] can use without overflow or deadlock.
    fn bounded(self) -> Self {
        Self {
            header_timeout: self.header_timeout.clamp(MIN_TIMEOUT, MAX_TIMEOUT),
            request_timeout: self.request_timeout.clamp(MIN_TIMEOUT, MAX_TIMEOUT),
            max_connections: self.max_connections.clamp(1, Semaphore::MAX_PERMITS),
        }
    }
}

/// Serve `router` on `listener` (HTTP/1.1) within `limits` until `shutdown` completes, then
/// stop accepting, let the requests in flight finish, close idle connections, and return.
///
/// Handlers can extract the client's address as [`ConnectInfo<SocketAddr>`]: the login
/// throttle of [`AuthServer`](crate::AuthServer) counts failures per client address with it.
/// A connection the listener fails to accept (out of file descriptors) is retried shortly;
/// it never ends the server.
///
/// ```no_run
/// use std::sync::Arc;
/// use gatepass::*;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let keyset = Keyset::load("keys.json")?;
/// let sessions = Arc::new(SessionManager::new(&keyset, Arc::new(MemoryStore::new()), SessionConfig::default())?);
/// let users = Arc::new(UsersFile::load("users.json")?);
/// let jwks = PublishedJwks::new(&keyset, &RotationPolicy::default());
/// let app = AuthServer::new(sessions, users, jwks).into_router();
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let limits = ServeLimits::default().max_connections(512);
/// // `stop.send(())` from elsewhere (a signal handler, an admin task) ends the server.
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// gatepass::serve(listener, app, limits, async {
///     let _ = stopped.await;
/// })
/// .await;
/// # drop(stop);
/// # Ok(()) }
/// ```
///
/// [`ConnectInfo<SocketAddr>`]: axum::extract::ConnectInfo
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) {
    let limits = limits.bounded();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut shutdown = pin!(shutdown);
    let mut accept_failing = false;
    loop {
        // A slot first, then accept: beyond the cap, connections stay in the backlog
        // instead of costing a file descriptor each.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                if !accept_failing {
                    tracing::warn!(event = "accept_failed", %error, "retrying");
                    accept_failing = true;
                }
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        if accept_failing {
            tracing::info!(event = "accept_recovered");
            accept_failing = false;
        }
        let router = router.clone();
        let request_timeout = limits.request_timeout;
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            answer(router.clone(), request, peer, request_timeout)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Header timeouts, resets, malformed heads: the client's doing.
                tracing::debug!(event = "connection_closed", %error);
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// One request through the router, with the peer address and the request deadline.
async fn answer(
    mut router: Router,
    mut request: Request<Incoming>,
    peer: SocketAddr,
    timeout: Duration,
) -> Result<Response, Infallible> {
    request.extensions_mut().insert(ConnectInfo(peer));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(timeout, router.call(request.map(Body::new))).await {
        Ok(response) => response,
        Err(_) => {
            tracing::info!(event = "request_timed_out", %method, %path);
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            Ok(response)
        }
    }
}

/// Errors of one connection (gone before it was accepted), not of the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded_to_what_serve_can_use() {
        let wild = ServeLimits::default()
            .header_timeout(Duration::ZERO)
            .request_timeout(Duration::MAX)
            .max_connections(0)
            .bounded();
        assert_eq!(wild.header_timeout, MIN_TIMEOUT);
        assert_eq!(wild.request_timeout, MAX_TIMEOUT);
        assert_eq!(wild.max_connections, 1);
        let huge = ServeLimits::default().max_connections(usize::MAX).bounded();
        assert_eq!(huge.max_connections, Semaphore::MAX_PERMITS);
        assert_eq!(ServeLimits::default().bounded(), ServeLimits::default());
    }
}
