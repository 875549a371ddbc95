//! A warm instance's view of each group's nodes, kept for up to a second
//! (load data is a heartbeat old anyway), with the sessions this instance
//! placed since it loaded them, so that packing sees its own decisions.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::cache::TtlCache;
use crate::names::GroupName;
use crate::node::Node;
use crate::ports::{NodeStore, StoreResult};

#[derive(Clone)]
pub struct Fleet {
    pub nodes: Arc<Vec<Node>>,
    /// Sessions placed on `nodes[i]` by this instance since the load.
    pub placed: Vec<u32>,
    /// Whether this view came from the cache rather than the store just now.
    pub cached: bool,
}

impl Fleet {
    pub fn position(&self, node: &crate::names::NodeId) -> Option<usize> {
        self.nodes.iter().position(|n| &n.node_id == node)
    }
}

pub struct FleetCache {
    fleets: TtlCache<GroupName, Fleet>,
}

impl FleetCache {
    pub fn new(ttl: Duration) -> Self {
        Self { fleets: TtlCache::new(ttl) }
    }

    /// The group's fleet, loaded from the store when not cached or `fresh`
    /// is asked (a stale view contradicted the store).
    pub async fn get(
        &self,
        store: &dyn NodeStore,
        group: &GroupName,
        now: OffsetDateTime,
        fresh: bool,
    ) -> StoreResult<Fleet> {
        if !fresh {
            if let Some(fleet) = self.fleets.get(group, now) {
                return Ok(Fleet { cached: true, ..fleet });
            }
        }
        let nodes = store.all_nodes(group).await?;
        let fleet = Fleet { placed: vec![0; nodes.len()], nodes: Arc::new(nodes), cached: false };
        self.fleets.insert(group.clone(), fleet.clone(), now);
        Ok(fleet)
    }

    /// Counts one session sent to `fleet.nodes[index]`.
    pub fn placed(&self, group: &GroupName, fleet: &Fleet, index: usize, now: OffsetDateTime) {
        self.fleets.update(group, now, |cached| {
            // Only if the cache still holds the same load of the fleet.
            if Arc::ptr_eq(&cached.nodes, &fleet.nodes) {
                if let Some(count) = cached.placed.get_mut(index) {
                    *count += 1;
                }
            }
        });
    }
}
