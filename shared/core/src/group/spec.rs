//! What an operator declares about a node group: where it runs, what each
//! role launches, and how each role scales.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::names::{AppName, GroupName, ImageId, InstanceType, Region, Zone};

/// The declared shape of a node group (the body of create and replace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeGroupSpec {
    pub name: GroupName,
    /// Which cloud backend launches this group's nodes.
    #[serde(default)]
    pub cloud: Cloud,
    /// The regions the group runs in (at least one), each with optional zones.
    pub regions: Vec<RegionSpec>,
    /// Launch settings and scale policy per role; `origin` is required.
    #[schema(value_type = BTreeMap<Role, RoleSpec>)]
    pub roles: BTreeMap<Role, RoleSpec>,
    /// Applications whose streams this group serves (each app at most one group).
    #[serde(default)]
    pub apps: Vec<AppName>,
    /// Serves the streams of every app no group declares (at most one group).
    #[serde(default, rename = "default")]
    pub is_default: bool,
    /// Simulated cloud: return a dead node's host to the pool (true) or mark
    /// it terminated for an operator to look at (false).
    #[serde(default = "yes")]
    pub recycle_dead_nodes: bool,
    /// Nodes this group's cloud did not launch may enroll (hosts you run
    /// yourself, outside any Auto Scaling group or provision pool). Off by
    /// default: a node enrolls only as an instance the group launched, so a
    /// leaked key cannot add hosts of its own nor claim another group's.
    /// The scaler never terminates a self-managed node nor drains one to
    /// scale in; a silent one is only forgotten.
    #[serde(default)]
    pub self_managed_nodes: bool,
    /// Scaling is paused (like Red5's `isScalingPaused`): the scaler
    /// launches, scales in and terminates nothing on its own, and still
    /// settles lifecycle holds, marks silent nodes, and carries out an
    /// operator's launches and drains.
    #[serde(default)]
    pub scaling_paused: bool,
    /// Clients must present an admission token to the node: every lookup
    /// and redirect answer carries one, bound to the node, the stream and
    /// the action, and the nodes' agents check it (`admission`).
    #[serde(default)]
    pub require_admission_tokens: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// EC2 Auto Scaling groups, one per (node group, role, region).
    #[default]
    Aws,
    /// A provision pool of operator-registered hosts.
    Simulated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegionSpec {
    pub region: Region,
    /// Availability zones to use; empty means all zones of the region.
    #[serde(default)]
    pub zones: Vec<Zone>,
}

/// What a node does in the fleet.
// Decoded through a string so that, as a map key, an unknown role is
// reported with its own name in the field path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Role {
    /// Receives publishers' streams.
    Origin,
    /// Serves viewers, pulling streams from origins.
    Edge,
    /// Fans streams out between origins and edges.
    Relay,
    /// Produces renditions of streams.
    Transcoder,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Origin => "origin",
            Role::Edge => "edge",
            Role::Relay => "relay",
            Role::Transcoder => "transcoder",
        }
    }
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Origin, Role::Edge, Role::Relay, Role::Transcoder];
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Role::ALL.into_iter().find(|role| role.as_str() == name).ok_or_else(|| {
            format!("unknown variant `{name}`, expected one of `origin`, `edge`, `relay`, `transcoder`")
        })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSpec {
    pub launch: LaunchSettings,
    #[serde(default)]
    pub scale: ScalePolicy,
    /// Instances kept initialised and stopped beside each of the role's
    /// Auto Scaling groups, brought into service in seconds (EC2 Auto
    /// Scaling warm pools; AWS groups only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_pool: Option<WarmPool>,
}

/// An EC2 Auto Scaling warm pool (`PutWarmPool`): instances launched and
/// initialised ahead of need, then kept `state` until a scale-out takes
/// them. Its size is `maxPreparedCapacity` (default: the role's `max`) less
/// the group's desired capacity, and at least `minSize`. Stopped instances
/// cost their EBS volumes only; running ones cost in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WarmPool {
    #[serde(default)]
    #[schema(maximum = 1000)]
    pub min_size: u32,
    /// Instances in the pool and the group together; `None`: the role's
    /// `max` (AWS's own default, the ASG's max size, is twice that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 2000)]
    pub max_prepared_capacity: Option<u32>,
    #[serde(default)]
    pub state: WarmPoolState,
    /// Instances the group scales in go back to the pool (stopped) rather
    /// than being terminated; a held scale-in waits for its sessions first.
    #[serde(default)]
    pub reuse_on_scale_in: bool,
    /// How long an instance entering the pool is given to initialise (its
    /// first boot, user data) before the cloud stops it there. Not the
    /// role's `warmupSecs`, which is the time a node takes to serve: with
    /// a pool, the time a pooled node takes.
    #[serde(default = "default_init_secs")]
    #[schema(maximum = 3600)]
    pub init_secs: u32,
}

fn default_init_secs() -> u32 {
    DEFAULT_POOL_INIT_SECS
}

/// A cold instance's first boot, as the role's default warm-up assumes.
pub const DEFAULT_POOL_INIT_SECS: u32 = 120;

/// The state of a warm pool's instances between initialisation and service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum WarmPoolState {
    /// Cheapest (EBS only); about half a minute to serve.
    #[default]
    Stopped,
    /// Memory kept on disk: faster than stopped, same cost; needs an
    /// instance type and AMI that support hibernation.
    Hibernated,
    /// Running instances: fastest, billed in full.
    Running,
}

impl WarmPoolState {
    /// As `PutWarmPool`'s `PoolState` spells it.
    pub fn as_aws(self) -> &'static str {
        match self {
            WarmPoolState::Stopped => "Stopped",
            WarmPoolState::Hibernated => "Hibernated",
            WarmPoolState::Running => "Running",
        }
    }
}

/// How to start one node of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LaunchSettings {
    pub instance_type: InstanceType,
    /// The AMI to launch; exclusive with `launchTemplate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<ImageId>,
    /// An existing EC2 launch template; exclusive with `imageId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template: Option<LaunchTemplateRef>,
    /// Sessions (publishers + subscribers) one node of this role can carry.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub connection_capacity: u32,
}

/// A reference to an EC2 launch template, by id or by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LaunchTemplateRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^lt-[0-9a-f]{8,17}$")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[a-zA-Z0-9().\-/_]{3,128}$")]
    pub name: Option<String>,
    /// `$Latest`, `$Default` or a version number; `$Default` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// When and how far a role scales. Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ScalePolicy {
    /// Fewest nodes per region.
    #[schema(minimum = 0, maximum = 1000)]
    pub min: u32,
    /// Most nodes per region.
    #[schema(minimum = 1, maximum = 1000)]
    pub max: u32,
    /// Nodes added per scale-out at least (more when the expected demand
    /// needs more); scale-in drains as many as leave the rest mid-band.
    #[schema(minimum = 1, maximum = 100)]
    pub step: u32,
    /// Scale out when load, or the demand expected within the warm-up,
    /// reaches this % of capacity (85 by default: `streamfleet simulate`
    /// shows why).
    #[schema(minimum = 1, maximum = 100, default = 85)]
    pub scale_out_threshold_pct: u8,
    /// Scale in when load is below this % of capacity (below the scale-out one).
    #[schema(minimum = 1, maximum = 100, default = 70)]
    pub scale_in_threshold_pct: u8,
    #[schema(maximum = 86400, default = 60)]
    pub scale_out_cooldown_secs: u32,
    #[schema(maximum = 86400, default = 300)]
    pub scale_in_cooldown_secs: u32,
    /// How long a new node takes to serve, counted as capacity to come.
    #[schema(maximum = 3600, default = 120)]
    pub warmup_secs: u32,
    /// How long a draining node may keep sessions before it is removed anyway.
    #[schema(minimum = 60, maximum = 172800, default = 21600)]
    pub drain_deadline_secs: u32,
    /// How long a node that stopped reporting, with sessions in its last
    /// report, is kept before it is terminated anyway. Silence alone is not
    /// death: the network or the heartbeat path may have failed while the
    /// node still serves (it gets no new sessions meanwhile, and its
    /// capacity is replaced). The cloud's own verdict (the instance gone or
    /// unhealthy) ends the wait at once.
    #[schema(minimum = 60, maximum = 86400, default = 600)]
    pub fault_deadline_secs: u32,
    /// Free seats kept in service in each region whatever the load (as
    /// Agones keeps a buffer of ready servers): room for a crowd's first
    /// seconds, before any node ordered for it can serve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer: Option<SeatBuffer>,
    /// Higher minimums and buffers for known busy windows (UTC), e.g.
    /// weekday evenings or a match.
    pub schedules: Vec<ScheduledMinimum>,
}

/// Free seats to keep: at least `seats`, and at least `pct` % of the
/// capacity in service (with what is warming up); the larger wins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SeatBuffer {
    #[schema(maximum = 1_000_000)]
    pub seats: u32,
    #[schema(maximum = 90)]
    pub pct: u8,
}

/// "Weekdays 18:00–23:00 UTC: at least 10 nodes." A window whose end is
/// before its start runs past midnight into the next day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduledMinimum {
    /// Days the window starts on; empty means every day.
    #[serde(default)]
    pub days: Vec<Weekday>,
    /// `HH:MM`, UTC.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub from: String,
    /// `HH:MM`, UTC.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub to: String,
    /// Nodes per region while the window is open (0: the role's own).
    #[serde(default)]
    pub min: u32,
    /// Free seats kept while the window is open, if more than the role's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer: Option<SeatBuffer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Default for ScalePolicy {
    fn default() -> Self {
        Self {
            min: 1,
            max: 10,
            step: 1,
            scale_out_threshold_pct: 85,
            scale_in_threshold_pct: 70,
            scale_out_cooldown_secs: 60,
            scale_in_cooldown_secs: 300,
            warmup_secs: 120,
            drain_deadline_secs: 6 * 3600,
            fault_deadline_secs: 600,
            buffer: None,
            schedules: Vec::new(),
        }
    }
}
