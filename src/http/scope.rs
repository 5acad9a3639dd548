//! OAuth scopes in access-token claims, for routes that require one.
//!
//! Where the scopes are: the RFC 9068 §2.2.3 / RFC 8693 §4.2 `scope` claim, a string of
//! space-separated scope tokens, and the `scp` claim that several identity providers use
//! instead (Okta writes an array of strings, Microsoft Entra a space-separated string).
//! Both claims, in both shapes, are read and their scopes united. A claim of any other JSON
//! type grants nothing: a scope check fails closed.

use serde_json::Value;

use crate::token::CustomClaims;

/// Claims that can say whether they grant a scope.
///
/// Implemented for the default JSON map ([`CustomClaims`]). Scope checks on a verified
/// token need no implementation of yours: [`AuthLayer::require_scope`](crate::AuthLayer::require_scope),
/// [`Authenticated::require_scope`](crate::Authenticated::require_scope) and
/// [`Verified::has_scope`](crate::Verified::has_scope) read the token's `scope` and `scp`
/// claims whatever the custom-claims type is. This trait is for a map (or a type of yours)
/// outside a verification.
///
/// ```
/// use gatepass::{CustomClaims, Scopes};
///
/// let claims: CustomClaims = serde_json::from_str(r#"{"scope": "read write"}"#)?;
/// assert!(claims.has_scope("write"));
/// assert!(!claims.has_scope("admin"));
///
/// // Your own type: a few lines.
/// #[derive(Clone, serde::Deserialize)]
/// struct Mine { scope: String }
/// impl Scopes for Mine {
///     fn has_scope(&self, scope: &str) -> bool {
///         self.scope.split(' ').any(|s| s == scope)
///     }
/// }
/// # Ok::<(), serde_json::Error>(())
/// ```
pub trait Scopes {
    /// Whether these claims grant `scope` (one scope token, compared exactly).
    fn has_scope(&self, scope: &str) -> bool;
}

impl Scopes for CustomClaims {
    fn has_scope(&self, scope: &str) -> bool {
        ["scope", "scp"]
            .iter()
            .filter_map(|name| self.get(*name))
            .any(|value| value_grants(value, scope))
    }
}

fn value_grants(value: &Value, scope: &str) -> bool {
    match value {
        Value::String(list) => list.split(' ').any(|s| s == scope),
        Value::Array(items) => items.iter().any(|item| item.as_str() == Some(scope)),
        _ => false,
    }
}

/// Whether `claims` grant every scope token of the space-separated `required` list.
#[cfg(test)]
fn grants_all<C: Scopes + ?Sized>(claims: &C, required: &str) -> bool {
    scope_tokens(required).all(|scope| claims.has_scope(scope))
}

/// The scope tokens of a space-separated list (empty tokens from repeated spaces skipped).
pub(crate) fn scope_tokens(list: &str) -> impl Iterator<Item = &str> {
    list.split(' ').filter(|s| !s.is_empty())
}

/// Whether `list` is a well-formed, non-empty RFC 6749 §3.3 scope list that can appear in a
/// `WWW-Authenticate` `scope` attribute: scope tokens of `NQCHAR`s
/// (`%x21 / %x23-5B / %x5D-7E`) separated by single spaces.
pub(crate) fn is_valid_scope_list(list: &str) -> bool {
    !list.is_empty()
        && list.split(' ').all(|token| {
            !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> CustomClaims {
        serde_json::from_str(json).unwrap_or_default()
    }

    #[test]
    fn scope_string_is_space_separated() {
        let c = claims(r#"{"scope": "read write:users"}"#);
        assert!(c.has_scope("read"));
        assert!(c.has_scope("write:users"));
        assert!(!c.has_scope("write"));
        assert!(!c.has_scope("read write:users"));
        assert!(!c.has_scope(""));
    }

    #[test]
    fn scp_array_and_string_both_count() {
        assert!(claims(r#"{"scp": ["a", "b"]}"#).has_scope("b"));
        assert!(claims(r#"{"scp": "a b"}"#).has_scope("b"));
        assert!(claims(r#"{"scope": "a", "scp": ["b"]}"#).has_scope("b"));
    }

    #[test]
    fn other_json_types_grant_nothing() {
        assert!(!claims(r#"{"scope": 1}"#).has_scope("1"));
        assert!(!claims(r#"{"scope": {"a": true}}"#).has_scope("a"));
        assert!(!claims(r#"{"scp": [1, "x"]}"#).has_scope("1"));
        assert!(!claims(r#"{"scope": null}"#).has_scope("null"));
        assert!(!claims("{}").has_scope("a"));
    }

    #[test]
    fn every_required_scope_must_be_granted() {
        let c = claims(r#"{"scope": "a b"}"#);
        assert!(grants_all(&c, "a b"));
        assert!(grants_all(&c, "b"));
        assert!(!grants_all(&c, "a c"));
    }

    #[test]
    fn scope_lists_are_validated_for_the_header() {
        assert!(is_valid_scope_list("read write:users https://x/y"));
        assert!(!is_valid_scope_list(""));
        assert!(!is_valid_scope_list("a  b"));
        assert!(!is_valid_scope_list(" a"));
        assert!(!is_valid_scope_list("a\"b"));
        assert!(!is_valid_scope_list("a\\b"));
        assert!(!is_valid_scope_list("caf\u{e9}"));
        assert!(!is_valid_scope_list("a\tb"));
    }
}
