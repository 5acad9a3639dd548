//! The key rotation policy: pending → active → retiring → removed, one idempotent step
//! at a time, safe to run from cron.
//!
//! ```text
//!  t0            t0 + publish_ahead            t1 + retire_after
//!  │ P created    │ P activated, A retiring      │ A removed
//!  │ (published)  │ (P signs; A still verifies)  │ (A's last token has expired)
//!  ▼              ▼ = t1                         ▼
//! ```
//!
//! A step never activates a key that has been published for less than `publish_ahead` (nor
//! one created in the same second, so two runs at one instant do the same thing once), and
//! never removes a retiring key that stopped signing less than `retire_after` ago. When the
//! keyset does not carry the dates that prove a step is safe, the step is refused with the
//! reason ([`RotationRefused`]) instead of guessing.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::keyset::{GenerateOptions, KeyEntry, Keyset};
use super::state::KeyState;
use super::KeysetError;
use crate::clock::UnixTime;
use crate::crypto::{Algorithm, AlgorithmFamily};

/// Time values stay below 2^53 so they survive a trip through JSON numbers.
const MAX_SECS: u64 = (1 << 53) - 1;

/// How long new keys are published before they sign and retired keys stay after they stop.
///
/// * `publish_ahead`: a pending key is in the JWKS at least this long before it signs, so
///   every verifier's cache holds it by then. The JWKS is served with a `max-age` no longer
///   than this ([`jwks_max_age`](Self::jwks_max_age)). Default 1 hour: six times the 10-minute
///   `max-age`, room for caches that ignore `Cache-Control` (Envoy, `jose` and Istio keep a
///   set 10 to 20 minutes).
/// * `retire_after`: a retired key keeps verifying (and stays in the JWKS) at least this
///   long after it stopped signing, so every token it signed expires first. It must cover
///   the longest token lifetime (refresh tokens included) plus the JWKS `max-age`. Default
///   24 hours: a 12-hour absolute session plus a wide margin.
///
/// ```
/// use std::time::Duration;
/// use gatepass::RotationPolicy;
/// let policy = RotationPolicy::default();
/// assert_eq!(policy.publish_ahead(), Duration::from_secs(3600));
/// assert_eq!(policy.jwks_max_age(), Duration::from_secs(600));
///
/// // Refresh tokens live 12 h here: a 1-hour retirement would strand them.
/// let err = RotationPolicy::new(Duration::from_secs(3600), Duration::from_secs(3600))?
///     .with_max_token_lifetime(Duration::from_secs(12 * 3600))
///     .unwrap_err();
/// assert!(err.to_string().contains("strand"));
/// # Ok::<(), gatepass::KeysetError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    publish_ahead: u64,
    retire_after: u64,
    max_token_lifetime: Option<u64>,
}

impl RotationPolicy {
    /// Default `publish_ahead`: 1 hour.
    pub const DEFAULT_PUBLISH_AHEAD: Duration = Duration::from_secs(3600);
    /// Default `retire_after`: 24 hours.
    pub const DEFAULT_RETIRE_AFTER: Duration = Duration::from_secs(24 * 3600);
    /// The longest `max-age` a published JWKS carries: 10 minutes, what `jose` and Envoy
    /// assume anyway, short enough that a removed key leaves caches quickly.
    pub const MAX_JWKS_MAX_AGE: Duration = Duration::from_secs(600);

    /// A policy with these durations (whole seconds; fractions are dropped).
    pub fn new(publish_ahead: Duration, retire_after: Duration) -> Result<Self, KeysetError> {
        let publish_ahead = publish_ahead.as_secs();
        let retire_after = retire_after.as_secs();
        if publish_ahead > MAX_SECS || retire_after > MAX_SECS {
            return Err(KeysetError::Rotation(RotationRefused::InvalidPolicy(
                "durations must stay below 2^53 seconds",
            )));
        }
        Ok(Self {
            publish_ahead,
            retire_after,
            max_token_lifetime: None,
        })
    }

    /// Declare the longest lifetime of a token signed by the keyset (refresh tokens
    /// included), and refuse the policy if `retire_after` would remove a key while a token
    /// it signed can still be live: `retire_after >= max_token_lifetime + jwks_max_age`.
    pub fn with_max_token_lifetime(mut self, lifetime: Duration) -> Result<Self, KeysetError> {
        let lifetime = lifetime.as_secs();
        let needed = lifetime.saturating_add(self.jwks_max_age().as_secs());
        if self.retire_after < needed {
            return Err(KeysetError::Rotation(RotationRefused::RetireTooSoon {
                retire_after: self.retire_after,
                needed,
            }));
        }
        self.max_token_lifetime = Some(lifetime);
        Ok(self)
    }

    /// How long a new key is published before it signs.
    pub fn publish_ahead(&self) -> Duration {
        Duration::from_secs(self.publish_ahead)
    }

    /// How long a retired key stays after it stopped signing.
    pub fn retire_after(&self) -> Duration {
        Duration::from_secs(self.retire_after)
    }

    /// The `max-age` the published JWKS carries under this policy: at most
    /// [`MAX_JWKS_MAX_AGE`](Self::MAX_JWKS_MAX_AGE) and never more than `publish_ahead`, so
    /// a pending key is in every cache before it signs.
    pub fn jwks_max_age(&self) -> Duration {
        Duration::from_secs(self.publish_ahead.min(Self::MAX_JWKS_MAX_AGE.as_secs()))
    }
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            publish_ahead: Self::DEFAULT_PUBLISH_AHEAD.as_secs(),
            retire_after: Self::DEFAULT_RETIRE_AFTER.as_secs(),
            max_token_lifetime: None,
        }
    }
}

/// Why a rotation step (or a policy) was refused. Inside [`KeysetError::Rotation`].
///
/// ```
/// use gatepass::{Algorithm, KeysetError, Keyset, RotationPolicy, RotationRefused};
/// let err = Keyset::new().rotate(&RotationPolicy::default(), None, 0).unwrap_err();
/// assert_eq!(err, KeysetError::Rotation(RotationRefused::NothingToRotate));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationRefused {
    /// A policy value out of range.
    InvalidPolicy(&'static str),
    /// `retire_after` is shorter than the longest token lifetime plus the JWKS `max-age`:
    /// removing keys that early would strand live tokens.
    RetireTooSoon {
        /// The configured `retire_after`, in seconds.
        retire_after: u64,
        /// The least that is safe, in seconds.
        needed: u64,
    },
    /// A published JWKS `max-age` longer than `publish_ahead`: a pending key could sign
    /// before every cache holds it.
    MaxAgeAbovePublishAhead {
        /// The `max-age` asked for, in seconds.
        max_age: u64,
        /// The policy's `publish_ahead`, in seconds.
        publish_ahead: u64,
    },
    /// A pending key without `created_at`: nothing proves it has been published long
    /// enough to sign.
    UnknownPublicationTime {
        /// The key.
        kid: String,
    },
    /// A retiring key without `retired_at`: nothing proves the tokens it signed expired.
    UnknownRetirementTime {
        /// The key.
        kid: String,
    },
    /// A key's recorded date lies after "now": the clock is wrong (or the file is), and
    /// every age computed from it would be too.
    ClockBehindKey {
        /// The key.
        kid: String,
        /// The date found, in unix seconds.
        date: UnixTime,
        /// The step's "now".
        now: UnixTime,
    },
    /// No algorithm was named and the keyset has no active or pending key to rotate.
    NothingToRotate,
    /// The algorithm only verifies (RSA); gatepass cannot generate keys for it.
    VerifyOnlyAlgorithm(Algorithm),
}

impl fmt::Display for RotationRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPolicy(why) => write!(f, "invalid rotation policy: {why}"),
            Self::RetireTooSoon { retire_after, needed } => write!(
                f,
                "retire-after of {retire_after} s would strand live tokens: a retired key must stay at least {needed} s (the longest token lifetime plus the JWKS max-age)"
            ),
            Self::MaxAgeAbovePublishAhead { max_age, publish_ahead } => write!(
                f,
                "a JWKS max-age of {max_age} s is longer than publish-ahead ({publish_ahead} s): a new key could sign before every cache has it"
            ),
            Self::UnknownPublicationTime { kid } => write!(
                f,
                "pending key {kid:?} has no created_at, so nothing shows it has been published for publish-ahead; activate it by hand (`keys activate`) if you know it has"
            ),
            Self::UnknownRetirementTime { kid } => write!(
                f,
                "retiring key {kid:?} has no retired_at, so nothing shows its tokens have expired; remove it by hand (`keys remove`) if you know they have"
            ),
            Self::ClockBehindKey { kid, date, now } => write!(
                f,
                "key {kid:?} records a date ({date}) after now ({now}): the clock or the keyset is wrong, and rotating on it could sign with an unpublished key or strand live tokens"
            ),
            Self::NothingToRotate => f.write_str(
                "the keyset has no active or pending key to rotate; name an algorithm (--alg) to start one",
            ),
            Self::VerifyOnlyAlgorithm(alg) => {
                write!(f, "{alg} keys are verify-only; gatepass cannot generate them")
            }
        }
    }
}

impl std::error::Error for RotationRefused {}

fn alg_name<S: Serializer>(alg: &Algorithm, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(alg.as_str())
}

/// A key a rotation step touched.
///
/// ```
/// # use gatepass::{Algorithm, Keyset, RotationPolicy};
/// let mut keyset = Keyset::new();
/// let step = keyset.rotate(&RotationPolicy::default(), Some(Algorithm::EdDSA), 0)?;
/// assert_eq!(step.generated[0].alg, Algorithm::EdDSA);
/// assert!(keyset.get(&step.generated[0].kid).is_some());
/// # Ok::<(), gatepass::KeysetError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RotatedKey {
    /// The key's id.
    pub kid: String,
    /// The key's algorithm.
    #[serde(serialize_with = "alg_name")]
    pub alg: Algorithm,
}

/// A key waiting for a later step, and when that step may act on it.
///
/// ```
/// # use gatepass::{Algorithm, Keyset, RotationPolicy};
/// let mut keyset = Keyset::new();
/// let step = keyset.rotate(&RotationPolicy::default(), Some(Algorithm::EdDSA), 100)?;
/// assert_eq!(step.pending[0].at, 100 + 3600); // activated by the first step from then on
/// # Ok::<(), gatepass::KeysetError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ScheduledKey {
    /// The key's id.
    pub kid: String,
    /// The key's algorithm.
    #[serde(serialize_with = "alg_name")]
    pub alg: Algorithm,
    /// The first unix second at which a step will activate (pending) or remove (retiring) it.
    pub at: UnixTime,
}

/// What one rotation step did, and what it left for later. Serializes to the JSON that
/// `gatepass keys rotate` prints.
///
/// ```
/// # use gatepass::{Algorithm, Keyset, RotationPolicy};
/// let mut keyset = Keyset::new();
/// let step = keyset.rotate(&RotationPolicy::default(), Some(Algorithm::ES256), 100)?;
/// assert!(step.changed());
/// let json = serde_json::to_value(&step).unwrap();
/// assert_eq!(json["generated"][0]["alg"], "ES256");
/// assert_eq!(json["next_step_at"], 3700);
/// # Ok::<(), gatepass::KeysetError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RotationReport {
    /// The step's "now".
    pub at: UnixTime,
    /// Pending keys that became active.
    pub activated: Vec<RotatedKey>,
    /// Previously active keys that became retiring (they still verify).
    pub retired: Vec<RotatedKey>,
    /// New pending keys.
    pub generated: Vec<RotatedKey>,
    /// Retiring keys deleted from the keyset.
    pub removed: Vec<RotatedKey>,
    /// Pending keys not yet published long enough to sign.
    pub pending: Vec<ScheduledKey>,
    /// Retiring keys that must keep verifying a while longer.
    pub retiring: Vec<ScheduledKey>,
    /// When the next step would change something (`None`: nothing is scheduled).
    pub next_step_at: Option<UnixTime>,
}

impl RotationReport {
    /// Whether the step changed the keyset.
    pub fn changed(&self) -> bool {
        !(self.activated.is_empty() && self.generated.is_empty() && self.removed.is_empty())
    }
}

fn rotated(entry: &KeyEntry) -> RotatedKey {
    RotatedKey {
        kid: entry.kid().to_owned(),
        alg: entry.alg(),
    }
}

/// Whether `secs` have passed since `date` and `date` lies strictly before `now` (a key
/// created or retired in this very second is never acted on, which keeps a step idempotent).
fn elapsed(date: UnixTime, secs: u64, now: UnixTime) -> bool {
    now > date && now - date >= secs
}

/// The second from which [`elapsed`] holds.
fn due_at(date: UnixTime, secs: u64) -> UnixTime {
    date.saturating_add(secs.max(1))
}

impl Keyset {
    /// One step of the rotation policy, as of `now`: remove retiring keys that stopped
    /// signing at least `retire_after` ago, activate the oldest pending key published at
    /// least `publish_ahead` ago (the active key becomes retiring), and make sure a pending
    /// key is waiting. With `alg`, only that algorithm's family is rotated and new keys use
    /// `alg`; without, every family with an active or pending key, each keeping its algorithm.
    ///
    /// Idempotent: a second step at the same `now` changes nothing. On a refusal the keyset
    /// is left untouched.
    ///
    /// ```
    /// use gatepass::{Algorithm, GenerateOptions, KeyState, Keyset, RotationPolicy};
    /// let policy = RotationPolicy::default(); // publish 1 h ahead, retire after 24 h
    /// let mut keyset = Keyset::new();
    /// let first = keyset.generate(Algorithm::EdDSA, GenerateOptions::default(), 0)?;
    ///
    /// let step = keyset.rotate(&policy, None, 100)?; // adds a pending key
    /// let next = step.generated[0].kid.clone();
    /// assert!(keyset.rotate(&policy, None, 100)?.changed() == false); // idempotent
    ///
    /// let step = keyset.rotate(&policy, None, 100 + 3600)?; // published long enough
    /// assert_eq!(step.activated[0].kid, next);
    /// assert_eq!(keyset.get(&first).unwrap().state(), KeyState::Retiring);
    ///
    /// let step = keyset.rotate(&policy, None, 100 + 3600 + 86_400)?;
    /// assert_eq!(step.removed[0].kid, first);
    /// # Ok::<(), gatepass::KeysetError>(())
    /// ```
    pub fn rotate(
        &mut self,
        policy: &RotationPolicy,
        alg: Option<Algorithm>,
        now: UnixTime,
    ) -> Result<RotationReport, KeysetError> {
        let refuse = |why| Err(KeysetError::Rotation(why));
        let plan: Vec<(AlgorithmFamily, Algorithm)> = match alg {
            Some(alg) if !alg.can_sign() => {
                return refuse(RotationRefused::VerifyOnlyAlgorithm(alg))
            }
            Some(alg) => vec![(alg.family(), alg)],
            None => {
                let mut plan: Vec<(AlgorithmFamily, Algorithm)> = Vec::new();
                for entry in self.entries() {
                    let family = entry.alg().family();
                    let live = matches!(entry.state(), KeyState::Active | KeyState::Pending);
                    if live && !plan.iter().any(|(f, _)| *f == family) {
                        // Keep the family's algorithm: the active key's, else the pending one's.
                        let alg = self.active(family).map_or(entry.alg(), KeyEntry::alg);
                        plan.push((family, alg));
                    }
                }
                if plan.is_empty() {
                    return refuse(RotationRefused::NothingToRotate);
                }
                plan.sort();
                plan
            }
        };

        // Check every date the step relies on before changing anything.
        for entry in self.entries() {
            if !plan.iter().any(|(f, _)| *f == entry.alg().family()) {
                continue;
            }
            let kid = || entry.kid().to_owned();
            match entry.state() {
                KeyState::Pending if entry.created_at().is_none() => {
                    return refuse(RotationRefused::UnknownPublicationTime { kid: kid() })
                }
                KeyState::Retiring if entry.retired_at().is_none() => {
                    return refuse(RotationRefused::UnknownRetirementTime { kid: kid() })
                }
                _ => {}
            }
            let dates = [entry.created_at(), entry.activated_at(), entry.retired_at()];
            if let Some(date) = dates.into_iter().flatten().find(|date| *date > now) {
                return refuse(RotationRefused::ClockBehindKey {
                    kid: kid(),
                    date,
                    now,
                });
            }
        }

        // Work on a copy so a failure half-way (the RNG) leaves `self` as it was.
        let mut next = self.clone();
        let mut report = RotationReport {
            at: now,
            ..RotationReport::default()
        };
        for (family, alg) in plan {
            next.rotate_family(policy, family, alg, now, &mut report)?;
        }
        report.next_step_at = report
            .pending
            .iter()
            .chain(&report.retiring)
            .map(|k| k.at)
            .min();
        *self = next;
        Ok(report)
    }

    fn rotate_family(
        &mut self,
        policy: &RotationPolicy,
        family: AlgorithmFamily,
        alg: Algorithm,
        now: UnixTime,
        report: &mut RotationReport,
    ) -> Result<(), KeysetError> {
        let in_family = |e: &&KeyEntry| e.alg().family() == family;

        // 1. Remove retiring keys whose tokens have all expired. Done before activation, so
        //    a key retired by this very step is never removed by it.
        let removable: Vec<RotatedKey> = self
            .entries()
            .iter()
            .filter(in_family)
            .filter(|e| e.state() == KeyState::Retiring)
            .filter(|e| {
                e.retired_at()
                    .is_some_and(|at| elapsed(at, policy.retire_after, now))
            })
            .map(rotated)
            .collect();
        for key in removable {
            self.remove(&key.kid)?;
            report.removed.push(key);
        }

        // 2. Activate the longest-published pending key, if it has been published long enough.
        let mut due: Vec<&KeyEntry> = self
            .entries()
            .iter()
            .filter(in_family)
            .filter(|e| e.state() == KeyState::Pending)
            .filter(|e| {
                e.created_at()
                    .is_some_and(|at| elapsed(at, policy.publish_ahead, now))
            })
            .collect();
        due.sort_by_key(|e| e.created_at());
        if let Some(candidate) = due.first().map(|e| rotated(e)) {
            let previous = self.active(family).map(rotated);
            self.activate(&candidate.kid, now)?;
            report.activated.push(candidate);
            report.retired.extend(previous);
        }

        // 3. Keep a key waiting in the JWKS for the next step.
        let has_pending = self
            .entries()
            .iter()
            .filter(in_family)
            .any(|e| e.state() == KeyState::Pending);
        if !has_pending {
            let kid = self.generate(
                alg,
                GenerateOptions::default().state(KeyState::Pending),
                now,
            )?;
            report.generated.push(RotatedKey { kid, alg });
        }

        // 4. Say when the next step will have something to do.
        for entry in self.entries().iter().filter(in_family) {
            match (entry.state(), entry.created_at(), entry.retired_at()) {
                (KeyState::Pending, Some(created), _) => report.pending.push(ScheduledKey {
                    kid: entry.kid().to_owned(),
                    alg: entry.alg(),
                    at: due_at(created, policy.publish_ahead),
                }),
                (KeyState::Retiring, _, Some(retired)) => report.retiring.push(ScheduledKey {
                    kid: entry.kid().to_owned(),
                    alg: entry.alg(),
                    at: due_at(retired, policy.retire_after),
                }),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3600;
    const DAY: u64 = 24 * HOUR;

    fn state(keyset: &Keyset, kid: &str) -> Option<KeyState> {
        keyset.get(kid).map(KeyEntry::state)
    }

    #[test]
    fn a_full_rotation_follows_the_policy_timeline() {
        let policy = RotationPolicy::default();
        let mut keyset = Keyset::new();
        let a = keyset
            .generate(Algorithm::ES256, GenerateOptions::default(), 0)
            .unwrap();

        let step = keyset.rotate(&policy, None, 10).unwrap();
        assert!(step.activated.is_empty());
        let b = step.generated[0].kid.clone();
        assert_eq!(step.generated[0].alg, Algorithm::ES256);
        assert_eq!(step.next_step_at, Some(10 + HOUR));

        // Not yet published long enough: nothing moves, however often cron runs.
        for now in [11, 10 + HOUR - 1] {
            assert!(!keyset.rotate(&policy, None, now).unwrap().changed());
        }

        let step = keyset.rotate(&policy, None, 10 + HOUR).unwrap();
        assert_eq!(step.activated[0].kid, b);
        assert_eq!(step.retired[0].kid, a);
        assert_eq!(state(&keyset, &a), Some(KeyState::Retiring));
        assert_eq!(state(&keyset, &b), Some(KeyState::Active));
        let c = step.generated[0].kid.clone();
        assert_eq!(step.retiring[0].at, 10 + HOUR + DAY);

        // The retired key stays until retire_after has passed.
        let step = keyset.rotate(&policy, None, 10 + HOUR + DAY - 1).unwrap();
        assert_eq!(step.activated[0].kid, c, "c was published an hour ago");
        assert!(step.removed.is_empty());
        assert_eq!(state(&keyset, &a), Some(KeyState::Retiring));
        let step = keyset.rotate(&policy, None, 10 + HOUR + DAY).unwrap();
        assert_eq!(step.removed[0].kid, a);
        assert_eq!(state(&keyset, &a), None);
    }

    #[test]
    fn zero_durations_still_never_act_within_the_same_second() {
        let policy = RotationPolicy::new(Duration::ZERO, Duration::ZERO).unwrap();
        let mut keyset = Keyset::new();
        let a = keyset
            .generate(Algorithm::EdDSA, GenerateOptions::default(), 5)
            .unwrap();
        let b = keyset.rotate(&policy, None, 5).unwrap().generated[0]
            .kid
            .clone();
        assert!(!keyset.rotate(&policy, None, 5).unwrap().changed());
        let step = keyset.rotate(&policy, None, 6).unwrap();
        assert_eq!(step.activated[0].kid, b);
        assert!(step.removed.is_empty(), "a was retired in this very step");
        let step = keyset.rotate(&policy, None, 7).unwrap();
        assert_eq!(step.removed[0].kid, a);
    }

    #[test]
    fn missing_or_future_dates_are_refused_and_leave_the_keyset_alone() {
        let mut keyset = Keyset::new();
        keyset
            .generate(Algorithm::HS256, GenerateOptions::default(), 100)
            .unwrap();
        let before = keyset.to_json();
        let err = keyset
            .rotate(&RotationPolicy::default(), None, 50)
            .unwrap_err();
        assert!(matches!(
            err,
            KeysetError::Rotation(RotationRefused::ClockBehindKey {
                date: 100,
                now: 50,
                ..
            })
        ));
        assert_eq!(keyset.to_json(), before);

        let mut doc: serde_json::Value = serde_json::from_slice(&before).unwrap();
        doc["keys"][0]["state"] = "retiring".into();
        let mut keyset = Keyset::from_json(doc.to_string().as_bytes()).unwrap();
        assert!(matches!(
            keyset.rotate(&RotationPolicy::default(), None, 200),
            Err(KeysetError::Rotation(RotationRefused::NothingToRotate))
        ));
        assert!(matches!(
            keyset.rotate(&RotationPolicy::default(), Some(Algorithm::HS256), 200),
            Err(KeysetError::Rotation(
                RotationRefused::UnknownRetirementTime { .. }
            ))
        ));
    }

    #[test]
    fn an_algorithm_starts_a_family_and_verify_only_ones_are_refused() {
        let mut keyset = Keyset::new();
        let step = keyset
            .rotate(&RotationPolicy::default(), Some(Algorithm::ES384), 1)
            .unwrap();
        assert_eq!(step.generated[0].alg, Algorithm::ES384);
        assert_eq!(keyset.entries()[0].state(), KeyState::Pending);
        assert_eq!(
            keyset
                .rotate(&RotationPolicy::default(), Some(Algorithm::RS256), 1)
                .unwrap_err(),
            KeysetError::Rotation(RotationRefused::VerifyOnlyAlgorithm(Algorithm::RS256))
        );
    }

    #[test]
    fn max_age_never_exceeds_publish_ahead() {
        let short = RotationPolicy::new(Duration::from_secs(90), Duration::from_secs(DAY)).unwrap();
        assert_eq!(short.jwks_max_age(), Duration::from_secs(90));
        assert_eq!(
            RotationPolicy::default().jwks_max_age(),
            RotationPolicy::MAX_JWKS_MAX_AGE
        );
        assert!(RotationPolicy::default()
            .with_max_token_lifetime(Duration::from_secs(12 * HOUR))
            .is_ok());
    }
}
