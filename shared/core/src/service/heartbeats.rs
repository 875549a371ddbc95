//! Recording node heartbeats: the hot path every media node calls every few
//! seconds. One conditional write per heartbeat; enrollment on first contact.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::admission::AdmissionKey;
use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::credentials::{fresh_nonce, NodeCredential, NodeCredentials};
use crate::group::{GroupStatus, NodeGroup};
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
    #[error(
        "node {node} is not an instance that {group} launched (it may be starting: its launch is \
         listed within a scaler tick); a group enrolls nodes it did not launch only with selfManagedNodes"
    )]
    NotLaunched { group: GroupName, node: NodeId },
    #[error("node {0} is registered in another node group")]
    RegisteredElsewhere(NodeId),
    #[error(
        "this node token was revoked: the node was forgotten or enrolled again; enroll with the group's key"
    )]
    Revoked,
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
    /// What the node admits its clients on.
    pub admission: Admission,
    /// The most sessions the node may hold: its own figure within its
    /// role's (`None` when the group could not be read). Its agent refuses
    /// clients past it, whoever sent them.
    pub capacity: Option<u32>,
}

/// What a node's agent holds its media server's clients to.
#[derive(Debug, Clone, Default)]
pub enum Admission {
    /// The group requires no tokens.
    Open,
    /// The group requires tokens: this node checks them with its key.
    Tokens(AdmissionKey),
    /// The group could not be read: the node keeps what it last learned
    /// (never fails open on a store error).
    #[default]
    Unknown,
}

#[derive(Clone)]
pub struct Heartbeats {
    groups: Arc<dyn GroupStore>,
    nodes: Arc<dyn NodeStore>,
    lifecycle: Arc<dyn NodeLifecycleStore>,
    clock: Arc<dyn Clock>,
    credentials: NodeCredentials,
    settings: HeartbeatSettings,
    /// Each group's spec, for what its nodes admit: read at most once a
    /// `SPEC_CACHE_TTL` per warm instance (a heartbeat otherwise reads no
    /// group).
    specs: Arc<TtlCache<GroupName, Option<Arc<NodeGroup>>>>,
}

/// How soon nodes learn that their group started or stopped requiring
/// admission tokens (or changed their role's capacity), beyond their next
/// heartbeat.
const SPEC_CACHE_TTL: Duration = Duration::from_secs(10);

impl Heartbeats {
    pub fn new(
        groups: Arc<dyn GroupStore>,
        nodes: Arc<dyn NodeStore>,
        lifecycle: Arc<dyn NodeLifecycleStore>,
        clock: Arc<dyn Clock>,
        credentials: NodeCredentials,
        settings: HeartbeatSettings,
    ) -> Self {
        let specs = Arc::new(TtlCache::new(SPEC_CACHE_TTL));
        Self { groups, nodes, lifecycle, clock, credentials, settings, specs }
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
        let mut ack = match proof {
            NodeCredential::Node { nonce } => self.record(group, node, &nonce, &report, now).await,
            NodeCredential::Enrollment { incarnation, generation } => {
                self.enroll(group, node, report, (&incarnation, generation), now).await
            }
        }?;
        let spec = self
            .specs
            .get_or_load(group, now, async { Ok::<_, StoreError>(self.groups.get_group(group).await?.map(Arc::new)) })
            .await
            .inspect_err(|e| tracing::warn!(group = %group, error = %e, "the group could not be read for what its node admits"));
        // A group deleted meanwhile (its nodes are being let go), or a
        // failed read: the node keeps what it last learned.
        if let Ok(Some(spec)) = spec {
            ack.admission = if spec.spec.require_admission_tokens {
                Admission::Tokens(self.credentials.admission_key(group, node))
            } else {
                Admission::Open
            };
            let role_capacity = spec.spec.roles.get(&ack.node.role).map(|r| r.launch.connection_capacity);
            ack.capacity = role_capacity.map(|role| ack.node.load.capacity_within(role));
        }
        Ok(ack)
    }

    async fn record(
        &self,
        group: &GroupName,
        node: &NodeId,
        nonce: &str,
        report: &HeartbeatReport,
        now: OffsetDateTime,
    ) -> Result<HeartbeatAck, HeartbeatError> {
        let expires = now + self.settings.item_ttl;
        let mut stored = match self.nodes.record_heartbeat(group, node, nonce, report, now, expires).await {
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
        Ok(HeartbeatAck {
            node: stored,
            node_token: None,
            interval: self.settings.interval,
            admission: Admission::Unknown,
            capacity: None,
        })
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
        // In milliseconds, as the write's condition compares them.
        let millis = |at: OffsetDateTime| at.unix_timestamp_nanos() / 1_000_000;
        if stored.last_sent_at.is_some_and(|last| millis(last) >= millis(report.sent_at)) {
            return HeartbeatError::Replayed;
        }
        // Every other condition of the write holds on the row as read since:
        // what failed is the token's nonce.
        HeartbeatError::Revoked
    }

    async fn enroll(
        &self,
        group_name: &GroupName,
        node_id: &NodeId,
        report: HeartbeatReport,
        (incarnation, generation): (&str, u32),
        now: OffsetDateTime,
    ) -> Result<HeartbeatAck, HeartbeatError> {
        let group = self
            .groups
            .get_group(group_name)
            .await?
            .ok_or_else(|| HeartbeatError::GroupNotFound(group_name.clone()))?;
        if group.incarnation != incarnation || group.enroll_generation != generation {
            return Err(HeartbeatError::StaleEnrollmentKey);
        }
        if group.status == GroupStatus::Deleting {
            return Err(HeartbeatError::GroupDeleting(group_name.clone()));
        }
        enrollment_rules(&group, &report)?;
        let node = Node {
            group: group_name.clone(),
            node_id: node_id.clone(),
            role: report.role,
            region: report.region.clone(),
            zone: report.zone.clone(),
            state: NodeState::InService,
            cordoned: false,
            hold: None,
            drain_cause: None,
            host: Some(report.host.clone()),
            endpoints: report.endpoints.clone().unwrap_or_default(),
            streams: report.streams.clone(),
            load: report.load(),
            seats_taken: 0,
            seats_carried: 0,
            state_since: now,
            launched_at: None,
            last_heartbeat_at: Some(now),
            last_sent_at: Some(report.sent_at),
        };
        let expires = now + self.settings.item_ttl;
        let nonce = fresh_nonce();
        if group.spec.self_managed_nodes {
            match self.nodes.locate(node_id).await? {
                Some(elsewhere) if &elsewhere != group_name => {
                    return Err(HeartbeatError::RegisteredElsewhere(node_id.clone()))
                }
                _ => {}
            }
            match self.nodes.register_node(&node, generation, &nonce, expires).await {
                Ok(()) => return Ok(self.enrolled(node, &nonce)),
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        // A node the group's cloud launched: its row waits, pending, for
        // this first report. Without one, the node is not the group's. An
        // enrolled row whose token never reported may be claimed again by
        // a newer report (the store checks which): the node never got the
        // answer to its enrollment and asks again.
        let claimable = |row: &Node| {
            (row.state == NodeState::Pending && row.last_sent_at.is_none())
                || (row.state == NodeState::InService && row.launched_at.is_some())
        };
        match self.nodes.get_node(group_name, node_id).await? {
            Some(launched) if claimable(&launched) => {
                if launched.role != node.role || launched.region != node.region {
                    return Err(HeartbeatError::Mismatch {
                        field: "role or region",
                        registered: format!("{} in {}", launched.role, launched.region),
                        reported: format!("{} in {}", node.role, node.region),
                    });
                }
                let node = Node { launched_at: launched.launched_at, ..node };
                match self.lifecycle.claim_launched(&node, &nonce, expires).await {
                    Ok(()) => Ok(self.enrolled(node, &nonce)),
                    Err(StoreError::Conflict) => Err(HeartbeatError::AlreadyEnrolled(node_id.clone())),
                    Err(e) => Err(e.into()),
                }
            }
            Some(_) => Err(HeartbeatError::AlreadyEnrolled(node_id.clone())),
            None if group.spec.self_managed_nodes => Err(HeartbeatError::Raced),
            None => Err(HeartbeatError::NotLaunched { group: group_name.clone(), node: node_id.clone() }),
        }
    }

    fn enrolled(&self, node: Node, nonce: &str) -> HeartbeatAck {
        tracing::info!(group = %node.group, node = %node.node_id, role = %node.role, region = %node.region, "node enrolled");
        let node_token = Some(self.credentials.node_token(&node.group, &node.node_id, nonce));
        HeartbeatAck {
            node,
            node_token,
            interval: self.settings.interval,
            admission: Admission::Unknown,
            capacity: None,
        }
    }
}

/// What a first report must say to join `group`: a role, region and zone
/// the group has, where clients reach it, and no more room than its role
/// launches with (a node cannot attract more viewers by saying it is big).
fn enrollment_rules(group: &NodeGroup, report: &HeartbeatReport) -> Result<(), InvalidInput> {
    let name = group.name();
    let mut v = Violations::default();
    let role = group.spec.roles.get(&report.role);
    v.check(
        role.is_some(),
        || "role".into(),
        "role_in_group",
        || format!("node group {name} has no {} role", report.role),
    );
    let region = group.spec.regions.iter().find(|r| r.region == report.region);
    v.check(
        region.is_some(),
        || "region".into(),
        "region_in_group",
        || format!("node group {name} does not run in {}", report.region),
    );
    if let (Some(region), Some(zone)) = (region, &report.zone) {
        v.check(
            region.zones.is_empty() || region.zones.contains(zone),
            || "zone".into(),
            "zone_in_group",
            || format!("node group {name} does not use zone {zone}"),
        );
    }
    if let (Some(role), Some(capacity)) = (role, report.capacity) {
        let most = role.launch.connection_capacity;
        v.check(
            capacity <= most,
            || "capacity".into(),
            "within_role",
            || format!("at most the {} role's connectionCapacity, {most}", report.role),
        );
    }
    v.check(
        report.endpoints.as_ref().is_some_and(|e| !e.is_empty()),
        || "endpoints".into(),
        "required",
        || "a node's first heartbeat says where clients reach it (endpoints)".into(),
    );
    v.into_result()
}
