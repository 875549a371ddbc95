//! A media node as the control plane sees it: its place in the fleet, its
//! life-cycle state, where clients reach it, and the load it last reported.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::group::Role;
use crate::hooks::LifecycleHold;
use crate::names::{AppName, GroupName, NodeId, Region, StreamKey, StreamName, Zone};

/// The endpoint names (`endpoints` in heartbeats) that streamfleet
/// redirects clients to; their templates must be http(s) URLs.
pub mod protocols {
    pub const WHIP: &str = "whip";
    pub const WHEP: &str = "whep";
    pub const HLS: &str = "hls";
    /// Followed by clients as HTTP redirects.
    pub const REDIRECTED: [&str; 3] = [WHIP, WHEP, HLS];
}

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
    /// Why a draining node drains: only the scaler's own drains are undone
    /// when load comes back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_cause: Option<DrainCause>,
    /// A lifecycle action of the cloud this node holds (launch or terminate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<LifecycleHold>,
    /// The host clients connect to (public DNS name or IP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// URL template per protocol, with `{host}`, `{app}` and `{stream}`
    /// placeholders, e.g. `rtmp` → `rtmp://{host}:1935/{app}/{stream}`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// The streams the node holds now (published on an origin, pulled on an edge).
    #[serde(default)]
    pub streams: Vec<StreamKey>,
    #[serde(default)]
    pub load: NodeLoad,
    /// Sessions that lookups placed on the node since its last report (each
    /// report starts the count again): what its room is measured against.
    #[serde(default)]
    pub seats_taken: u32,
    /// Seats taken against the report before: viewers that may still be on
    /// their way and so missing from the last report. They count against
    /// this report's room too (`seats::room`).
    #[serde(default)]
    pub seats_carried: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub state_since: OffsetDateTime,
    /// When the fleet launched the node (absent for nodes that enrolled on their own).
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub launched_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_heartbeat_at: Option<OffsetDateTime>,
    /// The node's own timestamp of its last accepted heartbeat: a heartbeat
    /// not newer than this is a replay.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_sent_at: Option<OffsetDateTime>,
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
    /// Launched into its Auto Scaling group's warm pool: initialising, then
    /// stopped there until a scale-out brings it into service (as a new
    /// launch). Neither serving nor counted as capacity.
    Pooling,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Pending => "pending",
            NodeState::InService => "inService",
            NodeState::Draining => "draining",
            NodeState::Terminating => "terminating",
            NodeState::Failed => "failed",
            NodeState::Dead => "dead",
            NodeState::Pooling => "pooling",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DrainCause {
    /// The scaler chose it to scale in.
    ScaleIn,
    /// Its group is being deleted.
    GroupDeletion,
    /// EC2 Auto Scaling is terminating it (a lifecycle hook holds it).
    Lifecycle,
    /// An operator drained it.
    Operator,
    /// EC2 warned the instance is at risk (a Spot interruption warning, a
    /// rebalance recommendation): its viewers need room elsewhere soon.
    Interruption,
}

/// What a node last reported about its load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeLoad {
    pub publishers: u32,
    pub subscribers: u32,
    pub cpu_pct: f32,
    pub bandwidth_kbps: u64,
    /// The node's own idea of its capacity, when it has one; otherwise the
    /// role's `connectionCapacity` applies. Never more than that: see
    /// `capacity_within`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// The node could not read its media server: no new sessions.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub degraded: bool,
}

impl NodeLoad {
    pub fn sessions(&self) -> u32 {
        self.publishers.saturating_add(self.subscribers)
    }

    /// The room the node counts for, given its role's `connectionCapacity`:
    /// its own figure when it reports a smaller one, never a bigger one (a
    /// node saying it is huge would draw every viewer and make the scaler
    /// scale in the real nodes).
    pub fn capacity_within(&self, role_capacity: u32) -> u32 {
        self.capacity.map_or(role_capacity, |own| own.min(role_capacity))
    }
}

impl Node {
    /// What its last report held, and the seats lookups handed out since (and
    /// carried): viewers sent to a node after an empty report are viewers too.
    pub fn held_or_coming(&self) -> u32 {
        self.load.sessions().saturating_add(self.seats_taken).saturating_add(self.seats_carried)
    }

    /// Whether the group's cloud runs this node: it launched it (or listed
    /// it), or the node holds one of its lifecycle actions. Otherwise the
    /// node enrolled on its own, a self-managed host.
    pub fn is_cloud_owned(&self) -> bool {
        self.launched_at.is_some() || self.hold.is_some()
    }

    /// Whether the node may receive new sessions at `now`: in service, not
    /// cordoned, and heard from within `stale_after`.
    pub fn is_available(&self, now: OffsetDateTime, stale_after: Duration) -> bool {
        self.is_available_since(now - stale_after)
    }

    /// The same, with the cut-off instant computed once by a caller that
    /// checks many nodes.
    pub fn is_available_since(&self, heard_since: OffsetDateTime) -> bool {
        self.state == NodeState::InService
            && !self.cordoned
            && !self.load.degraded
            && self.last_heartbeat_at.is_some_and(|at| at >= heard_since)
    }

    pub fn is_fresh(&self, now: OffsetDateTime, stale_after: Duration) -> bool {
        self.last_heartbeat_at.is_some_and(|at| now - at <= stale_after)
    }

    pub fn holds(&self, app: &AppName, stream: &StreamName) -> bool {
        self.streams.iter().any(|key| &key.app == app && &key.stream == stream)
    }

    /// Whether the node reports an endpoint for `protocol` (any node, for
    /// `None`): a node is never chosen for a protocol it does not serve.
    pub fn serves(&self, protocol: Option<&str>) -> bool {
        protocol.is_none_or(|protocol| self.endpoints.contains_key(protocol))
    }

    /// The node's URLs for one stream, from its endpoint templates.
    pub fn urls(&self, app: &AppName, stream: &StreamName) -> BTreeMap<String, String> {
        self.endpoints
            .iter()
            .map(|(protocol, template)| (protocol.clone(), self.expand(template, app, stream)))
            .collect()
    }

    /// The node's URL for one stream over `protocol`, if it serves it.
    pub fn url(&self, protocol: &str, app: &AppName, stream: &StreamName) -> Option<String> {
        self.endpoints.get(protocol).map(|template| self.expand(template, app, stream))
    }

    /// A template with `{host}`, `{app}` and `{stream}` filled in: all three
    /// validated names, so nothing a caller sends can change the URL's shape.
    fn expand(&self, template: &str, app: &AppName, stream: &StreamName) -> String {
        template
            .replace("{host}", self.host.as_deref().unwrap_or_default())
            .replace("{app}", app.as_str())
            .replace("{stream}", stream.as_str())
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// An in-service edge in eu-west-1, heard from at `at`.
    pub fn node(id: &str, at: OffsetDateTime) -> Node {
        Node {
            group: GroupName::parse("live").unwrap(),
            node_id: NodeId::parse(id).unwrap(),
            role: Role::Edge,
            region: Region::parse("eu-west-1").unwrap(),
            zone: None,
            state: NodeState::InService,
            cordoned: false,
            drain_cause: None,
            hold: None,
            host: Some("203.0.113.7".into()),
            endpoints: BTreeMap::from([("rtmp".into(), "rtmp://{host}:1935/{app}/{stream}".into())]),
            streams: vec![],
            load: NodeLoad::default(),
            seats_taken: 0,
            seats_carried: 0,
            state_since: at,
            launched_at: None,
            last_heartbeat_at: Some(at),
            last_sent_at: Some(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::fixtures::node;
    use super::*;

    const STALE: Duration = Duration::from_secs(15);

    #[test]
    fn only_fresh_uncordoned_in_service_nodes_are_available() {
        let now = datetime!(2026-11-21 06:00 UTC);
        assert!(node("a", now).is_available(now, STALE));
        assert!(!node("a", now - Duration::from_secs(16)).is_available(now, STALE), "stale");
        let mut cordoned = node("a", now);
        cordoned.cordoned = true;
        assert!(!cordoned.is_available(now, STALE));
        let mut draining = node("a", now);
        draining.state = NodeState::Draining;
        assert!(!draining.is_available(now, STALE));
        let mut silent = node("a", now);
        silent.last_heartbeat_at = None;
        assert!(!silent.is_available(now, STALE));
        let mut degraded = node("a", now);
        degraded.load.degraded = true;
        assert!(!degraded.is_available(now, STALE), "its figures are stale");
    }

    #[test]
    fn urls_fill_the_templates() {
        let n = node("a", datetime!(2026-11-21 06:00 UTC));
        let urls = n.urls(&AppName::parse("live").unwrap(), &StreamName::parse("cam1").unwrap());
        assert_eq!(urls["rtmp"], "rtmp://203.0.113.7:1935/live/cam1");
    }
}
