//! Scheduled minimums: which windows are open at a given instant.

use time::OffsetDateTime;

use super::spec::{ScalePolicy, ScheduledMinimum, SeatBuffer, Weekday};

/// Minutes since midnight of `HH:MM`.
pub fn minute_of_day(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return None;
    }
    let (hours, minutes): (u32, u32) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

fn weekday(day: time::Weekday) -> Weekday {
    match day {
        time::Weekday::Monday => Weekday::Mon,
        time::Weekday::Tuesday => Weekday::Tue,
        time::Weekday::Wednesday => Weekday::Wed,
        time::Weekday::Thursday => Weekday::Thu,
        time::Weekday::Friday => Weekday::Fri,
        time::Weekday::Saturday => Weekday::Sat,
        time::Weekday::Sunday => Weekday::Sun,
    }
}

impl ScheduledMinimum {
    /// Whether the window is open at `now` (UTC).
    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        let (Some(from), Some(to)) = (minute_of_day(&self.from), minute_of_day(&self.to)) else {
            return false;
        };
        let now = now.to_offset(time::UtcOffset::UTC);
        let minute = u32::from(now.hour()) * 60 + u32::from(now.minute());
        let starts_on = |day: time::Weekday| self.days.is_empty() || self.days.contains(&weekday(day));
        if from <= to {
            starts_on(now.weekday()) && (from..to).contains(&minute)
        } else {
            // Past midnight: open from `from` today, or until `to` if it started yesterday.
            (starts_on(now.weekday()) && minute >= from)
                || (starts_on(now.weekday().previous()) && minute < to)
        }
    }
}

impl ScalePolicy {
    /// The minimum in force at `now`: the policy's, or an open window's if higher.
    pub fn min_at(&self, now: OffsetDateTime) -> u32 {
        self.schedules.iter().filter(|w| w.is_open(now)).map(|w| w.min).fold(self.min, u32::max)
    }

    /// The buffer in force at `now`: the policy's, raised field by field by
    /// the open windows'.
    pub fn buffer_at(&self, now: OffsetDateTime) -> SeatBuffer {
        self.schedules.iter().filter(|w| w.is_open(now)).filter_map(|w| w.buffer).chain(self.buffer).fold(
            SeatBuffer::default(),
            |kept, b| SeatBuffer { seats: kept.seats.max(b.seats), pct: kept.pct.max(b.pct) },
        )
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn window(days: &[Weekday], from: &str, to: &str, min: u32) -> ScheduledMinimum {
        ScheduledMinimum { days: days.to_vec(), from: from.into(), to: to.into(), min, buffer: None }
    }

    #[test]
    fn weekday_evenings_raise_the_minimum_only_inside_the_window() {
        let policy = ScalePolicy {
            min: 2,
            max: 20,
            schedules: vec![window(
                &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
                "18:00",
                "23:00",
                10,
            )],
            ..ScalePolicy::default()
        };
        // 2026-11-20 is a Friday.
        assert_eq!(policy.min_at(datetime!(2026-11-20 18:00 UTC)), 10);
        assert_eq!(policy.min_at(datetime!(2026-11-20 22:59 UTC)), 10);
        assert_eq!(policy.min_at(datetime!(2026-11-20 23:00 UTC)), 2);
        assert_eq!(policy.min_at(datetime!(2026-11-21 19:00 UTC)), 2, "Saturday");
    }

    #[test]
    fn an_open_window_raises_the_buffer_field_by_field() {
        let event = ScheduledMinimum {
            buffer: Some(SeatBuffer { seats: 5000, pct: 0 }),
            ..window(&[], "20:00", "22:00", 0)
        };
        let policy = ScalePolicy {
            min: 2,
            buffer: Some(SeatBuffer { seats: 500, pct: 10 }),
            schedules: vec![event],
            ..ScalePolicy::default()
        };
        assert_eq!(policy.buffer_at(datetime!(2026-11-20 21:00 UTC)), SeatBuffer { seats: 5000, pct: 10 });
        assert_eq!(policy.buffer_at(datetime!(2026-11-20 22:00 UTC)), SeatBuffer { seats: 500, pct: 10 });
        assert_eq!(
            policy.min_at(datetime!(2026-11-20 21:00 UTC)),
            2,
            "a window's 0 leaves the role's minimum"
        );
        assert_eq!(ScalePolicy::default().buffer_at(datetime!(2026-11-20 21:00 UTC)), SeatBuffer::default());
    }

    #[test]
    fn windows_may_run_past_midnight() {
        let late = window(&[Weekday::Fri], "22:00", "02:00", 5);
        assert!(late.is_open(datetime!(2026-11-20 23:30 UTC)));
        assert!(late.is_open(datetime!(2026-11-21 01:59 UTC)), "Saturday early, started Friday");
        assert!(!late.is_open(datetime!(2026-11-21 02:00 UTC)));
        assert!(!late.is_open(datetime!(2026-11-19 23:30 UTC)), "Thursday");
    }

    #[test]
    fn times_of_day_are_strict() {
        assert_eq!(minute_of_day("18:30"), Some(1110));
        for bad in ["24:00", "8:00", "18:60", "1830", "ab:cd"] {
            assert_eq!(minute_of_day(bad), None, "{bad}");
        }
    }
}
