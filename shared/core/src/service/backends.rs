//! What the scaler and the lifecycle hooks both stand on: the stores they
//! write, the cloud backends they drive, their errors, and the row of a node
//! the cloud started. Its own module so that neither imports the other's.

use std::collections::BTreeMap;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::group::{Cloud, NodeGroup};
use crate::names::GroupName;
use crate::node::{Node, NodeLoad, NodeState};
use crate::ports::{
    DecisionEvents, Fleet, FleetError, GroupStore, Instance, NoDecisionEvents, NodeLifecycleStore, NodeStore,
    ScalerStore, StoreError,
};

/// The cloud backends, chosen per group by its `cloud`.
#[derive(Clone)]
pub struct Fleets {
    /// Absent where no AWS backend is configured (the local stack).
    pub aws: Option<Arc<dyn Fleet>>,
    pub simulated: Arc<dyn Fleet>,
}

/// The stores the scaler writes to.
#[derive(Clone)]
pub struct ScalerStores {
    pub groups: Arc<dyn GroupStore>,
    pub nodes: Arc<dyn NodeStore>,
    pub lifecycle: Arc<dyn NodeLifecycleStore>,
    pub scaler: Arc<dyn ScalerStore>,
    /// Where the decisions logged are published (none unless configured).
    pub events: Arc<dyn DecisionEvents>,
}

/// Writes decisions to the group's log, counts them in the metrics and
/// publishes them as events: every writer of the log (the scaler, the
/// lifecycle function, an operator) goes through here. An event is sent
/// only for what the log holds; one that cannot be sent is logged and
/// counted, and changes nothing else (the log is the record).
pub(super) async fn log_decisions(
    store: &dyn ScalerStore,
    events: &dyn DecisionEvents,
    group: &GroupName,
    records: &[crate::scaling::DecisionRecord],
    ttl: std::time::Duration,
) -> Result<(), crate::ports::StoreError> {
    crate::telemetry::decisions(group, records);
    store.record_decisions(group, records, ttl).await?;
    if let Err(e) = events.publish(group, records).await {
        tracing::warn!(group = %group, error = %e, "decision events not published; the decision log has them");
        crate::telemetry::events_unsent(e.unsent);
    }
    Ok(())
}

impl ScalerStores {
    /// [`log_decisions`] on these stores.
    pub(super) async fn log_decisions(
        &self,
        group: &GroupName,
        records: &[crate::scaling::DecisionRecord],
        ttl: std::time::Duration,
    ) -> Result<(), StoreError> {
        log_decisions(self.scaler.as_ref(), self.events.as_ref(), group, records, ttl).await
    }

    /// Every port on one store (the DynamoDB table).
    pub fn all_in<S>(store: Arc<S>) -> Self
    where
        S: GroupStore + NodeStore + NodeLifecycleStore + ScalerStore + 'static,
    {
        Self {
            groups: store.clone(),
            nodes: store.clone(),
            lifecycle: store.clone(),
            scaler: store,
            events: Arc::new(NoDecisionEvents),
        }
    }

    /// Publishes every decision logged to `events` too.
    pub fn publishing_to(mut self, events: Arc<dyn DecisionEvents>) -> Self {
        self.events = events;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScalerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fleet(#[from] FleetError),
    #[error("no AWS backend is configured for group {0}")]
    NoBackend(GroupName),
    #[error("no backend is configured for the {0:?} cloud")]
    NoCloud(Cloud),
    /// Not one tick order went out: nothing would tick.
    #[error("tick orders: {0}")]
    Orders(#[from] crate::ports::QueueError),
}

/// The row of a node the cloud started: pending until its first heartbeat.
pub(crate) fn launched_node(group: &NodeGroup, instance: &Instance, now: OffsetDateTime) -> Node {
    Node {
        group: group.name().clone(),
        node_id: instance.node_id.clone(),
        role: instance.role,
        region: instance.region.clone(),
        zone: instance.zone.clone(),
        state: NodeState::Pending,
        cordoned: false,
        drain_cause: None,
        hold: None,
        host: instance.host.clone(),
        endpoints: BTreeMap::new(),
        streams: vec![],
        load: NodeLoad::default(),
        seats_taken: 0,
        seats_carried: 0,
        state_since: now,
        launched_at: Some(now),
        last_heartbeat_at: None,
        last_sent_at: None,
    }
}
