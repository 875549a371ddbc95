//! Response bodies.

use serde::Serialize;
use streamfleet_core::group::{GroupStatus, NodeGroup, NodeGroupSpec};
use streamfleet_core::node::Node;
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
