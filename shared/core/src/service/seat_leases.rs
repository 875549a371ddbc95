//! A warm lookup instance's seat leases (`seats`): blocks of seats it took
//! on a node in one write, handed to its own lookups from memory while the
//! lease holds, and its demand, which sizes the next block.
//!
//! Lookups that find no lease on the node they want take turns to write
//! (one write in flight per node and instance): the ones waiting are then
//! seated from the block the first one took, instead of each writing for
//! a block of its own and leaving most of them unused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::names::{GroupName, NodeId};
use crate::node::Node;
use crate::seats::{block_size, Demand, SeatLease};

type Key = (GroupName, NodeId);

pub struct SeatLeases {
    /// A lease's life; zero: no leases, one seat per write.
    life: Duration,
    /// Per group and node: looked up on every lookup, by reference (no key
    /// is built for it).
    held: Mutex<HashMap<GroupName, HashMap<NodeId, SeatLease>>>,
    demand: Mutex<HashMap<GroupName, Demand>>,
    turns: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
}

/// A lookup's turn to write for seats on one node (`SeatLeases::turn`).
pub type Turn = tokio::sync::OwnedMutexGuard<()>;

impl SeatLeases {
    pub fn new(life: Duration) -> Self {
        Self {
            life,
            held: Mutex::new(HashMap::new()),
            demand: Mutex::new(HashMap::new()),
            turns: Mutex::new(HashMap::new()),
        }
    }

    /// One seat on `view`'s node from this instance's lease, if it has one
    /// spare at the report the view shows.
    pub fn hand(&self, group: &GroupName, view: &Node, now: OffsetDateTime) -> bool {
        let mut held = self.held.lock().expect("lease lock");
        let lease = held.get_mut(group).and_then(|nodes| nodes.get_mut(&view.node_id));
        lease.is_some_and(|lease| lease.hand(view, now))
    }

    /// The seats this instance's lease on `view`'s node holds spare:
    /// counted in the view's seats taken, but free for its own lookups.
    pub fn spare_on(&self, group: &GroupName, view: &Node, now: OffsetDateTime) -> u32 {
        self.spare(group, std::slice::from_ref(view), now)[0]
    }

    /// `spare_on` for every node of a view.
    pub fn spare(&self, group: &GroupName, nodes: &[Node], now: OffsetDateTime) -> Vec<u32> {
        let held = self.held.lock().expect("lease lock");
        let Some(leases) = held.get(group) else { return vec![0; nodes.len()] };
        nodes.iter().map(|node| leases.get(&node.node_id).map_or(0, |lease| lease.spare(node, now))).collect()
    }

    /// A lookup in `group` asks for a seat.
    pub fn asked(&self, group: &GroupName, now: OffsetDateTime) {
        if self.life.is_zero() {
            return;
        }
        let mut demand = self.demand.lock().expect("demand lock");
        match demand.get_mut(group) {
            Some(demand) => demand.record(now, self.life),
            None => {
                let mut first = Demand::new(now);
                first.record(now, self.life);
                demand.insert(group.clone(), first);
            }
        }
    }

    /// How many seats to ask for on a node whose view leaves `room_left`.
    pub fn block(&self, group: &GroupName, room_left: u32, now: OffsetDateTime) -> u32 {
        if self.life.is_zero() {
            return 1;
        }
        let demand = self.demand.lock().expect("demand lock");
        let per_lease = demand.get(group).map_or(0, |d| d.per_window(now, self.life));
        block_size(per_lease, room_left)
    }

    /// `granted` seats were taken on `node` at `report`, one of them for the
    /// lookup that asked: the rest are this instance's to hand out.
    pub fn keep(
        &self,
        group: &GroupName,
        node: &NodeId,
        report: OffsetDateTime,
        granted: u32,
        now: OffsetDateTime,
    ) {
        if self.life.is_zero() || granted <= 1 {
            return;
        }
        let until = now + self.life;
        let mut held = self.held.lock().expect("lease lock");
        // Lapsed leases are of no use to anyone: dropped as new ones come.
        for leases in held.values_mut() {
            leases.retain(|_, lease| lease.until > now);
        }
        held.retain(|_, leases| !leases.is_empty());
        let leases = held.entry(group.clone()).or_default();
        let lease = leases.entry(node.clone()).or_insert(SeatLease { report, left: 0, until });
        if lease.report != report {
            *lease = SeatLease { report, left: 0, until };
        }
        lease.left = lease.left.saturating_add(granted - 1);
        lease.until = until;
    }

    /// Waits for this lookup's turn to write for seats on `node`.
    pub async fn turn(&self, group: &GroupName, node: &NodeId) -> Turn {
        let gate = {
            let mut turns = self.turns.lock().expect("turn lock");
            // Gates nobody holds or waits for are dropped as nodes come and go.
            if turns.len() > 256 {
                turns.retain(|_, gate| Arc::strong_count(gate) > 1);
            }
            turns.entry((group.clone(), node.clone())).or_default().clone()
        };
        gate.lock_owned().await
    }
}
