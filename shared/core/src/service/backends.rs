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
    Fleet, FleetError, GroupStore, Instance, NodeLifecycleStore, NodeStore, ScalerStore, StoreError,
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
}

/// Writes decisions to the group's log, and counts them in the metrics:
/// every writer of the log (the scaler, the lifecycle function, an
/// operator) goes through here.
pub(super) async fn log_decisions(
    store: &dyn ScalerStore,
    group: &GroupName,
    records: &[crate::scaling::DecisionRecord],
    ttl: std::time::Duration,
) -> Result<(), crate::ports::StoreError> {
    crate::telemetry::decisions(group, records);
    store.record_decisions(group, records, ttl).await
}

impl ScalerStores {
    /// Every port on one store (the DynamoDB table).
    pub fn all_in<S>(store: Arc<S>) -> Self
    where
        S: GroupStore + NodeStore + NodeLifecycleStore + ScalerStore + 'static,
    {
        Self { groups: store.clone(), nodes: store.clone(), lifecycle: store.clone(), scaler: store }
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
