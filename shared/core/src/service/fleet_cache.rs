//! A warm instance's view of each group's nodes, kept for up to a second
//! (load data is a heartbeat old anyway), with the sessions this instance
//! placed since it loaded them, so that packing sees its own decisions.
//!
//! Refresh-ahead: once a view is 80 % through its life, the next lookup
//! starts a reload in the background and keeps using the view, so under
//! steady load no lookup waits for the node query; a view past its life is
//! never used (the lookup that finds it so reloads it itself).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::names::{GroupName, NodeId};
use crate::node::Node;
use crate::ports::{NodeStore, StoreResult};

#[derive(Clone)]
pub struct Fleet {
    pub nodes: Arc<Vec<Node>>,
    /// Sessions placed on `nodes[i]` by this instance since the load.
    pub placed: Vec<u32>,
    /// Whether this view came from the cache rather than the store just now.
    pub cached: bool,
    loaded_at: OffsetDateTime,
}

impl Fleet {
    pub fn position(&self, node: &NodeId) -> Option<usize> {
        self.nodes.iter().position(|n| &n.node_id == node)
    }
}

pub struct FleetCache {
    store: Arc<dyn NodeStore>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    fleets: Mutex<HashMap<GroupName, Fleet>>,
    refreshing: Mutex<HashSet<GroupName>>,
}

impl FleetCache {
    /// A zero `ttl` disables the cache: every lookup reads the store.
    pub fn new(store: Arc<dyn NodeStore>, clock: Arc<dyn Clock>, ttl: Duration) -> Arc<Self> {
        Arc::new(Self {
            store,
            clock,
            ttl,
            fleets: Mutex::new(HashMap::new()),
            refreshing: Mutex::new(HashSet::new()),
        })
    }

    /// The group's fleet: cached while young enough, else read from the
    /// store; `fresh` forces a read (a cached view contradicted the store).
    pub async fn get(self: &Arc<Self>, group: &GroupName, fresh: bool) -> StoreResult<Fleet> {
        let now = self.clock.now();
        if !fresh {
            let cached = self.fleets.lock().expect("fleet lock").get(group).cloned();
            if let Some(fleet) = cached.filter(|f| now - f.loaded_at < self.ttl) {
                if now - fleet.loaded_at >= self.ttl.mul_f32(0.8) {
                    self.refresh_in_background(group);
                }
                return Ok(Fleet { cached: true, ..fleet });
            }
        }
        self.load(group).await
    }

    async fn load(&self, group: &GroupName) -> StoreResult<Fleet> {
        // Stamped before the read: the view is as old as the read's start.
        let loaded_at = self.clock.now();
        let nodes = self.store.all_nodes(group).await?;
        let fleet = Fleet { placed: vec![0; nodes.len()], nodes: Arc::new(nodes), cached: false, loaded_at };
        if !self.ttl.is_zero() {
            let mut fleets = self.fleets.lock().expect("fleet lock");
            // A slow load never replaces a view read after it started.
            if fleets.get(group).is_none_or(|cached| cached.loaded_at <= loaded_at) {
                fleets.insert(group.clone(), fleet.clone());
            }
        }
        Ok(fleet)
    }

    fn refresh_in_background(self: &Arc<Self>, group: &GroupName) {
        if !self.refreshing.lock().expect("refresh lock").insert(group.clone()) {
            return;
        }
        let (cache, group) = (self.clone(), group.clone());
        tokio::spawn(async move {
            if let Err(e) = cache.load(&group).await {
                tracing::warn!(group = %group, error = %e, "background refresh of the fleet failed");
            }
            cache.refreshing.lock().expect("refresh lock").remove(&group);
        });
    }

    /// Counts one session sent to `fleet.nodes[index]`.
    pub fn placed(&self, group: &GroupName, fleet: &Fleet, index: usize) {
        let mut fleets = self.fleets.lock().expect("fleet lock");
        // Only if the cache still holds the same load of the fleet.
        if let Some(cached) = fleets.get_mut(group).filter(|c| Arc::ptr_eq(&c.nodes, &fleet.nodes)) {
            if let Some(count) = cached.placed.get_mut(index) {
                *count += 1;
            }
        }
    }
}
