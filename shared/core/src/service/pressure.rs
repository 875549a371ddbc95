//! Scale-out pressure: lookups refused for want of room, counted per group,
//! role and region, and written to the group at most once a second per key
//! from one instance, so that a storm of 503s is not also a storm of writes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

use crate::group::Role;
use crate::names::{GroupName, Region};

const FLUSH_EVERY: Duration = Duration::from_secs(1);

type Key = (GroupName, Role, Region);

/// Refusals not written yet, and when the key was last written.
type Pending = (u32, Option<OffsetDateTime>);

#[derive(Default)]
pub struct PressureGate {
    pending: Mutex<HashMap<Key, Pending>>,
}

impl PressureGate {
    /// Counts one refusal; returns the count to write now, if it is time.
    pub fn record(&self, group: &GroupName, role: Role, region: &Region, now: OffsetDateTime) -> Option<u32> {
        let mut pending = self.pending.lock().expect("pressure lock is never poisoned");
        let (count, flushed) = pending.entry((group.clone(), role, region.clone())).or_insert((0, None));
        *count += 1;
        if flushed.is_some_and(|at| now - at < FLUSH_EVERY) {
            return None;
        }
        *flushed = Some(now);
        Some(std::mem::take(count))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn refusals_are_batched_per_second() {
        let gate = PressureGate::default();
        let (g, r) = (GroupName::parse("live").unwrap(), Region::parse("eu-west-1").unwrap());
        let t0 = datetime!(2026-11-21 06:00 UTC);
        assert_eq!(gate.record(&g, Role::Edge, &r, t0), Some(1));
        assert_eq!(gate.record(&g, Role::Edge, &r, t0 + Duration::from_millis(100)), None);
        assert_eq!(gate.record(&g, Role::Edge, &r, t0 + Duration::from_millis(200)), None);
        assert_eq!(gate.record(&g, Role::Edge, &r, t0 + Duration::from_secs(1)), Some(3));
        assert_eq!(gate.record(&g, Role::Origin, &r, t0), Some(1), "keys are separate");
    }
}
