//! The JOSE header of a token: parsed strictly, every RFC 7515 §4.1 parameter type-checked.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::map::Entry;
use serde_json::{Map, Value};

use crate::crypto::Algorithm;
use crate::error::{Malformed, VerifyError};
use crate::json::{self, DuplicateMember, MemberName, StrictSeed};

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
    /// Parse and type-check a header in one pass: `alg` is resolved without being copied,
    /// `kid`, `typ` and `cty` become strings, and only other parameters (rare) go into a
    /// map. Duplicates are refused like everywhere else.
    pub(crate) fn parse(json: &[u8]) -> Result<Self, VerifyError> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let fields = Deserializer::deserialize_map(&mut de, HeaderVisitor)
            .and_then(|fields| de.end().map(|()| fields))
            .map_err(|_| VerifyError::Malformed(Malformed::HeaderJson))?;
        let RawHeader {
            alg,
            kid,
            typ,
            cty,
            crit,
            other,
        } = fields;
        // Same order of judgement as ever: alg, then kid/typ/cty, then the other RFC 7515
        // names, then crit.
        let alg = match alg {
            Some(Member::Str(name)) => match Algorithm::from_name(&name) {
                Some(alg) => HeaderAlg::Known(alg),
                None => HeaderAlg::Unsupported,
            },
            _ => return Err(VerifyError::Malformed(Malformed::MissingAlg)),
        };
        let kid = member_string(kid, "kid")?;
        let typ = member_string(typ, "typ")?;
        let cty = member_string(cty, "cty")?;
        for name in ["jku", "x5u", "x5t", "x5t#S256"] {
            if other.get(name).is_some_and(|v| !v.is_string()) {
                return Err(wrong_type(name));
            }
        }
        if other.get("jwk").is_some_and(|v| !v.is_object()) {
            return Err(wrong_type("jwk"));
        }
        if other.get("x5c").is_some_and(|v| !is_string_array(v, true)) {
            return Err(wrong_type("x5c"));
        }
        // RFC 7515 §4.1.11: crit is a non-empty array of names.
        let has_crit = match crit {
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
            other,
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

fn member_string(
    member: Option<Member<'_>>,
    name: &'static str,
) -> Result<Option<String>, VerifyError> {
    match member {
        None => Ok(None),
        Some(Member::Str(s)) => Ok(Some(s.into_owned())),
        Some(Member::Other) => Err(wrong_type(name)),
    }
}

/// A header member value: a string borrowed from the JSON when it has no escapes, or
/// anything else (still parsed strictly, so a duplicate inside it is refused), which for
/// the members gatepass reads is simply the wrong type.
enum Member<'de> {
    Str(Cow<'de, str>),
    Other,
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MemberVisitor;
        impl<'de> Visitor<'de> for MemberVisitor {
            type Value = Member<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header parameter value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Owned(v)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Member<'de>, E> {
                json::StrictVisitor.visit_f64(v).map(|_| Member::Other)
            }
            fn visit_unit<E>(self) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Member<'de>, A::Error> {
                json::StrictVisitor.visit_seq(seq).map(|_| Member::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Member<'de>, A::Error> {
                json::StrictVisitor.visit_map(map).map(|_| Member::Other)
            }
        }
        deserializer.deserialize_any(MemberVisitor)
    }
}

/// The header's members, sorted into the ones gatepass reads and the rest.
#[derive(Default)]
struct RawHeader<'de> {
    alg: Option<Member<'de>>,
    kid: Option<Member<'de>>,
    typ: Option<Member<'de>>,
    cty: Option<Member<'de>>,
    crit: Option<Value>,
    other: Map<String, Value>,
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = RawHeader<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<RawHeader<'de>, A::Error> {
        let mut header = RawHeader::default();
        while let Some(MemberName(name)) = access.next_key()? {
            let slot = match name.as_ref() {
                "alg" => &mut header.alg,
                "kid" => &mut header.kid,
                "typ" => &mut header.typ,
                "cty" => &mut header.cty,
                "crit" => {
                    if header.crit.is_some() {
                        return Err(de::Error::custom(DuplicateMember(&name)));
                    }
                    header.crit = Some(access.next_value_seed(StrictSeed)?);
                    continue;
                }
                _ => {
                    let value = access.next_value_seed(StrictSeed)?;
                    match header.other.entry(name.into_owned()) {
                        Entry::Vacant(slot) => slot.insert(value),
                        Entry::Occupied(slot) => {
                            return Err(de::Error::custom(DuplicateMember(slot.key())))
                        }
                    };
                    continue;
                }
            };
            if slot.is_some() {
                return Err(de::Error::custom(DuplicateMember(&name)));
            }
            *slot = Some(access.next_value()?);
        }
        Ok(header)
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
