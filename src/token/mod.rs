//! Tokens: claims in, compact JWS out, and back, with every validation rule in one place.

mod cached;
mod claims;
mod header;
mod issue;
mod parse;
mod profile;
mod rules;
mod verified;
mod verifier;

pub(crate) use claims::MAX_SAFE_INTEGER;
pub use claims::{AccessClaims, Audience, CustomClaims, JwtClaims, RefreshClaims, TokenType};
pub use header::Header;
pub(crate) use header::HeaderAlg;
#[cfg(feature = "server")]
pub(crate) use issue::is_reserved_claim;
pub use issue::{AccessTokenBuilder, IssuedToken, Issuer, RefreshTokenBuilder, DEFAULT_ACCESS_TTL};
pub use parse::{InsecureInspection, UntrustedToken, MAX_TOKEN_BYTES};
pub use profile::Profile;
pub(crate) use rules::check_leeway;
pub use rules::{DEFAULT_LEEWAY, MAX_LEEWAY};
pub use verified::Verified;
pub use verifier::{Verifier, VerifierBuilder};
