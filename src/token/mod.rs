//! Tokens: claims in, compact JWS out, and back, with every validation rule in one place.

mod claims;
mod header;
mod issue;
mod parse;
mod profile;
mod verify;

pub(crate) use claims::MAX_SAFE_INTEGER;
pub use claims::{AccessClaims, Audience, CustomClaims, JwtClaims, RefreshClaims, TokenType};
pub use header::Header;
pub(crate) use header::HeaderAlg;
#[cfg(feature = "server")]
pub(crate) use issue::is_reserved_claim;
pub use issue::{AccessTokenBuilder, IssuedToken, Issuer, RefreshTokenBuilder, DEFAULT_ACCESS_TTL};
pub use parse::{InsecureInspection, UntrustedToken, MAX_TOKEN_BYTES};
pub use profile::Profile;
pub use verify::{Verified, Verifier, VerifierBuilder, DEFAULT_LEEWAY, MAX_LEEWAY};
