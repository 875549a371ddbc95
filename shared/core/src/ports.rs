//! What the core needs from the outside world. Adapters (DynamoDB, EC2 Auto
//! Scaling, …) implement these traits and translate their backends' failures
//! into the variants below.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::group::{Claim, NodeGroup, Role};
use crate::heartbeat::HeartbeatReport;
use crate::hooks::{HookAction, HookResult, LifecycleHold};
use crate::names::{GroupName, NodeId, Region, StreamKey};
use crate::node::{DrainCause, Node, NodeState};
use crate::page::{Page, PageSize};
use crate::pool::{HostState, PoolHost};
use crate::route::StreamRoute;
use crate::scaling::{DecisionRecord, Pressure, ScalerMemory, SeriesPoint};
use crate::seats::SeatAsk;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item not as required (absent, present,
    /// another version, still holding nodes). The caller re-reads to learn which.
    #[error("the stored item does not meet the write's condition")]
    Conflict,
    /// The backend could not be reached or refused for capacity; retryable.
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored item could not be decoded: a bug or a foreign write.
    #[error("a stored item is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Stores a new group and its claims. MUST return `Conflict` when a
    /// group of that name exists or another group holds one of the claims.
    async fn insert_group(&self, group: &NodeGroup) -> StoreResult<()>;

    async fn get_group(&self, name: &GroupName) -> StoreResult<Option<NodeGroup>>;

    /// Groups in name order, starting after `after`.
    async fn list_groups(
        &self,
        after: Option<&GroupName>,
        size: PageSize,
    ) -> StoreResult<Page<NodeGroup, GroupName>>;

    /// Writes `group` over `previous`, moving the claims that changed. MUST
    /// return `Conflict` unless the stored group is at `previous.version`
    /// and the new claims are free. Leaves `node_count` and the enrollment
    /// generation as stored.
    async fn update_group(&self, group: &NodeGroup, previous: &NodeGroup) -> StoreResult<()>;

    /// Removes the group and its claims. MUST return `Conflict` unless it is
    /// stored at `group.version` and holds no nodes.
    async fn delete_group(&self, group: &NodeGroup) -> StoreResult<()>;

    /// The group holding a claim.
    async fn claim_owner(&self, claim: &Claim) -> StoreResult<Option<GroupName>>;

    /// Bumps the enrollment generation; returns the new one. MUST return
    /// `Conflict` when the group does not exist.
    async fn rotate_enrollment(&self, name: &GroupName) -> StoreResult<u32>;

    /// Adds `lookups` refused for want of room to the group's scale-out
    /// pressure for one role and region (the scaler reads and resets it).
    async fn add_pressure(
        &self,
        name: &GroupName,
        role: Role,
        region: &Region,
        lookups: u32,
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait NodeStore: Send + Sync {
    /// The group's nodes in id order, starting after `after`.
    async fn list_nodes(
        &self,
        group: &GroupName,
        after: Option<&NodeId>,
        size: PageSize,
    ) -> StoreResult<Page<Node, NodeId>>;

    /// Every node of the group (one query for a normal fleet).
    async fn all_nodes(&self, group: &GroupName) -> StoreResult<Vec<Node>>;

    async fn get_node(&self, group: &GroupName, node: &NodeId) -> StoreResult<Option<Node>>;

    /// Adds a node and counts it on its group. MUST return `Conflict` if the
    /// node exists, or the group is absent, not active, or at another
    /// enrollment generation than `generation`.
    /// `token_nonce` is stored on the row: the heartbeats of this
    /// enrollment's token must present it (see `record_heartbeat`).
    async fn register_node(
        &self,
        node: &Node,
        generation: u32,
        token_nonce: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Records a heartbeat of a registered node, in one write, and returns
    /// the node as stored after it. The same write starts the node's seat
    /// count again, carrying the seats taken against the report before
    /// (`seats_carried = seats_taken, seats_taken = 0`, see `seats`). MUST
    /// return `Conflict` when the node is absent, registered with another
    /// role or region, or has a heartbeat sent at or after `report.sent_at`,
    /// or when its row's token nonce is not `token_nonce` (the token is of
    /// an enrollment since forgotten; empty: a token from before nonces,
    /// valid only on a row without one).
    async fn record_heartbeat(
        &self,
        group: &GroupName,
        node: &NodeId,
        token_nonce: &str,
        report: &HeartbeatReport,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<Node>;

    /// `pending` → `inService`. MUST return `Conflict` unless pending.
    async fn mark_in_service(
        &self,
        group: &GroupName,
        node: &NodeId,
        now: OffsetDateTime,
    ) -> StoreResult<Node>;

    /// The group of the node with this id (an instance id for cloud nodes).
    /// Should an id be registered in several groups (a self-managed
    /// enrollment may name any id), the group whose fleet launched it wins:
    /// the cloud's events about an instance go to the group that runs it.
    async fn locate(&self, node: &NodeId) -> StoreResult<Option<GroupName>>;

    /// Sets or clears the cordon. MUST return `Conflict` when the node is absent.
    async fn set_cordoned(&self, group: &GroupName, node: &NodeId, cordoned: bool) -> StoreResult<Node>;
}

/// What a seat store answers (`SeatStore::take_seat`).
#[derive(Debug, Clone, PartialEq)]
pub enum SeatTake {
    /// Granted: the node's `seats_taken` since its last report, these included.
    Taken { seats_taken: u32 },
    /// Not granted; the node as stored now (`None`: it is gone), so that
    /// the caller's view catches up without another read.
    Refused { stored: Option<Box<Node>> },
}

/// Seats on nodes (see `seats`): the count lookups keep between two reports
/// of a node, shared by every lookup process.
#[async_trait]
pub trait SeatStore: Send + Sync {
    /// Takes `ask.count` seats on `node` as `ask` describes, in one atomic write.
    /// MUST grant exactly when `seats::admits(stored node, ask)` holds, and
    /// otherwise return `Refused` with the node as stored.
    async fn take_seat(&self, node: &Node, ask: &SeatAsk) -> StoreResult<SeatTake>;

    /// Records `route` (new when `from` is `None`, else moved off `from`)
    /// and takes a seat on its origin `origin`, both or neither: a lookup
    /// that loses the race for a new stream's route holds no seat.
    async fn claim_route(
        &self,
        route: &StreamRoute,
        from: Option<&NodeId>,
        expires_at: OffsetDateTime,
        origin: &Node,
        ask: &SeatAsk,
    ) -> StoreResult<RouteClaim>;
}

/// What `SeatStore::claim_route` answers.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteClaim {
    /// The route is recorded and its origin's seat taken.
    Claimed,
    /// Another lookup recorded or moved the route first (or was writing it
    /// at the same moment): re-read it.
    RouteTaken,
    /// The route was free but the origin refused the seat; the origin as
    /// stored now, as with `SeatTake::Refused`.
    SeatRefused { stored: Option<Box<Node>> },
}

#[async_trait]
pub trait RouteStore: Send + Sync {
    /// The stream's route; `consistent` asks for a strongly consistent read.
    async fn get_route(
        &self,
        group: &GroupName,
        stream: &StreamKey,
        consistent: bool,
    ) -> StoreResult<Option<StreamRoute>>;

    /// Records the first route of a stream. MUST return `Conflict` if the
    /// stream already has one.
    async fn create_route(&self, route: &StreamRoute, expires_at: OffsetDateTime) -> StoreResult<()>;

    /// Moves a stream to another origin. MUST return `Conflict` unless the
    /// stored route still points at `from`.
    async fn move_route(
        &self,
        route: &StreamRoute,
        from: &NodeId,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
}

/// Writes of a node's life that the control plane owns.
#[async_trait]
pub trait NodeLifecycleStore: Send + Sync {
    /// Adds a node the fleet launched (pending) and counts it on its group.
    /// MUST return `Conflict` if the node exists or the group is absent.
    async fn add_launched(&self, node: &Node, expires_at: OffsetDateTime) -> StoreResult<()>;

    /// Moves a node to `to` (with its drain cause). MUST return `Conflict`
    /// unless the node is in one of `from` and, with `ReportGuard::Unchanged`,
    /// has sent no report since the one the caller decided on.
    #[allow(clippy::too_many_arguments)]
    async fn transition(
        &self,
        group: &GroupName,
        node: &NodeId,
        from: &[NodeState],
        to: NodeState,
        cause: Option<DrainCause>,
        guard: ReportGuard,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Removes a node and uncounts it. MUST return `Conflict` if absent.
    async fn forget_node(&self, group: &GroupName, node: &NodeId) -> StoreResult<()>;

    /// `forget_node`, but MUST return `Conflict` too when the node holds a
    /// lifecycle action (an operator's forget must not race a new hold).
    async fn forget_unheld_node(&self, group: &GroupName, node: &NodeId) -> StoreResult<()>;

    /// `forget_node`, but MUST return `Conflict` too unless the row still
    /// holds what the caller read: no lifecycle action (`None`), or the one
    /// with this token. A row written since (a new hold, or the row of the
    /// instance's next life, under the same key) is not the one read.
    async fn forget_node_as_read(
        &self,
        group: &GroupName,
        node: &NodeId,
        hold_token: Option<&str>,
    ) -> StoreResult<()>;

    /// Enrolls a node the fleet launched: its first report, pending → in
    /// service. MUST return `Conflict` unless it is pending and never
    /// reported, or this very claim applied once already, or it is claimed
    /// but the token of that claim never reported and `node`'s report is
    /// newer (the node enrolling again: the answer was lost on its way).
    async fn claim_launched(
        &self,
        node: &Node,
        token_nonce: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Changes the lifecycle action a node holds, in one conditional write.
    /// MUST return `Conflict` when the node is absent or the condition of
    /// the `HoldWrite` variant does not hold.
    async fn write_hold(
        &self,
        group: &GroupName,
        node: &NodeId,
        write: HoldWrite<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
}

/// One change of a held lifecycle action. Every variant after `Begin` is
/// keyed on the action's token, so that a late or repeated step of another
/// action changes nothing.
#[derive(Debug, Clone, Copy)]
pub enum HoldWrite<'a> {
    /// Stores a new hold and moves the node from `seen` to `to` (with
    /// `cause`), cordoned if `cordon`. Condition: the node is in `seen` and
    /// does not hold this action already (a repeated event).
    Begin { hold: &'a LifecycleHold, seen: NodeState, to: NodeState, cause: Option<DrainCause>, cordon: bool },
    /// The cloud was told the action is still held. Condition: open, this token.
    KeptAlive { token: &'a str },
    /// Claims the answer, once: condition open, this token; the node moves to `to`.
    Claim { token: &'a str, result: HookResult, forced: bool, to: Option<NodeState> },
    /// The cloud accepted the answer. Condition: this token.
    Completed { token: &'a str },
    /// Drops an answered hold (a launch that went on). Condition: this token.
    Release { token: &'a str },
}

/// What a state change requires of the node's last report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportGuard {
    Any,
    /// The node's last report is still this one (`None`: it never reported).
    /// A decision taken on a report must not act on a node that reported since.
    Unchanged(Option<OffsetDateTime>),
}

/// What a group's scaler item holds for its next tick besides the memory:
/// the pressure lookups add (refused for want of room) and the launches
/// operators ask for, per role and region. A tick subtracts what it used,
/// so what came meanwhile waits for the next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inbox {
    pub pressure: Pressure,
    pub asked: Pressure,
}

/// The group's lease as a read saw it. Taking the lease is conditioned on
/// it, so that what was read with it is what the tick decides on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseSeen {
    /// The last tick to take the lease (`None`: never taken).
    pub holder: Option<String>,
    /// When that lease lapses (or lapsed: a released lease is at 0).
    pub until: Option<OffsetDateTime>,
}

impl LeaseSeen {
    /// Another tick holds the group at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.until.is_some_and(|until| until >= now)
    }
}

/// What a scaler tick starts from, read in one go: the group, every node
/// of it, and its lease.
#[derive(Debug, Clone)]
pub struct TickView {
    pub group: NodeGroup,
    pub nodes: Vec<Node>,
    pub lease: LeaseSeen,
}

/// The scaler's per-group item: its lease, its memory, and the scale-out
/// pressure lookups and operators add to it.
#[async_trait]
pub trait ScalerStore: Send + Sync {
    /// The group, its nodes and its lease, read together (one consistent
    /// query for a normal fleet). `None` when the group is gone.
    async fn read_for_tick(&self, group: &GroupName) -> StoreResult<Option<TickView>>;

    /// Takes the group's lease until `until` if it is still as `seen` and
    /// has lapsed by `now`: no tick took it since the read, so the read is
    /// what the tick acts on. Returns the memory and the inbox, or `None`
    /// when another tick took it.
    async fn acquire_lease(
        &self,
        group: &GroupName,
        holder: &str,
        seen: &LeaseSeen,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<Option<(ScalerMemory, Inbox)>>;

    /// Saves the memory, subtracts what this tick consumed of the inbox,
    /// and frees the lease. MUST return `Conflict` if `holder` lost the lease.
    async fn release_lease(
        &self,
        group: &GroupName,
        holder: &str,
        memory: &ScalerMemory,
        consumed: &Inbox,
    ) -> StoreResult<()>;

    /// The group's memory as the last tick left it, without the lease (for
    /// the group's health); `None` before its first tick.
    async fn memory(&self, group: &GroupName) -> StoreResult<Option<ScalerMemory>>;

    /// An operator asks for `count` more nodes of a role in a region: the
    /// next tick launches them (within the role's max).
    async fn ask_launch(&self, group: &GroupName, role: Role, region: &Region, count: u32)
        -> StoreResult<()>;

    /// Writes a tick's points of the capacity series (kept `SERIES_KEPT`).
    async fn record_series(&self, group: &GroupName, points: &[SeriesPoint]) -> StoreResult<()>;

    /// The series' points since `since`, oldest first.
    async fn list_series(&self, group: &GroupName, since: OffsetDateTime) -> StoreResult<Vec<SeriesPoint>>;

    /// Appends decisions to the group's log (kept for `ttl`).
    async fn record_decisions(
        &self,
        group: &GroupName,
        records: &[DecisionRecord],
        ttl: std::time::Duration,
    ) -> StoreResult<()>;

    /// The group's log, newest first, starting after the cursor.
    async fn list_decisions(
        &self,
        group: &GroupName,
        after: Option<&str>,
        size: PageSize,
    ) -> StoreResult<Page<DecisionRecord, String>>;
}

/// Calls for a group's tick now, outside the schedule (a crowd must not
/// wait for the next scheduled tick).
#[async_trait]
pub trait TickRequests: Send + Sync {
    /// Records a call for the group's tick unless one was recorded within
    /// `window` before `now`, by anyone: `true` when this call counts. On
    /// AWS the record itself reaches the scaler (the table's stream);
    /// elsewhere the adapter delivers it.
    async fn request_tick(
        &self,
        group: &GroupName,
        now: OffsetDateTime,
        window: std::time::Duration,
    ) -> StoreResult<bool>;
}

/// Where decisions go beyond the group's own log, for operators to route
/// to chat, a pager or their tools (EventBridge on AWS). Published after the
/// log write: the log is the record, an event is news of it.
#[async_trait]
pub trait DecisionEvents: Send + Sync {
    /// Publishes each record as one event. A failure says how many were
    /// not accepted; the decisions stand whatever it says.
    async fn publish(&self, group: &GroupName, records: &[DecisionRecord]) -> Result<(), EventsError>;
}

/// Messages a batch sender (events, tick orders) could not send: how many,
/// and the last reason.
#[derive(Debug, thiserror::Error)]
#[error("{unsent} not sent: {reason}")]
pub struct Unsent {
    pub unsent: usize,
    pub reason: String,
}

impl Unsent {
    /// The failures of several calls as one: their counts added up, the
    /// last reason kept.
    pub fn of_all(failures: Vec<Unsent>) -> Result<(), Unsent> {
        let reason = failures.last().map(|last| last.reason.clone());
        reason
            .map_or(Ok(()), |reason| Err(Unsent { unsent: failures.iter().map(|f| f.unsent).sum(), reason }))
    }
}

pub type EventsError = Unsent;
pub type QueueError = Unsent;

/// Publishes nothing: where no event bus is configured.
pub struct NoDecisionEvents;

#[async_trait]
impl DecisionEvents for NoDecisionEvents {
    async fn publish(&self, _: &GroupName, _: &[DecisionRecord]) -> Result<(), EventsError> {
        Ok(())
    }
}

/// One group's tick, ordered for a time: a message on the tick queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickOrder {
    pub group: GroupName,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where a scheduled invocation sends its tick orders (SQS on AWS), each
/// delivered to one of the queue's consumers no sooner than its time.
#[async_trait]
pub trait TickQueue: Send + Sync {
    async fn send(&self, orders: &[TickOrder], now: OffsetDateTime) -> Result<(), QueueError>;
}

/// The provision pool of the simulated cloud: operator-registered hosts.
#[async_trait]
pub trait PoolStore: Send + Sync {
    /// MUST return `Conflict` when the host id is registered already.
    async fn add_host(&self, host: &PoolHost) -> StoreResult<()>;
    async fn list_hosts(&self) -> StoreResult<Vec<PoolHost>>;
    /// The hosts serving one group (one query, whatever the pool's size).
    async fn hosts_of(&self, group: &GroupName) -> StoreResult<Vec<PoolHost>>;
    async fn get_host(&self, id: &NodeId) -> StoreResult<Option<PoolHost>>;
    /// Moves a host between states. MUST return `Conflict` unless it is in `from`.
    async fn set_host_state(
        &self,
        id: &NodeId,
        from: HostState,
        to: HostState,
        user: Option<(&GroupName, Role)>,
    ) -> StoreResult<PoolHost>;
}

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The cloud API could not be reached or throttled; the next tick retries.
    #[error("the cloud backend is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The cloud refused the request as made (a bad launch template, a quota).
    #[error("the cloud backend refused: {0}")]
    Refused(String),
}

/// What `Fleet::sync` found: the instances of every role and region it
/// could bring in line, and those it could not (each with why). A failed
/// slot's instances are unknown, not gone.
#[derive(Debug, Default)]
pub struct Synced {
    pub instances: Vec<Instance>,
    pub failed: Vec<SlotFailure>,
    /// Per role and region, the instances the cloud was asked for and does
    /// not run yet (an ASG's desired capacity less its instances starting
    /// or in service): capacity to come, never asked for again. A cloud
    /// that starts what it is given at once (the pool) reports none.
    pub shortfall: crate::scaling::Shortfall,
}

#[derive(Debug)]
pub struct SlotFailure {
    pub role: Role,
    pub region: Region,
    pub error: FleetError,
}

/// A machine the cloud runs for a group, as the cloud sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub node_id: NodeId,
    pub role: Role,
    pub region: Region,
    pub zone: Option<crate::names::Zone>,
    pub host: Option<String>,
    /// Protected from scale-in the cloud starts on its own.
    pub protected: bool,
    /// The cloud is terminating it (held by a lifecycle hook): still there,
    /// never adopted.
    pub leaving: bool,
    /// The cloud's health checks failed it (EC2 status checks, or an
    /// operator's `SetInstanceHealth`): proof of death that silence is not.
    pub unhealthy: bool,
}

/// A cloud backend: EC2 Auto Scaling, or the simulated provision pool.
#[async_trait]
pub trait Fleet: Send + Sync {
    /// Brings the cloud's groups in line with the node group (created or
    /// updated) and returns what the cloud runs for it now: one pass, since
    /// both need the same description of the cloud's groups. One role and
    /// region failing does not stop the others (`Synced::failed`).
    async fn sync(&self, group: &NodeGroup) -> Result<Synced, FleetError>;

    /// Starts `count` nodes; returns those known at once (a cloud that
    /// reports its instances later returns none: they show in `sync`).
    async fn launch(
        &self,
        group: &NodeGroup,
        role: Role,
        region: &Region,
        count: u32,
    ) -> Result<Vec<Instance>, FleetError>;

    /// Shields a node with sessions from scale-in the cloud starts itself.
    async fn set_protection(&self, group: &NodeGroup, node: &Node, protected: bool)
        -> Result<(), FleetError>;

    /// Removes a node; `dead` when it stopped answering rather than drained.
    async fn terminate(&self, group: &NodeGroup, node: &Node, dead: bool) -> Result<(), FleetError>;

    /// Tells the cloud a held lifecycle action is still held.
    async fn keep_action(&self, action: &HookAction) -> Result<(), FleetError>;

    /// Answers a held lifecycle action. An action the cloud no longer
    /// waits on (answered already, timed out) is not an error.
    async fn complete_action(&self, action: &HookAction, result: HookResult) -> Result<(), FleetError>;
}

#[cfg(test)]
mod tests {
    use super::Unsent;

    #[test]
    fn several_calls_unsent_add_up_and_keep_the_last_reason() {
        assert!(Unsent::of_all(Vec::new()).is_ok());
        let failed = |unsent, reason: &str| Unsent { unsent, reason: reason.to_owned() };
        let all = Unsent::of_all(vec![failed(3, "Throttling"), failed(10, "no answer")]).unwrap_err();
        assert_eq!((all.unsent, all.reason.as_str()), (13, "no answer"));
    }
}
