//! Request bodies of the auth endpoints: size-limited, content-type checked, strictly
//! parsed (no duplicate members or parameters).

use axum::body::{Body, HttpBody as _};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde_json::{Map, Value};

use super::error::ApiError;

/// The largest body accepted (docs/REFERENCE.md §2): 16 KiB.
pub(crate) const MAX_BODY: usize = 16 * 1024;

/// The body's media type, lowercased, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim();
    Some(essence.to_ascii_lowercase())
}

/// Middleware over every route: a body over [`MAX_BODY`] answers 413 before routing,
/// authentication or the handler, whatever the route does with bodies. A declared
/// `Content-Length` over the limit is refused without reading; a body of unknown length
/// (chunked) is read here, up to one byte past the limit and within the request deadline
/// of [`serve`](crate::serve), then handed on from memory, so a route that never reads its
/// body refuses it all the same.
pub(crate) async fn refuse_oversized(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let size = request.body().size_hint();
    if declared.is_some_and(|len| len > MAX_BODY as u64) || size.lower() > MAX_BODY as u64 {
        return ApiError::PayloadTooLarge.into_response();
    }
    if size.upper().is_some_and(|len| len <= MAX_BODY as u64) {
        // A body of known length within the limit (the connection holds it to that length).
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => {
            let body = Body::from(collected.to_bytes());
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) if error.is::<LengthLimitError>() => ApiError::PayloadTooLarge.into_response(),
        Err(_) => ApiError::InvalidRequest("the request body could not be read").into_response(),
    }
}

/// Read at most [`MAX_BODY`] bytes.
pub(crate) async fn read(body: Body) -> Result<Vec<u8>, ApiError> {
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map(|bytes| bytes.to_vec())
        .map_err(|_| ApiError::PayloadTooLarge)
}

/// The JSON object in the body, or `None` when the body is empty and `allow_empty`.
pub(crate) async fn json_object(
    headers: &HeaderMap,
    body: Body,
    allow_empty: bool,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let media = media_type(headers);
    let bytes = read(body).await?;
    if bytes.is_empty() && allow_empty {
        return Ok(None);
    }
    if media.as_deref() != Some("application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    if crate::json::nests_deeper_than(&bytes, crate::json::MAX_DEPTH) {
        return Err(ApiError::InvalidRequest("the JSON body nests too deeply"));
    }
    crate::json::parse_object(&bytes).map(Some).map_err(|_| {
        ApiError::InvalidRequest("the body is not a JSON object (or repeats a member)")
    })
}

/// A required string member.
pub(crate) fn string_member<'a>(
    object: &'a Map<String, Value>,
    name: &'static str,
    missing: &'static str,
) -> Result<&'a str, ApiError> {
    object
        .get(name)
        .and_then(Value::as_str)
        .ok_or(ApiError::InvalidRequest(missing))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decode one `application/x-www-form-urlencoded` name or value.
fn decode(part: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(part.len());
    let mut bytes = part.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(*bytes.next()?)?;
                let lo = hex(*bytes.next()?)?;
                out.push(hi << 4 | lo);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// The form parameters of the body (RFC 6749 §3.1: none may appear twice).
pub(crate) async fn form(
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<(String, String)>, ApiError> {
    if media_type(headers).as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType(
            "application/x-www-form-urlencoded",
        ));
    }
    let bytes = read(body).await?;
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut halves = pair.splitn(2, |b| *b == b'=');
        let name = halves.next().and_then(decode);
        let value = halves.next().map_or(Some(String::new()), decode);
        let (Some(name), Some(value)) = (name, value) else {
            return Err(ApiError::InvalidRequest(
                "the form body is not valid URL encoding",
            ));
        };
        if params.iter().any(|(n, _)| *n == name) {
            return Err(ApiError::InvalidRequest("a form parameter appears twice"));
        }
        params.push((name, value));
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_is_strict() {
        assert_eq!(decode(b"a%20b+c").as_deref(), Some("a b c"));
        assert_eq!(decode(b"%zz"), None);
        assert_eq!(decode(b"%4"), None);
        assert_eq!(decode(b"%ff"), None, "not UTF-8");
    }
}
