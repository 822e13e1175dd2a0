//! Which failures are retried, and how long to wait before the next attempt.
//!
//! Pure: the random source for jitter and the current time come in as
//! arguments, so both transports share these decisions and tests pin them.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::RetryAfter;
use crate::operations::Operation;

/// A source of random numbers for jitter.
pub trait RandomSource {
    /// A uniformly distributed `u64`.
    fn next_u64(&mut self) -> u64;
}

impl<F: FnMut() -> u64> RandomSource for F {
    fn next_u64(&mut self) -> u64 {
        self()
    }
}

/// SplitMix64: a small, fast generator, good enough for jitter (not for secrets).
/// Transports seed it from the clock; tests seed it with a constant.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
}

impl RandomSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// How an attempt failed, as far as the retry decision cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The connection could not be made: the request was certainly not sent.
    ConnectFailed,
    /// The request may have reached the server, but no (complete) answer came:
    /// a timeout, a reset, a connection closed early.
    NoResponse,
    /// The server answered with this status.
    Status {
        /// The status.
        status: u16,
        /// Its `Retry-After`, if any.
        retry_after: Option<RetryAfter>,
    },
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Report the failure.
    GiveUp,
}

/// Retry settings. The defaults: up to 4 attempts, backoff from 500 ms doubling
/// to at most 8 s with jitter, `Retry-After` honoured up to 60 s.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries).
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry.
    pub initial_backoff: Duration,
    /// The largest backoff ceiling.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; longer ones are cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Whether a status is worth another attempt of an idempotent request.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// With `max_attempts` attempts in all.
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// With backoff from `initial` up to `max`.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// With `Retry-After` honoured up to `max`.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Whether `failure` of `operation` may be retried at all, attempts aside.
    ///
    /// A create is retried only when the connection failed before the request
    /// was sent: anything else may have created the export already.
    pub fn may_retry(operation: Operation, failure: &Failure) -> bool {
        match failure {
            Failure::ConnectFailed => true,
            Failure::NoResponse => false,
            Failure::Status { status, .. } => operation.is_idempotent() && is_retryable_status(*status),
        }
    }

    /// The backoff before retry number `retry` (1 for the first), with "equal
    /// jitter": half the ceiling fixed, half random, so there is always a pause.
    pub fn backoff(&self, retry: u32, random: &mut impl RandomSource) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1).min(31)).unwrap_or(u32::MAX);
        let ceiling = self
            .initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        let half = ceiling / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if nanos == 0 { 0 } else { random.next_u64() % (nanos + 1) };
        half + Duration::from_nanos(jitter)
    }

    /// What to do after attempt number `attempt` (1-based) of `operation` failed
    /// with `failure`, at `now`.
    pub fn decide(
        &self,
        operation: Operation,
        attempt: u32,
        failure: &Failure,
        now: DateTime<Utc>,
        random: &mut impl RandomSource,
    ) -> RetryDecision {
        if attempt >= self.max_attempts || !Self::may_retry(operation, failure) {
            return RetryDecision::GiveUp;
        }
        let backoff = self.backoff(attempt, random);
        match failure {
            Failure::Status {
                retry_after: Some(ra), ..
            } => RetryDecision::RetryAfter(ra.delay(now).min(self.max_retry_after)),
            _ => RetryDecision::RetryAfter(backoff),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn status(s: u16) -> Failure {
        Failure::Status {
            status: s,
            retry_after: None,
        }
    }

    #[test]
    fn which_failures_retry() {
        let p = RetryPolicy::default();
        let mut r = SplitMix64::new(1);
        for op in [Operation::Get, Operation::List, Operation::Update, Operation::Download] {
            for s in [429, 502, 503, 504] {
                assert!(
                    matches!(p.decide(op, 1, &status(s), now(), &mut r), RetryDecision::RetryAfter(_)),
                    "{op:?} {s}"
                );
            }
            for s in [400, 401, 403, 404, 409, 422, 500, 501] {
                assert_eq!(
                    p.decide(op, 1, &status(s), now(), &mut r),
                    RetryDecision::GiveUp,
                    "{op:?} {s}"
                );
            }
            assert!(matches!(
                p.decide(op, 1, &Failure::ConnectFailed, now(), &mut r),
                RetryDecision::RetryAfter(_)
            ));
            assert_eq!(
                p.decide(op, 1, &Failure::NoResponse, now(), &mut r),
                RetryDecision::GiveUp
            );
        }
    }

    #[test]
    fn a_create_that_may_have_arrived_is_never_replayed() {
        let p = RetryPolicy::default();
        let mut r = SplitMix64::new(1);
        for f in [status(503), status(502), status(429), Failure::NoResponse] {
            assert_eq!(p.decide(Operation::Create, 1, &f, now(), &mut r), RetryDecision::GiveUp);
        }
        assert!(matches!(
            p.decide(Operation::Create, 1, &Failure::ConnectFailed, now(), &mut r),
            RetryDecision::RetryAfter(_)
        ));
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy::default();
        let mut r = SplitMix64::new(1);
        assert!(matches!(
            p.decide(Operation::Get, 3, &status(503), now(), &mut r),
            RetryDecision::RetryAfter(_)
        ));
        assert_eq!(
            p.decide(Operation::Get, 4, &status(503), now(), &mut r),
            RetryDecision::GiveUp
        );
        let none = RetryPolicy::none();
        assert_eq!(
            none.decide(Operation::Get, 1, &status(503), now(), &mut r),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default().with_max_retry_after(Duration::from_secs(10));
        let mut r = SplitMix64::new(1);
        let f = |ra| Failure::Status {
            status: 429,
            retry_after: Some(ra),
        };
        assert_eq!(
            p.decide(Operation::Get, 1, &f(RetryAfter::Seconds(3)), now(), &mut r),
            RetryDecision::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            p.decide(Operation::Get, 1, &f(RetryAfter::Seconds(3600)), now(), &mut r),
            RetryDecision::RetryAfter(Duration::from_secs(10))
        );
        let at = RetryAfter::Date(now() + chrono::Duration::seconds(4));
        assert_eq!(
            p.decide(Operation::Get, 1, &f(at), now(), &mut r),
            RetryDecision::RetryAfter(Duration::from_secs(4))
        );
    }

    #[test]
    fn backoff_grows_with_equal_jitter_and_is_capped() {
        let p = RetryPolicy::default();
        let mut zero = || 0u64;
        let mut max = || u64::MAX;
        assert_eq!(p.backoff(1, &mut zero), Duration::from_millis(250));
        assert_eq!(p.backoff(2, &mut zero), Duration::from_millis(500));
        assert_eq!(p.backoff(3, &mut zero), Duration::from_secs(1));
        assert_eq!(p.backoff(50, &mut zero), Duration::from_secs(4));
        for retry in 1..40 {
            let ceiling = (Duration::from_millis(500) * 2u32.saturating_pow(retry - 1)).min(Duration::from_secs(8));
            let mut rng = SplitMix64::new(retry as u64);
            for _ in 0..100 {
                let d = p.backoff(retry, &mut rng);
                assert!(d >= ceiling / 2 && d <= ceiling, "{retry}: {d:?}");
            }
            assert!(p.backoff(retry, &mut max) <= ceiling);
        }
        let zero_policy = RetryPolicy::default().with_backoff(Duration::ZERO, Duration::ZERO);
        assert_eq!(zero_policy.backoff(1, &mut SplitMix64::new(3)), Duration::ZERO);
    }
}
