//! Capacity against demand over time, per role and region: what the
//! console's chart draws, and the metrics of each slot. A tick writes its
//! points at most once per `SERIES_EVERY` (one more write per group every
//! 30 s, not every tick).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::memory::{LoadSeen, ScalerMemory};
use crate::group::{NodeGroup, Role};
use crate::names::Region;
use crate::node::{Node, NodeState};

/// The series' resolution.
pub const SERIES_EVERY: Duration = Duration::from_secs(30);

/// How long points are kept (the chart looks back up to this).
pub const SERIES_KEPT: Duration = Duration::from_secs(24 * 3600);

/// One role in one region at one tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesPoint {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub role: Role,
    pub region: Region,
    /// Nodes in service, uncordoned and fresh.
    pub serving: u32,
    /// Their seats (each node's capacity within its role's).
    pub capacity: u64,
    /// Sessions on them, and seats handed out since their reports.
    pub sessions: u64,
    /// Sessions plus the viewers estimated waiting for room.
    pub demand: u64,
}

/// Whether this tick writes the series' points (the memory keeps when the
/// last were written).
pub fn series_due(memory: &mut ScalerMemory, now: OffsetDateTime) -> bool {
    let bucket = now.unix_timestamp() / SERIES_EVERY.as_secs() as i64;
    if memory.series_bucket == Some(bucket) {
        return false;
    }
    memory.series_bucket = Some(bucket);
    true
}

/// A tick's points: one per role and region.
pub fn slot_points(
    group: &NodeGroup,
    nodes: &[Node],
    seen: &[(Role, Region, LoadSeen)],
    now: OffsetDateTime,
    stale_after: Duration,
) -> Vec<SeriesPoint> {
    let heard_since = now - stale_after;
    seen.iter()
        .map(|(role, region, load)| {
            let role_capacity = group.spec.roles.get(role).map_or(0, |r| r.launch.connection_capacity);
            let serving: Vec<&Node> = nodes
                .iter()
                .filter(|n| n.role == *role && &n.region == region)
                .filter(|n| n.state == NodeState::InService && !n.cordoned && !n.load.degraded)
                .filter(|n| n.last_heartbeat_at.is_some_and(|at| at >= heard_since))
                .collect();
            SeriesPoint {
                at: now,
                role: *role,
                region: region.clone(),
                serving: serving.len() as u32,
                capacity: serving.iter().map(|n| u64::from(n.load.capacity_within(role_capacity))).sum(),
                sessions: load.seated,
                demand: load.demand,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::group::example_spec;
    use crate::node::fixtures::node;

    #[test]
    fn a_point_per_role_and_region_at_most_once_per_bucket() {
        let t0 = datetime!(2026-12-03 18:00 UTC);
        let group = NodeGroup::new(example_spec("live"), t0);
        let region = group.spec.regions[0].region.clone();
        let mut serving = node("a", t0);
        serving.region = region.clone();
        serving.role = Role::Edge;
        serving.load.subscribers = 3;
        let seen = vec![(Role::Edge, region.clone(), LoadSeen { seated: 3, demand: 5 })];
        let mut memory = ScalerMemory::default();
        let stale = Duration::from_secs(15);
        let points = slot_points(&group, &[serving], &seen, t0, stale);
        let capacity = group.spec.roles[&Role::Edge].launch.connection_capacity;
        assert_eq!(
            (points[0].serving, points[0].capacity, points[0].sessions, points[0].demand),
            (1, u64::from(capacity), 3, 5)
        );
        assert!(series_due(&mut memory, t0));
        assert!(!series_due(&mut memory, t0 + Duration::from_secs(10)), "once per bucket");
        assert!(series_due(&mut memory, t0 + SERIES_EVERY));
    }
}
