//! A warm instance's view of each group's nodes, kept for up to a second
//! (load data is a heartbeat old anyway), with the seats taken on each node
//! since its report as far as this instance knows (the count stored with
//! the node when the view was read, raised by every seat it takes and every
//! refusal it meets), so that packing sees its own and others' decisions.
//! The count itself lives in the table (`seats`): this is only a guide to
//! which node to ask.
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
    /// Seats taken on `nodes[i]` since its report, as far as this instance
    /// knows; shared by every copy of the same load.
    seats: Arc<Mutex<Vec<u32>>>,
    /// Whether this view came from the cache rather than the store just now.
    pub cached: bool,
    loaded_at: OffsetDateTime,
}

impl Fleet {
    fn loaded(nodes: Vec<Node>, loaded_at: OffsetDateTime) -> Self {
        let seats = nodes.iter().map(|n| n.seats_taken).collect();
        Self { nodes: Arc::new(nodes), seats: Arc::new(Mutex::new(seats)), cached: false, loaded_at }
    }

    pub fn position(&self, node: &NodeId) -> Option<usize> {
        self.nodes.iter().position(|n| &n.node_id == node)
    }

    /// Per node, the sessions counted on top of its report: the seats taken
    /// and carried (`Node::seats_carried`), for `placement::place`.
    pub fn seats_counted(&self) -> Vec<u32> {
        let taken = self.seats.lock().expect("seat lock");
        self.nodes
            .iter()
            .zip(taken.iter())
            .map(|(node, &taken)| taken.saturating_add(node.seats_carried))
            .collect()
    }

    /// Seats taken on `nodes[index]` since its report, as far as known.
    pub fn seats_taken(&self, index: usize) -> u32 {
        self.seats.lock().expect("seat lock").get(index).copied().unwrap_or(u32::MAX)
    }

    /// Another seat was granted on `nodes[index]`, the `taken`-th since its report.
    pub fn note_taken(&self, index: usize, taken: u32) {
        if let Some(count) = self.seats.lock().expect("seat lock").get_mut(index) {
            *count = (*count).max(taken);
        }
    }

    /// `seats` seats on `nodes[index]` are being asked for: counted before
    /// the write returns, so that this instance's other lookups in flight
    /// see them and ask the next node instead of all asking for the same
    /// last seats (packing sends them all to the fullest node). Undone when
    /// the reservation is dropped without `keep`: a refused write, an
    /// error, or a lookup cancelled mid-write (its caller went away).
    pub fn reserve(&self, index: usize, seats: u32) -> SeatReservation {
        if let Some(count) = self.seats.lock().expect("seat lock").get_mut(index) {
            *count = count.saturating_add(seats);
        }
        SeatReservation { seats: self.seats.clone(), index, count: seats, kept: false }
    }
}

/// Seats counted in a view before their write returned (`Fleet::reserve`).
pub struct SeatReservation {
    seats: Arc<Mutex<Vec<u32>>>,
    index: usize,
    count: u32,
    kept: bool,
}

impl SeatReservation {
    /// The seat was granted: it stays counted.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for SeatReservation {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if let Some(count) = self.seats.lock().expect("seat lock").get_mut(self.index) {
            *count = count.saturating_sub(self.count);
        }
    }
}

pub struct FleetCache {
    store: Arc<dyn NodeStore>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    fleets: Mutex<HashMap<GroupName, Fleet>>,
    refreshing: Mutex<HashSet<GroupName>>,
    /// One read in flight per group (`load_shared`).
    loading: Mutex<HashMap<GroupName, Arc<tokio::sync::Mutex<()>>>>,
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
            loading: Mutex::new(HashMap::new()),
        })
    }

    /// The group's fleet: cached while young enough, else read from the
    /// store; `fresh` forces a read (a cached view contradicted the store).
    pub async fn get(self: &Arc<Self>, group: &GroupName, fresh: bool) -> StoreResult<Fleet> {
        let now = self.clock.now();
        if !fresh {
            if let Some(fleet) = self.cached(group, now, |_| true) {
                if now - fleet.loaded_at >= self.ttl.mul_f32(0.8) {
                    self.refresh_in_background(group);
                }
                return Ok(Fleet { cached: true, ..fleet });
            }
        }
        // Whatever is read from now on is as fresh as a read of our own.
        self.load_shared(group, |fleet| fleet.loaded_at >= now).await
    }

    /// A view that knows `node` at its report or later: the cached one if
    /// another lookup has already read the store since that report (lookups
    /// refused at once by the same new report share one read), else a read.
    pub async fn knowing(self: &Arc<Self>, group: &GroupName, node: &Node) -> StoreResult<Fleet> {
        self.load_shared(group, |fleet| {
            fleet.position(&node.node_id).is_some_and(|i| fleet.nodes[i].last_sent_at >= node.last_sent_at)
        })
        .await
    }

    /// The cached view if it is young and `good`.
    fn cached(&self, group: &GroupName, now: OffsetDateTime, good: impl Fn(&Fleet) -> bool) -> Option<Fleet> {
        let fleets = self.fleets.lock().expect("fleet lock");
        fleets.get(group).filter(|f| now - f.loaded_at < self.ttl && good(f)).cloned()
    }

    /// A read of the group's nodes, one at a time per group: lookups that
    /// need a new view together (a cold start, a report that contradicted
    /// them all) wait for the read in flight and share its view if it is
    /// `good` for them, and with it the view's seat counts, so that they see
    /// each other's seats instead of all asking the same node.
    async fn load_shared(&self, group: &GroupName, good: impl Fn(&Fleet) -> bool) -> StoreResult<Fleet> {
        if self.ttl.is_zero() {
            return self.load(group).await;
        }
        let gate = self.loading.lock().expect("loading lock").entry(group.clone()).or_default().clone();
        let _turn = gate.lock().await;
        match self.cached(group, self.clock.now(), good) {
            Some(fleet) => Ok(Fleet { cached: false, ..fleet }),
            None => self.load(group).await,
        }
    }

    async fn load(&self, group: &GroupName) -> StoreResult<Fleet> {
        // Stamped before the read: the view is as old as the read's start.
        let loaded_at = self.clock.now();
        let fleet = Fleet::loaded(self.store.all_nodes(group).await?, loaded_at);
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

    /// A seat write refused on `fleet.nodes[index]` returned the node as
    /// stored now (`None`: gone): this view, and the cached one if it is the
    /// same load, take it in, so no lookup asks that node again in vain.
    pub fn learn(&self, group: &GroupName, fleet: &mut Fleet, index: usize, stored: Option<Node>) {
        let Some(known) = fleet.nodes.get(index) else { return };
        let taken = match stored {
            // Gone: never to be asked again in this view.
            None => u32::MAX,
            // An older answer than the view: nothing to learn.
            Some(stored) if stored.last_sent_at < known.last_sent_at => return,
            Some(stored) => {
                let taken = stored.seats_taken;
                let mut nodes = (*fleet.nodes).clone();
                nodes[index] = stored;
                let nodes = Arc::new(nodes);
                let mut fleets = self.fleets.lock().expect("fleet lock");
                if let Some(cached) = fleets.get_mut(group).filter(|c| Arc::ptr_eq(&c.nodes, &fleet.nodes)) {
                    cached.nodes = nodes.clone();
                }
                fleet.nodes = nodes;
                taken
            }
        };
        if let Some(count) = fleet.seats.lock().expect("seat lock").get_mut(index) {
            *count = taken;
        }
    }
}
