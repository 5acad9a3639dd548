//! OpenID Connect discovery: from an issuer to the URL of its JWK Set, through the same
//! bounded fetch as the set itself (https only except loopback, size cap, timeout, no
//! redirects), and only when the document vouches for exactly that issuer.

use std::time::Duration;

use serde_json::Value;

use super::error::{DiscoveryError, JwksClientError};
use super::fetch::{default_tls, Fetcher, Target};
use crate::json::{nests_deeper_than, parse_object, MAX_DEPTH};

/// The document's path under the issuer (OpenID Connect Discovery 1.0 §4).
const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// Longest remote `issuer` kept in an error: it is someone else's text, bound for logs.
const MAX_REPORTED_ISSUER: usize = 200;

/// How the discovery document is fetched: the JWKS client's own limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FetchPolicy {
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) allow_insecure_http: bool,
}

/// The discovery document's URL for `issuer`: a terminating `/` is removed before the
/// well-known path is appended (§4: `https://idp.example/` and `https://idp.example` both
/// look in `https://idp.example/.well-known/openid-configuration`).
pub(crate) fn configuration_url(issuer: &str) -> String {
    let base = issuer.strip_suffix('/').unwrap_or(issuer);
    format!("{base}{WELL_KNOWN}")
}

/// Fetch `issuer`'s discovery document and return its `jwks_uri`, provided the document's
/// `issuer` is byte for byte the configured one.
pub(crate) async fn discover_jwks_uri(
    issuer: &str,
    policy: FetchPolicy,
) -> Result<String, DiscoveryError> {
    if issuer.contains(['?', '#']) {
        // §2: an issuer has no query or fragment; appending the well-known path to one
        // would fetch something else.
        return Err(DiscoveryError::InvalidIssuer(JwksClientError::InvalidUrl(
            "an issuer has no query or fragment",
        )));
    }
    let target = Target::parse(&configuration_url(issuer), policy.allow_insecure_http)
        .map_err(DiscoveryError::InvalidIssuer)?;
    let tls = if target.is_https() {
        Some(default_tls().map_err(DiscoveryError::InvalidIssuer)?)
    } else {
        None
    };
    let fetcher = Fetcher {
        target,
        tls,
        timeout: policy.timeout,
        max_bytes: policy.max_bytes,
    };
    let fetched = fetcher.fetch().await.map_err(DiscoveryError::Fetch)?;
    jwks_uri_from(&fetched.body, issuer)
}

/// The `jwks_uri` of a discovery document that names `issuer`.
pub(crate) fn jwks_uri_from(body: &[u8], issuer: &str) -> Result<String, DiscoveryError> {
    if nests_deeper_than(body, MAX_DEPTH) {
        return Err(DiscoveryError::Document("nested too deeply"));
    }
    let document = parse_object(body).map_err(|_| {
        DiscoveryError::Document("not a JSON object (or one with duplicate members)")
    })?;
    let found = match document.get("issuer") {
        Some(Value::String(found)) => found,
        Some(_) => return Err(DiscoveryError::Document("`issuer` is not a string")),
        None => return Err(DiscoveryError::Document("no `issuer`")),
    };
    if found != issuer {
        let cut = found
            .char_indices()
            .nth(MAX_REPORTED_ISSUER)
            .map_or(found.as_str(), |(end, _)| found.get(..end).unwrap_or(""));
        return Err(DiscoveryError::IssuerMismatch {
            expected: issuer.to_owned(),
            found: cut.to_owned(),
        });
    }
    match document.get("jwks_uri") {
        Some(Value::String(uri)) => Ok(uri.clone()),
        Some(_) => Err(DiscoveryError::Document("`jwks_uri` is not a string")),
        None => Err(DiscoveryError::Document("no `jwks_uri`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_path_follows_the_issuer_without_its_terminating_slash() {
        assert_eq!(
            configuration_url("https://idp.example"),
            "https://idp.example/.well-known/openid-configuration"
        );
        assert_eq!(
            configuration_url("https://idp.example/"),
            "https://idp.example/.well-known/openid-configuration"
        );
        assert_eq!(
            configuration_url("https://idp.example/realms/acme"),
            "https://idp.example/realms/acme/.well-known/openid-configuration"
        );
    }

    #[test]
    fn the_document_must_name_exactly_the_configured_issuer() {
        let doc = br#"{"issuer":"https://idp.example/","jwks_uri":"https://idp.example/keys"}"#;
        assert_eq!(
            jwks_uri_from(doc, "https://idp.example/").unwrap(),
            "https://idp.example/keys"
        );
        // A terminating slash is part of the issuer: no normalisation.
        assert_eq!(
            jwks_uri_from(doc, "https://idp.example")
                .unwrap_err()
                .kind(),
            "issuer_mismatch"
        );
        let long = format!(r#"{{"issuer":"{}","jwks_uri":"x"}}"#, "é".repeat(500));
        match jwks_uri_from(long.as_bytes(), "https://idp.example") {
            Err(DiscoveryError::IssuerMismatch { found, .. }) => {
                assert_eq!(found.chars().count(), MAX_REPORTED_ISSUER)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unusable_documents_are_refused_with_a_reason() {
        let iss = "https://idp.example";
        for (doc, why) in [
            (&br#"[1]"#[..], "not a JSON object (or one with duplicate members)"),
            (br#"{"issuer":"https://idp.example","issuer":"https://idp.example","jwks_uri":"u"}"#, "not a JSON object (or one with duplicate members)"),
            (br#"{"jwks_uri":"u"}"#, "no `issuer`"),
            (br#"{"issuer":7,"jwks_uri":"u"}"#, "`issuer` is not a string"),
            (br#"{"issuer":"https://idp.example"}"#, "no `jwks_uri`"),
            (br#"{"issuer":"https://idp.example","jwks_uri":["u"]}"#, "`jwks_uri` is not a string"),
        ] {
            assert_eq!(jwks_uri_from(doc, iss), Err(DiscoveryError::Document(why)));
        }
    }
}
