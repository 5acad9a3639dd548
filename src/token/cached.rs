//! The cache path of verification: a hit is served only after re-checking the key, the
//! times and the revocation view, exactly as a fresh verification would.

use std::sync::Arc;

use super::claims::{AccessClaims, CustomMode, JwtClaims, RefreshClaims};
use super::parse::UntrustedToken;
use super::rules::{revocation_query, Checked, Raw, Shape};
use super::verified::{Parts, Verified};
use super::verifier::Verifier;
use crate::cache::TokenCache;
use crate::clock::UnixTime;
use crate::error::VerifyError;
use crate::keys::{KeySource, VerifyingKey};
use crate::revocation::RevocationQuery;

/// What the cache keeps for one token: the verification's result, shared with every
/// `Verified` served from it, and the key that verified it.
pub(super) struct CachedToken<T> {
    pub(super) parts: Arc<Parts<T>>,
    pub(super) key: Arc<VerifyingKey>,
}

/// What a cache hit re-checks, read from the cached claims.
pub(super) trait CachedClaims {
    fn times(&self) -> (UnixTime, Option<UnixTime>, Option<UnixTime>);
    fn revocation_query(&self) -> RevocationQuery<'_>;
}

impl CachedClaims for AccessClaims {
    fn times(&self) -> (UnixTime, Option<UnixTime>, Option<UnixTime>) {
        (self.exp, Some(self.iat), self.nbf)
    }

    fn revocation_query(&self) -> RevocationQuery<'_> {
        RevocationQuery::new(&self.jti, self.sid.as_deref(), &self.sub, self.iat)
    }
}

impl CachedClaims for JwtClaims {
    fn times(&self) -> (UnixTime, Option<UnixTime>, Option<UnixTime>) {
        (self.exp, self.iat, self.nbf)
    }

    fn revocation_query(&self) -> RevocationQuery<'_> {
        revocation_query(
            self.jti.as_deref(),
            self.sid.as_deref(),
            self.sub.as_deref(),
            self.iat,
        )
    }
}

impl CachedClaims for RefreshClaims {
    fn times(&self) -> (UnixTime, Option<UnixTime>, Option<UnixTime>) {
        (self.exp, Some(self.iat), self.nbf)
    }

    fn revocation_query(&self) -> RevocationQuery<'_> {
        RevocationQuery::new(&self.jti, Some(&self.sid), &self.sub, self.iat)
    }
}

impl Verifier {
    /// Verify a token of `kind`, through the cache when there is one.
    ///
    /// A hit is served only if (in the full verification's order) the key source still
    /// returns the key that verified the token, the time checks pass as of `now`, and the
    /// revocation view does not know the token. A key that is gone makes the hit a miss
    /// (the full verification then says what is wrong); a failed time or revocation
    /// check is the answer, and the entry is dropped.
    pub(super) fn verify_kind<T>(
        &self,
        token: &str,
        shape: Shape,
        now: UnixTime,
        build: impl FnOnce(Checked) -> Result<T, VerifyError>,
    ) -> Result<Verified<T>, VerifyError>
    where
        T: CachedClaims + Clone + Send + Sync + 'static,
    {
        let Some(cache) = &self.cache else {
            let mut raw = self.verify_raw(token, shape, now, CustomMode::Map)?;
            let scopes = raw.take_scopes();
            return Ok(Verified::owned(raw.header, build(raw.checked)?, scopes));
        };
        // The size limit comes first, as always, and bounds what is hashed.
        UntrustedToken::with_limit(token, self.max_len)?;
        let digest = cache.digest(shape as u8, token);
        if let Some(entry) = cache
            .get(&digest, now)
            .and_then(|value| value.downcast::<CachedToken<T>>().ok())
        {
            match self.serve(&entry, now) {
                Ok(()) => return Ok(Verified::shared(Arc::clone(&entry.parts))),
                Err(Some(refused)) => {
                    cache.remove(&digest);
                    return Err(refused);
                }
                Err(None) => cache.remove(&digest),
            }
        }
        let mut raw = self.verify_raw(token, shape, now, CustomMode::Map)?;
        let scopes = raw.take_scopes();
        let Raw {
            header,
            checked,
            key,
            ..
        } = raw;
        let exp = checked.exp;
        let parts = Arc::new(Parts {
            header,
            claims: build(checked)?,
            scopes,
        });
        let kid = key.kid().map(str::to_owned);
        let entry = CachedToken {
            parts: Arc::clone(&parts),
            key,
        };
        cache.insert(digest, kid.as_deref(), exp, now, Arc::new(entry));
        Ok(Verified::shared(parts))
    }

    /// Whether a cached verification still stands as of `now`: `Err(None)` when its key
    /// is no longer trusted (verify afresh), `Err(Some(_))` when the token is now refused.
    pub(super) fn serve<T: CachedClaims>(
        &self,
        entry: &CachedToken<T>,
        now: UnixTime,
    ) -> Result<(), Option<VerifyError>> {
        let Parts { header, claims, .. } = &*entry.parts;
        match self.keys.find(header.kid(), header.alg()) {
            Ok(key) if Arc::ptr_eq(&key, &entry.key) => {}
            _ => return Err(None),
        }
        let (exp, iat, nbf) = claims.times();
        self.rules.check_times(exp, iat, nbf, now).map_err(Some)?;
        self.rules
            .check_revocation(&claims.revocation_query())
            .map_err(Some)
    }

    /// The verified-token cache, if the verifier has one.
    pub fn cache(&self) -> Option<&TokenCache> {
        self.cache.as_ref()
    }
}
