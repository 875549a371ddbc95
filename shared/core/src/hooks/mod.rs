//! EC2 Auto Scaling lifecycle hooks (and their simulated-cloud twin): the
//! cloud asks before it finishes launching or terminating an instance, and
//! streamfleet answers once the node is in service, or once its last
//! session left. What a held action looks like on a node, and the events
//! that start one.

mod steps;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::group::{Cloud, Role};
use crate::names::{GroupName, NodeId, Region};

pub use steps::{global_timeout, next_step, HoldContext, HoldStep};

/// What streamfleet creates on AWS (Auto Scaling groups, launch templates,
/// lifecycle hooks) is named with this prefix: the deployment templates
/// grant writes and route lifecycle events by it.
pub const OWNED_PREFIX: &str = "sf-";

/// The tag streamfleet puts on what it creates: the node group's name.
pub const GROUP_TAG: &str = "streamfleet:group";

/// AWS bounds on a hook's heartbeat timeout.
pub const MIN_HEARTBEAT_TIMEOUT_SECS: u32 = 30;
pub const MAX_HEARTBEAT_TIMEOUT_SECS: u32 = 7200;
/// The hook timeout streamfleet installs and assumes when a hook does not say.
pub const DEFAULT_HEARTBEAT_TIMEOUT_SECS: u32 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookKind {
    Launch,
    Terminate,
}

/// The answer to a held action (`CompleteLifecycleAction`'s result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookResult {
    Continue,
    Abandon,
}

impl HookResult {
    pub fn as_str(self) -> &'static str {
        match self {
            HookResult::Continue => "CONTINUE",
            HookResult::Abandon => "ABANDON",
        }
    }
}

/// What the cloud needs to hear about one waiting action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookAction {
    pub hook: String,
    /// The Auto Scaling group (or `pool` in the simulated cloud).
    pub asg: String,
    pub token: String,
    pub instance: NodeId,
    pub region: Region,
}

/// Which node an action concerns, as the hook's notification metadata says
/// (streamfleet writes it on the hooks it installs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookTarget {
    pub group: GroupName,
    pub role: Role,
    pub region: Region,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_timeout_secs: Option<u32>,
}

/// A lifecycle action streamfleet holds on a node, kept on the node's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleHold {
    pub kind: HookKind,
    pub action: HookAction,
    pub heartbeat_timeout_secs: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: OffsetDateTime,
    /// When the cloud last heard that the action is still held.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub kept_at: OffsetDateTime,
    /// Set once, by whoever claimed the completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<HookResult>,
    /// Completed with sessions left (deadline or global timeout).
    #[serde(default)]
    pub forced: bool,
    /// How the action moves the instance in or out of its group's warm pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_pool: Option<PoolMove>,
    /// When the answer was claimed (a claim not acknowledged a minute later
    /// is sent again).
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub claimed_at: Option<OffsetDateTime>,
    /// When the cloud accepted the completion.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<OffsetDateTime>,
}

impl LifecycleHold {
    pub fn new(kind: HookKind, action: HookAction, heartbeat_timeout_secs: u32, now: OffsetDateTime) -> Self {
        Self {
            kind,
            action,
            heartbeat_timeout_secs: heartbeat_timeout_secs
                .clamp(MIN_HEARTBEAT_TIMEOUT_SECS, MAX_HEARTBEAT_TIMEOUT_SECS),
            received_at: now,
            kept_at: now,
            result: None,
            forced: false,
            warm_pool: None,
            claimed_at: None,
            completed_at: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum InterruptionKind {
    /// EC2 Spot Instance Interruption Warning: gone in two minutes.
    SpotInterruption,
    /// EC2 Instance Rebalance Recommendation: at elevated risk.
    RebalanceRecommendation,
}

/// An action that moves an instance in or out of its Auto Scaling group's
/// warm pool (the event's `Origin` and `Destination`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PoolMove {
    /// A new instance launched into the pool (`EC2` → `WarmPool`): held
    /// while it initialises, then stopped there.
    Entering,
    /// The pool gives an instance to the group (`WarmPool` →
    /// `AutoScalingGroup`): a launch, admitted on its first heartbeat.
    Leaving,
    /// A scale-in returns the instance to the pool (`AutoScalingGroup` →
    /// `WarmPool`, with `reuseOnScaleIn`): held like a termination.
    Returning,
}

/// An event from the cloud about one instance.
#[derive(Debug, Clone, PartialEq)]
pub enum LifecycleEvent {
    /// The cloud waits before terminating the instance (or before
    /// returning it to its warm pool).
    Terminate { cloud: Cloud, action: HookAction, target: Option<HookTarget>, warm_pool: Option<PoolMove> },
    /// The cloud waits before putting an instance in service (or before
    /// stopping a new one in its warm pool).
    Launch { cloud: Cloud, action: HookAction, target: Option<HookTarget>, warm_pool: Option<PoolMove> },
    /// The instance may vanish soon: route nothing new to it.
    Interruption { instance: NodeId, kind: InterruptionKind },
}
