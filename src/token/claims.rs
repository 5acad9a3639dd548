//! Claim types, and the one-pass parse of an untrusted claims object.
//!
//! Parsing happens *before* the signature is checked (structure is part of the contract's
//! check order), but parsing only records what it found; nothing is judged until the
//! signature has verified. Registered claims land in typed slots that remember "absent" or
//! "invalid" instead of failing, so the verifier can report them in the contract's order.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::map::Entry;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::error::Claim;
use crate::json::{
    self, DuplicateMember, MemberName, StrictSeed, StrictSkip, StrictValue, UniqueNames,
};

/// Custom (non-registered) claims as a JSON object.
pub type CustomClaims = Map<String, Value>;

/// Largest integer a JSON time claim may hold: 2^53 - 1, the last one every JSON parser
/// represents exactly.
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3).
///
/// ```
/// use gatepass::Audience;
/// assert!(Audience::from("api").contains("api"));
/// assert!(Audience::from(vec!["a".to_string(), "b".to_string()]).contains("b"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Audience {
    /// A single audience string.
    One(String),
    /// A non-empty array of audience strings.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is (one of) this token's audience(s).
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

impl From<&str> for Audience {
    fn from(value: &str) -> Self {
        Self::One(value.to_owned())
    }
}

impl From<String> for Audience {
    fn from(value: String) -> Self {
        Self::One(value)
    }
}

impl From<Vec<String>> for Audience {
    fn from(mut value: Vec<String>) -> Self {
        if value.len() == 1 {
            Self::One(value.remove(0))
        } else {
            Self::Many(value)
        }
    }
}

/// The claims of a verified access token (RFC 9068 profile).
///
/// Only [`Verifier`](crate::Verifier) produces these (inside
/// [`Verified`](crate::Verified)), so holding one means every check passed.
/// `C` is the type of the custom claims: a JSON map by default, or any
/// `serde::Deserialize` type of yours.
///
/// ```
/// # use gatepass::*;
/// # let key = std::sync::Arc::new(SigningKey::generate(Algorithm::HS256)?);
/// # let issuer = Issuer::new(key.clone(), "https://auth.example", "api");
/// # let token = issuer.access_token("alice").claim("role", "admin")?.issue()?.token;
/// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "https://auth.example", "api").build()?;
/// let verified = verifier.verify_access(&token)?;
/// let claims: &AccessClaims = verified.claims();
/// assert_eq!(claims.sub, "alice");
/// assert_eq!(claims.custom["role"], "admin");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AccessClaims<C = CustomClaims> {
    /// Issuer.
    pub iss: String,
    /// Subject: who the token is for.
    pub sub: String,
    /// Audience(s).
    pub aud: Audience,
    /// Expiry, unix seconds.
    pub exp: UnixTime,
    /// Issued at, unix seconds.
    pub iat: UnixTime,
    /// Not before, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<UnixTime>,
    /// Token id.
    pub jti: String,
    /// Session id (gatepass tokens always carry one; third-party tokens may not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub custom: C,
}

/// The claims of a verified access token of any issuer, with only `iss` and `exp`
/// certain: what [`Verifier::verify_jwt`](crate::Verifier::verify_jwt) returns, for the
/// [`Profile::Jwt`](crate::Profile::Jwt) profile's tokens (OpenID Connect providers,
/// Keycloak, Auth0, Entra ID, Cognito, ...). Each optional field is present whenever the
/// profile or [`require`](crate::VerifierBuilder::require) made it required.
///
/// `C` is the type of the other claims (`scope`, `client_id`, `roles`, ...): a JSON map by
/// default, or any `serde::Deserialize` type of yours through
/// [`verify_jwt_as`](crate::Verifier::verify_jwt_as).
///
/// ```
/// # use gatepass::*;
/// # let key = std::sync::Arc::new(SigningKey::generate(Algorithm::HS256)?);
/// # let token = Issuer::new(key.clone(), "https://idp.example", "api").access_token("alice").claim("client_id", "web")?.issue()?.token;
/// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "https://idp.example", "api").profile(Profile::Jwt).build()?;
/// let claims: JwtClaims = verifier.verify_jwt(&token)?.into_claims();
/// assert_eq!(claims.iss, "https://idp.example");
/// assert_eq!(claims.custom["client_id"], "web");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct JwtClaims<C = CustomClaims> {
    /// Issuer: one of the verifier's accepted issuers.
    pub iss: String,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience(s); present unless the audience check was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Expiry, unix seconds.
    pub exp: UnixTime,
    /// Issued at, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<UnixTime>,
    /// Not before, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<UnixTime>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub custom: C,
}

/// The claims of a verified refresh token.
///
/// ```
/// # use gatepass::*;
/// # let key = std::sync::Arc::new(SigningKey::generate(Algorithm::EdDSA)?);
/// # let issuer = Issuer::new(key.clone(), "iss", "aud");
/// let issued = issuer.refresh_token("alice", "session-1", 3).issue()?;
/// # let verifier = Verifier::builder(VerificationKeys::new([key.verifying_key().clone()]), "iss", "aud").build()?;
/// let verified = verifier.verify_refresh(&issued.token)?;
/// assert_eq!(verified.claims().gen, 3);
/// assert_eq!(verified.claims().sid, "session-1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RefreshClaims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Audience(s).
    pub aud: Audience,
    /// Expiry, unix seconds.
    pub exp: UnixTime,
    /// Issued at, unix seconds: the moment of the rotation that produced this token.
    pub iat: UnixTime,
    /// Not before, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<UnixTime>,
    /// Token id.
    pub jti: String,
    /// Session id.
    pub sid: String,
    /// Rotation generation: 0 at login, +1 at every refresh.
    pub gen: u64,
    /// Every other claim (carried from login to the access tokens of every refresh).
    #[serde(flatten)]
    pub custom: CustomClaims,
}

/// What a parse found for one registered claim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Slot<T> {
    #[default]
    Absent,
    /// Present but `null`, of the wrong type, or out of range.
    Invalid,
    Present(T),
}

impl<T> Slot<T> {
    pub(crate) fn is_invalid(&self) -> bool {
        matches!(self, Self::Invalid)
    }

    pub(crate) fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    pub(crate) fn present(self) -> Option<T> {
        match self {
            Self::Present(v) => Some(v),
            _ => None,
        }
    }
}

/// Whether a token is an access or a refresh token: which `typ` it must carry and which
/// claims it must have.
///
/// ```
/// use gatepass::TokenType;
/// assert!(TokenType::Access.accepts_typ("AT+JWT"));
/// assert!(TokenType::Access.accepts_typ("application/at+jwt"));
/// assert!(!TokenType::Access.accepts_typ("refresh+jwt"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenType {
    /// `typ: at+jwt` (RFC 9068).
    Access,
    /// `typ: refresh+jwt`.
    Refresh,
}

impl TokenType {
    /// The `typ` header value gatepass writes.
    pub fn typ(self) -> &'static str {
        match self {
            Self::Access => "at+jwt",
            Self::Refresh => "refresh+jwt",
        }
    }

    /// Whether a header `typ` denotes this type: the short form or with the
    /// `application/` prefix, compared case-insensitively (RFC 7515 §4.1.9).
    pub fn accepts_typ(self, typ: &str) -> bool {
        let short = self.typ();
        typ.eq_ignore_ascii_case(short)
            || typ
                .get(..12)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case("application/"))
                && typ
                    .get(12..)
                    .is_some_and(|rest| rest.eq_ignore_ascii_case(short))
    }

    /// `"access"` or `"refresh"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TokenType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "access" => Ok(Self::Access),
            "refresh" => Ok(Self::Refresh),
            _ => Err(format!(
                "unknown token type {s:?}; expected access or refresh"
            )),
        }
    }
}

/// The claims object of an untrusted token, parsed but not judged.
#[derive(Debug, Default)]
pub(crate) struct RawClaims {
    pub(crate) iss: Slot<String>,
    pub(crate) sub: Slot<String>,
    pub(crate) aud: Slot<Audience>,
    pub(crate) exp: Slot<UnixTime>,
    pub(crate) nbf: Slot<UnixTime>,
    pub(crate) iat: Slot<UnixTime>,
    pub(crate) jti: Slot<String>,
    pub(crate) sid: Slot<String>,
    /// Only a registered claim in refresh tokens; in access tokens `gen` is custom.
    pub(crate) gen: Slot<u64>,
    /// The custom claims as a JSON map: built only for verifications that return the map
    /// ([`CustomMode::Map`]); empty otherwise.
    pub(crate) custom: CustomClaims,
    /// The scope tokens granted by `scope` and `scp`, space-separated, read in every mode
    /// so that scope checks work whatever the claims type.
    pub(crate) scopes: Option<String>,
    /// A custom claim holds a number no double can hold (`1e400`, at any depth): the
    /// claims are well-formed but cannot be represented, so the token is
    /// `invalid_claim` (`custom`) once its signature and registered claims check out.
    pub(crate) custom_unrepresentable: bool,
}

impl RawClaims {
    /// Parse a claims object strictly. Duplicate members (at any depth) and non-objects
    /// are errors; wrong-typed registered claims are *recorded*, not errors.
    #[cfg(test)]
    pub(crate) fn parse(json: &[u8], kind: TokenType) -> Result<Self, serde_json::Error> {
        Self::parse_with_hint(json, kind, 0, CustomMode::Map)
    }

    /// [`parse`](Self::parse), knowing roughly how many members the object has (from the
    /// depth scan), so the custom-claims map is allocated once at its final size.
    pub(crate) fn parse_with_hint(
        json: &[u8],
        kind: TokenType,
        members: usize,
        mode: CustomMode,
    ) -> Result<Self, serde_json::Error> {
        // Registered claims (about 7 in a gatepass token) stay out of the map; the cap keeps
        // a hostile hint (at most one member per 2 bytes of an 8 KiB token) from pre-allocating much.
        let custom_capacity = match mode {
            CustomMode::Map => members
                .saturating_sub(REGISTERED_IN_A_TYPICAL_TOKEN)
                .min(64),
            CustomMode::Skip => 0,
        };
        let parse = |tolerant| {
            let mut de = serde_json::Deserializer::from_slice(json);
            let claims = ClaimsSeed {
                kind,
                custom_capacity,
                tolerant,
                mode,
            }
            .deserialize(&mut de)?;
            de.end()?;
            Ok(claims)
        };
        // The fast path parses each custom claim once; only when that fails is the object
        // read again, each custom claim through its raw text, to tell an unrepresentable
        // number (invalid) from a structural error (malformed).
        parse(false).or_else(|_| parse(true))
    }
}

/// What a parse does with the custom claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CustomMode {
    /// Build the JSON map (the default claims type).
    Map,
    /// Check them as strictly, keep nothing: the caller's type deserializes them from the
    /// claims text afterwards, without a map in between.
    Skip,
}

/// The scope tokens a `scope` or `scp` value grants: a space-separated string, or an array
/// of strings (an item holding a space is no scope token and grants nothing); any other
/// JSON type, or an array with an item that is not a string, grants nothing, so a scope
/// check fails closed.
fn scope_tokens_of(raw: &str) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Granted<'a> {
        List(std::borrow::Cow<'a, str>),
        Items(Vec<std::borrow::Cow<'a, str>>),
    }
    match serde_json::from_str::<Granted<'_>>(raw).ok()? {
        Granted::List(list) => Some(list.into_owned()),
        Granted::Items(items) => Some(
            items
                .iter()
                .filter(|item| !item.contains(' '))
                .map(|item| item.as_ref())
                .collect::<Vec<&str>>()
                .join(" "),
        ),
    }
}

/// `scopes` with the tokens of `more` added.
fn add_scopes(scopes: &mut Option<String>, more: Option<String>) {
    match (scopes.as_mut(), more) {
        (Some(all), Some(more)) => {
            all.push(' ');
            all.push_str(&more);
        }
        (None, more) => *scopes = more,
        (Some(_), None) => {}
    }
}

/// iss, sub, aud, exp, iat, jti, sid.
const REGISTERED_IN_A_TYPICAL_TOKEN: usize = 7;

struct ClaimsSeed {
    kind: TokenType,
    custom_capacity: usize,
    mode: CustomMode,
    /// Read custom claims through their raw text, so that one holding a number beyond any
    /// double is recorded rather than fatal: the slow path, taken only after the fast
    /// parse failed.
    tolerant: bool,
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed {
    type Value = RawClaims;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawClaims, D::Error> {
        deserializer.deserialize_map(self)
    }
}

/// `aud` from the raw JSON text of a non-string (structure already checked): a non-empty
/// array of strings, or invalid.
fn audience_slot(raw: &str) -> Slot<Audience> {
    match serde_json::from_str::<Vec<String>>(raw) {
        Ok(items) if !items.is_empty() => Slot::Present(Audience::Many(items)),
        _ => Slot::Invalid,
    }
}

/// A NumericDate as the contract allows it: a plain JSON integer in 0..2^53. Read from the
/// raw text, so `1.0`, `1e3`, `-0` and `1e400` (which serde_json cannot even represent)
/// are all simply invalid rather than a parse failure.
fn integer_slot(raw: &str) -> Slot<u64> {
    let raw = raw.trim();
    let canonical = !raw.is_empty()
        && raw.len() <= 16
        && raw.bytes().all(|b| b.is_ascii_digit())
        && (raw == "0" || !raw.starts_with('0'));
    match raw.parse::<u64>() {
        Ok(n) if canonical && n <= MAX_SAFE_INTEGER => Slot::Present(n),
        _ => Slot::Invalid,
    }
}

/// [`scope_tokens_of`] for a value already in the map.
fn scope_value_tokens(value: &Value) -> Option<String> {
    match value {
        Value::String(list) => Some(list.clone()),
        // Like the typed reading: one item that is not a string, and the array grants
        // nothing at all.
        Value::Array(items) => items
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<&str>>>()
            .map(|items| {
                items
                    .into_iter()
                    .filter(|item| !item.contains(' '))
                    .collect::<Vec<&str>>()
                    .join(" ")
            }),
        _ => None,
    }
}

/// A registered member seen twice is a duplicate like any other.
fn mark_seen<E: de::Error>(seen: &mut u16, claim: Claim, name: &str) -> Result<(), E> {
    let bit = 1u16 << (claim as u16);
    if *seen & bit != 0 {
        return Err(E::custom(DuplicateMember(name)));
    }
    *seen |= bit;
    Ok(())
}

impl<'de> Visitor<'de> for ClaimsSeed {
    type Value = RawClaims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<RawClaims, A::Error> {
        let mut claims = RawClaims {
            custom: CustomClaims::with_capacity(self.custom_capacity),
            ..RawClaims::default()
        };
        let mut seen = 0u16;
        // Skip mode: the custom member names, for the duplicate check the map does otherwise.
        let mut custom_names = UniqueNames::default();
        while let Some(MemberName(name)) = access.next_key()? {
            let registered = match name.as_ref() {
                "iss" => Some(Claim::Iss),
                "sub" => Some(Claim::Sub),
                "aud" => Some(Claim::Aud),
                "exp" => Some(Claim::Exp),
                "nbf" => Some(Claim::Nbf),
                "iat" => Some(Claim::Iat),
                "jti" => Some(Claim::Jti),
                "sid" => Some(Claim::Sid),
                "gen" if self.kind == TokenType::Refresh => Some(Claim::Gen),
                _ => None,
            };
            let Some(claim) = registered else {
                let is_scope = matches!(name.as_ref(), "scope" | "scp");
                if self.mode == CustomMode::Skip {
                    custom_names.insert(name)?;
                    if is_scope || self.tolerant {
                        let raw: &RawValue = access.next_value()?;
                        let mut inner = serde_json::Deserializer::from_str(raw.get());
                        match StrictSkip.deserialize(&mut inner) {
                            Ok(()) if is_scope => {
                                add_scopes(&mut claims.scopes, scope_tokens_of(raw.get()));
                            }
                            Ok(()) => {}
                            Err(_) if self.tolerant => {
                                // Not readable, yet structurally sound: a number beyond any
                                // double. Invalid, not malformed.
                                json::check_structure(raw.get()).map_err(de::Error::custom)?;
                                claims.custom_unrepresentable = true;
                            }
                            Err(e) => return Err(de::Error::custom(e)),
                        }
                    } else {
                        access.next_value_seed(StrictSkip)?;
                    }
                    continue;
                }
                // One hash per member: the entry both finds a duplicate and keeps the slot.
                match claims.custom.entry(name.into_owned()) {
                    Entry::Occupied(slot) => {
                        return Err(de::Error::custom(DuplicateMember(slot.key())));
                    }
                    Entry::Vacant(slot) if self.tolerant => {
                        let raw: &RawValue = access.next_value()?;
                        match serde_json::from_str::<StrictValue>(raw.get()) {
                            Ok(StrictValue(value)) => {
                                let value = slot.insert(value);
                                if is_scope {
                                    add_scopes(&mut claims.scopes, scope_value_tokens(value));
                                }
                            }
                            Err(_) => {
                                // Structurally sound (checked here) yet not a `Value`: it
                                // holds a number beyond any double. Invalid, not malformed.
                                json::check_structure(raw.get()).map_err(de::Error::custom)?;
                                slot.insert(Value::Null);
                                claims.custom_unrepresentable = true;
                            }
                        }
                    }
                    Entry::Vacant(slot) => {
                        let value = slot.insert(access.next_value_seed(StrictSeed)?);
                        if is_scope {
                            add_scopes(&mut claims.scopes, scope_value_tokens(value));
                        }
                    }
                }
                continue;
            };
            mark_seen(&mut seen, claim, &name)?;
            // Registered claims are judged from their raw text, so that no value (not
            // even a number beyond any double) is a parse failure: only structure is.
            let raw: &RawValue = access.next_value()?;
            let text = raw.get();
            if text.starts_with('"') {
                // The common case: one string parse, whose failure (a bad escape) is
                // structural like anywhere else.
                let value: String = serde_json::from_str(text).map_err(de::Error::custom)?;
                match claim {
                    Claim::Iss => claims.iss = Slot::Present(value),
                    Claim::Sub => claims.sub = Slot::Present(value),
                    Claim::Aud => claims.aud = Slot::Present(Audience::One(value)),
                    Claim::Jti => claims.jti = Slot::Present(value),
                    Claim::Sid => claims.sid = Slot::Present(value),
                    Claim::Exp => claims.exp = Slot::Invalid,
                    Claim::Nbf => claims.nbf = Slot::Invalid,
                    Claim::Iat => claims.iat = Slot::Invalid,
                    _ => claims.gen = Slot::Invalid,
                }
                continue;
            }
            json::check_structure(text).map_err(de::Error::custom)?;
            match claim {
                Claim::Exp => claims.exp = integer_slot(text),
                Claim::Nbf => claims.nbf = integer_slot(text),
                Claim::Iat => claims.iat = integer_slot(text),
                Claim::Gen => claims.gen = integer_slot(text),
                Claim::Aud => claims.aud = audience_slot(text),
                // A string claim that is not a string.
                Claim::Iss => claims.iss = Slot::Invalid,
                Claim::Sub => claims.sub = Slot::Invalid,
                Claim::Jti => claims.jti = Slot::Invalid,
                _ => claims.sid = Slot::Invalid,
            }
        }
        Ok(claims)
    }
}

/// Deserialize the caller's custom-claims type straight from a verified token's claims
/// text, without a map in between: `C` sees the members that are not registered claims of
/// a token of `kind` (exactly what the JSON map would hold), and may borrow from `json`.
pub(crate) fn custom_from_json<'de, C: Deserialize<'de>>(
    json: &'de [u8],
    kind: TokenType,
) -> Result<C, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let custom = C::deserialize(CustomOnly { de: &mut de, kind })?;
    de.end()?;
    Ok(custom)
}

/// The claims object, seen without its registered members.
struct CustomOnly<'a, R> {
    de: &'a mut serde_json::Deserializer<R>,
    kind: TokenType,
}

impl<'de, R: serde_json::de::Read<'de>> Deserializer<'de> for CustomOnly<'_, R> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.de.deserialize_map(HideRegistered {
            visitor,
            kind: self.kind,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct HideRegistered<V> {
    visitor: V,
    kind: TokenType,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for HideRegistered<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(CustomMembers {
            access,
            kind: self.kind,
        })
    }
}

struct CustomMembers<A> {
    access: A,
    kind: TokenType,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for CustomMembers<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
        while let Some(MemberName(name)) = self.access.next_key()? {
            if is_registered(&name, self.kind) {
                self.access.next_value::<de::IgnoredAny>()?;
                continue;
            }
            return match name {
                std::borrow::Cow::Borrowed(name) => seed
                    .deserialize(BorrowedStrDeserializer::new(name))
                    .map(Some),
                std::borrow::Cow::Owned(name) => {
                    seed.deserialize(StringDeserializer::new(name)).map(Some)
                }
            };
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.access.next_value_seed(seed)
    }
}

/// Whether `name` is a claim the verifier reads into its own field for a token of `kind`
/// (and so not one of the custom claims).
pub(crate) fn is_registered(name: &str, kind: TokenType) -> bool {
    matches!(
        name,
        "iss" | "sub" | "aud" | "exp" | "nbf" | "iat" | "jti" | "sid"
    ) || (name == "gen" && kind == TokenType::Refresh)
}

/// Parse a claims object for display only (`inspect`): the same strictness, no typing.
pub(crate) fn parse_untyped(json: &[u8]) -> Result<Map<String, Value>, serde_json::Error> {
    json::parse_object(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates_must_be_plain_safe_integers() {
        assert_eq!(integer_slot("0"), Slot::Present(0));
        assert_eq!(
            integer_slot("9007199254740991"),
            Slot::Present(MAX_SAFE_INTEGER)
        );
        for bad in [
            "9007199254740992",
            "1.0",
            "1e3",
            "-1",
            "-0",
            "01",
            "1e400",
            "\"1\"",
            "null",
            "true",
        ] {
            assert_eq!(integer_slot(bad), Slot::Invalid, "{bad}");
        }
    }

    #[test]
    fn wrong_types_are_recorded_not_fatal() {
        let raw = RawClaims::parse(
            br#"{"iss":1,"sub":null,"aud":[],"exp":1e400,"jti":"x","x":{"y":[1]}}"#,
            TokenType::Access,
        )
        .unwrap();
        assert!(raw.iss.is_invalid() && raw.sub.is_invalid() && raw.aud.is_invalid());
        assert!(raw.exp.is_invalid());
        assert!(raw.iat.is_absent());
        assert_eq!(raw.jti, Slot::Present("x".into()));
        assert!(raw.custom.contains_key("x"));
    }

    #[test]
    fn duplicates_are_structural_errors_wherever_they_are() {
        for doc in [
            r#"{"sub":"a","sub":"b"}"#,
            r#"{"x":1,"x":2}"#,
            r#"{"x":{"y":1,"y":2}}"#,
            r#"{"exp":{"y":1,"y":2}}"#,
        ] {
            assert!(
                RawClaims::parse(doc.as_bytes(), TokenType::Access).is_err(),
                "{doc}"
            );
        }
    }

    #[test]
    fn gen_is_registered_only_in_refresh_tokens() {
        let access = RawClaims::parse(br#"{"gen":"x"}"#, TokenType::Access).unwrap();
        assert_eq!(access.custom["gen"], "x");
        let refresh = RawClaims::parse(br#"{"gen":"x"}"#, TokenType::Refresh).unwrap();
        assert!(refresh.gen.is_invalid());
    }
}
