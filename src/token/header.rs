//! The JOSE header of a token: parsed strictly, every RFC 7515 §4.1 parameter type-checked.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::crypto::Algorithm;
use crate::error::{Malformed, VerifyError};
use crate::json;

/// The header's `alg`, resolved against the algorithms gatepass knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderAlg {
    Known(Algorithm),
    /// `none` in any spelling, or a name gatepass does not implement.
    Unsupported,
}

/// The JOSE header of a token.
///
/// ```
/// # use gatepass::*;
/// # let key = std::sync::Arc::new(SigningKey::generate(Algorithm::ES256)?);
/// # let token = Issuer::new(key.clone(), "iss", "aud").access_token("bob").issue()?.token;
/// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "iss", "aud").build()?;
/// let verified = verifier.verify_access(&token)?;
/// assert_eq!(verified.header().alg(), Algorithm::ES256);
/// assert_eq!(verified.header().typ(), Some("at+jwt"));
/// assert_eq!(verified.header().kid(), Some(key.kid()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<String>,
    cty: Option<String>,
    other: Map<String, Value>,
}

impl Header {
    /// The algorithm (always the verifying key's).
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key id, if the header has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The token type (`at+jwt`, `refresh+jwt`, ...).
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The content type, if any.
    pub fn cty(&self) -> Option<&str> {
        self.cty.as_deref()
    }

    /// Every other header parameter (`jku`, `x5c`, private parameters, ...), type-checked
    /// but otherwise uninterpreted.
    pub fn other(&self) -> &Map<String, Value> {
        &self.other
    }

    /// The whole header as a JSON object.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut map = self.other.clone();
        map.insert("alg".into(), self.alg.as_str().into());
        if let Some(kid) = &self.kid {
            map.insert("kid".into(), kid.clone().into());
        }
        if let Some(typ) = &self.typ {
            map.insert("typ".into(), typ.clone().into());
        }
        if let Some(cty) = &self.cty {
            map.insert("cty".into(), cty.clone().into());
        }
        map
    }
}

impl Serialize for Header {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// A header as parsed, before the algorithm is resolved against a key.
#[derive(Debug)]
pub(crate) struct ParsedHeader {
    pub(crate) alg: HeaderAlg,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    pub(crate) cty: Option<String>,
    /// `crit` was present (with at least one name); gatepass understands no extension.
    pub(crate) has_crit: bool,
    pub(crate) other: Map<String, Value>,
}

impl ParsedHeader {
    pub(crate) fn parse(json: &[u8]) -> Result<Self, VerifyError> {
        let mut map =
            json::parse_object(json).map_err(|_| VerifyError::Malformed(Malformed::HeaderJson))?;
        let alg = match map.remove("alg") {
            Some(Value::String(name)) => match Algorithm::from_name(&name) {
                Some(alg) => HeaderAlg::Known(alg),
                None => HeaderAlg::Unsupported,
            },
            _ => return Err(VerifyError::Malformed(Malformed::MissingAlg)),
        };
        let kid = take_string(&mut map, "kid")?;
        let typ = take_string(&mut map, "typ")?;
        let cty = take_string(&mut map, "cty")?;
        for name in ["jku", "x5u", "x5t", "x5t#S256"] {
            if map.get(name).is_some_and(|v| !v.is_string()) {
                return Err(wrong_type(name));
            }
        }
        if map.get("jwk").is_some_and(|v| !v.is_object()) {
            return Err(wrong_type("jwk"));
        }
        if map.get("x5c").is_some_and(|v| !is_string_array(v, true)) {
            return Err(wrong_type("x5c"));
        }
        // RFC 7515 §4.1.11: crit is a non-empty array of names.
        let has_crit = match map.remove("crit") {
            None => false,
            Some(v) if is_string_array(&v, false) => true,
            Some(_) => return Err(wrong_type("crit")),
        };
        Ok(Self {
            alg,
            kid,
            typ,
            cty,
            has_crit,
            other: map,
        })
    }

    pub(crate) fn into_header(self, alg: Algorithm) -> Header {
        Header {
            alg,
            kid: self.kid,
            typ: self.typ,
            cty: self.cty,
            other: self.other,
        }
    }
}

fn wrong_type(name: &'static str) -> VerifyError {
    VerifyError::Malformed(Malformed::HeaderParameter(name))
}

fn take_string(
    map: &mut Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, VerifyError> {
    match map.remove(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(name)),
    }
}

fn is_string_array(value: &Value, allow_empty: bool) -> bool {
    match value {
        Value::Array(items) => {
            (allow_empty || !items.is_empty()) && items.iter().all(Value::is_string)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ParsedHeader, VerifyError> {
        ParsedHeader::parse(json.as_bytes())
    }

    #[test]
    fn alg_must_be_a_string() {
        assert_eq!(
            parse("{}").unwrap_err(),
            VerifyError::Malformed(Malformed::MissingAlg)
        );
        assert_eq!(
            parse(r#"{"alg":null}"#).unwrap_err(),
            VerifyError::Malformed(Malformed::MissingAlg)
        );
        assert_eq!(
            parse(r#"{"alg":"none"}"#).unwrap().alg,
            HeaderAlg::Unsupported
        );
    }

    #[test]
    fn every_rfc_7515_parameter_is_type_checked() {
        for (name, bad) in [
            ("kid", "1"),
            ("typ", "[]"),
            ("cty", "{}"),
            ("jku", "true"),
            ("jwk", "\"k\""),
            ("x5u", "null"),
            ("x5c", "\"c\""),
            ("x5t", "2"),
            ("x5t#S256", "[]"),
            ("crit", "\"exp\""),
        ] {
            let doc = format!(r#"{{"alg":"HS256","{name}":{bad}}}"#);
            assert_eq!(parse(&doc).unwrap_err(), wrong_type(name), "{doc}");
        }
        assert!(parse(r#"{"alg":"HS256","crit":[]}"#).is_err());
        assert!(parse(r#"{"alg":"HS256","crit":["exp"]}"#).unwrap().has_crit);
    }
}
