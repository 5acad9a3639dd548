//! Every claim rule of verification, once: which registered claims a token must carry
//! and of what type (by profile and by claims type), the time checks with the leeway and
//! its cap, issuer, audience and revocation, in docs/REFERENCE.md §1's order. Profiles
//! select among these rules; nothing else restates them.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::claims::{
    custom_from_json, is_registered, AccessClaims, Audience, CustomClaims, JwtClaims, RawClaims,
    Slot, TokenType,
};
use super::header::Header;
use super::parse::ClaimsJson;
use super::profile::Profile;
use crate::clock::UnixTime;
use crate::error::{Claim, ConfigError, VerifyError};
use crate::keys::VerifyingKey;
use crate::revocation::{RevocationQuery, RevocationView, ViewHealth};

/// Default clock-skew leeway (docs/REFERENCE.md §1).
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The largest leeway a verifier accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// The leeway cap, for every configuration that takes a leeway (a verifier, a session
/// manager): above [`MAX_LEEWAY`] is refused, a fraction of a second counting as a second.
pub(crate) fn check_leeway(leeway: Duration) -> Result<(), ConfigError> {
    if leeway > MAX_LEEWAY {
        return Err(ConfigError::LeewayTooLarge {
            secs: leeway.as_secs() + u64::from(leeway.subsec_nanos() > 0),
            max: MAX_LEEWAY.as_secs(),
        });
    }
    Ok(())
}

/// The registered claims of a token whose claims passed, unwrapped. Which of the
/// optional ones are present was decided by the profile and by the claims type asked for.
pub(super) struct Checked {
    pub(super) iss: String,
    pub(super) sub: Option<String>,
    pub(super) aud: Option<Audience>,
    pub(super) exp: UnixTime,
    pub(super) iat: Option<UnixTime>,
    pub(super) nbf: Option<UnixTime>,
    pub(super) jti: Option<String>,
    pub(super) sid: Option<String>,
    pub(super) gen: Option<u64>,
    pub(super) custom: CustomClaims,
    pub(super) scopes: Option<String>,
}

/// A verification's result before it becomes a claims type.
pub(super) struct Raw {
    pub(super) header: Header,
    pub(super) checked: Checked,
    /// The key that verified the signature (what a cache entry re-checks).
    pub(super) key: Arc<VerifyingKey>,
    /// The claims text, for a claims type that deserializes itself from it.
    pub(super) json: ClaimsJson,
}

impl Raw {
    /// The granted scopes, moved out (the claims types do not keep them).
    pub(super) fn take_scopes(&mut self) -> Option<Box<str>> {
        self.checked.scopes.take().map(String::into_boxed_str)
    }
}

/// The claims type a verification produces, and so the claims it needs whatever the
/// profile says.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// [`AccessClaims`]: `sub`, `aud`, `iat` and `jti` are fields, so they are required.
    Access,
    /// [`RefreshClaims`].
    Refresh,
    /// [`JwtClaims`]: only what the profile and the verifier require.
    Jwt,
}

impl Shape {
    pub(super) fn kind(self) -> TokenType {
        match self {
            Self::Refresh => TokenType::Refresh,
            _ => TokenType::Access,
        }
    }

    pub(super) fn needs(self, claim: Claim) -> bool {
        self == Self::Access && matches!(claim, Claim::Sub | Claim::Aud | Claim::Iat | Claim::Jti)
    }
}

impl Checked {
    pub(super) fn into_access<C>(
        self,
        custom: impl FnOnce(CustomClaims) -> Result<C, VerifyError>,
    ) -> Result<AccessClaims<C>, VerifyError> {
        // Presence was checked for this shape; these are unreachable fallbacks.
        let sub = self.sub.ok_or(VerifyError::MissingClaim(Claim::Sub))?;
        let aud = self.aud.ok_or(VerifyError::MissingClaim(Claim::Aud))?;
        let iat = self.iat.ok_or(VerifyError::MissingClaim(Claim::Iat))?;
        let jti = self.jti.ok_or(VerifyError::MissingClaim(Claim::Jti))?;
        let custom = custom(self.custom)?;
        Ok(AccessClaims {
            iss: self.iss,
            sub,
            aud,
            exp: self.exp,
            iat,
            nbf: self.nbf,
            jti,
            sid: self.sid,
            custom,
        })
    }

    pub(super) fn into_jwt<C>(
        self,
        custom: impl FnOnce(CustomClaims) -> Result<C, VerifyError>,
    ) -> Result<JwtClaims<C>, VerifyError> {
        let custom = custom(self.custom)?;
        Ok(JwtClaims {
            iss: self.iss,
            sub: self.sub,
            aud: self.aud,
            exp: self.exp,
            iat: self.iat,
            nbf: self.nbf,
            jti: self.jti,
            sid: self.sid,
            custom,
        })
    }
}

/// The revocation question for a token whose `jti`, `sub` or `iat` may be absent (other
/// issuers' tokens): nothing is revoked under an empty id, and a token without `iat`
/// counts as issued at 0, so any "logged out everywhere" cut-off of its subject catches it.
pub(super) fn revocation_query<'a>(
    jti: Option<&'a str>,
    sid: Option<&'a str>,
    sub: Option<&'a str>,
    iat: Option<UnixTime>,
) -> RevocationQuery<'a> {
    RevocationQuery::new(jti.unwrap_or(""), sid, sub.unwrap_or(""), iat.unwrap_or(0))
}

impl Checked {
    /// Back from verified access claims (a cache hit converted to a custom type).
    pub(super) fn from_access(claims: AccessClaims) -> Self {
        Self {
            iss: claims.iss,
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            exp: claims.exp,
            iat: Some(claims.iat),
            nbf: claims.nbf,
            jti: Some(claims.jti),
            sid: claims.sid,
            gen: None,
            custom: claims.custom,
            // Carried beside the claims (in the verified token's parts).
            scopes: None,
        }
    }
}

/// The caller's custom-claims type from a verified token's claims text.
pub(super) fn typed<'de, C: Deserialize<'de>>(
    json: &'de [u8],
    kind: TokenType,
) -> Result<C, VerifyError> {
    custom_from_json(json, kind).map_err(|_| VerifyError::InvalidClaim(Claim::Custom))
}

pub(super) fn custom_claims<C: DeserializeOwned>(custom: CustomClaims) -> Result<C, VerifyError> {
    serde_json::from_value(serde_json::Value::Object(custom))
        .map_err(|_| VerifyError::InvalidClaim(Claim::Custom))
}

/// A verifier's claim policy: whose tokens it accepts (issuers, audiences, the profile
/// and the extra required claims), how much clock skew it forgives, and the revocation
/// view it consults last. The verifier holds one; every claim check is a method here.
pub(super) struct ClaimRules {
    /// Accepted issuers (at least one).
    pub(super) issuers: Vec<String>,
    /// Accepted audiences; empty only when the audience check was explicitly skipped.
    pub(super) audiences: Vec<String>,
    pub(super) profile: Profile,
    /// Claims required beyond the profile's, by name.
    pub(super) required: Vec<String>,
    pub(super) leeway: u64,
    pub(super) max_age: Option<u64>,
    pub(super) revocations: Option<Arc<dyn RevocationView>>,
}

impl ClaimRules {
    /// The last check, on fresh verifications and cache hits alike: revoked, or a
    /// revocation view too stale to say "not revoked" (fail closed; a "revoked" from a
    /// stale view still stands, since revocations are never taken back).
    pub(super) fn check_revocation(&self, query: &RevocationQuery<'_>) -> Result<(), VerifyError> {
        let Some(view) = &self.revocations else {
            return Ok(());
        };
        if let Some(reason) = view.check(query) {
            return Err(VerifyError::Revoked(reason));
        }
        if view.health() == ViewHealth::Unavailable {
            return Err(VerifyError::RevocationsUnavailable);
        }
        Ok(())
    }

    /// Whether a claim must be present: by the profile, by the claims type asked for, by
    /// `max_age` (which needs `iat`), or by the caller's own list.
    pub(super) fn requires(&self, claim: Claim, shape: Shape) -> bool {
        let audience = !self.audiences.is_empty();
        self.profile
            .required(shape.kind(), audience)
            .contains(&claim)
            || shape.needs(claim)
            || (claim == Claim::Iat && self.max_age.is_some())
            || self
                .required
                .iter()
                .any(|name| name == claim.name() && is_registered(name, shape.kind()))
    }

    pub(super) fn check_claims(
        &self,
        raw: RawClaims,
        shape: Shape,
        now: UnixTime,
    ) -> Result<Checked, VerifyError> {
        // Types first: a present-but-wrong claim is reported before a missing one.
        let invalid = [
            (raw.iss.is_invalid(), Claim::Iss),
            (raw.sub.is_invalid(), Claim::Sub),
            (raw.aud.is_invalid(), Claim::Aud),
            (raw.exp.is_invalid(), Claim::Exp),
            (raw.nbf.is_invalid(), Claim::Nbf),
            (raw.iat.is_invalid(), Claim::Iat),
            (raw.jti.is_invalid(), Claim::Jti),
            (raw.sid.is_invalid(), Claim::Sid),
            (raw.gen.is_invalid(), Claim::Gen),
        ];
        if let Some((_, claim)) = invalid.iter().find(|(bad, _)| *bad) {
            return Err(VerifyError::InvalidClaim(*claim));
        }
        // Then presence, in one fixed order whatever made a claim required.
        let absent = [
            (raw.iss.is_absent(), Claim::Iss),
            (raw.sub.is_absent(), Claim::Sub),
            (raw.aud.is_absent(), Claim::Aud),
            (raw.exp.is_absent(), Claim::Exp),
            (raw.nbf.is_absent(), Claim::Nbf),
            (raw.iat.is_absent(), Claim::Iat),
            (raw.jti.is_absent(), Claim::Jti),
            (raw.sid.is_absent(), Claim::Sid),
            (raw.gen.is_absent(), Claim::Gen),
        ];
        if let Some((_, claim)) = absent
            .iter()
            .find(|(absent, claim)| *absent && self.requires(*claim, shape))
        {
            return Err(VerifyError::MissingClaim(*claim));
        }
        if self.required.iter().any(|name| {
            !is_registered(name, shape.kind()) && !raw.custom.contains_key(name.as_str())
        }) {
            return Err(VerifyError::MissingClaim(Claim::Custom));
        }
        let RawClaims {
            iss,
            sub,
            aud,
            exp,
            nbf,
            iat,
            jti,
            sid,
            gen,
            custom,
            scopes,
            custom_unrepresentable,
        } = raw;
        // `iss` and `exp` are required in every profile.
        let (Slot::Present(iss), Slot::Present(exp)) = (iss, exp) else {
            return Err(VerifyError::MissingClaim(Claim::Iss));
        };
        let (sub, aud, iat, nbf, jti, sid) = (
            sub.present(),
            aud.present(),
            iat.present(),
            nbf.present(),
            jti.present(),
            sid.present(),
        );

        self.check_times(exp, iat, nbf, now)?;

        if !self.issuers.contains(&iss) {
            return Err(VerifyError::WrongIssuer);
        }
        // An empty list means the audience check was skipped on purpose.
        if !self.audiences.is_empty()
            && !aud
                .as_ref()
                .is_some_and(|aud| self.audiences.iter().any(|a| aud.contains(a)))
        {
            return Err(VerifyError::WrongAudience);
        }
        // A custom claim holding a number beyond any double: well-formed JSON, but no
        // claims value can carry it. The last claim check, before revocation.
        if custom_unrepresentable {
            return Err(VerifyError::InvalidClaim(Claim::Custom));
        }
        self.check_revocation(&revocation_query(
            jti.as_deref(),
            sid.as_deref(),
            sub.as_deref(),
            iat,
        ))?;
        Ok(Checked {
            iss,
            sub,
            aud,
            exp,
            iat,
            nbf,
            jti,
            sid,
            gen: gen.present(),
            custom,
            scopes,
        })
    }

    /// The time checks, for a fresh verification and for every cache hit.
    pub(super) fn check_times(
        &self,
        exp: UnixTime,
        iat: Option<UnixTime>,
        nbf: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<(), VerifyError> {
        // All values are < 2^53 and leeway <= 300, so these sums cannot overflow.
        let leeway = self.leeway;
        if now >= exp + leeway {
            return Err(VerifyError::Expired);
        }
        // With a max-age, `iat` was required (checked before the times).
        if let (Some(max_age), Some(iat)) = (self.max_age, iat) {
            if now >= iat.saturating_add(max_age).saturating_add(leeway) {
                return Err(VerifyError::Expired);
            }
        }
        if nbf.is_some_and(|nbf| now < nbf.saturating_sub(leeway))
            || iat.is_some_and(|iat| iat > now.saturating_add(leeway))
        {
            return Err(VerifyError::NotYetValid);
        }
        Ok(())
    }
}
