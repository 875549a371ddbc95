//! Calls for a group's tick now. Scheduled ticks come every `tickSecs`; a
//! crowd should not wait for the next one. A lookup refused for want of
//! room, or a seat that takes a role's seats in use in a region across its
//! scale-out threshold, calls the scaler for the group at once. Each
//! instance calls at most once per window per group, and the call is a
//! conditional write that only one caller per window wins (on AWS, that
//! write is what invokes the scaler, through the table's stream): a storm
//! of refusals on a hundred lookup instances is one tick.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::group::Role;
use crate::names::{GroupName, Region};
use crate::ports::TickRequests;

/// At most one tick call per group this often (5 s: the simulator shows
/// 2 s buys little more, docs/simulator.md).
pub const TICK_CALL_WINDOW: Duration = Duration::from_secs(5);

/// How long a lookup waits for its call's write: the player is waiting,
/// and the scheduled tick comes anyway.
const CALL_BUDGET: Duration = Duration::from_millis(300);

#[derive(Default)]
pub struct TickCalls {
    requests: Option<Arc<dyn TickRequests>>,
    /// When this instance last called, per group.
    called: Mutex<HashMap<GroupName, OffsetDateTime>>,
    /// Whether the seats in use were at or above the threshold at this
    /// instance's last look, per group, role and region: a crossing calls
    /// once, a fleet that stays above it does not call on every seat.
    above: Mutex<HashMap<(GroupName, Role, Region), bool>>,
}

impl TickCalls {
    pub fn new(requests: Option<Arc<dyn TickRequests>>) -> Self {
        Self { requests, ..Self::default() }
    }

    /// A lookup found no room.
    pub async fn refused(&self, group: &GroupName, now: OffsetDateTime) {
        self.call(group, now, "a lookup found no room").await;
    }

    /// A seat was taken: calls when it took the seats in use (`held` of
    /// `capacity`) to the threshold from below.
    pub async fn seated(
        &self,
        group: &GroupName,
        role: Role,
        region: &Region,
        (held, capacity): (u64, u64),
        threshold_pct: u8,
        now: OffsetDateTime,
    ) {
        let above = capacity > 0 && held * 100 >= capacity * u64::from(threshold_pct);
        let crossed = {
            let mut seen = self.above.lock().expect("tick-call lock is never poisoned");
            let before = seen.insert((group.clone(), role, region.clone()), above);
            above && before != Some(true)
        };
        if crossed {
            self.call(group, now, "seats in use crossed the scale-out threshold").await;
        }
    }

    async fn call(&self, group: &GroupName, now: OffsetDateTime, why: &str) {
        let Some(requests) = &self.requests else { return };
        {
            let mut called = self.called.lock().expect("tick-call lock is never poisoned");
            if called.get(group).is_some_and(|at| now - *at < TICK_CALL_WINDOW) {
                return;
            }
            called.insert(group.clone(), now);
        }
        match tokio::time::timeout(CALL_BUDGET, requests.request_tick(group, now, TICK_CALL_WINDOW)).await {
            Ok(Ok(true)) => tracing::info!(group = %group, why, "called the scaler for a tick now"),
            Ok(Ok(false)) => {}
            // The scheduled tick comes anyway.
            Ok(Err(e)) => tracing::warn!(group = %group, error = %e, "could not call the scaler for a tick"),
            Err(_) => {
                tracing::warn!(group = %group, "calling the scaler for a tick took too long; left to the schedule")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use time::macros::datetime;

    use super::*;
    use crate::ports::StoreResult;

    #[derive(Default)]
    struct Counted(AtomicU32);

    #[async_trait]
    impl TickRequests for Counted {
        async fn request_tick(&self, _: &GroupName, _: OffsetDateTime, _: Duration) -> StoreResult<bool> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(true)
        }
    }

    const T0: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn names() -> (GroupName, Region) {
        (GroupName::parse("live").unwrap(), Region::parse("eu-west-1").unwrap())
    }

    #[tokio::test]
    async fn a_storm_of_refusals_is_one_call_per_window() {
        let counted = Arc::new(Counted::default());
        let calls = TickCalls::new(Some(counted.clone()));
        let (group, _) = names();
        for ms in (0..4900).step_by(100) {
            calls.refused(&group, T0 + Duration::from_millis(ms)).await;
        }
        assert_eq!(counted.0.load(Ordering::SeqCst), 1);
        calls.refused(&group, T0 + TICK_CALL_WINDOW).await;
        assert_eq!(counted.0.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_crossing_calls_once_and_staying_above_does_not_call_again() {
        let counted = Arc::new(Counted::default());
        let calls = TickCalls::new(Some(counted.clone()));
        let (group, region) = names();
        let mut at = T0;
        let mut seat = |held: u64| {
            at += Duration::from_secs(10);
            (held, at)
        };
        for held in [700, 800, 860, 900, 950] {
            let (held, now) = seat(held);
            calls.seated(&group, Role::Edge, &region, (held, 1000), 85, now).await;
        }
        assert_eq!(counted.0.load(Ordering::SeqCst), 1, "crossed once at 860");
        for held in [600, 870] {
            let (held, now) = seat(held);
            calls.seated(&group, Role::Edge, &region, (held, 1000), 85, now).await;
        }
        assert_eq!(counted.0.load(Ordering::SeqCst), 2, "fell below, crossed again");
    }
}
