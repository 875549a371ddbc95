//! When one scheduled invocation ticks. EventBridge schedules go down to a
//! minute, and a crowd needs the scaler every few seconds: so each
//! scheduled invocation ticks every `tick_every` until the next one takes
//! over, and starts no tick too close to its own deadline. Two invocations
//! never tick at once for long (the next starts as this one's last tick
//! ends), and when they do the group leases keep one tick per group.

use std::time::Duration;

use time::OffsetDateTime;

/// The instants an invocation started at `start` ticks at: `start`, then
/// every `tick_every` while before the next scheduled invocation
/// (`schedule_every` after `start`) and at least `reserve` before the
/// invocation's `deadline`.
pub fn tick_times(
    start: OffsetDateTime,
    tick_every: Duration,
    schedule_every: Duration,
    deadline: Option<OffsetDateTime>,
    reserve: Duration,
) -> Vec<OffsetDateTime> {
    let every = tick_every.max(Duration::from_secs(1));
    let next_invocation = start + schedule_every;
    let mut times = vec![start];
    let mut at = start + every;
    while at < next_invocation && deadline.is_none_or(|deadline| at + reserve < deadline) {
        times.push(at);
        at += every;
    }
    times
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const START: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn secs(times: &[OffsetDateTime]) -> Vec<i64> {
        times.iter().map(|t| (*t - START).whole_seconds()).collect()
    }

    #[test]
    fn an_invocation_ticks_until_the_next_one_takes_over() {
        let minute = Duration::from_secs(60);
        let times = tick_times(
            START,
            Duration::from_secs(10),
            minute,
            Some(START + 2 * minute),
            Duration::from_secs(20),
        );
        assert_eq!(secs(&times), [0, 10, 20, 30, 40, 50]);
    }

    #[test]
    fn a_tick_as_long_as_the_schedule_is_one_tick() {
        let minute = Duration::from_secs(60);
        assert_eq!(secs(&tick_times(START, minute, minute, None, Duration::ZERO)), [0]);
        assert_eq!(secs(&tick_times(START, 2 * minute, minute, None, Duration::ZERO)), [0]);
    }

    #[test]
    fn no_tick_starts_within_the_reserve_before_the_deadline() {
        let times = tick_times(
            START,
            Duration::from_secs(10),
            Duration::from_secs(300),
            Some(START + Duration::from_secs(60)),
            Duration::from_secs(20),
        );
        assert_eq!(secs(&times), [0, 10, 20, 30]);
    }
}
