//! A media node as the control plane sees it: its place in the fleet, its
//! life-cycle state and the load it last reported.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::group::Role;
use crate::names::{GroupName, NodeId, Region, Zone};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub group: GroupName,
    pub node_id: NodeId,
    pub role: Role,
    pub region: Region,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<Zone>,
    pub state: NodeState,
    /// Cordoned nodes keep their sessions but receive no new ones.
    #[serde(default)]
    pub cordoned: bool,
    /// The host clients connect to (public DNS name or IP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Port per protocol (`rtmp`, `webrtc`, `hls`, `srt`, …).
    #[serde(default)]
    pub ports: BTreeMap<String, u16>,
    #[serde(default)]
    pub load: NodeLoad,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub state_since: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_heartbeat_at: Option<OffsetDateTime>,
}

/// Where a node is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum NodeState {
    /// Launched, not yet heard from.
    Pending,
    /// Heart-beating and eligible for sessions.
    InService,
    /// Keeps its sessions, receives no new ones, leaves once empty.
    Draining,
    /// Being removed from the fleet.
    Terminating,
    /// Never sent a first heartbeat within its warm-up.
    Failed,
    /// Stopped heart-beating while in service.
    Dead,
}

/// What a node last reported about its load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeLoad {
    pub publishers: u32,
    pub subscribers: u32,
    pub streams: u32,
    pub cpu_pct: f32,
    pub bandwidth_kbps: u64,
    /// The node's own idea of its capacity, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

impl NodeLoad {
    pub fn sessions(&self) -> u32 {
        self.publishers.saturating_add(self.subscribers)
    }
}
