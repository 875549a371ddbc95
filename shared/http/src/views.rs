//! Response bodies.

use serde::Serialize;
use streamfleet_core::group::{GroupStatus, NodeGroup, NodeGroupSpec};
use streamfleet_core::node::Node;
use streamfleet_core::scaling::GroupHealth;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A node group as the API shows it: the spec and the system's fields.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroupView {
    #[serde(flatten)]
    pub spec: NodeGroupSpec,
    /// Also sent as the ETag; send it back in If-Match to update.
    pub version: u64,
    pub status: GroupStatus,
    pub node_count: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// How the scaler and the cloud are doing for the group: on reads (one
    /// group, and the list), not on the answers to writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<GroupHealth>,
}

impl NodeGroupView {
    pub fn with_health(group: NodeGroup, health: GroupHealth) -> Self {
        Self { health: Some(health), ..Self::from(group) }
    }
}

impl From<NodeGroup> for NodeGroupView {
    fn from(group: NodeGroup) -> Self {
        Self {
            spec: group.spec,
            version: group.version,
            status: group.status,
            node_count: group.node_count,
            created_at: group.created_at,
            updated_at: group.updated_at,
            health: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroupPage {
    pub items: Vec<NodeGroupView>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePage {
    pub items: Vec<Node>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the function answers.
    pub status: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentKeyView {
    /// Give it to new nodes (user data, SSM): it lets a node enroll itself.
    pub enrollment_key: String,
    pub generation: u32,
}

/// The answer to a heartbeat: what the node should do now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatAnswer {
    pub node_id: String,
    /// `draining` means: refuse new sessions, keep the current ones.
    pub state: streamfleet_core::node::NodeState,
    pub cordoned: bool,
    /// Report again after this many seconds.
    pub heartbeat_interval_secs: u64,
    /// Sent once, when this heartbeat enrolled the node: its credential from
    /// now on (the enrollment key no longer works for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_token: Option<String>,
    /// Whether the node's group requires admission tokens of its clients;
    /// absent when it could not be told (keep what you last learned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admission_required: Option<bool>,
    /// When required: the key this node checks its clients' tokens with
    /// (base64url). A secret: keep it out of logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admission_key: Option<String>,
    /// The most sessions this node may hold (its own figure within its
    /// role's): refuse clients past it, whoever sent them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

/// Where to connect for a stream.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LookupAnswer {
    pub group: String,
    pub app: String,
    pub stream: String,
    pub node_id: String,
    pub role: streamfleet_core::group::Role,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The node's host (DNS name or IP).
    pub server_address: String,
    /// A URL per protocol the node serves (`rtmp`, `webrtc`, `hls`, `srt`, …),
    /// each carrying `token` in its query when there is one.
    pub urls: std::collections::BTreeMap<String, String>,
    /// The admission token to present to the node (`?token=`), when the
    /// group requires them; it admits this action on this stream at this
    /// node for two minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<streamfleet_core::service::Placement> for LookupAnswer {
    fn from(placement: streamfleet_core::service::Placement) -> Self {
        let urls = placement.urls();
        let node = placement.node;
        Self {
            urls,
            token: placement.token,
            group: placement.group.to_string(),
            app: placement.stream.app.to_string(),
            stream: placement.stream.stream.to_string(),
            node_id: node.node_id.to_string(),
            role: node.role,
            region: node.region.to_string(),
            zone: node.zone.map(|z| z.to_string()),
            server_address: node.host.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionPage {
    pub items: Vec<streamfleet_core::scaling::DecisionRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
