//! From untrusted bytes to parsed parts: limits first, then strict base64url and JSON.

use std::ops::Range;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::claims::{self, CustomMode, RawClaims, TokenType};
use super::header::ParsedHeader;
use crate::error::{Malformed, TooLarge, VerifyError};
use crate::json;

/// The longest compact token accepted by default (docs/REFERENCE.md §1): 8192 bytes is accepted.
pub const MAX_TOKEN_BYTES: usize = 8192;

/// A token from the outside world: bounded in size, and nothing more. Its claims cannot
/// be read until a [`Verifier`](crate::Verifier) has checked it; the only other way in is
/// the explicitly named [`insecure_inspect`](Self::insecure_inspect).
///
/// ```
/// use gatepass::{UntrustedToken, VerifyError};
/// let long = "a".repeat(8193);
/// assert!(matches!(UntrustedToken::new(&long), Err(VerifyError::TooLarge(_))));
/// let token = UntrustedToken::new("e30.e30.c2ln")?;
/// let shown = token.insecure_inspect()?;
/// assert!(shown.claims.is_empty());
/// # Ok::<(), VerifyError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct UntrustedToken<'a> {
    raw: &'a str,
}

/// A token's header and claims shown WITHOUT any verification: for debugging and
/// forensics (`gatepass inspect`). Nothing here may be trusted.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct InsecureInspection {
    /// The header, as sent.
    pub header: Map<String, Value>,
    /// The claims, as sent.
    pub claims: Map<String, Value>,
}

impl<'a> UntrustedToken<'a> {
    /// Accept `raw` if it is at most [`MAX_TOKEN_BYTES`] long.
    pub fn new(raw: &'a str) -> Result<Self, VerifyError> {
        Self::with_limit(raw, MAX_TOKEN_BYTES)
    }

    /// Accept `raw` if it is at most `max` bytes long.
    pub fn with_limit(raw: &'a str, max: usize) -> Result<Self, VerifyError> {
        if raw.len() > max {
            return Err(VerifyError::TooLarge(TooLarge::Length { max }));
        }
        Ok(Self { raw })
    }

    /// Accept raw bytes (a token read from a file or stdin): size first, so input over
    /// [`MAX_TOKEN_BYTES`] is `too_large` whatever it holds, then text, so bytes that are
    /// not UTF-8 (never part of a compact JWS) are `malformed`.
    ///
    /// ```
    /// use gatepass::{UntrustedToken, VerifyError};
    ///
    /// assert_eq!(UntrustedToken::from_bytes(b"a.b.c")?.as_str(), "a.b.c");
    /// assert_eq!(UntrustedToken::from_bytes(b"a.b.\xff").unwrap_err().kind(), "malformed");
    /// assert_eq!(UntrustedToken::from_bytes(&[0xff; 8193]).unwrap_err().kind(), "too_large");
    /// # Ok::<(), VerifyError>(())
    /// ```
    pub fn from_bytes(raw: &'a [u8]) -> Result<Self, VerifyError> {
        if raw.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge(TooLarge::Length {
                max: MAX_TOKEN_BYTES,
            }));
        }
        let raw =
            std::str::from_utf8(raw).map_err(|_| VerifyError::Malformed(Malformed::Segments))?;
        Ok(Self { raw })
    }

    /// The token as given.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Decode header and claims with the same strictness as verification (canonical
    /// base64url, UTF-8 JSON objects, no duplicate members, bounded depth) but check
    /// nothing else: not the signature, not a single claim.
    pub fn insecure_inspect(&self) -> Result<InsecureInspection, VerifyError> {
        let segments = Segments::split(self.raw)?;
        decode(segments.signature)?;
        let header = segments.header_json()?;
        let claims = segments.claims_json()?;
        let header = json::parse_object(&header)
            .map_err(|_| VerifyError::Malformed(Malformed::HeaderJson))?;
        let claims = claims::parse_untyped(&claims)
            .map_err(|_| VerifyError::Malformed(Malformed::ClaimsJson))?;
        Ok(InsecureInspection { header, claims })
    }

    /// Split, decode and parse a JWS whose payload is any octets (RFC 7520's and
    /// Wycheproof's payloads are text): the same segment, base64url, depth and header rules
    /// as [`parse`](Self::parse), and nothing about claims. DPoP proofs are parsed by it
    /// (their claims are read only after the signature verifies), so it is always built.
    pub(crate) fn parse_jws(&self) -> Result<ParsedJws<'a>, VerifyError> {
        let segments = Segments::split(self.raw)?;
        let mut buf = Vec::new();
        let signature = decode_into(segments.signature, &mut buf)?;
        let header_json = decode_into(segments.header, &mut buf)?;
        check_depth(buf.get(header_json.clone()).unwrap_or_default())?;
        let payload = decode(segments.claims)?;
        let header = ParsedHeader::parse(buf.get(header_json).unwrap_or_default())?;
        Ok(ParsedJws {
            signing_input: segments.signing_input,
            header,
            payload,
            signature: buf.get(signature).unwrap_or_default().to_vec(),
        })
    }

    /// Parse everything the signature check and the claim checks need.
    ///
    /// The three segments are decoded into one buffer (one allocation, not three), in the
    /// order of the checks: signature, header (and its depth), claims (and theirs).
    pub(crate) fn parse(
        &self,
        kind: TokenType,
        mode: CustomMode,
    ) -> Result<ParsedToken<'a>, VerifyError> {
        let segments = Segments::split(self.raw)?;
        let mut buf = Vec::with_capacity(
            decoded_len(segments.signature)
                + decoded_len(segments.header)
                + decoded_len(segments.claims),
        );
        let signature = decode_into(segments.signature, &mut buf)?;
        let header_json = decode_into(segments.header, &mut buf)?;
        check_depth(buf.get(header_json.clone()).unwrap_or_default())?;
        let claims_json = decode_into(segments.claims, &mut buf)?;
        let claims_bytes = buf.get(claims_json.clone()).unwrap_or_default();
        let scan = json::scan(claims_bytes, json::MAX_DEPTH);
        if scan.too_deep {
            return Err(depth_error());
        }
        let header = ParsedHeader::parse(buf.get(header_json).unwrap_or_default())?;
        let claims = RawClaims::parse_with_hint(claims_bytes, kind, scan.top_level_members, mode)
            .map_err(|_| VerifyError::Malformed(Malformed::ClaimsJson))?;
        Ok(ParsedToken {
            signing_input: segments.signing_input,
            header,
            claims,
            buf,
            signature,
            claims_json,
        })
    }
}

/// A token split and decoded, nothing judged yet.
#[derive(Debug)]
pub(crate) struct ParsedToken<'a> {
    /// `base64url(header) "." base64url(claims)`: the bytes the signature covers.
    pub(crate) signing_input: &'a [u8],
    pub(crate) header: ParsedHeader,
    pub(crate) claims: RawClaims,
    /// The decoded segments; `signature` and `claims_json` are ranges of it.
    buf: Vec<u8>,
    signature: Range<usize>,
    claims_json: Range<usize>,
}

impl ParsedToken<'_> {
    /// The decoded signature.
    pub(crate) fn signature(&self) -> &[u8] {
        self.buf.get(self.signature.clone()).unwrap_or_default()
    }

    /// The claims JSON, for a claims type that deserializes from the text itself; moves
    /// the buffer out (no copy).
    pub(crate) fn take_claims_json(&mut self) -> ClaimsJson {
        ClaimsJson {
            buf: std::mem::take(&mut self.buf),
            range: self.claims_json.clone(),
        }
    }
}

/// The decoded claims JSON of a token, kept past parsing.
#[derive(Debug)]
pub(crate) struct ClaimsJson {
    buf: Vec<u8>,
    range: Range<usize>,
}

impl ClaimsJson {
    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.get(self.range.clone()).unwrap_or_default()
    }
}

/// A JWS split and decoded, its payload left as octets.
#[derive(Debug)]
pub(crate) struct ParsedJws<'a> {
    /// `base64url(header) "." base64url(payload)`: the bytes the signature covers.
    pub(crate) signing_input: &'a [u8],
    pub(crate) header: ParsedHeader,
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

struct Segments<'a> {
    signing_input: &'a [u8],
    header: &'a str,
    claims: &'a str,
    signature: &'a str,
}

fn decode(part: &str) -> Result<Vec<u8>, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::Malformed(Malformed::Base64))
}

/// An upper bound of the decoded size of an unpadded base64url segment.
fn decoded_len(part: &str) -> usize {
    part.len() / 4 * 3 + 3
}

/// Decode `part` onto the end of `buf`; the range it landed in.
fn decode_into(part: &str, buf: &mut Vec<u8>) -> Result<Range<usize>, VerifyError> {
    let start = buf.len();
    URL_SAFE_NO_PAD
        .decode_vec(part, buf)
        .map_err(|_| VerifyError::Malformed(Malformed::Base64))?;
    Ok(start..buf.len())
}

fn depth_error() -> VerifyError {
    VerifyError::TooLarge(TooLarge::Depth {
        max: json::MAX_DEPTH,
    })
}

fn check_depth(json: &[u8]) -> Result<(), VerifyError> {
    if json::nests_deeper_than(json, json::MAX_DEPTH) {
        return Err(depth_error());
    }
    Ok(())
}

impl<'a> Segments<'a> {
    /// Exactly three non-empty segments; the signature is decoded first (by the caller),
    /// as it always was.
    fn split(raw: &'a str) -> Result<Self, VerifyError> {
        let mut parts = raw.splitn(4, '.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Malformed(Malformed::Segments));
        };
        if header.is_empty() || claims.is_empty() || signature.is_empty() {
            return Err(VerifyError::Malformed(Malformed::Segments));
        }
        let signing_input = raw
            .as_bytes()
            .get(..header.len() + 1 + claims.len())
            .ok_or(VerifyError::Malformed(Malformed::Segments))?;
        Ok(Self {
            signing_input,
            header,
            claims,
            signature,
        })
    }

    fn header_json(&self) -> Result<Vec<u8>, VerifyError> {
        let json = decode(self.header)?;
        check_depth(&json)?;
        Ok(json)
    }

    fn claims_json(&self) -> Result<Vec<u8>, VerifyError> {
        let json = decode(self.claims)?;
        check_depth(&json)?;
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(token: &str) -> &'static str {
        match UntrustedToken::new(token).and_then(|t| t.parse(TokenType::Access, CustomMode::Map)) {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn exactly_three_non_empty_parts() {
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
        let c = URL_SAFE_NO_PAD.encode("{}");
        assert_eq!(kind(&format!("{h}.{c}.c2ln")), "ok");
        for bad in [
            format!("{h}.{c}"),
            format!("{h}.{c}."),
            format!(".{c}.c2ln"),
            format!("{h}.{c}.c2ln.x"),
            String::new(),
        ] {
            assert_eq!(kind(&bad), "malformed", "{bad}");
        }
    }

    #[test]
    fn base64url_must_be_canonical_and_unpadded() {
        let c = URL_SAFE_NO_PAD.encode("{}");
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
        // Padding, standard-alphabet characters, whitespace, and non-zero tail bits.
        for sig in ["c2ln=", "c2l+", "c2 ln", "c2lo"] {
            let token = format!("{h}.{c}.{sig}");
            let expected = if sig == "c2lo" { "ok" } else { "malformed" };
            assert_eq!(kind(&token), expected, "{sig}");
        }
        // "c2lu" decodes to "sin"; "c2lv" has non-canonical tail bits only when length % 4 != 0.
        assert_eq!(kind(&format!("{h}.{c}.c2k")), "ok");
        assert_eq!(kind(&format!("{h}.{c}.c2l")), "malformed");
    }

    #[test]
    fn length_cap_is_inclusive() {
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
        let c = URL_SAFE_NO_PAD.encode("{}");
        let mut token = format!("{h}.{c}.");
        let fill = MAX_TOKEN_BYTES - token.len();
        token.push_str(&"A".repeat(fill));
        assert_eq!(token.len(), MAX_TOKEN_BYTES);
        assert_ne!(kind(&token), "too_large");
        token.push('A');
        assert_eq!(kind(&token), "too_large");
    }
}
