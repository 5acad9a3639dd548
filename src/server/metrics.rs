//! What the auth server counts, for Prometheus: [`Metrics`], the counters and latency
//! histograms, rendered in the Prometheus text format (version 0.0.4).
//!
//! Every label value comes from a closed set the code spells out (an outcome kind, a
//! revocation reason, an operation name): never a username, a subject, a session id or an
//! address, so the number of series is bounded and nothing personal leaves through them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// One label, `outcome`: how a login, refresh or verification ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

/// One label, `reason`: why a session or token was revoked.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

/// One label, `result`: what a look at a changed keyset file did.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadResult {
    result: &'static str,
}

/// One label, `operation`: what the server was doing when the session store failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Operation {
    operation: &'static str,
}

/// What the server was doing when the session store failed: the `operation` label of
/// `gatepass_store_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreOperation {
    Login,
    Refresh,
    Logout,
    LogoutAll,
    Revoke,
    Sessions,
    Readiness,
    Prune,
}

impl StoreOperation {
    const ALL: [Self; 8] = [
        Self::Login,
        Self::Refresh,
        Self::Logout,
        Self::LogoutAll,
        Self::Revoke,
        Self::Sessions,
        Self::Readiness,
        Self::Prune,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Refresh => "refresh",
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::Revoke => "revoke",
            Self::Sessions => "sessions",
            Self::Readiness => "readiness",
            Self::Prune => "prune",
        }
    }
}

/// Why a session (or a lone token) was revoked: the `reason` label of
/// `gatepass_revocations_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Revocation {
    Logout,
    LogoutAll,
    Revoke,
    Reuse,
}

impl Revocation {
    const ALL: [Self; 4] = [Self::Logout, Self::LogoutAll, Self::Revoke, Self::Reuse];

    fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::Revoke => "revoke",
            Self::Reuse => "reuse",
        }
    }
}

struct Families {
    registry: Registry,
    logins: Family<Outcome, Counter>,
    refreshes: Family<Outcome, Counter>,
    verifications: Family<Outcome, Counter>,
    reuse_detections: Counter,
    revocations: Family<Reason, Counter>,
    key_reloads: Family<ReloadResult, Counter>,
    store_errors: Family<Operation, Counter>,
    login_seconds: Histogram,
    refresh_seconds: Histogram,
    verify_seconds: Histogram,
}

/// The auth server's metrics: counters and latency histograms, in a registry of their own
/// (no global state: two servers in one process count apart), rendered in the Prometheus
/// text format.
///
/// Give one to [`AuthServer::metrics`](crate::AuthServer::metrics) and expose it on a route
/// or a listener of your choice ([`router`](Self::router), [`response`](Self::response),
/// [`render`](Self::render)); [`Maintenance`](crate::Maintenance) reports key reloads to
/// the server's. Cloning is cheap and every clone counts into the same registry.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `gatepass_logins_total` | counter | `outcome`: `success`, `invalid_credentials`, `throttled`, `busy`, `unavailable`, `no_signing_key`, `invalid_request`, `unsupported_media_type`, `server_error` |
/// | `gatepass_refreshes_total` | counter | `outcome`: `success`, `invalid_grant_token`, `invalid_grant_unknown_session`, `invalid_grant_reused`, `invalid_grant_idle_timeout`, `invalid_grant_absolute_timeout`, `invalid_grant_grace_unreadable`, `unavailable`, `no_signing_key`, `invalid_request`, `forbidden_origin`, `unsupported_media_type`, `server_error` |
/// | `gatepass_verifications_total` | counter | `outcome`: `success`, or the rejection's kind (`missing_credentials`, `invalid_request`, `expired`, `revoked`, `bad_signature`, ... `revocations_unavailable`) |
/// | `gatepass_reuse_detections_total` | counter | — |
/// | `gatepass_revocations_total` | counter | `reason`: `logout`, `logout_all` (one per session ended), `revoke` (RFC 7009 requests answered 200), `reuse` |
/// | `gatepass_key_reloads_total` | counter | `result`: `success`, `no_signing_key`, `failed` |
/// | `gatepass_store_errors_total` | counter | `operation`: `login`, `refresh`, `logout`, `logout_all`, `revoke`, `readiness`, `prune` |
/// | `gatepass_login_duration_seconds` | histogram | — |
/// | `gatepass_refresh_duration_seconds` | histogram | — |
/// | `gatepass_verify_duration_seconds` | histogram | — |
///
/// ```
/// use gatepass::Metrics;
///
/// let metrics = Metrics::new();
/// let text = metrics.render();
/// assert!(text.contains("# TYPE gatepass_logins_total counter"));
/// assert!(text.contains("gatepass_reuse_detections_total 0"));
/// assert_eq!(Metrics::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
/// ```
#[derive(Clone)]
pub struct Metrics {
    families: Arc<Families>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Histogram buckets from `start` seconds, doubling `count` times.
fn buckets(start: f64, count: u16) -> Histogram {
    Histogram::new(exponential_buckets(start, 2.0, count))
}

impl Metrics {
    /// The `Content-Type` of [`render`](Self::render)'s text: the Prometheus text
    /// exposition format, version 0.0.4.
    pub const CONTENT_TYPE: &'static str =
        prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

    /// Fresh metrics, every counter at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let logins = Family::<Outcome, Counter>::default();
        let refreshes = Family::<Outcome, Counter>::default();
        let verifications = Family::<Outcome, Counter>::default();
        let reuse_detections = Counter::default();
        let revocations = Family::<Reason, Counter>::default();
        let key_reloads = Family::<ReloadResult, Counter>::default();
        let store_errors = Family::<Operation, Counter>::default();
        // Argon2id dominates a login: tens of milliseconds, seconds when queued.
        let login_seconds = buckets(0.005, 12);
        // A refresh is signing plus one or two store round trips.
        let refresh_seconds = buckets(0.0005, 14);
        // A verification is one signature check and a revocation lookup: microseconds.
        let verify_seconds = buckets(0.000_01, 14);

        // The series alerts divide or take rates of exist from the start at zero, so the
        // first failure is an increase, not a series appearing at 1.
        for outcome in ["success", "invalid_credentials", "throttled"] {
            let _ = logins.get_or_create(&Outcome { outcome });
        }
        for outcome in ["success", "invalid_grant_reused"] {
            let _ = refreshes.get_or_create(&Outcome { outcome });
        }
        let _ = verifications.get_or_create(&Outcome { outcome: "success" });
        for reason in Revocation::ALL {
            let _ = revocations.get_or_create(&Reason {
                reason: reason.as_str(),
            });
        }
        for operation in StoreOperation::ALL {
            let _ = store_errors.get_or_create(&Operation {
                operation: operation.as_str(),
            });
        }

        registry.register(
            "gatepass_logins",
            "Login requests, by outcome",
            logins.clone(),
        );
        registry.register(
            "gatepass_refreshes",
            "Refresh requests, by outcome",
            refreshes.clone(),
        );
        registry.register(
            "gatepass_verifications",
            "Access-token verifications of protected requests, by outcome",
            verifications.clone(),
        );
        registry.register(
            "gatepass_reuse_detections",
            "Refresh tokens presented after they were rotated (each ended its session)",
            reuse_detections.clone(),
        );
        registry.register(
            "gatepass_revocations",
            "Sessions or tokens revoked, by reason",
            revocations.clone(),
        );
        registry.register(
            "gatepass_key_reloads",
            "Reloads of a changed keyset file, by result",
            key_reloads.clone(),
        );
        registry.register(
            "gatepass_store_errors",
            "Session store failures, by the operation that met them",
            store_errors.clone(),
        );
        registry.register_with_unit(
            "gatepass_login_duration",
            "Time to answer a login request",
            Unit::Seconds,
            login_seconds.clone(),
        );
        registry.register_with_unit(
            "gatepass_refresh_duration",
            "Time to answer a refresh request",
            Unit::Seconds,
            refresh_seconds.clone(),
        );
        registry.register_with_unit(
            "gatepass_verify_duration",
            "Time to verify the access token of a protected request",
            Unit::Seconds,
            verify_seconds.clone(),
        );
        Self {
            families: Arc::new(Families {
                registry,
                logins,
                refreshes,
                verifications,
                reuse_detections,
                revocations,
                key_reloads,
                store_errors,
                login_seconds,
                refresh_seconds,
                verify_seconds,
            }),
        }
    }

    /// The metrics in the Prometheus text format (version 0.0.4, [`CONTENT_TYPE`](Self::CONTENT_TYPE)).
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(4096);
        // Writing into a String cannot fail; should the encoder ever refuse, what was
        // written so far is still well-formed up to the last complete line.
        let _ = prometheus_client::encoding::prometheus_text::encode(
            &mut text,
            &self.families.registry,
        );
        text
    }

    /// [`render`](Self::render) as an HTTP answer: 200, the text format's content type,
    /// `Cache-Control: no-store`.
    pub fn response(&self) -> Response {
        let mut response = (StatusCode::OK, self.render()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(Self::CONTENT_TYPE));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// A router with one route, `GET /metrics`, answering [`response`](Self::response):
    /// merge it into an app, or serve it on a listener of its own (an address only the
    /// scraper reaches).
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let metrics = gatepass::Metrics::new();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:9464").await?;
    /// gatepass::serve(listener, metrics.router(), gatepass::ServeLimits::default(), std::future::pending()).await;
    /// # Ok(()) }
    /// ```
    pub fn router(&self) -> Router {
        let metrics = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { metrics.response() }
            }),
        )
    }

    pub(crate) fn login(&self, outcome: &'static str, took: Duration) {
        self.families
            .logins
            .get_or_create(&Outcome { outcome })
            .inc();
        self.families.login_seconds.observe(took.as_secs_f64());
    }

    pub(crate) fn refresh(&self, outcome: &'static str, took: Duration) {
        self.families
            .refreshes
            .get_or_create(&Outcome { outcome })
            .inc();
        self.families.refresh_seconds.observe(took.as_secs_f64());
    }

    pub(crate) fn verification(&self, outcome: &'static str) {
        self.families
            .verifications
            .get_or_create(&Outcome { outcome })
            .inc();
    }

    pub(crate) fn verify_time(&self, took: Duration) {
        self.families.verify_seconds.observe(took.as_secs_f64());
    }

    pub(crate) fn reuse_detected(&self) {
        self.families.reuse_detections.inc();
        self.revoked(Revocation::Reuse, 1);
    }

    pub(crate) fn revoked(&self, reason: Revocation, count: u64) {
        self.families
            .revocations
            .get_or_create(&Reason {
                reason: reason.as_str(),
            })
            .inc_by(count);
    }

    pub(crate) fn key_reload(&self, result: &'static str) {
        self.families
            .key_reloads
            .get_or_create(&ReloadResult { result })
            .inc();
    }

    pub(crate) fn store_error(&self, operation: StoreOperation) {
        self.families
            .store_errors
            .get_or_create(&Operation {
                operation: operation.as_str(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_the_text_format() {
        let metrics = Metrics::new();
        metrics.login("success", Duration::from_millis(30));
        metrics.login("invalid_credentials", Duration::from_millis(30));
        metrics.login("invalid_credentials", Duration::from_millis(30));
        metrics.reuse_detected();
        metrics.revoked(Revocation::LogoutAll, 3);
        metrics.store_error(StoreOperation::Refresh);
        metrics.key_reload("failed");
        let text = metrics.clone().render();
        for line in [
            "gatepass_logins_total{outcome=\"success\"} 1",
            "gatepass_logins_total{outcome=\"invalid_credentials\"} 2",
            "gatepass_logins_total{outcome=\"throttled\"} 0",
            "gatepass_reuse_detections_total 1",
            "gatepass_revocations_total{reason=\"reuse\"} 1",
            "gatepass_revocations_total{reason=\"logout_all\"} 3",
            "gatepass_store_errors_total{operation=\"refresh\"} 1",
            "gatepass_store_errors_total{operation=\"prune\"} 0",
            "gatepass_key_reloads_total{result=\"failed\"} 1",
            "gatepass_login_duration_seconds_count 3",
            "gatepass_refresh_duration_seconds_count 0",
            "# TYPE gatepass_verify_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
        }
        assert!(!text.contains("# EOF"), "0.0.4 text, not OpenMetrics");
    }

    #[test]
    fn two_instances_count_apart() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.reuse_detected();
        assert!(b.render().contains("gatepass_reuse_detections_total 0\n"));
    }
}
