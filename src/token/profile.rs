//! Verification profiles: whose tokens a verifier accepts. A profile only selects among
//! the claim rules of the verifier; size, structure, algorithm, key and signature checks
//! never depend on it.

use std::fmt;

use super::claims::TokenType;
use crate::error::Claim;

/// Which family of tokens a [`Verifier`](crate::Verifier) accepts.
///
/// | | `Gatepass` (default) | `Jwt` |
/// |---|---|---|
/// | header `typ` | `at+jwt` (access) / `refresh+jwt` (refresh) | absent, `JWT`, `at+jwt`, with or without `application/` |
/// | required claims | `iss`, `sub`, `aud`, `exp`, `iat`, `jti` (+ `sid`, `gen` in refresh tokens) | `iss`, `exp`, and `aud` unless the audience check is skipped |
/// | `sub`, `iat`, `nbf`, `jti` when present | type- and time-checked | type- and time-checked |
///
/// In both, [`require`](crate::VerifierBuilder::require) adds required claims, and the
/// issuer and audience lists are checked the same way.
///
/// ```
/// use gatepass::Profile;
/// assert!(Profile::Jwt.accepts_typ(None));
/// assert!(Profile::Jwt.accepts_typ(Some("application/at+JWT")));
/// assert!(!Profile::Jwt.accepts_typ(Some("refresh+jwt")));
/// assert!(!Profile::Gatepass.accepts_typ(Some("JWT")));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// gatepass's own tokens: every rule, `typ`, `iat` and `jti` required.
    #[default]
    Gatepass,
    /// Access tokens of other issuers (OpenID Connect providers, Keycloak, Auth0, Microsoft
    /// Entra ID, Amazon Cognito, Supabase, Ory Hydra, Google): `typ` may be absent or
    /// generic, and only `iss`, `exp` and `aud` are required. Access tokens only.
    Jwt,
}

/// The `typ` values the jwt profile accepts, besides none at all.
const JWT_TYPES: [&str; 2] = ["jwt", "at+jwt"];

impl Profile {
    /// `"gatepass"` or `"jwt"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gatepass => "gatepass",
            Self::Jwt => "jwt",
        }
    }

    /// Whether an access token with header `typ` (or none) passes this profile's type
    /// check; values compare case-insensitively, with or without `application/`.
    pub fn accepts_typ(self, typ: Option<&str>) -> bool {
        self.accepts(TokenType::Access, typ)
    }

    /// The type check for a token of `kind`.
    pub(crate) fn accepts(self, kind: TokenType, typ: Option<&str>) -> bool {
        match (self, typ) {
            (Self::Gatepass, Some(typ)) => kind.accepts_typ(typ),
            (Self::Gatepass, None) => false,
            (Self::Jwt, None) => kind == TokenType::Access,
            (Self::Jwt, Some(typ)) => {
                let short = strip_application(typ);
                kind == TokenType::Access && JWT_TYPES.iter().any(|t| short.eq_ignore_ascii_case(t))
            }
        }
    }

    /// The registered claims this profile requires of a token of `kind`, in the order
    /// their absence is reported.
    pub(crate) fn required(self, kind: TokenType, audience: bool) -> &'static [Claim] {
        match (self, kind, audience) {
            (Self::Gatepass, TokenType::Refresh, _) => &[
                Claim::Iss,
                Claim::Sub,
                Claim::Aud,
                Claim::Exp,
                Claim::Iat,
                Claim::Jti,
                Claim::Sid,
                Claim::Gen,
            ],
            (Self::Gatepass, _, true) => &[
                Claim::Iss,
                Claim::Sub,
                Claim::Aud,
                Claim::Exp,
                Claim::Iat,
                Claim::Jti,
            ],
            (Self::Gatepass, _, false) => {
                &[Claim::Iss, Claim::Sub, Claim::Exp, Claim::Iat, Claim::Jti]
            }
            (Self::Jwt, _, true) => &[Claim::Iss, Claim::Aud, Claim::Exp],
            (Self::Jwt, _, false) => &[Claim::Iss, Claim::Exp],
        }
    }
}

fn strip_application(typ: &str) -> &str {
    match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or(""),
        _ => typ,
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "gatepass" => Ok(Self::Gatepass),
            "jwt" => Ok(Self::Jwt),
            _ => Err(format!("unknown profile {s:?}; expected gatepass or jwt")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwt_profile_takes_generic_and_access_types_only() {
        for ok in [
            None,
            Some("JWT"),
            Some("jwt"),
            Some("application/jwt"),
            Some("at+jwt"),
            Some("Application/AT+JWT"),
        ] {
            assert!(Profile::Jwt.accepts(TokenType::Access, ok), "{ok:?}");
        }
        for bad in [
            Some("refresh+jwt"),
            Some("dpop+jwt"),
            Some(""),
            Some("application/"),
            Some("jwt "),
            Some("application/refresh+jwt"),
        ] {
            assert!(!Profile::Jwt.accepts(TokenType::Access, bad), "{bad:?}");
        }
        assert!(!Profile::Jwt.accepts(TokenType::Refresh, None));
        assert!(!Profile::Gatepass.accepts(TokenType::Access, None));
    }
}
