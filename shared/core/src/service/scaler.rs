//! The scaler's tick: for every group, under a lease so that two ticks
//! never act on one group at once, reconcile the table with the cloud, plan,
//! carry the plan out, and log every decision with how it went. A failure in
//! one group is logged and left to the next tick; the others go on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use time::OffsetDateTime;

use super::backends::{launched_node, Fleets, ScalerError, ScalerStores};
use super::hooks::{HookSettings, LifecycleHooks};
use super::tick_order::{rotated, rotation_offset};
use crate::clock::Clock;
use crate::group::{Cloud, GroupStatus, NodeGroup, Role};
use crate::names::{GroupName, NodeId, Region};
use crate::node::{DrainCause, Node, NodeState};
use crate::page::PageSize;
use crate::ports::{Fleet, Inbox, Instance, ReportGuard, StoreError, TickQueue, TickView};
use crate::scaling::{
    held_by_pause, observed_load, pause_news, plan, series_due, slot_points, Action, Decider, Decision,
    DecisionRecord, PlanInput, PlanSettings, ScalerMemory,
};
use crate::telemetry;

#[derive(Debug, Clone, Copy)]
pub struct ScalerSettings {
    pub plan: PlanSettings,
    /// How long a group's lease lasts: longer than one group's tick (a few
    /// calls), and all a tick that crashes holding it costs the group. On
    /// Lambda it lapses at the invocation's deadline at the latest, so a
    /// tick killed by its timeout frees its groups for the next invocation.
    /// A lease that lapses under a slow tick lets another tick in, which
    /// the conditional writes keep safe.
    pub lease_for: Duration,
    /// Time kept at the end of a tick with a deadline for the groups in
    /// flight: no group is started later than this before the deadline.
    pub group_reserve: Duration,
    /// How long decisions stay in the log.
    pub log_ttl: Duration,
    /// Groups ticked at once.
    pub concurrency: usize,
    /// TTL of node rows the scaler writes.
    pub node_ttl: Duration,
    /// The heartbeat timeout of lifecycle hooks that do not state theirs.
    pub hook_heartbeat_timeout_secs: u32,
    /// How often a scheduled invocation ticks until the next one takes
    /// over (EventBridge schedules go down to a minute only).
    pub tick_every: Duration,
    /// How often the schedule invokes the scaler.
    pub schedule_every: Duration,
}

/// A new deployment's `tickSecs`: a flash crowd is met within seconds, for a
/// function that runs all the time (the cost is in docs/scaler.md).
pub const DEFAULT_TICK_EVERY: Duration = Duration::from_secs(10);

impl Default for ScalerSettings {
    fn default() -> Self {
        Self {
            plan: PlanSettings::default(),
            lease_for: Duration::from_secs(30),
            group_reserve: Duration::from_secs(20),
            log_ttl: Duration::from_secs(14 * 24 * 3600),
            concurrency: 8,
            node_ttl: Duration::from_secs(24 * 3600),
            hook_heartbeat_timeout_secs: crate::hooks::DEFAULT_HEARTBEAT_TIMEOUT_SECS,
            tick_every: DEFAULT_TICK_EVERY,
            schedule_every: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TickReport {
    /// Ticks over every group this report adds up (one, or those of a
    /// scheduled invocation).
    pub ticks: u32,
    pub groups: u32,
    /// Groups another tick was working on.
    pub skipped: u32,
    pub decisions: u32,
    /// Groups whose tick failed (retried next tick).
    pub failed: u32,
    /// Groups left to the next tick because this one ran out of time.
    pub deferred: u32,
}

impl TickReport {
    /// Two ticks' reports as one (an invocation that ticked several times).
    pub fn add(&mut self, other: &TickReport) {
        self.ticks += other.ticks;
        self.groups += other.groups;
        self.skipped += other.skipped;
        self.decisions += other.decisions;
        self.failed += other.failed;
        self.deferred += other.deferred;
    }
}

/// What asking for one group's tick came to.
#[derive(Debug)]
pub enum GroupTickOutcome {
    Ticked(Vec<DecisionRecord>),
    /// Another tick holds the group's lease.
    Leased,
    NoSuchGroup,
}

enum GroupTick {
    Done(usize),
    Skipped,
    /// Not started: too close to the tick's deadline.
    Deferred,
}

pub struct Scaler {
    stores: ScalerStores,
    fleets: Fleets,
    clock: Arc<dyn Clock>,
    settings: ScalerSettings,
    /// This process's name on the leases it takes.
    holder: String,
    /// Numbers this process's ticks, so that two ticks of one process are
    /// two holders too.
    ticks: std::sync::atomic::AtomicU64,
    hooks: LifecycleHooks,
    /// Where scheduled invocations order the groups' ticks (the queue's
    /// consumers tick them); none: they tick every group themselves.
    orders: Option<Arc<dyn TickQueue>>,
}

impl Scaler {
    pub fn new(
        stores: ScalerStores,
        fleets: Fleets,
        clock: Arc<dyn Clock>,
        settings: ScalerSettings,
        holder: String,
    ) -> Self {
        let hooks = LifecycleHooks::new(
            stores.clone(),
            fleets.clone(),
            clock.clone(),
            HookSettings {
                heartbeat_timeout_secs: settings.hook_heartbeat_timeout_secs,
                plan: settings.plan,
                log_ttl: settings.log_ttl,
                node_ttl: settings.node_ttl,
            },
        );
        Self {
            stores,
            fleets,
            clock,
            settings,
            holder,
            ticks: std::sync::atomic::AtomicU64::new(0),
            hooks,
            orders: None,
        }
    }

    /// Scheduled invocations order ticks on `queue` instead of ticking.
    pub fn ordering_through(mut self, queue: Arc<dyn TickQueue>) -> Self {
        self.orders = Some(queue);
        self
    }

    /// The queue scheduled invocations order ticks on, if any.
    pub(super) fn tick_queue(&self) -> Option<&dyn TickQueue> {
        self.orders.as_deref()
    }

    pub(super) fn settings(&self) -> &ScalerSettings {
        &self.settings
    }

    pub(super) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Lifecycle actions of the cloud, on the same stores and backends.
    pub fn hooks(&self) -> &LifecycleHooks {
        &self.hooks
    }

    /// When an invocation started now, with `deadline`, ticks (see `cadence`).
    pub fn tick_times(&self, deadline: Option<OffsetDateTime>) -> Vec<OffsetDateTime> {
        super::cadence::tick_times(
            self.clock.now(),
            self.settings.tick_every,
            self.settings.schedule_every,
            deadline,
            self.settings.group_reserve,
        )
    }

    /// One tick over every group, with no deadline (the local stack, tests).
    pub async fn tick(&self) -> Result<TickReport, ScalerError> {
        self.tick_until(None).await
    }

    /// One tick over every group, starting a group only while `deadline`
    /// (the invocation's, on Lambda) leaves `group_reserve` for it. The walk
    /// starts at a position drawn from the tick's start time and wraps
    /// around, so the groups a short tick leaves are not always the same.
    pub async fn tick_until(&self, deadline: Option<OffsetDateTime>) -> Result<TickReport, ScalerError> {
        let started = self.clock.now();
        let groups = self.all_groups().await.inspect_err(|_| telemetry::tick_failed(1))?;
        let offset = rotation_offset((started.unix_timestamp_nanos() / 1_000_000) as u64, groups.len());
        let groups = rotated(groups, offset);
        let mut report = TickReport { ticks: 1, ..TickReport::default() };
        let outcomes: Vec<_> = stream::iter(groups.into_iter().map(|group| async move {
            let name = group.name().clone();
            (name, self.tick_group(&group, deadline).await)
        }))
        .buffer_unordered(self.settings.concurrency.max(1))
        .collect()
        .await;
        for (name, outcome) in outcomes {
            report.groups += 1;
            match outcome {
                Ok(GroupTick::Done(decisions)) => report.decisions += decisions as u32,
                Ok(GroupTick::Skipped) => report.skipped += 1,
                Ok(GroupTick::Deferred) => report.deferred += 1,
                Err(e) => {
                    report.failed += 1;
                    tracing::error!(group = %name, error = %e, "scaler tick of the group failed; the next tick retries");
                }
            }
        }
        let took = (self.clock.now() - started).try_into().unwrap_or_default();
        telemetry::tick(took, report.failed);
        if report.deferred > 0 {
            tracing::warn!(
                deferred = report.deferred,
                groups = report.groups,
                "the tick ran out of time; the groups it did not start are left to the next tick"
            );
        }
        Ok(report)
    }

    /// Every group, in name order (a page of the index per 1,000).
    pub(super) async fn all_groups(&self) -> Result<Vec<NodeGroup>, ScalerError> {
        let page_size = PageSize::WALK;
        let mut groups = Vec::new();
        let mut after: Option<GroupName> = None;
        loop {
            let page = self.stores.groups.list_groups(after.as_ref(), page_size).await?;
            groups.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(groups),
            }
        }
    }

    /// Too close to the deadline to start another group.
    fn out_of_time(&self, deadline: Option<OffsetDateTime>) -> bool {
        deadline.is_some_and(|deadline| self.clock.now() + self.settings.group_reserve >= deadline)
    }

    /// When a lease taken now lapses: after `lease_for`, and at the
    /// invocation's deadline at the latest.
    fn lease_until(&self, deadline: Option<OffsetDateTime>) -> OffsetDateTime {
        let lapse = self.clock.now() + self.settings.lease_for;
        deadline.map_or(lapse, |deadline| deadline.min(lapse))
    }

    /// One tick of one group, if it exists and no other tick holds it.
    pub async fn tick_one(&self, name: &GroupName) -> Result<GroupTickOutcome, ScalerError> {
        self.tick_one_until(name, None).await
    }

    /// [`Self::tick_one`], its lease lapsing at `deadline` at the latest.
    pub async fn tick_one_until(
        &self,
        name: &GroupName,
        deadline: Option<OffsetDateTime>,
    ) -> Result<GroupTickOutcome, ScalerError> {
        let Some(view) = self.stores.scaler.read_for_tick(name).await? else {
            return Ok(GroupTickOutcome::NoSuchGroup);
        };
        let ticked = self
            .tick_leased(view, self.lease_until(deadline))
            .await
            .inspect_err(|_| telemetry::tick_failed(1))?;
        Ok(match ticked {
            Some(records) => GroupTickOutcome::Ticked(records),
            None => GroupTickOutcome::Leased,
        })
    }

    /// The tick of the group `view` read, `None` when another tick holds
    /// it. The lease is taken only if it is still the one read with the
    /// nodes: a tick that took it since may have changed them.
    async fn tick_leased(
        &self,
        view: TickView,
        lease_until: OffsetDateTime,
    ) -> Result<Option<Vec<DecisionRecord>>, ScalerError> {
        let TickView { group, nodes, lease } = view;
        let name = group.name();
        let now = self.clock.now();
        if lease.is_live(now) {
            return Ok(None);
        }
        let tick = self.ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let holder = format!("{}#{tick}", self.holder);
        let Some((mut memory, inbox)) =
            self.stores.scaler.acquire_lease(name, &holder, &lease, now, lease_until).await?
        else {
            return Ok(None);
        };
        let outcome = self.run(&group, nodes, &mut memory, &inbox, now).await;
        let consumed = match &outcome {
            Ok((_, consumed)) => consumed.clone(),
            Err(_) => Inbox::default(),
        };
        match self.stores.scaler.release_lease(name, &holder, &memory, &consumed).await {
            // The group was deleted by this tick, or the lease lapsed: the
            // next tick starts from what is stored.
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        outcome.map(|(records, _)| Some(records))
    }

    /// The group's decision log, newest first.
    pub async fn decisions(
        &self,
        name: &GroupName,
        after: Option<&str>,
        size: PageSize,
    ) -> Result<Option<crate::page::Page<DecisionRecord, String>>, ScalerError> {
        if self.stores.groups.get_group(name).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(self.stores.scaler.list_decisions(name, after, size).await?))
    }

    async fn tick_group(
        &self,
        group: &NodeGroup,
        deadline: Option<OffsetDateTime>,
    ) -> Result<GroupTick, ScalerError> {
        if self.out_of_time(deadline) {
            return Ok(GroupTick::Deferred);
        }
        // Read again with its nodes and lease, which costs no more than the nodes.
        let Some(view) = self.stores.scaler.read_for_tick(group.name()).await? else {
            return Ok(GroupTick::Skipped);
        };
        Ok(match self.tick_leased(view, self.lease_until(deadline)).await? {
            Some(records) => GroupTick::Done(records.len()),
            None => GroupTick::Skipped,
        })
    }

    fn fleet_for(&self, group: &NodeGroup) -> Result<&Arc<dyn Fleet>, ScalerError> {
        match group.spec.cloud {
            Cloud::Aws => {
                self.fleets.aws.as_ref().ok_or_else(|| ScalerError::NoBackend(group.name().clone()))
            }
            Cloud::Simulated => Ok(&self.fleets.simulated),
        }
    }

    async fn run(
        &self,
        group: &NodeGroup,
        mut nodes: Vec<Node>,
        memory: &mut ScalerMemory,
        inbox: &Inbox,
        now: OffsetDateTime,
    ) -> Result<(Vec<DecisionRecord>, Inbox), ScalerError> {
        let fleet = self.fleet_for(group)?;
        // Held lifecycle actions first, whatever the rest of the tick meets:
        // a hold not renewed in time lets the cloud terminate a node with
        // viewers on it.
        let mut records = self.hooks.settle(group, fleet.as_ref(), &nodes, now).await?;
        let synced = match fleet.sync(group).await {
            Ok(synced) => synced,
            Err(e) => {
                if !records.is_empty() {
                    self.stores.log_decisions(group.name(), &records, self.settings.log_ttl).await?;
                }
                return Err(e.into());
            }
        };
        let instances = synced.instances;
        let shortfall = synced.shortfall;
        // A slot the cloud failed on: its instances are unknown, not gone;
        // nothing is decided there this tick.
        let failed: HashSet<(Role, Region)> =
            synced.failed.iter().map(|f| (f.role, f.region.clone())).collect();
        records.extend(super::slot_faults::fault_news(group, &synced.failed, memory, now));
        if let Some(news) = pause_news(group.spec.scaling_paused, memory, now) {
            tracing::info!(group = %group.name(), action = ?news.action, "{}", news.reason);
            records.push(DecisionRecord { at: now, decision: news, outcome: "done".into() });
        }
        records.extend(self.reconcile(group, fleet.as_ref(), &instances, &failed, &mut nodes, now).await?);
        memory.forget_seen_launches(&nodes);
        let unhealthy: HashSet<NodeId> =
            instances.iter().filter(|i| i.unhealthy).map(|i| i.node_id.clone()).collect();
        let input = PlanInput {
            group,
            nodes: &nodes,
            pressure: &inbox.pressure,
            asked: &inbox.asked,
            memory,
            unhealthy: &unhealthy,
            shortfall: &shortfall,
            now,
            settings: self.settings.plan,
        };
        let mut decisions = plan(&input);
        decisions.retain(|d| match (&d.action, d.role, &d.region) {
            (_, Some(role), Some(region)) => !failed.contains(&(role, region.clone())),
            // A slot whose instances are unknown may still run some: the
            // group is not empty for sure.
            (Action::DeleteGroup, _, _) => failed.is_empty(),
            _ => true,
        });
        // A deletion's drain goes on, paused or not: the group can take no
        // change (no resume) while it is deleted.
        if group.spec.scaling_paused && group.status == GroupStatus::Active {
            decisions.retain(|d| {
                let held = held_by_pause(d);
                if held {
                    tracing::info!(group = %group.name(), action = ?d.action, reason = %d.reason, "held back: scaling is paused");
                }
                !held
            });
        }
        // Only the asks this tick decided on are used up: one for a slot the
        // cloud failed on, or whose nodes are silent, waits for a later tick.
        let consumed = Inbox {
            pressure: inbox.pressure.clone(),
            asked: decisions
                .iter()
                .filter(|d| d.by == Decider::Operator)
                .filter_map(|d| match &d.action {
                    Action::Launch { role, region, .. } | Action::LaunchDeclined { role, region, .. } => {
                        let slot = (*role, region.clone());
                        inbox.asked.get(&slot).map(|asked| (slot, *asked))
                    }
                    _ => None,
                })
                .collect(),
        };
        let seen = observed_load(&input);
        for (role, region, sessions) in &seen {
            memory.record_load(*role, region, *sessions, now, self.settings.plan.growth_window);
        }
        let points = slot_points(group, &nodes, &seen, now, self.settings.plan.stale_after);
        telemetry::slots(group.name(), &points, &nodes, &inbox.pressure);
        telemetry::holds(group.name(), &nodes, now);
        if series_due(memory, now) {
            // The chart misses a point; the tick goes on.
            if let Err(e) = self.stores.scaler.record_series(group.name(), &points).await {
                tracing::warn!(group = %group.name(), error = %e, "a capacity series point could not be written");
            }
        }
        let by_id: BTreeMap<NodeId, Node> = nodes.into_iter().map(|n| (n.node_id.clone(), n)).collect();
        // What this group's cloud runs, as it listed it this tick: the only
        // instances a decision may terminate (a node id is only what a node
        // said when it enrolled).
        let cloud_view: HashSet<NodeId> = instances.iter().map(|i| i.node_id.clone()).collect();
        // Nodes marked dead or failed this tick (`None`: the mark lost a race).
        let mut marks = HashMap::new();
        for decision in decisions {
            let outcome = match self
                .execute(
                    group,
                    fleet.as_ref(),
                    &decision.action,
                    &by_id,
                    &cloud_view,
                    &mut marks,
                    memory,
                    now,
                )
                .await
            {
                Ok(outcome) => outcome,
                Err(e) => format!("failed: {e}"),
            };
            tracing::info!(
                group = %group.name(),
                role = ?decision.role,
                region = ?decision.region,
                action = ?decision.action,
                reason = %decision.reason,
                %outcome,
                "scaler decision"
            );
            records.push(DecisionRecord { at: now, decision, outcome });
        }
        if !records.is_empty() {
            // The actions above happened: failing the tick now would leave
            // its pressure unconsumed and the next tick would act on it
            // again (a second launch for one crowd). The log loses these
            // records instead; the trace keeps every one (above).
            if let Err(e) = self.stores.log_decisions(group.name(), &records, self.settings.log_ttl).await {
                tracing::error!(group = %group.name(), error = %e, records = records.len(), "the decision log could not be written; the tick's actions stand");
            }
        }
        // Only a tick that went through says the scaler looks at the group.
        memory.last_tick = Some(now.unix_timestamp());
        Ok((records, consumed))
    }

    /// Lines the table up with what the cloud really runs: instances it
    /// never saw are listed as pending, nodes whose instance is gone are
    /// dropped, and protection follows sessions.
    async fn reconcile(
        &self,
        group: &NodeGroup,
        fleet: &dyn Fleet,
        instances: &[Instance],
        unknown: &HashSet<(Role, Region)>,
        nodes: &mut Vec<Node>,
        now: OffsetDateTime,
    ) -> Result<Vec<DecisionRecord>, ScalerError> {
        let mut records = Vec::new();
        let mut log = |action: Action, node: &Node, reason: &str| {
            records.push(DecisionRecord {
                at: now,
                decision: Decision {
                    action,
                    role: Some(node.role),
                    region: Some(node.region.clone()),
                    reason: reason.to_owned(),
                    numbers: None,
                    by: Decider::Scaler,
                },
                outcome: "done".into(),
            })
        };
        for instance in instances.iter().filter(|i| !i.leaving) {
            if nodes.iter().any(|n| n.node_id == instance.node_id) {
                continue;
            }
            let node = launched_node(group, instance, now);
            match self.stores.lifecycle.add_launched(&node, now + self.settings.node_ttl).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
            log(
                Action::Adopt { node: node.node_id.clone() },
                &node,
                "the cloud runs an instance the table did not list",
            );
            nodes.push(node);
        }
        let running: HashSet<&NodeId> = instances.iter().map(|i| &i.node_id).collect();
        let mut gone = Vec::new();
        // Nodes the cloud runs (or holds on their way out) stay; a node that
        // enrolled on its own is the cloud's only once it held an action of it.
        // An instance paused at `Warmed:Pending:Wait` (entering the warm
        // pool, or returned to it) is not among the group's: its row stays
        // while the action is held. Forgotten as read: the lifecycle
        // function may have written the row of the instance's next life since.
        let known = |n: &Node| !unknown.contains(&(n.role, n.region.clone()));
        let held_for_pool =
            |n: &Node| n.hold.as_ref().is_some_and(|h| h.warm_pool.is_some() && h.result.is_none());
        let vanished =
            |n: &&Node| n.is_cloud_owned() && known(n) && !held_for_pool(n) && !running.contains(&n.node_id);
        for node in nodes.iter().filter(vanished) {
            let read = node.hold.as_ref().map(|h| h.action.token.as_str());
            match self.stores.lifecycle.forget_node_as_read(group.name(), &node.node_id, read).await {
                Ok(()) => log(
                    Action::Forget { node: node.node_id.clone() },
                    node,
                    "its instance is gone from the cloud",
                ),
                // Gone already, or changed since it was read (a new hold, the
                // row of the instance's next life): not this tick's to say.
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
            gone.push(node.node_id.clone());
        }
        nodes.retain(|n| !gone.contains(&n.node_id));
        // Protection means nothing to an instance the cloud terminates already.
        for instance in instances.iter().filter(|i| !i.leaving) {
            let Some(node) = nodes.iter().find(|n| n.node_id == instance.node_id) else { continue };
            let wanted =
                node.load.sessions() > 0 && matches!(node.state, NodeState::InService | NodeState::Draining);
            if instance.protected != wanted {
                fleet.set_protection(group, node, wanted).await?;
                tracing::info!(group = %group.name(), node = %node.node_id, protected = wanted, "scale-in protection follows sessions");
            }
        }
        Ok(records)
    }

    #[allow(clippy::too_many_arguments)]
    async fn execute(
        &self,
        group: &NodeGroup,
        fleet: &dyn Fleet,
        action: &Action,
        nodes: &BTreeMap<NodeId, Node>,
        cloud_view: &HashSet<NodeId>,
        marks: &mut HashMap<NodeId, Option<NodeState>>,
        memory: &mut ScalerMemory,
        now: OffsetDateTime,
    ) -> Result<String, ScalerError> {
        let name = group.name();
        let lifecycle = &self.stores.lifecycle;
        let changed = |result: Result<(), StoreError>| match result {
            Ok(()) => Ok("done".to_owned()),
            Err(StoreError::Conflict) => Ok("skipped: the node changed meanwhile".to_owned()),
            Err(e) => Err(ScalerError::from(e)),
        };
        match action {
            // Said once: the batch ends, and what the cloud still owes
            // stays counted as to come through its shortfall.
            Action::LaunchFailed { role, region, .. } => {
                memory.forget_launch(*role, region);
                Ok("done".into())
            }
            Action::Launch { role, region, count } => {
                memory.record_scale_out(*role, region, now);
                let started = fleet.launch(group, *role, region, *count).await?;
                // Those the cloud starts later (an ASG) are capacity to come.
                let unseen = count.saturating_sub(started.len() as u32);
                if unseen > 0 {
                    let warmup = group.spec.roles.get(role).map_or(0, |r| r.scale.warmup_secs);
                    let window = Duration::from_secs(u64::from(warmup)) + self.settings.plan.launch_grace;
                    memory.record_launch(*role, region, unseen, now, window);
                }
                for instance in &started {
                    lifecycle
                        .add_launched(&launched_node(group, instance, now), now + self.settings.node_ttl)
                        .await?;
                }
                Ok(match (group.spec.cloud, started.len() as u32) {
                    (Cloud::Aws, _) => format!("done: desired capacity raised by {count}"),
                    (Cloud::Simulated, got) if got == *count => format!("done: launched {count}"),
                    (Cloud::Simulated, got) => {
                        format!("partial: launched {got} of {count} (provision pool exhausted)")
                    }
                })
            }
            Action::Readmit { node } => {
                if let Some(n) = nodes.get(node) {
                    memory.record_scale_out(n.role, &n.region, now);
                }
                changed(
                    lifecycle
                        .transition(
                            name,
                            node,
                            &[NodeState::Draining],
                            NodeState::InService,
                            None,
                            ReportGuard::Any,
                            now,
                        )
                        .await,
                )
            }
            Action::Drain { node, cause } => {
                if let (Some(n), DrainCause::ScaleIn) = (nodes.get(node), cause) {
                    memory.record_scale_in(n.role, &n.region, now);
                }
                changed(
                    lifecycle
                        .transition(
                            name,
                            node,
                            &[NodeState::InService],
                            NodeState::Draining,
                            Some(*cause),
                            ReportGuard::Any,
                            now,
                        )
                        .await,
                )
            }
            Action::MarkDead { node } => {
                self.mark(group, nodes, node, NodeState::InService, NodeState::Dead, marks, now).await
            }
            Action::MarkFailed { node } => {
                self.mark(group, nodes, node, NodeState::Pending, NodeState::Failed, marks, now).await
            }
            Action::Terminate { node, forced } => {
                let Some(n) = nodes.get(node) else { return Ok("skipped: unknown node".into()) };
                let from = match marks.get(node) {
                    Some(None) => return Ok("skipped: the node reported meanwhile".into()),
                    Some(Some(marked)) => *marked,
                    None => n.state,
                };
                // Terminating first, and only if the node sent nothing since the
                // report this decision was taken on: a node that came back, or
                // took sessions, is left for the next tick to judge. A forced
                // termination (deadline passed) goes on regardless.
                let guard = if *forced { ReportGuard::Any } else { ReportGuard::Unchanged(n.last_sent_at) };
                let began = lifecycle
                    .transition(name, node, &[from], NodeState::Terminating, n.drain_cause, guard, now)
                    .await;
                match began {
                    Ok(()) => {}
                    Err(StoreError::Conflict) => return Ok("skipped: the node changed meanwhile".into()),
                    Err(e) => return Err(e.into()),
                }
                if cloud_view.contains(node) {
                    fleet.terminate(group, n, matches!(from, NodeState::Dead | NodeState::Failed)).await?;
                    return changed(lifecycle.forget_node(name, node).await);
                }
                // Not an instance of this group's cloud (self-managed, or an
                // id some enrollment claimed): forgotten, never terminated.
                tracing::info!(group = %name, node = %node, "a node the cloud does not run here is forgotten, not terminated");
                changed(lifecycle.forget_node(name, node).await).map(|outcome| match outcome.as_str() {
                    "done" => "done: forgotten (not an instance of this group's cloud)".to_owned(),
                    _ => outcome,
                })
            }
            // Reconciliation, lifecycle hooks and the operator's API carry
            // these out themselves; a plan never holds them. A mass silence
            // and a declined ask are only said.
            Action::Forget { .. }
            | Action::Adopt { .. }
            | Action::Hold { .. }
            | Action::Answer { .. }
            | Action::Cordon { .. }
            | Action::SetCordon { .. }
            | Action::SyncFailed
            | Action::SyncRecovered { .. }
            | Action::ScalingPaused
            | Action::ScalingResumed { .. }
            | Action::LaunchDeclined { .. }
            | Action::MassSilence { .. } => Ok("done".into()),
            Action::DeleteGroup => match self.stores.groups.delete_group(group).await {
                Ok(()) => Ok("done: group deleted".into()),
                Err(StoreError::Conflict) => Ok("skipped: the group changed meanwhile".into()),
                Err(e) => Err(e.into()),
            },
        }
    }
}

impl Scaler {
    /// Marks a node dead or failed, if it has not reported since the plan
    /// was made; remembers the outcome for the termination that follows.
    #[allow(clippy::too_many_arguments)]
    async fn mark(
        &self,
        group: &NodeGroup,
        nodes: &BTreeMap<NodeId, Node>,
        node: &NodeId,
        from: NodeState,
        to: NodeState,
        marks: &mut HashMap<NodeId, Option<NodeState>>,
        now: OffsetDateTime,
    ) -> Result<String, ScalerError> {
        let reported = nodes.get(node).and_then(|n| n.last_sent_at);
        let result = self
            .stores
            .lifecycle
            .transition(group.name(), node, &[from], to, None, ReportGuard::Unchanged(reported), now)
            .await;
        match result {
            Ok(()) => {
                marks.insert(node.clone(), Some(to));
                Ok("done".into())
            }
            Err(StoreError::Conflict) => {
                marks.insert(node.clone(), None);
                Ok("skipped: the node reported meanwhile".into())
            }
            Err(e) => Err(e.into()),
        }
    }
}
