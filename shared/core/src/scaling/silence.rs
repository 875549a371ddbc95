//! Silence is not death. A node that stops reporting may have crashed, or
//! only its heartbeats may be lost (the network, the API, the heartbeat
//! path) while its media keeps flowing to viewers. So a silent node gets no
//! new sessions and is not counted as serving (its capacity is replaced at
//! once), but it is taken for dead, and terminated, only when:
//! - the cloud says so: its instance failed the cloud's health checks (an
//!   instance that is gone is forgotten by reconciliation anyway);
//! - or its last report held no session: terminating it cuts nobody;
//! - or its role's fault deadline (`faultDeadlineSecs`, 10 min by default)
//!   passed: a forced termination, logged as such.
//!
//! **Mass silence.** When at least `mass_silence_pct` (50 % by default) of
//! a role's nodes in a region, and two or more, are silent at once, that is
//! a fault of the network or of the control plane, not of the nodes: none
//! is taken for dead for its silence (the cloud's verdict still counts),
//! the role is not scaled in that region (its load is not known; replacing
//! every silent node would double the fleet for an outage of reports, and
//! the replacements could not report either), and the plan says so. On AWS
//! the Auto Scaling group still replaces instances its health checks fail. Outside a mass silence, at most a tenth of a role's
//! nodes in a region (at least one) are taken for dead for silence per
//! tick, so that a silence just below the guard's share still unfolds
//! slowly enough for the nodes to come back. Kubernetes' node lifecycle
//! controller does the same (it stops evicting in a fully disrupted zone,
//! and slows down in a partially disrupted one).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use time::OffsetDateTime;

use super::decision::{Action, Decider, Decision};
use crate::group::{NodeGroup, Role, ScalePolicy};
use crate::names::{NodeId, Region};
use crate::node::{Node, NodeState};

/// Why a silent node is taken for dead, and whether that cuts sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    pub reason: String,
    pub forced: bool,
}

/// One role in one region: its nodes that serve or drain, the silent ones.
#[derive(Debug, Default)]
struct Slot {
    members: u32,
    silent: u32,
    /// How long the most recently heard silent node has been silent: how
    /// long the silence of them all has lasted.
    silence: Option<Duration>,
    fault_deadline: Duration,
    /// Deaths for silence still allowed this tick.
    budget: u32,
}

pub struct Silence<'a> {
    unhealthy: &'a HashSet<NodeId>,
    dead_after: Duration,
    mass_silence_pct: u8,
    slots: BTreeMap<(Role, Region), Slot>,
}

impl<'a> Silence<'a> {
    /// Counts, per role and region, the nodes in service or draining (none
    /// held by a lifecycle action) and those of them silent for
    /// `dead_after` or longer.
    pub fn new(
        group: &NodeGroup,
        nodes: &[Node],
        unhealthy: &'a HashSet<NodeId>,
        now: OffsetDateTime,
        dead_after: Duration,
        mass_silence_pct: u8,
    ) -> Self {
        let mut slots: BTreeMap<(Role, Region), Slot> = BTreeMap::new();
        let members = nodes
            .iter()
            .filter(|n| n.hold.is_none() && matches!(n.state, NodeState::InService | NodeState::Draining));
        for node in members {
            let slot = slots.entry((node.role, node.region.clone())).or_default();
            slot.members += 1;
            let silent_for = node.last_heartbeat_at.map_or(Duration::MAX, |at| since(now, at));
            if silent_for >= dead_after {
                slot.silent += 1;
                slot.silence = Some(slot.silence.map_or(silent_for, |s| s.min(silent_for)));
            }
        }
        for ((role, _), slot) in &mut slots {
            slot.budget = (slot.members / 10).max(1);
            slot.fault_deadline = fault_deadline(group, *role);
        }
        Self { unhealthy, dead_after, mass_silence_pct, slots }
    }

    /// Whether `role` in `region` is in a mass silence.
    pub fn is_mass(&self, role: Role, region: &Region) -> bool {
        self.slots.get(&(role, region.clone())).is_some_and(|slot| self.mass(slot))
    }

    /// A mass silence holds for the fault deadline at most: nodes silent
    /// longer than that are dead or unreachable for good, and the role must
    /// be scaled again.
    fn mass(&self, slot: &Slot) -> bool {
        slot.silent >= 2
            && slot.silent * 100 >= u32::from(self.mass_silence_pct) * slot.members
            && slot.silence.is_some_and(|s| s < slot.fault_deadline)
    }

    /// Whether `node`, silent for `silent_for` (`None`: never heard), is
    /// taken for dead now, and why. Each death for silence spends one of
    /// its slot's deaths of this tick.
    pub fn verdict(&mut self, node: &Node, silent_for: Option<Duration>) -> Option<Death> {
        let silent_secs = silent_for.unwrap_or_default().as_secs();
        if self.unhealthy.contains(&node.node_id) {
            return Some(Death {
                reason: format!("the cloud reports its instance unhealthy; no heartbeat for {silent_secs}s"),
                forced: node.held_or_coming() > 0,
            });
        }
        let key = (node.role, node.region.clone());
        let mass = self.slots.get(&key).is_some_and(|slot| self.mass(slot));
        let slot = self.slots.get_mut(&key)?;
        let fault_deadline = slot.fault_deadline;
        if mass || slot.budget == 0 {
            return None;
        }
        let sessions = node.held_or_coming();
        let death = if sessions == 0 {
            Death {
                reason: format!(
                    "no heartbeat for {silent_secs}s (dead after {}s), and its last report held no session",
                    self.dead_after.as_secs()
                ),
                forced: false,
            }
        } else if silent_for.is_none_or(|s| s >= fault_deadline) {
            Death {
                reason: format!(
                    "FORCED: no heartbeat for {silent_secs}s (fault deadline {}s) with {sessions} session(s) \
                     in its last report or sent to it since",
                    fault_deadline.as_secs()
                ),
                forced: true,
            }
        } else {
            return None;
        };
        slot.budget -= 1;
        Some(death)
    }

    /// What the plan says of each mass silence.
    pub fn guarded(&self) -> Vec<Decision> {
        self.slots
            .iter()
            .filter(|(_, slot)| self.mass(slot))
            .map(|((role, region), slot)| Decision {
                action: Action::MassSilence { silent: slot.silent, of: slot.members },
                role: Some(*role),
                region: Some(region.clone()),
                reason: format!(
                    "{} of {} nodes silent for {}s or more at once: taken for a fault of the network or \
                     the heartbeat path; none is taken for dead for its silence, and the role is not \
                     scaled here until they report",
                    slot.silent,
                    slot.members,
                    self.dead_after.as_secs()
                ),
                numbers: None,
                by: Decider::Scaler,
            })
            .collect()
    }
}

fn fault_deadline(group: &NodeGroup, role: Role) -> Duration {
    let secs = group
        .spec
        .roles
        .get(&role)
        .map_or(ScalePolicy::default().fault_deadline_secs, |r| r.scale.fault_deadline_secs);
    Duration::from_secs(u64::from(secs))
}

fn since(now: OffsetDateTime, at: OffsetDateTime) -> Duration {
    (now - at).try_into().unwrap_or(Duration::ZERO)
}
