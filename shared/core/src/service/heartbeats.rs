//! Recording node heartbeats: the hot path every media node calls every few
//! seconds. One conditional write per heartbeat; enrollment on first contact.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::credentials::{NodeCredential, NodeCredentials};
use crate::group::GroupStatus;
use crate::heartbeat::HeartbeatReport;
use crate::names::{GroupName, NodeId};
use crate::node::{Node, NodeState};
use crate::ports::{GroupStore, NodeLifecycleStore, NodeStore, StoreError};
use crate::validation::{InvalidInput, Violations};

#[derive(Debug, Clone, Copy)]
pub struct HeartbeatSettings {
    /// How often nodes should report (told to them in every answer).
    pub interval: Duration,
    /// How long a silent node's item lives before DynamoDB may drop it.
    pub item_ttl: Duration,
}

impl Default for HeartbeatSettings {
    fn default() -> Self {
        Self { interval: Duration::from_secs(5), item_ttl: Duration::from_secs(24 * 3600) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HeartbeatError {
    #[error("the credential is not valid for this node of this group")]
    Forbidden,
    #[error("the enrollment key was rotated; ask the operator for the current one")]
    StaleEnrollmentKey,
    #[error("node group {0} does not exist")]
    GroupNotFound(GroupName),
    #[error("node group {0} is being deleted and takes no new nodes")]
    GroupDeleting(GroupName),
    #[error("node {node} is not registered in {group}; enroll it with the group's enrollment key")]
    NodeUnknown { group: GroupName, node: NodeId },
    #[error("node {0} is already enrolled; report with its node token")]
    AlreadyEnrolled(NodeId),
    #[error("this heartbeat is not newer than the last one accepted (a replay)")]
    Replayed,
    #[error("the node is registered with {field} {registered}, not {reported}")]
    Mismatch { field: &'static str, registered: String, reported: String },
    #[error("a concurrent change got in first; retry")]
    Raced,
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("the store failed")]
    Store(#[from] StoreError),
}

/// The answer to a heartbeat.
#[derive(Debug, Clone)]
pub struct HeartbeatAck {
    pub node: Node,
    /// Set when this heartbeat enrolled the node: its credential from now on.
    pub node_token: Option<String>,
    pub interval: Duration,
}

#[derive(Clone)]
pub struct Heartbeats {
    groups: Arc<dyn GroupStore>,
    nodes: Arc<dyn NodeStore>,
    lifecycle: Arc<dyn NodeLifecycleStore>,
    clock: Arc<dyn Clock>,
    credentials: NodeCredentials,
    settings: HeartbeatSettings,
}

impl Heartbeats {
    pub fn new(
        groups: Arc<dyn GroupStore>,
        nodes: Arc<dyn NodeStore>,
        lifecycle: Arc<dyn NodeLifecycleStore>,
        clock: Arc<dyn Clock>,
        credentials: NodeCredentials,
        settings: HeartbeatSettings,
    ) -> Self {
        Self { groups, nodes, lifecycle, clock, credentials, settings }
    }

    pub fn settings(&self) -> HeartbeatSettings {
        self.settings
    }

    /// What `credential` proves for this node of this group. Check it
    /// first: nothing about the group or node is revealed to a caller that
    /// cannot prove it is that node (or may enroll it).
    pub fn verify(
        &self,
        group: &GroupName,
        node: &NodeId,
        credential: &str,
    ) -> Result<NodeCredential, HeartbeatError> {
        self.credentials.check(group, node, credential).ok_or(HeartbeatError::Forbidden)
    }

    /// Records a heartbeat of a node whose credential `verify` accepted.
    pub async fn beat(
        &self,
        group: &GroupName,
        node: &NodeId,
        proof: NodeCredential,
        report: HeartbeatReport,
    ) -> Result<HeartbeatAck, HeartbeatError> {
        let now = self.clock.now();
        report.validate(now)?;
        match proof {
            NodeCredential::Node => self.record(group, node, &report, now).await,
            NodeCredential::Enrollment { generation } => {
                self.enroll(group, node, report, generation, now).await
            }
        }
    }

    async fn record(
        &self,
        group: &GroupName,
        node: &NodeId,
        report: &HeartbeatReport,
        now: OffsetDateTime,
    ) -> Result<HeartbeatAck, HeartbeatError> {
        let expires = now + self.settings.item_ttl;
        let mut stored = match self.nodes.record_heartbeat(group, node, report, now, expires).await {
            Ok(stored) => stored,
            Err(StoreError::Conflict) => return Err(self.explain(group, node, report).await),
            Err(e) => return Err(e.into()),
        };
        // A node launched by the fleet waits as pending for its first report.
        if stored.state == NodeState::Pending {
            stored = match self.nodes.mark_in_service(group, node, now).await {
                Ok(node) => {
                    tracing::info!(group = %group, node = %node.node_id, "node in service after its first heartbeat");
                    node
                }
                Err(StoreError::Conflict) => self.nodes.get_node(group, node).await?.unwrap_or(stored),
                Err(e) => return Err(e.into()),
            };
        }
        Ok(HeartbeatAck { node: stored, node_token: None, interval: self.settings.interval })
    }

    async fn explain(&self, group: &GroupName, node: &NodeId, report: &HeartbeatReport) -> HeartbeatError {
        let stored = match self.nodes.get_node(group, node).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return HeartbeatError::NodeUnknown { group: group.clone(), node: node.clone() },
            Err(e) => return e.into(),
        };
        if stored.role != report.role {
            return HeartbeatError::Mismatch {
                field: "role",
                registered: stored.role.to_string(),
                reported: report.role.to_string(),
            };
        }
        if stored.region != report.region {
            return HeartbeatError::Mismatch {
                field: "region",
                registered: stored.region.to_string(),
                reported: report.region.to_string(),
            };
        }
        if stored.last_sent_at.is_some_and(|last| last >= report.sent_at) {
            return HeartbeatError::Replayed;
        }
        HeartbeatError::Raced
    }

    async fn enroll(
        &self,
        group_name: &GroupName,
        node_id: &NodeId,
        report: HeartbeatReport,
        generation: u32,
        now: OffsetDateTime,
    ) -> Result<HeartbeatAck, HeartbeatError> {
        let group = self
            .groups
            .get_group(group_name)
            .await?
            .ok_or_else(|| HeartbeatError::GroupNotFound(group_name.clone()))?;
        if group.enroll_generation != generation {
            return Err(HeartbeatError::StaleEnrollmentKey);
        }
        if group.status == GroupStatus::Deleting {
            return Err(HeartbeatError::GroupDeleting(group_name.clone()));
        }
        let mut v = Violations::default();
        v.check(
            group.spec.roles.contains_key(&report.role),
            || "role".into(),
            "role_in_group",
            || format!("node group {group_name} has no {} role", report.role),
        );
        let region = group.spec.regions.iter().find(|r| r.region == report.region);
        v.check(
            region.is_some(),
            || "region".into(),
            "region_in_group",
            || format!("node group {group_name} does not run in {}", report.region),
        );
        if let (Some(region), Some(zone)) = (region, &report.zone) {
            v.check(
                region.zones.is_empty() || region.zones.contains(zone),
                || "zone".into(),
                "zone_in_group",
                || format!("node group {group_name} does not use zone {zone}"),
            );
        }
        v.check(
            report.endpoints.as_ref().is_some_and(|e| !e.is_empty()),
            || "endpoints".into(),
            "required",
            || "a node's first heartbeat says where clients reach it (endpoints)".into(),
        );
        v.into_result()?;

        let load = report.load();
        let node = Node {
            group: group_name.clone(),
            node_id: node_id.clone(),
            role: report.role,
            region: report.region,
            zone: report.zone,
            state: NodeState::InService,
            cordoned: false,
            hold: None,
            drain_cause: None,
            host: Some(report.host),
            endpoints: report.endpoints.unwrap_or_default(),
            streams: report.streams,
            load,
            seats_taken: 0,
            seats_carried: 0,
            state_since: now,
            launched_at: None,
            last_heartbeat_at: Some(now),
            last_sent_at: Some(report.sent_at),
        };
        let expires = now + self.settings.item_ttl;
        match self.nodes.register_node(&node, generation, expires).await {
            Ok(()) => Ok(self.enrolled(node)),
            Err(StoreError::Conflict) => match self.nodes.get_node(group_name, node_id).await? {
                // Launched by the fleet and waiting for this first report.
                Some(launched) if launched.state == NodeState::Pending && launched.last_sent_at.is_none() => {
                    if launched.role != node.role || launched.region != node.region {
                        return Err(HeartbeatError::Mismatch {
                            field: "role or region",
                            registered: format!("{} in {}", launched.role, launched.region),
                            reported: format!("{} in {}", node.role, node.region),
                        });
                    }
                    let node = Node { launched_at: launched.launched_at, ..node };
                    match self.lifecycle.claim_launched(&node, expires).await {
                        Ok(()) => Ok(self.enrolled(node)),
                        Err(StoreError::Conflict) => Err(HeartbeatError::AlreadyEnrolled(node_id.clone())),
                        Err(e) => Err(e.into()),
                    }
                }
                Some(_) => Err(HeartbeatError::AlreadyEnrolled(node_id.clone())),
                None => Err(HeartbeatError::Raced),
            },
            Err(e) => Err(e.into()),
        }
    }

    fn enrolled(&self, node: Node) -> HeartbeatAck {
        tracing::info!(group = %node.group, node = %node.node_id, role = %node.role, region = %node.region, "node enrolled");
        let node_token = Some(self.credentials.node_token(&node.group, &node.node_id));
        HeartbeatAck { node, node_token, interval: self.settings.interval }
    }
}
