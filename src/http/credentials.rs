//! Where a request's token is: the `Authorization` header first, then (if configured) a
//! cookie. Shared by the layer and the extractors so both find the same token.

use axum::http::HeaderMap;

use super::bearer::{BearerCredentials, MalformedCredentials};
use super::cookies::{CookieError, SecureCookie};
use super::rejection::AuthRejection;

/// The request's token, `Ok(None)` when it carries none.
///
/// The cookie is read only when the `Authorization` header holds no Bearer credentials
/// (absent, or another scheme such as the `Basic` of a staging proxy). A malformed Bearer
/// header is refused even if a good cookie is present: the client meant the header, and
/// guessing would hide its bug. A Bearer header wins over the cookie: the browser attaches
/// the cookie to every request, so its presence says nothing about the client's intent, and
/// RFC 6750 §2's "one method per request" is about what the client chose to send.
pub(crate) fn find_token<'a>(
    headers: &'a HeaderMap,
    cookie: Option<&SecureCookie>,
) -> Result<Option<&'a str>, AuthRejection> {
    match BearerCredentials::from_headers(headers) {
        BearerCredentials::Token(token) => Ok(Some(token)),
        BearerCredentials::Malformed(reason) => Err(AuthRejection::InvalidRequest(reason)),
        BearerCredentials::NoCredentials | BearerCredentials::OtherScheme => match cookie {
            None => Ok(None),
            Some(cookie) => cookie.find(headers).map_err(|err| {
                AuthRejection::InvalidRequest(match err {
                    CookieError::Duplicate => MalformedCredentials::SeveralCookies,
                    _ => MalformedCredentials::CookieValue,
                })
            }),
        },
    }
}
