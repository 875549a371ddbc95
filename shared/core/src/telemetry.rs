//! The metrics streamfleet records, named in one place. Recorded through
//! the `metrics` facade: on Lambda they become CloudWatch Embedded Metric
//! Format lines in the function's log (`streamfleet_runtime::metrics`),
//! elsewhere they go nowhere unless a recorder is installed. The alarms in
//! the deployment templates name these metrics and dimensions.
//!
//! Each is recorded twice where an alarm needs it: with its dimensions
//! (group, role, region: for the dashboard) and with fewer (for an alarm,
//! which cannot sum over dimensions it does not name).

use std::time::Duration;

use metrics::{counter, gauge, histogram};
use time::OffsetDateTime;

use crate::group::Role;
use crate::names::{GroupName, Region};
use crate::node::{Node, NodeState};
use crate::scaling::{DecisionRecord, SeriesPoint};

pub const LOOKUPS: &str = "Lookups";
pub const LOOKUP_LATENCY: &str = "LookupLatencyMs";
pub const FREE_SEATS: &str = "FreeSeats";
pub const PRESSURE: &str = "Pressure";
pub const DESIRED: &str = "DesiredNodes";
pub const IN_SERVICE: &str = "InServiceNodes";
pub const DECISIONS: &str = "Decisions";
pub const OPEN_HOLDS: &str = "OpenHolds";
pub const HOLD_UNKEPT_PCT: &str = "HoldUnkeptPctOfTimeout";
pub const TICK_DURATION: &str = "TickDurationMs";
pub const TICK_ERRORS: &str = "TickErrors";
pub const EVENTS_UNSENT: &str = "DecisionEventsUnsent";

/// Every metric above: what the templates' alarms and dashboard may name
/// (written to infra/contract.json, checked by the parity check).
pub const ALL: [&str; 12] = [
    LOOKUPS,
    LOOKUP_LATENCY,
    FREE_SEATS,
    PRESSURE,
    DESIRED,
    IN_SERVICE,
    DECISIONS,
    OPEN_HOLDS,
    HOLD_UNKEPT_PCT,
    TICK_DURATION,
    TICK_ERRORS,
    EVENTS_UNSENT,
];

/// How a lookup ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupOutcome {
    Placed,
    /// No node with room: the player was asked to retry (a rejected join).
    NoRoom,
    /// No group, or the stream is not live.
    NotFound,
    Failed,
}

impl LookupOutcome {
    fn as_str(self) -> &'static str {
        match self {
            LookupOutcome::Placed => "placed",
            LookupOutcome::NoRoom => "noRoom",
            LookupOutcome::NotFound => "notFound",
            LookupOutcome::Failed => "failed",
        }
    }
}

/// A lookup answered: by outcome, role and region, and how long it took.
pub fn lookup(
    action: &'static str,
    outcome: LookupOutcome,
    placed: Option<(&GroupName, Role, &Region)>,
    took: Duration,
) {
    let outcome = outcome.as_str();
    counter!(LOOKUPS, "Outcome" => outcome).increment(1);
    if let Some((group, role, region)) = placed {
        counter!(LOOKUPS, "Group" => group.to_string(), "Role" => role.as_str(), "Region" => region.to_string(),
            "Outcome" => outcome)
        .increment(1);
    }
    histogram!(LOOKUP_LATENCY, "Action" => action).record(took.as_secs_f64() * 1000.0);
}

/// A tick's view of each role in each region: free seats, pressure, the
/// nodes wanted (serving, starting, and owed by the cloud) and in service.
pub fn slots(group: &GroupName, points: &[SeriesPoint], nodes: &[Node], pressure: &crate::scaling::Pressure) {
    for point in points {
        let labels = [
            ("Group", group.to_string()),
            ("Role", point.role.as_str().to_owned()),
            ("Region", point.region.to_string()),
        ];
        let here = |n: &&Node| n.role == point.role && n.region == point.region;
        let wanted = nodes
            .iter()
            .filter(here)
            .filter(|n| matches!(n.state, NodeState::Pending | NodeState::InService));
        let refused = pressure.get(&(point.role, point.region.clone())).copied().unwrap_or(0);
        gauge!(FREE_SEATS, &labels).set(point.capacity.saturating_sub(point.sessions) as f64);
        gauge!(PRESSURE, &labels).set(f64::from(refused));
        gauge!(DESIRED, &labels).set(wanted.count() as f64);
        gauge!(IN_SERVICE, &labels).set(f64::from(point.serving));
    }
}

/// The decisions a tick (or an operator, or a lifecycle event) took.
pub fn decisions(group: &GroupName, records: &[DecisionRecord]) {
    for record in records {
        let action = serde_json::to_value(&record.decision.action)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_default();
        counter!(DECISIONS, "Action" => action.clone()).increment(1);
        counter!(DECISIONS, "Group" => group.to_string(), "Action" => action).increment(1);
    }
}

/// The lifecycle actions the group's nodes hold, and how close the least
/// recently kept one is to its heartbeat timeout (100: the cloud answers
/// for it now).
pub fn holds(group: &GroupName, nodes: &[Node], now: OffsetDateTime) {
    let open: Vec<_> = nodes.iter().filter_map(|n| n.hold.as_ref()).filter(|h| h.result.is_none()).collect();
    let unkept = open
        .iter()
        .map(|h| {
            let since = (now - h.kept_at).as_seconds_f64().max(0.0);
            since * 100.0 / f64::from(h.heartbeat_timeout_secs.max(1))
        })
        .fold(0.0, f64::max);
    gauge!(OPEN_HOLDS, "Group" => group.to_string()).set(open.len() as f64);
    gauge!(HOLD_UNKEPT_PCT, "Group" => group.to_string()).set(unkept);
    // Undimensioned, for the alarm, from the groups holding actions only:
    // a document takes 100 values of a metric, and the scaler writes its
    // metrics after each tick.
    if !open.is_empty() {
        histogram!(HOLD_UNKEPT_PCT).record(unkept);
    }
}

/// A tick of every group: how long, and how many groups failed.
pub fn tick(took: Duration, failed: u32) {
    histogram!(TICK_DURATION).record(took.as_secs_f64() * 1000.0);
    tick_failed(failed);
}

/// Ticks that failed outside a tick of every group (a called tick, or the
/// groups not even listed).
pub fn tick_failed(count: u32) {
    counter!(TICK_ERRORS).increment(u64::from(count));
}

/// Decision events the bus did not take (the decision log holds them).
pub fn events_unsent(count: usize) {
    counter!(EVENTS_UNSENT).increment(count as u64);
}
