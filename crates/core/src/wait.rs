//! Waiting for an export to complete: the polling schedule and a small state
//! machine both transports drive (get, observe, sleep, repeat).

use std::time::Duration;

use crate::export::{Export, ExportStatus};

/// When to poll: the first pause, how it grows, its ceiling, and the deadline.
/// Defaults: 2 s, x1.5 each poll, at most 30 s, give up after 30 minutes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PollSchedule {
    /// The pause before the second poll.
    pub initial_interval: Duration,
    /// How much the pause grows after each poll (1.0 keeps it constant).
    pub multiplier: f64,
    /// The longest pause.
    pub max_interval: Duration,
    /// How long to wait in all before giving up.
    pub timeout: Duration,
}

impl Default for PollSchedule {
    fn default() -> Self {
        PollSchedule {
            initial_interval: Duration::from_secs(2),
            multiplier: 1.5,
            max_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

impl PollSchedule {
    /// A constant interval with a deadline.
    pub fn fixed(interval: Duration, timeout: Duration) -> Self {
        PollSchedule {
            initial_interval: interval,
            multiplier: 1.0,
            max_interval: interval,
            timeout,
        }
    }

    /// With this deadline.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The pause after poll number `poll` (1-based), before the deadline is applied.
    pub fn interval(&self, poll: u32) -> Duration {
        let growth = if self.multiplier.is_finite() && self.multiplier >= 1.0 {
            self.multiplier
                .powi(i32::try_from(poll.saturating_sub(1)).unwrap_or(i32::MAX))
        } else {
            1.0
        };
        let secs = self.initial_interval.as_secs_f64() * growth;
        let max = self.max_interval.max(self.initial_interval);
        if !secs.is_finite() || secs >= max.as_secs_f64() {
            max
        } else {
            Duration::from_secs_f64(secs)
        }
    }
}

/// What to do after observing an export.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitStep {
    /// It is completed: stop.
    Completed,
    /// Sleep this long, then poll again.
    Sleep(Duration),
    /// The deadline has passed.
    TimedOut {
        /// The last status seen.
        last_status: Option<ExportStatus>,
    },
}

/// Drives a wait: feed it every export observed and the time elapsed since the
/// wait began; it says whether to stop, sleep, or give up.
#[derive(Debug, Clone)]
pub struct Waiter {
    schedule: PollSchedule,
    polls: u32,
}

impl Waiter {
    /// A wait on `schedule`.
    pub fn new(schedule: PollSchedule) -> Self {
        Waiter { schedule, polls: 0 }
    }

    /// How many exports have been observed.
    pub fn polls(&self) -> u32 {
        self.polls
    }

    /// The next step after observing `export` at `elapsed` since the start.
    /// The last sleep is cut so that the final poll happens at the deadline.
    pub fn observe(&mut self, export: &Export, elapsed: Duration) -> WaitStep {
        self.polls += 1;
        if export.is_completed() {
            return WaitStep::Completed;
        }
        if elapsed >= self.schedule.timeout {
            return WaitStep::TimedOut {
                last_status: export.status.clone(),
            };
        }
        let left = self.schedule.timeout - elapsed;
        WaitStep::Sleep(self.schedule.interval(self.polls).min(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(status: &str) -> Export {
        let mut e = Export::new("33bdfff7-4de3-4c58-8c90-b99930fb984a".parse().unwrap());
        e.status = Some(ExportStatus::parse(status));
        e
    }

    #[test]
    fn intervals_grow_to_the_ceiling() {
        let s = PollSchedule::default();
        assert_eq!(s.interval(1), Duration::from_secs(2));
        assert_eq!(s.interval(2), Duration::from_secs(3));
        assert_eq!(s.interval(3), Duration::from_secs_f64(4.5));
        assert_eq!(s.interval(100), Duration::from_secs(30));
        assert_eq!(s.interval(u32::MAX), Duration::from_secs(30));
        let fixed = PollSchedule::fixed(Duration::from_millis(10), Duration::from_secs(1));
        assert_eq!(fixed.interval(7), Duration::from_millis(10));
    }

    #[test]
    fn waiter_steps() {
        let mut w = Waiter::new(PollSchedule::fixed(Duration::from_secs(5), Duration::from_secs(12)));
        assert_eq!(
            w.observe(&export("pending"), Duration::ZERO),
            WaitStep::Sleep(Duration::from_secs(5))
        );
        assert_eq!(
            w.observe(&export("processing"), Duration::from_secs(5)),
            WaitStep::Sleep(Duration::from_secs(5))
        );
        // Cut to the deadline.
        assert_eq!(
            w.observe(&export("processing"), Duration::from_secs(10)),
            WaitStep::Sleep(Duration::from_secs(2))
        );
        assert_eq!(
            w.observe(&export("processing"), Duration::from_secs(12)),
            WaitStep::TimedOut {
                last_status: Some(ExportStatus::Processing)
            }
        );
        assert_eq!(
            w.observe(&export("Completed"), Duration::from_secs(99)),
            WaitStep::Completed
        );
        assert_eq!(w.polls(), 5);
    }
}
