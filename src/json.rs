//! Strict JSON: the rules every untrusted JSON document in gatepass is held to.
//!
//! serde_json accepts duplicate member names (last one wins) and nests up to 128 levels.
//! Both are attack surface for a token parser: a duplicated `sub` means two parsers can
//! disagree about who a token is for. So untrusted JSON is first scanned for depth, then
//! parsed into [`StrictValue`], which refuses duplicate member names at every level.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::map::Entry;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The deepest nesting accepted; the top-level object is level 1 (docs/REFERENCE.md §1).
pub(crate) const MAX_DEPTH: usize = 32;

/// Whether `json` nests objects and arrays deeper than `max` levels.
///
/// A linear scan that skips string contents (and the escapes inside them), run *before*
/// parsing so a deeply nested document is refused without recursing into it. Malformed
/// JSON is left for the parser to reject.
pub(crate) fn nests_deeper_than(json: &[u8], max: usize) -> bool {
    scan(json, max).too_deep
}

/// What one pass over untrusted JSON learns before it is parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Objects and arrays nest deeper than the limit.
    pub(crate) too_deep: bool,
    /// Members of the top-level object (commas at depth 1, plus one): a capacity hint,
    /// exact for well-formed JSON and only a hint otherwise.
    pub(crate) top_level_members: usize,
}

/// The depth scan of [`nests_deeper_than`], also counting top-level members.
///
/// String contents, most of a token's bytes, are skipped with `memchr2` (SIMD) to the
/// next quote or backslash; only the bytes between strings are looked at one by one.
pub(crate) fn scan(json: &[u8], max: usize) -> Scan {
    let mut depth = 0usize;
    let mut commas = 0usize;
    let mut saw_member = false;
    let mut i = 0usize;
    while let Some(&byte) = json.get(i) {
        i += 1;
        match byte {
            b'"' => {
                // Find the closing quote, stepping over escaped characters.
                loop {
                    let rest = json.get(i..).unwrap_or_default();
                    match memchr::memchr2(b'"', b'\\', rest) {
                        None => {
                            i = json.len();
                            break;
                        }
                        Some(at) => {
                            let found = rest.get(at).copied();
                            i += at + 1;
                            if found == Some(b'\\') {
                                i += 1; // the escaped byte, whatever it is
                            } else {
                                break;
                            }
                        }
                    }
                }
                if depth == 1 {
                    saw_member = true;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Scan {
                        too_deep: true,
                        top_level_members: 0,
                    };
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => commas += 1,
            _ => {}
        }
    }
    Scan {
        too_deep: false,
        top_level_members: if saw_member { commas + 1 } else { 0 },
    }
}

/// Parse a strict JSON object (no duplicate members at any level). Depth must have been
/// checked with [`nests_deeper_than`] first when the input is untrusted.
pub(crate) fn parse_object(json: &[u8]) -> Result<Map<String, Value>, serde_json::Error> {
    match serde_json::from_slice::<StrictValue>(json)?.0 {
        Value::Object(map) => Ok(map),
        _ => Err(de::Error::custom("expected a JSON object")),
    }
}

/// A JSON value whose objects, at every level, have no duplicate member names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StrictValue(pub(crate) Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

pub(crate) struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            // One hash per member: the entry both finds a duplicate and keeps the slot.
            match map.entry(key) {
                Entry::Occupied(slot) => {
                    return Err(de::Error::custom(DuplicateMember(slot.key())));
                }
                Entry::Vacant(slot) => {
                    let StrictValue(value) = access.next_value()?;
                    slot.insert(value);
                }
            }
        }
        Ok(Value::Object(map))
    }
}

/// The message for a duplicate member; the name is truncated so an attacker-sized key
/// never ends up whole in an error string.
pub(crate) struct DuplicateMember<'a>(pub(crate) &'a str);

impl fmt::Display for DuplicateMember<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name: String = self.0.chars().take(32).collect();
        write!(f, "duplicate member {name:?}")
    }
}

/// An object member name, borrowed from the input when it has no escapes.
pub(crate) struct MemberName<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for MemberName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = MemberName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MemberName(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MemberName(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(MemberName(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// Check one JSON value (already known to be well-formed JSON) for everything
/// [`StrictValue`] refuses *except* numbers: no duplicate member names at any level, and
/// every string and member name a valid escape sequence. A number no double can hold
/// (`1e400`) is not a structural error: docs/REFERENCE.md §1 calls such a claim invalid (wrong
/// range), which is decided after the signature, not `malformed`.
///
/// Each level re-reads its own text, so the cost is O(depth × length); depth is bounded
/// by [`MAX_DEPTH`] before any parse. Only wrong-typed claims and the rare claims object
/// that [`StrictValue`] cannot hold come here, never the hot path.
pub(crate) fn check_structure(json: &str) -> Result<(), serde_json::Error> {
    match json.trim_start().as_bytes().first() {
        Some(b'{') => {
            let mut de = serde_json::Deserializer::from_str(json);
            de.deserialize_map(ShapeVisitor)?;
            de.end()
        }
        Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(json)?
            .iter()
            .try_for_each(|item| check_structure(item.get())),
        Some(b'"') => serde_json::from_str::<String>(json).map(drop),
        _ => Ok(()),
    }
}

/// The object case of [`check_structure`].
struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut names = HashSet::new();
        while let Some(MemberName(name)) = access.next_key()? {
            if names.contains(&name) {
                return Err(de::Error::custom(DuplicateMember(&name)));
            }
            let value: &'de RawValue = access.next_value()?;
            check_structure(value.get()).map_err(de::Error::custom)?;
            names.insert(name);
        }
        Ok(())
    }
}

/// A [`DeserializeSeed`] that parses one value strictly; used by visitors that have already
/// decided a member is not one of theirs.
pub(crate) struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        StrictValue::deserialize(deserializer).map(|v| v.0)
    }
}

/// A [`DeserializeSeed`] that reads one value as strictly as [`StrictSeed`] (no duplicate
/// member names at any depth, valid escapes, numbers a double can hold) and keeps nothing:
/// the custom claims of a token verified into the caller's own type, which deserializes
/// them itself. Member names of one object are compared without hashing (a token holds a
/// few), and no name is copied unless it has escapes.
pub(crate) struct StrictSkip;

impl<'de> DeserializeSeed<'de> for StrictSkip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(StrictSkip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut names = UniqueNames::default();
        while let Some(MemberName(name)) = access.next_key()? {
            names.insert(name)?;
            access.next_value_seed(StrictSkip)?;
        }
        Ok(())
    }
}

/// The member names of one object, refusing a repeat. Linear scans: objects in tokens are
/// small, and at most 8192 bytes bound the worst case.
#[derive(Default)]
pub(crate) struct UniqueNames<'de>(Vec<Cow<'de, str>>);

impl<'de> UniqueNames<'de> {
    /// Record `name`, or fail if the object already had it.
    pub(crate) fn insert<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        if self.0.contains(&name) {
            return Err(E::custom(DuplicateMember(&name)));
        }
        self.0.push(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_the_top_level_object_as_one() {
        let ok = format!("{}{}", "[".repeat(31), "]".repeat(31));
        let ok = format!("{{\"a\":{ok}}}");
        assert!(!nests_deeper_than(ok.as_bytes(), 32));
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(32), "]".repeat(32));
        assert!(nests_deeper_than(deep.as_bytes(), 32));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let json = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(100), "{".repeat(100));
        assert!(!nests_deeper_than(json.as_bytes(), 2));
    }

    #[test]
    fn duplicates_are_refused_at_every_level() {
        assert!(parse_object(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_object(br#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(parse_object(br#"{"a":[{"b":1,"\u0062":2}]}"#).is_err());
        assert!(parse_object(br#"{"a":1,"b":[1,{"c":null}]}"#).is_ok());
    }

    #[test]
    fn structure_checks_ignore_number_ranges_but_not_duplicates_or_escapes() {
        for ok in [
            "1e400",
            "-1e400",
            "[1e400]",
            r#"{"a":[1,{"b":1e400}],"c":"d"}"#,
            r#""\u00e9""#,
            r#"{"a":{"a":1}}"#,
            "null",
        ] {
            assert!(check_structure(ok).is_ok(), "{ok}");
        }
        for bad in [
            r#"{"a":1,"a":1e400}"#,
            r#"[{"b":1,"\u0062":2}]"#,
            r#"{"x":[1e400,{"c":1,"c":2}]}"#,
            r#""\ud800""#,
            r#"{"\ud800":1}"#,
        ] {
            assert!(check_structure(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn floats_survive_a_serialize_parse_round_trip() {
        // Found by the `roundtrip` fuzz target: serde_json's default float parser may land
        // one ulp off, so a custom claim of -3.549428882938847e-222 came back from
        // verification as -3.5494288829388474e-222. `float_roundtrip` makes it exact.
        for x in [
            -3.549428882938847e-222_f64,
            5e-324,
            2.2250738585072014e-308,
            1.7976931348623157e308,
            0.1,
        ] {
            let text = serde_json::json!({ "x": x }).to_string();
            let back = parse_object(text.as_bytes()).unwrap();
            assert_eq!(back["x"].as_f64(), Some(x), "{text}");
        }
    }

    #[test]
    fn only_objects_are_objects() {
        assert!(parse_object(b"[]").is_err());
        assert!(parse_object(b"\"x\"").is_err());
        assert!(parse_object(b"{} ").is_ok());
        assert!(parse_object(b"{} x").is_err());
    }
}
