//! Waiting for a JWKS refetch before refusing a token: when the layer's verifier takes its
//! keys from a [`JwksClient`](crate::JwksClient), a token whose `kid` the cached set lacks
//! (an identity provider that just rotated) waits for the client's single-flight refetch
//! and is verified once more, instead of being refused until some later request.
//!
//! The watch is taken before the first attempt, so a fetch that the attempt starts and
//! that ends before the rejection is looked at is still seen. Without a client (or without
//! the `jwks-client` feature) every method here is free and nothing ever waits.

use super::rejection::AuthRejection;
use super::request::TokenSource;
#[cfg(feature = "jwks-client")]
use crate::error::VerifyError;
#[cfg(feature = "jwks-client")]
use crate::jwks::FetchWatch;

/// A watch on the layer's JWKS client, if it has one, taken before a verification.
#[derive(Debug)]
pub(crate) struct KeyWait {
    #[cfg(feature = "jwks-client")]
    watch: Option<FetchWatch>,
}

impl KeyWait {
    /// Take the watch: call before verifying.
    pub(crate) fn before(source: &TokenSource) -> Self {
        #[cfg(feature = "jwks-client")]
        {
            Self {
                watch: source.jwks.as_ref().map(crate::JwksClient::watch_fetches),
            }
        }
        #[cfg(not(feature = "jwks-client"))]
        {
            let _ = source;
            Self {}
        }
    }

    /// Whether `rejection` is a missing key (an unknown `kid`, or no set yet) that a fetch
    /// running now, or ended since the watch was taken, may cure. A made-up kid within the
    /// cooldown starts no fetch, so it is refused at once.
    pub(crate) fn worth_waiting(&self, rejection: &AuthRejection) -> bool {
        #[cfg(feature = "jwks-client")]
        {
            let key_miss = matches!(
                rejection,
                AuthRejection::InvalidToken(VerifyError::UnknownKey | VerifyError::KeysUnavailable)
                    | AuthRejection::KeysUnavailable
            );
            key_miss && self.watch.as_ref().is_some_and(FetchWatch::worth_waiting)
        }
        #[cfg(not(feature = "jwks-client"))]
        {
            let _ = rejection;
            false
        }
    }

    /// Wait for that fetch to end (one fetch at most, bounded by the client's timeout).
    pub(crate) async fn wait(self) {
        #[cfg(feature = "jwks-client")]
        if let Some(watch) = self.watch {
            watch.wait().await;
        }
    }
}
