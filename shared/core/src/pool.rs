//! The simulated cloud's provision pool: hosts an operator registered, which
//! the scaler takes for new nodes and gives back when it removes them (the
//! "Simulated Cloud" of Red5 Pro's stream manager).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::group::Role;
use crate::names::{GroupName, NodeId, Region};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolHost {
    /// Becomes the node id when the host serves a group.
    pub host_id: NodeId,
    pub region: Region,
    /// Where clients reach it (DNS name or IP).
    pub address: String,
    pub state: HostState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum HostState {
    /// Free for the scaler to take.
    Available,
    /// Serving a group.
    InUse,
    /// An operator terminated it; it waits on the group's lifecycle hook
    /// (EC2's `Terminating:Wait`) until its sessions end.
    Terminating,
    /// Died while serving and was not recycled; an operator resets it.
    Terminated,
}

/// A host as an operator registers it.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewHost {
    pub host_id: NodeId,
    pub region: Region,
    pub address: String,
}
