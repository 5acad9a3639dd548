//! The structured target: generate claims, issue with a real fixture key, verify, then
//! mutate the token and check the verifier against the contract model.

use arbitrary::{Arbitrary, Unstructured};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Number, Value};

use super::fixture::{fixture, AUDIENCE, ISSUER, LEEWAY, NOW};
use super::model::{self, ModelClaim, MAX_SAFE_INTEGER};
use super::{signing_parts, verify, verify_token};
use crate::{IssueError, SigningKey, TokenType, TooLarge, UntrustedToken, MAX_TOKEN_BYTES};

/// Claim names the issuer refuses as custom claims.
const RESERVED: [&str; 9] = [
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "gen",
];

/// Header `alg` values worth trying; anything else comes from [`AlgName::Other`].
const ALG_NAMES: [&str; 21] = [
    "none", "None", "NONE", "nOnE", "EdDSA", "ES256", "ES384", "HS256", "HS384", "HS512", "RS256",
    "RS384", "RS512", "PS256", "PS384", "PS512", "ES512", "hs256", "Ed25519", "", " HS256",
];

/// Target `roundtrip` (structured, needs the `arbitrary` feature).
///
/// Generates a subject, session, generation, custom claims of arbitrary JSON, times and a
/// key; issues an access or refresh token with the real [`Issuer`](crate::Issuer); checks
/// the issuer wrote exactly that; verifies it as both token types against the contract
/// model (accepted with identical claims, or the exact contract error); then applies one
/// generated mutation. Byte edits and unsigned header edits must be rejected unless the
/// bytes are unchanged (and every mutant also goes through [`verify_token`]); re-signed
/// header and claim edits (alg, kid, typ, crit, registered claims of every type, duplicate
/// members, out-of-range numbers) and signatures by other keys must get exactly the
/// verdict the model derives from docs/REFERENCE.md §1.
pub fn roundtrip(data: &[u8]) {
    if let Ok(case) = Case::arbitrary_take_rest(Unstructured::new(data)) {
        case.run();
    }
}

/// A JSON value of bounded shape (nesting up to ~48 levels, to straddle the 32 limit).
#[derive(Debug)]
struct Json(Value);

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        json(u, 0).map(Json)
    }
}

fn json(u: &mut Unstructured<'_>, depth: usize) -> arbitrary::Result<Value> {
    let last = if depth >= 8 { 5 } else { 8 };
    Ok(match u.int_in_range(0..=last)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Value::from(u.arbitrary::<u64>()?),
        4 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 => Value::String(u.arbitrary()?),
        6 => {
            let len = u.int_in_range(0..=4)?;
            let mut items = Vec::with_capacity(len);
            for _ in 0..len {
                items.push(json(u, depth + 1)?);
            }
            Value::Array(items)
        }
        7 => {
            let len = u.int_in_range(0..=4)?;
            let mut map = Map::new();
            for _ in 0..len {
                let name: String = u.arbitrary()?;
                map.insert(name, json(u, depth + 1)?);
            }
            Value::Object(map)
        }
        _ => {
            let mut value = json(u, 8)?;
            for _ in 0..u.int_in_range(1..=40)? {
                value = Value::Array(vec![value]);
            }
            value
        }
    })
}

#[derive(Arbitrary, Debug)]
struct Case {
    key: u8,
    refresh: bool,
    sub: String,
    sid: Option<String>,
    gen: u64,
    custom: Vec<(String, Json)>,
    /// `iat` is `NOW - age`.
    age: u16,
    ttl: u32,
    /// Access tokens only: `nbf` is `NOW + offset`.
    nbf: Option<i16>,
    mutation: Mutation,
}

#[derive(Arbitrary, Debug)]
enum Mutation {
    None,
    Bytes(ByteEdit),
    /// Header edits re-encoded under the old signature.
    Header(Vec<HeaderEdit>),
    /// Header and claim edits, re-encoded and re-signed by the issuing key.
    Resign {
        header: Vec<HeaderEdit>,
        claims: Vec<ClaimEdit>,
        pretty: bool,
    },
    /// The same signing input signed by fixture key `n`.
    SignedBy(u8),
}

#[derive(Arbitrary, Debug)]
enum ByteEdit {
    FlipBit { at: u16, bit: u8 },
    Set { at: u16, byte: u8 },
    Insert { at: u16, byte: u8 },
    Remove { at: u16 },
    Truncate { at: u16 },
    SwapSegments { a: u8, b: u8 },
}

#[derive(Arbitrary, Debug)]
enum HeaderEdit {
    Alg(AlgName),
    Kid(KidEdit),
    Typ(TypEdit),
    Crit(Vec<String>),
    Member(String, Json),
    Remove(String),
}

#[derive(Arbitrary, Debug)]
enum AlgName {
    Listed(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum KidEdit {
    Remove,
    Fixture(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum TypEdit {
    Remove,
    Upper,
    Application,
    OtherKind,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum ClaimEdit {
    Set(ClaimName, Json),
    /// A number spelled as raw JSON text (`1e400`, `-0`, `1.0`, times around `NOW`...).
    SetNumber(ClaimName, u8),
    Remove(ClaimName),
    Duplicate(ClaimName),
}

#[derive(Arbitrary, Debug)]
enum ClaimName {
    Registered(u8),
    Custom(String),
}

impl ClaimName {
    fn name(&self) -> String {
        match self {
            Self::Registered(i) => RESERVED[usize::from(*i) % RESERVED.len()].to_owned(),
            Self::Custom(name) => name.clone(),
        }
    }
}

fn number_text(index: u8) -> String {
    let fixed = [
        "1e400",
        "-1e400",
        "1.0",
        "1e3",
        "-0",
        "-1",
        "0",
        "9007199254740991",
        "9007199254740992",
        "18446744073709551616",
        "1E2",
        "0.0",
        "1e-400",
    ];
    let near_now = [
        NOW - LEEWAY - 1,
        NOW - LEEWAY,
        NOW - LEEWAY + 1,
        NOW,
        NOW + LEEWAY - 1,
        NOW + LEEWAY,
        NOW + LEEWAY + 1,
    ];
    let index = usize::from(index) % (fixed.len() + near_now.len());
    match fixed.get(index) {
        Some(text) => (*text).to_owned(),
        None => format!(" {} ", near_now[index - fixed.len()]),
    }
}

/// A token's parts as we built them: header, and claims as raw JSON members in order.
#[derive(Clone, Debug)]
struct Parts {
    header: Map<String, Value>,
    claims: Vec<(String, String)>,
}

impl Parts {
    fn model_claims(&self) -> Vec<(String, ModelClaim)> {
        self.claims
            .iter()
            .map(|(name, raw)| (name.clone(), serde_json::from_str(raw).ok()))
            .collect()
    }

    fn header_segment(&self, pretty: bool) -> String {
        let json = if pretty {
            serde_json::to_vec_pretty(&self.header)
        } else {
            serde_json::to_vec(&self.header)
        };
        URL_SAFE_NO_PAD.encode(json.expect("a map serializes"))
    }

    fn claims_segment(&self) -> String {
        let members: Vec<String> = self
            .claims
            .iter()
            .map(|(name, raw)| format!("{}:{raw}", Value::from(name.as_str())))
            .collect();
        URL_SAFE_NO_PAD.encode(format!("{{{}}}", members.join(",")))
    }

    fn signed(&self, pretty: bool, key: &SigningKey) -> String {
        let input = format!("{}.{}", self.header_segment(pretty), self.claims_segment());
        sign(&input, key)
    }
}

fn sign(input: &str, key: &SigningKey) -> String {
    let signature = key.sign(input.as_bytes()).expect("fixture keys sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Verify `token` as `kind` and compare with the model's verdict for `parts`.
fn check(token: &str, parts: &Parts, kind: TokenType) {
    let (input, signature) = signing_parts(token).expect("built tokens have three parts");
    let claims = parts.model_claims();
    let model = model::verdict(
        fixture(),
        token.len(),
        &parts.header,
        &claims,
        input,
        &signature,
        kind,
    )
    .map(|_| ());
    match (model, verify(token, kind)) {
        (Ok(()), Ok((header, verified))) => {
            assert_eq!(header.to_json(), parts.header, "{kind}: header changed");
            let map: Map<String, Value> = claims
                .into_iter()
                .map(|(name, value)| (name, value.expect("accepted claims are JSON")))
                .collect();
            assert_eq!(verified, Value::Object(map), "{kind}: claims changed");
        }
        (Err(model), Err(actual)) => model::assert_same_error(&model, &actual, kind.as_str()),
        (model, actual) => panic!(
            "{kind}: the contract says {model:?}, the verifier says {:?}",
            actual.map(|_| "accepted")
        ),
    }
}

fn other(kind: TokenType) -> TokenType {
    match kind {
        TokenType::Access => TokenType::Refresh,
        _ => TokenType::Access,
    }
}

impl Case {
    fn run(self) {
        let fx = fixture();
        let index = usize::from(self.key) % fx.signing_keys().len();
        let signer = fx.signing_keys()[index].clone();
        let issuer = fx.issuer(index);
        let kind = if self.refresh {
            TokenType::Refresh
        } else {
            TokenType::Access
        };
        let iat = NOW - u64::from(self.age);
        let ttl = u64::from(self.ttl);
        let nbf = self
            .nbf
            .map(|offset| NOW.saturating_add_signed(i64::from(offset)));
        let custom: Map<String, Value> = self
            .custom
            .into_iter()
            .map(|(name, Json(v))| (name, v))
            .collect();
        let session = self.sid.as_deref().unwrap_or("fuzz-session");
        let issued = match kind {
            TokenType::Refresh => issuer
                .refresh_token(&self.sub, session, self.gen)
                .issued_at(iat)
                .ttl(ttl)
                .claims(&custom)
                .and_then(|b| b.issue()),
            _ => {
                let mut builder = issuer.access_token(&self.sub).issued_at(iat).ttl(ttl);
                if let Some(sid) = &self.sid {
                    builder = builder.session_id(sid);
                }
                if let Some(nbf) = nbf {
                    builder = builder.not_before(nbf);
                }
                builder.claims(&custom).and_then(|b| b.issue())
            }
        };
        // The issuer refuses registered names as custom claims, and generations that a
        // verifier would call invalid.
        if let Some(name) = custom.keys().find(|k| RESERVED.contains(&k.as_str())) {
            assert!(
                matches!(&issued, Err(IssueError::ReservedClaim(n)) if RESERVED.contains(&n.as_str())),
                "custom claim {name:?} not refused: {issued:?}"
            );
            return;
        }
        if kind == TokenType::Refresh && self.gen > MAX_SAFE_INTEGER {
            assert_eq!(issued, Err(IssueError::TimeOutOfRange));
            return;
        }
        // Nor does it issue what every verifier would refuse as too_large.
        let custom_depth = custom.values().map(model::depth).max().unwrap_or(0);
        if 1 + custom_depth > model::MAX_DEPTH {
            assert_eq!(
                issued,
                Err(IssueError::TooLarge(TooLarge::Depth {
                    max: model::MAX_DEPTH
                }))
            );
            return;
        }
        if let Err(IssueError::TooLarge(TooLarge::Length { max })) = &issued {
            assert_eq!(*max, MAX_TOKEN_BYTES);
            // Plausible: header, registered claims and signature take well under 1000
            // bytes, so the custom claims, subject and session id must fill the rest
            // (measured as JSON: a control character is six bytes there).
            let json_len = |v: &Value| v.to_string().len();
            let variable = json_len(&Value::Object(custom.clone()))
                + json_len(&Value::from(self.sub.as_str()))
                + self
                    .sid
                    .as_deref()
                    .map_or(0, |sid| json_len(&Value::from(sid)));
            assert!(
                variable * 4 / 3 + 1000 > MAX_TOKEN_BYTES,
                "a {variable}-byte payload refused as too long"
            );
            return;
        }
        let issued = issued.unwrap_or_else(|e| panic!("issuing failed: {e}"));
        assert!(
            issued.token.len() <= MAX_TOKEN_BYTES,
            "issued a token over the cap"
        );

        // The issuer wrote exactly what was asked.
        let mut header = Map::new();
        header.insert("alg".into(), signer.alg().as_str().into());
        header.insert("kid".into(), signer.kid().into());
        header.insert("typ".into(), kind.typ().into());
        let mut claims = custom;
        claims.insert("iss".into(), ISSUER.into());
        claims.insert("sub".into(), self.sub.clone().into());
        claims.insert("aud".into(), AUDIENCE.into());
        claims.insert("exp".into(), (iat + ttl).into());
        claims.insert("iat".into(), iat.into());
        claims.insert("jti".into(), issued.jti.clone().into());
        claims.insert("sid".into(), issued.sid.clone().into());
        match kind {
            TokenType::Refresh => {
                claims.insert("gen".into(), self.gen.into());
            }
            _ => {
                if let Some(nbf) = nbf {
                    claims.insert("nbf".into(), nbf.into());
                }
            }
        }
        let jti = uuid::Uuid::parse_str(&issued.jti).expect("jti is a UUID");
        assert_eq!(jti.get_version_num(), 4, "jti is not a UUID v4");
        if kind == TokenType::Access && self.sid.is_none() {
            let sid = URL_SAFE_NO_PAD
                .decode(&issued.sid)
                .expect("sid is base64url");
            assert!(sid.len() >= 16, "sid has fewer than 128 random bits");
        }
        // What was issued reads back exactly.
        let shown = UntrustedToken::new(&issued.token)
            .and_then(|t| t.insecure_inspect())
            .unwrap_or_else(|e| panic!("issued token does not inspect: {e:?}"));
        assert_eq!(shown.header, header, "issued header");
        assert_eq!(
            shown.claims, claims,
            "issued claims (custom claims must survive exactly)"
        );

        let parts = Parts {
            header,
            claims: claims
                .iter()
                .map(|(name, value)| (name.clone(), value.to_string()))
                .collect(),
        };
        check(&issued.token, &parts, kind);
        check(&issued.token, &parts, other(kind));
        self.mutation.apply(&issued.token, parts, kind, &signer);
    }
}

impl Mutation {
    fn apply(self, token: &str, mut parts: Parts, kind: TokenType, signer: &SigningKey) {
        match self {
            Self::None => {}
            Self::Bytes(edit) => must_reject_if_changed(token, &edit.apply(token.as_bytes())),
            Self::Header(edits) => {
                for edit in edits {
                    edit.apply(&mut parts.header, kind);
                }
                let mut segments = token.splitn(2, '.');
                let (_, rest) = (segments.next(), segments.next().unwrap_or_default());
                let mutated = format!("{}.{rest}", parts.header_segment(false));
                must_reject_if_changed(token, mutated.as_bytes());
            }
            Self::Resign {
                header,
                claims,
                pretty,
            } => {
                for edit in header {
                    edit.apply(&mut parts.header, kind);
                }
                for edit in claims {
                    edit.apply(&mut parts.claims);
                }
                let token = parts.signed(pretty, signer);
                check(&token, &parts, kind);
                check(&token, &parts, other(kind));
            }
            Self::SignedBy(n) => {
                let keys = fixture().signing_keys();
                let key = &keys[usize::from(n) % keys.len()];
                let (input, _) = token.rsplit_once('.').expect("three parts");
                let token = sign(input, key);
                check(&token, &parts, kind);
            }
        }
    }
}

/// Bytes that differ from a valid token must not verify; identical bytes verify the same.
fn must_reject_if_changed(original: &str, mutated: &[u8]) {
    verify_token(mutated);
    let mutated = String::from_utf8_lossy(mutated);
    for kind in [TokenType::Access, TokenType::Refresh] {
        let result = verify(&mutated, kind);
        if mutated == original {
            assert_eq!(result, verify(original, kind));
        } else {
            assert!(
                result.is_err(),
                "a changed token still verifies as {kind}: {original} -> {mutated}"
            );
        }
    }
}

impl ByteEdit {
    fn apply(self, token: &[u8]) -> Vec<u8> {
        let mut bytes = token.to_vec();
        let at = |at: u16, len: usize| usize::from(at) % len.max(1);
        match self {
            Self::FlipBit { at: i, bit } => {
                let i = at(i, bytes.len());
                if let Some(b) = bytes.get_mut(i) {
                    *b ^= 1 << (bit % 8);
                }
            }
            Self::Set { at: i, byte } => {
                let i = at(i, bytes.len());
                if let Some(b) = bytes.get_mut(i) {
                    *b = byte;
                }
            }
            Self::Insert { at: i, byte } => {
                let i = at(i, bytes.len() + 1);
                bytes.insert(i, byte);
            }
            Self::Remove { at: i } => {
                let i = at(i, bytes.len());
                if i < bytes.len() {
                    bytes.remove(i);
                }
            }
            Self::Truncate { at: i } => {
                let i = at(i, bytes.len());
                bytes.truncate(i);
            }
            Self::SwapSegments { a, b } => {
                let mut segments: Vec<&[u8]> = token.split(|b| *b == b'.').collect();
                let len = segments.len();
                segments.swap(usize::from(a) % len, usize::from(b) % len);
                bytes = segments.join(&b'.');
            }
        }
        bytes
    }
}

impl HeaderEdit {
    fn apply(self, header: &mut Map<String, Value>, kind: TokenType) {
        match self {
            Self::Alg(AlgName::Listed(i)) => {
                let name = ALG_NAMES[usize::from(i) % ALG_NAMES.len()];
                header.insert("alg".into(), name.into());
            }
            Self::Alg(AlgName::Other(name)) => {
                header.insert("alg".into(), name.into());
            }
            Self::Kid(KidEdit::Remove) => {
                header.remove("kid");
            }
            Self::Kid(KidEdit::Fixture(i)) => {
                let fx = fixture();
                let kids: Vec<&str> = fx
                    .signing_keys()
                    .iter()
                    .map(|k| k.kid())
                    .chain(fx.rsa_keys().iter().filter_map(|k| k.kid()))
                    .collect();
                let kid = kids[usize::from(i) % kids.len()];
                header.insert("kid".into(), kid.into());
            }
            Self::Kid(KidEdit::Other(kid)) => {
                header.insert("kid".into(), kid.into());
            }
            Self::Typ(edit) => {
                let current = header
                    .get("typ")
                    .and_then(Value::as_str)
                    .unwrap_or(kind.typ())
                    .to_owned();
                let typ = match edit {
                    TypEdit::Remove => {
                        header.remove("typ");
                        return;
                    }
                    TypEdit::Upper => current.to_uppercase(),
                    TypEdit::Application => format!("application/{current}"),
                    TypEdit::OtherKind => other(kind).typ().to_owned(),
                    TypEdit::Other(typ) => typ,
                };
                header.insert("typ".into(), typ.into());
            }
            Self::Crit(names) => {
                header.insert("crit".into(), names.into());
            }
            Self::Member(name, Json(value)) => {
                header.insert(name, value);
            }
            Self::Remove(name) => {
                header.remove(&name);
            }
        }
    }
}

impl ClaimEdit {
    fn apply(self, claims: &mut Vec<(String, String)>) {
        let (name, raw) = match self {
            Self::Set(name, Json(value)) => (name.name(), value.to_string()),
            Self::SetNumber(name, i) => (name.name(), number_text(i)),
            Self::Remove(name) => {
                let name = name.name();
                claims.retain(|(n, _)| *n != name);
                return;
            }
            Self::Duplicate(name) => {
                let name = name.name();
                if let Some(copy) = claims.iter().find(|(n, _)| *n == name).cloned() {
                    claims.push(copy);
                }
                return;
            }
        };
        match claims.iter_mut().find(|(n, _)| *n == name) {
            Some(member) => member.1 = raw,
            None => claims.push((name, raw)),
        }
    }
}
