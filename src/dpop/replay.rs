//! Replay protection for DPoP proofs: each (key, `jti`) is accepted once within the
//! proof's lifetime. The caches themselves ([`ReplayCache`], [`MemoryReplayCache`], the
//! Redis and PostgreSQL stores) live with the other stores in `revocation`, which knows
//! nothing of proofs; this is where a verified proof meets one.

use super::error::DpopError;
use super::verify::VerifiedProof;
use crate::clock::UnixTime;
use crate::revocation::ReplayCache;

/// Check `proof` against `cache` and remember it: `Ok` for a proof seen for the first
/// time, [`DpopError::Replayed`] for one seen before, [`DpopError::ReplayCache`] when
/// the cache cannot answer.
///
/// ```
/// # use gatepass::*;
/// # let key = DpopKey::generate(Algorithm::EdDSA)?;
/// # let proof = key.proof("POST", "https://auth.example/token").make_at(1_700_000_000)?;
/// # let verified = DpopVerifier::builder().build()?
/// #     .verify_at(&proof, "POST", "https://auth.example/token", None, 1_700_000_000)?;
/// # let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let cache = MemoryReplayCache::new(10_000);
/// runtime.block_on(async {
///     check_replay(&cache, &verified, 1_700_000_000).await?;
///     let again = check_replay(&cache, &verified, 1_700_000_001).await;
///     assert_eq!(again, Err(DpopError::Replayed));
///     Ok::<(), DpopError>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn check_replay(
    cache: &(impl ReplayCache + ?Sized),
    proof: &VerifiedProof,
    now: UnixTime,
) -> Result<(), DpopError> {
    match cache
        .remember(proof.replay_key(), proof.replay_until(), now)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(DpopError::Replayed),
        Err(why) => Err(DpopError::ReplayCache(why)),
    }
}
