//! What the scaler decides, each decision with its reason and the numbers
//! behind it: the decision log shows exactly these.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::group::Role;
use crate::hooks::{HookKind, HookResult, InterruptionKind};
use crate::names::{GroupName, NodeId, Region};
use crate::node::DrainCause;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Action {
    /// Start `count` nodes of a role in a region.
    Launch { role: Role, region: Region, count: u32 },
    /// Take back a node the scaler was draining, before launching anew.
    Readmit { node: NodeId },
    /// Route no new sessions to a node; it leaves once empty.
    Drain { node: NodeId, cause: DrainCause },
    /// Remove a node from the fleet. `forced` when it still had sessions
    /// at its drain deadline.
    Terminate { node: NodeId, forced: bool },
    /// An in-service node stopped heart-beating, and the cloud says its
    /// instance is unhealthy, or its last report held no session, or its
    /// fault deadline passed (`forced` on the `terminate` that follows).
    MarkDead { node: NodeId },
    /// The cloud's group of a role in a region could not be brought in line
    /// (or listed): nothing is decided there this tick; the next retries.
    SyncFailed,
    /// A role's group in a region the cloud failed on is in line again
    /// (after `ticks` failed ticks).
    SyncRecovered { ticks: u32 },
    /// Many nodes of a role in a region went silent together (`silent` of
    /// `of`): taken for a fault of the network or of the heartbeat path, not
    /// of the nodes; none is marked dead or terminated for its silence.
    MassSilence { silent: u32, of: u32 },
    /// Of `asked` nodes asked of the cloud, only `came` were listed within
    /// the role's warm-up and the launch grace: the cloud cannot start them
    /// (capacity, a quota, a bad image or template). Said once per batch.
    LaunchFailed { role: Role, region: Region, asked: u32, came: u32 },
    /// A launched node never sent a first heartbeat.
    MarkFailed { node: NodeId },
    /// Drop the row of a node that is gone.
    Forget { node: NodeId },
    /// List an instance the cloud runs for the group but the table did not.
    Adopt { node: NodeId },
    /// The group was being deleted and has no node left.
    DeleteGroup,
    /// The cloud waits on streamfleet before it launches or terminates the
    /// node (a lifecycle hook); a terminating node is cordoned and drains.
    Hold { node: NodeId, kind: HookKind },
    /// streamfleet answered a held lifecycle action. `forced` when the node
    /// still had sessions (its drain deadline, or AWS's global timeout, came).
    Answer { node: NodeId, kind: HookKind, result: HookResult, forced: bool },
    /// The cloud warned the node may vanish soon: it gets no new sessions,
    /// and an in-service one is drained (its viewers get room at once).
    Cordon { node: NodeId, kind: InterruptionKind },
    /// An operator cordoned (`cordoned`) or uncordoned a node.
    SetCordon { node: NodeId, cordoned: bool },
    /// An operator asked for `asked` nodes of a role in a region and the
    /// role's max leaves no room for any.
    LaunchDeclined { role: Role, region: Region, asked: u32 },
    /// Scaling was paused for the group (`scalingPaused`): nothing is
    /// launched, scaled in or terminated on the scaler's own account.
    ScalingPaused,
    /// Scaling resumed after `secs` paused.
    ScalingResumed { secs: u64 },
}

/// Who took a decision: the scaler on its own, or an operator (through the
/// API, the CLI or the console).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Decider {
    #[default]
    Scaler,
    Operator,
}

impl Decider {
    fn is_scaler(&self) -> bool {
        *self == Decider::Scaler
    }
}

/// The figures of one role in one region when the decision was taken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Numbers {
    /// In service, uncordoned, fresh.
    pub serving: u32,
    /// Launched, still inside their warm-up: capacity to come.
    pub warming: u32,
    pub draining: u32,
    pub sessions: u64,
    pub capacity: u64,
    /// sessions / capacity, in percent.
    pub load_pct: u32,
    /// Lookups refused for want of room since the last tick.
    pub pressure: u32,
    pub min: u32,
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// Why, in words.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numbers: Option<Numbers>,
    /// `operator` for an operator's decision; absent for the scaler's own.
    #[serde(default, skip_serializing_if = "Decider::is_scaler")]
    pub by: Decider,
}

/// A decision as the log keeps it: when, and how carrying it out went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: time::OffsetDateTime,
    #[serde(flatten)]
    pub decision: Decision,
    /// `done`, or what went wrong (the next tick retries).
    pub outcome: String,
}

/// The `source` of the events decisions are published as.
pub const EVENT_SOURCE: &str = "streamfleet";
/// Their `detail-type`.
pub const EVENT_DETAIL_TYPE: &str = "Scaling Decision";

/// A decision as an event's `detail`: the record, and the group it is of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionEvent<'a> {
    pub group: &'a GroupName,
    #[serde(flatten)]
    pub record: &'a DecisionRecord,
}
