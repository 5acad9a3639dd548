//! What a rejected request is answered with: [`OnRejection`], and the default, the
//! rejection's own RFC 6750 response.

use axum::response::{IntoResponse, Response};

use super::rejection::AuthRejection;

/// What to answer when a request is refused: the [`AuthLayer`](crate::AuthLayer)'s rejection handler.
///
/// Implemented for every `Fn(AuthRejection) -> impl IntoResponse` (set one with
/// [`AuthLayer::on_rejection`](crate::AuthLayer::on_rejection)) and by [`DefaultOnRejection`]; implement it yourself for a
/// handler with configuration.
///
/// ```
/// use axum::http::header::WWW_AUTHENTICATE;
/// use axum::response::{IntoResponse, Response};
/// use gatepass::{AuthLayer, AuthRejection, OnRejection, VerificationKeys, Verifier};
///
/// /// RFC 9457 problem details, keeping the RFC 6750 challenge.
/// #[derive(Clone)]
/// struct Problem { docs: &'static str }
///
/// impl OnRejection for Problem {
///     fn on_rejection(&self, rejection: AuthRejection) -> Response {
///         let body = format!(r#"{{"type":"{}","title":"{}"}}"#, self.docs, rejection.kind());
///         let mut response = (rejection.status(), [("content-type", "application/problem+json")], body)
///             .into_response();
///         if let Some(challenge) = rejection.www_authenticate() {
///             response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
///         }
///         response
///     }
/// }
///
/// # let verifier = Verifier::builder(VerificationKeys::default(), "i", "a").build()?;
/// let layer = AuthLayer::new(verifier).on_rejection(Problem { docs: "https://example.com/auth" });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait OnRejection {
    /// Turn the rejection into the response.
    fn on_rejection(&self, rejection: AuthRejection) -> Response;
}

impl<F, R> OnRejection for F
where
    F: Fn(AuthRejection) -> R,
    R: IntoResponse,
{
    fn on_rejection(&self, rejection: AuthRejection) -> Response {
        self(rejection).into_response()
    }
}

/// The default rejection handler: the [`AuthRejection`]'s own RFC 6750 response.
///
/// ```
/// use gatepass::{AuthRejection, DefaultOnRejection, OnRejection};
/// let response = DefaultOnRejection::default().on_rejection(AuthRejection::MissingCredentials);
/// assert_eq!(response.status(), 401);
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct DefaultOnRejection;

impl OnRejection for DefaultOnRejection {
    fn on_rejection(&self, rejection: AuthRejection) -> Response {
        rejection.into_response()
    }
}
