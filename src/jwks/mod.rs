//! JWKS: publishing our public keys.

mod publish;

pub use publish::PublishedJwks;
