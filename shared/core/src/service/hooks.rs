//! Lifecycle actions: the cloud asks before it terminates an instance (an
//! operator lowering desired capacity, AZ rebalancing, instance refresh, a
//! health replacement) or puts a new one in service. A node with sessions
//! is cordoned and held until they end or its drain deadline passes; a new
//! instance goes on once it reports, and is abandoned if it never does.
//!
//! With a warm pool, the same hooks also pause an instance entering the
//! pool (listed `pooling`, given the pool's `initSecs` to initialise, then
//! let go to be stopped), one leaving it (a launch like any other: the row of
//! its earlier life, if still there, is replaced), and one a scale-in
//! returns to it (held like a termination).
//!
//! Events arrive twice and out of order, and a tick may settle the same
//! hold at the same time: each step is a conditional write keyed on the
//! action's token, and the answer is claimed before it is sent, so the
//! cloud hears it once (again only if it was not acknowledged in time: a
//! send that failed, or a claimant that died; see `hooks::steps`).

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::group::{Cloud, NodeGroup, ScalePolicy};
use crate::hooks::{
    next_step, HoldContext, HoldStep, HookAction, HookKind, HookResult, HookTarget, InterruptionKind,
    LifecycleEvent, LifecycleHold, PoolMove,
};
use crate::names::{GroupName, NodeId};
use crate::node::{DrainCause, Node, NodeState};
use crate::ports::{Fleet, HoldWrite, Instance, ReportGuard, StoreError};
use crate::scaling::{Action, Decider, Decision, DecisionRecord, PlanSettings};

use super::backends::{launched_node, Fleets, ScalerError, ScalerStores};

#[derive(Debug, Clone, Copy)]
pub struct HookSettings {
    /// Assumed for hooks whose metadata does not say (streamfleet's own say).
    pub heartbeat_timeout_secs: u32,
    pub plan: PlanSettings,
    pub log_ttl: Duration,
    pub node_ttl: Duration,
}

/// What an event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// The node has sessions (or has not reported yet): the cloud waits.
    Held,
    /// Answered at once.
    Completed(HookResult),
    /// This action is held already: a repeated event.
    Duplicate,
    /// No group lists the instance: let the cloud go on.
    Unknown,
    /// An interruption warning: the node gets no new sessions.
    Cordoned,
    /// Nothing to do, and why.
    Ignored(&'static str),
}

pub struct LifecycleHooks {
    stores: ScalerStores,
    fleets: Fleets,
    clock: Arc<dyn Clock>,
    settings: HookSettings,
}

/// Attempts at a write that lost a race to another writer of the node.
const RACES: usize = 3;

impl LifecycleHooks {
    pub fn new(stores: ScalerStores, fleets: Fleets, clock: Arc<dyn Clock>, settings: HookSettings) -> Self {
        Self { stores, fleets, clock, settings }
    }

    pub async fn on_event(&self, event: LifecycleEvent) -> Result<HookOutcome, ScalerError> {
        match event {
            LifecycleEvent::Terminate { cloud, action, target, warm_pool } => {
                self.on_action(HookKind::Terminate, cloud, action, target, warm_pool).await
            }
            LifecycleEvent::Launch { cloud, action, target, warm_pool } => {
                self.on_action(HookKind::Launch, cloud, action, target, warm_pool).await
            }
            LifecycleEvent::Interruption { instance, kind } => self.on_interruption(&instance, kind).await,
        }
    }

    /// Carries the group's held actions one step on, on its own (outside a
    /// scaler tick): `None` when there is no such group.
    pub async fn settle_group(&self, name: &GroupName) -> Result<Option<Vec<DecisionRecord>>, ScalerError> {
        let Some(group) = self.stores.groups.get_group(name).await? else { return Ok(None) };
        let fleet = self.fleet(group.spec.cloud)?;
        let nodes = self.stores.nodes.all_nodes(name).await?;
        let now = self.clock.now();
        let records = self.settle(&group, fleet.as_ref(), &nodes, now).await?;
        if !records.is_empty() {
            self.stores.log_decisions(name, &records, self.settings.log_ttl).await?;
        }
        Ok(Some(records))
    }

    /// Carries every held action of a group one step on (the scaler's tick
    /// calls it with the nodes it read).
    pub async fn settle(
        &self,
        group: &NodeGroup,
        fleet: &dyn Fleet,
        nodes: &[Node],
        now: OffsetDateTime,
    ) -> Result<Vec<DecisionRecord>, ScalerError> {
        let mut records = Vec::new();
        for node in nodes {
            let Some(hold) = &node.hold else { continue };
            let Some(step) = next_step(node, hold, &self.context(group, node, now)) else { continue };
            // One hold the cloud or the store fails on (a missing permission,
            // throttling) must not stop the others, nor the group's scaling.
            match self.carry_out(group, fleet, node, hold, step, now).await {
                Ok(Some(record)) => records.push(record),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(group = %group.name(), node = %node.node_id, error = %e, "a held lifecycle action could not be carried on; the next tick retries")
                }
            }
        }
        Ok(records)
    }

    fn context(&self, group: &NodeGroup, node: &Node, now: OffsetDateTime) -> HoldContext {
        let default = ScalePolicy::default();
        let role = group.spec.roles.get(&node.role);
        let policy = role.map_or(&default, |r| &r.scale);
        let pool = role.and_then(|r| r.warm_pool);
        let init_secs = pool.map_or(crate::group::DEFAULT_POOL_INIT_SECS, |p| p.init_secs);
        // With a pool, `warmupSecs` is a pooled node's time to serve; a cold
        // launch (the pool ran dry) boots like one entering the pool.
        let from_pool = node.hold.as_ref().is_some_and(|h| h.warm_pool == Some(PoolMove::Leaving));
        let boot_secs =
            if pool.is_some() && !from_pool { policy.warmup_secs.max(init_secs) } else { policy.warmup_secs };
        HoldContext {
            now,
            drain_deadline: Duration::from_secs(u64::from(policy.drain_deadline_secs)),
            launch_deadline: Duration::from_secs(u64::from(boot_secs)) + self.settings.plan.launch_grace,
            pool_init: Duration::from_secs(u64::from(init_secs)),
            dead_after: self.settings.plan.dead_after,
            fault_deadline: Duration::from_secs(u64::from(policy.fault_deadline_secs)),
        }
    }

    fn fleet(&self, cloud: Cloud) -> Result<&Arc<dyn Fleet>, ScalerError> {
        match cloud {
            Cloud::Aws => self.fleets.aws.as_ref().ok_or(ScalerError::NoCloud(cloud)),
            Cloud::Simulated => Ok(&self.fleets.simulated),
        }
    }

    async fn on_action(
        &self,
        kind: HookKind,
        cloud: Cloud,
        action: HookAction,
        target: Option<HookTarget>,
        warm_pool: Option<PoolMove>,
    ) -> Result<HookOutcome, ScalerError> {
        let fleet = self.fleet(cloud)?;
        let now = self.clock.now();
        let group_name = match &target {
            Some(target) => Some(target.group.clone()),
            None => self.stores.nodes.locate(&action.instance).await?,
        };
        let group = match group_name {
            Some(name) => self.stores.groups.get_group(&name).await?,
            None => None,
        };
        let Some(group) = group else {
            // A hook of someone else's (the rule saw it, but neither its name
            // nor its ASG is ours): theirs to answer, not ours.
            if !owns(&action) && target.is_none() {
                tracing::info!(instance = %action.instance, asg = %action.asg, hook = %action.hook, "a lifecycle action of a hook streamfleet does not own: left alone");
                return Ok(HookOutcome::Ignored("a hook streamfleet does not own"));
            }
            // Ours, for an instance no group lists: never block the ASG.
            tracing::warn!(instance = %action.instance, asg = %action.asg, hook = %action.hook, ?kind, "lifecycle action for an instance no group lists: CONTINUE");
            fleet.complete_action(&action, HookResult::Continue).await?;
            return Ok(HookOutcome::Unknown);
        };
        let timeout = target
            .as_ref()
            .and_then(|t| t.heartbeat_timeout_secs)
            .unwrap_or(self.settings.heartbeat_timeout_secs);
        let hold = LifecycleHold { warm_pool, ..LifecycleHold::new(kind, action, timeout, now) };
        for _ in 0..RACES {
            let node = self.stores.nodes.get_node(group.name(), &hold.action.instance).await?;
            let began = match (node, kind, &target) {
                (None, HookKind::Launch, Some(target)) => {
                    self.begin_launch_row(&group, target, &hold, now).await?
                }
                (None, _, _) => {
                    tracing::info!(group = %group.name(), instance = %hold.action.instance, ?kind, "lifecycle action for a node no longer listed: CONTINUE");
                    fleet.complete_action(&hold.action, HookResult::Continue).await?;
                    return Ok(HookOutcome::Completed(HookResult::Continue));
                }
                (Some(node), _, _) => {
                    if let Some(stored) = &node.hold {
                        if stored.action.token == hold.action.token {
                            return Ok(HookOutcome::Duplicate);
                        }
                    }
                    if warm_pool == Some(PoolMove::Leaving) && is_past_life(&node) {
                        // The pool gives back an instance that had a life in
                        // the group already (it entered the pool, or a
                        // scale-in returned it there). That row goes, as
                        // read (a concurrent delivery may have replaced it);
                        // the next round lists the instance anew.
                        let read = node.hold.as_ref().map(|h| h.action.token.as_str());
                        ignore_conflict(
                            self.stores
                                .lifecycle
                                .forget_node_as_read(group.name(), &node.node_id, read)
                                .await,
                        )?;
                        tracing::info!(group = %group.name(), node = %node.node_id, was = node.state.as_str(), "an instance taken from the warm pool: its earlier row replaced");
                        continue;
                    }
                    if warm_pool == Some(PoolMove::Entering) && !is_unheard_launch(&node) {
                        // A late or repeated entry for an instance that has
                        // moved on: the row says more than the event.
                        return Ok(HookOutcome::Ignored("the instance is past its entry into the warm pool"));
                    }
                    if let Some(stored) = &node.hold {
                        if stored.kind == HookKind::Terminate && kind == HookKind::Launch {
                            return Ok(HookOutcome::Ignored("the instance is terminating already"));
                        }
                    }
                    self.begin(&group, node, &hold, now).await?
                }
            };
            let Some(node) = began else { continue };
            return self.after_begin(&group, fleet.as_ref(), node, now).await;
        }
        Err(ScalerError::Store(StoreError::Conflict))
    }

    /// A launch the table has not heard of yet: listed pending, holding it.
    async fn begin_launch_row(
        &self,
        group: &NodeGroup,
        target: &HookTarget,
        hold: &LifecycleHold,
        now: OffsetDateTime,
    ) -> Result<Option<Node>, ScalerError> {
        let instance = Instance {
            node_id: hold.action.instance.clone(),
            role: target.role,
            region: target.region.clone(),
            zone: None,
            host: None,
            protected: false,
            leaving: false,
            unhealthy: false,
        };
        let mut node = launched_node(group, &instance, now);
        if hold.warm_pool == Some(PoolMove::Entering) {
            node.state = NodeState::Pooling;
        }
        node.hold = Some(hold.clone());
        match self.stores.lifecycle.add_launched(&node, now + self.settings.node_ttl).await {
            Ok(()) => Ok(Some(node)),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores the hold on a listed node: a terminating node is cordoned and
    /// drains (a scaler's drain becomes the cloud's, never to be undone).
    async fn begin(
        &self,
        group: &NodeGroup,
        mut node: Node,
        hold: &LifecycleHold,
        now: OffsetDateTime,
    ) -> Result<Option<Node>, ScalerError> {
        let seen = node.state;
        let (to, cause, cordon) = match hold.kind {
            HookKind::Terminate if matches!(seen, NodeState::InService | NodeState::Draining) => {
                (NodeState::Draining, Some(DrainCause::Lifecycle), true)
            }
            HookKind::Terminate => (seen, None, true),
            // Listed by the scaler before the event came (an adopted pending row).
            HookKind::Launch if hold.warm_pool == Some(PoolMove::Entering) => {
                (NodeState::Pooling, None, false)
            }
            HookKind::Launch => (seen, None, false),
        };
        let write = HoldWrite::Begin { hold, seen, to, cause, cordon };
        match self.stores.lifecycle.write_hold(group.name(), &node.node_id, write, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        if to != seen {
            node.state_since = now;
        }
        node.state = to;
        node.drain_cause = cause.or(node.drain_cause);
        node.cordoned |= cordon;
        node.hold = Some(hold.clone());
        Ok(Some(node))
    }

    async fn after_begin(
        &self,
        group: &NodeGroup,
        fleet: &dyn Fleet,
        node: Node,
        now: OffsetDateTime,
    ) -> Result<HookOutcome, ScalerError> {
        let hold = node.hold.clone().expect("a hold was just stored");
        let held = record(
            now,
            &node,
            Action::Hold { node: node.node_id.clone(), kind: hold.kind },
            match hold.kind {
                HookKind::Terminate => format!(
                    "the cloud {} the instance ({} via {}); {} session(s) on it",
                    if hold.warm_pool.is_some() { "returns to its warm pool" } else { "terminates" },
                    hold.action.hook,
                    hold.action.asg,
                    node.load.sessions()
                ),
                HookKind::Launch if hold.warm_pool == Some(PoolMove::Entering) => format!(
                    "the cloud launched the instance into its warm pool ({} via {}): it initialises, then is stopped there",
                    hold.action.hook, hold.action.asg
                ),
                HookKind::Launch => {
                    format!("the cloud launched the instance ({} via {})", hold.action.hook, hold.action.asg)
                }
            },
            "done".into(),
        );
        let mut records = vec![held];
        let mut outcome = HookOutcome::Held;
        if let Some(step @ HoldStep::Complete { result, .. }) =
            next_step(&node, &hold, &self.context(group, &node, now))
        {
            if let Some(answered) = self.carry_out(group, fleet, &node, &hold, step, now).await? {
                records.push(answered);
                outcome = HookOutcome::Completed(result);
            }
        }
        self.stores.log_decisions(group.name(), &records, self.settings.log_ttl).await?;
        Ok(outcome)
    }

    /// One step of a hold; the decision to log, for answers.
    async fn carry_out(
        &self,
        group: &NodeGroup,
        fleet: &dyn Fleet,
        node: &Node,
        hold: &LifecycleHold,
        step: HoldStep,
        now: OffsetDateTime,
    ) -> Result<Option<DecisionRecord>, ScalerError> {
        let token = hold.action.token.as_str();
        let store = &self.stores.lifecycle;
        match step {
            HoldStep::KeepAlive => {
                fleet.keep_action(&hold.action).await?;
                ignore_conflict(
                    store.write_hold(group.name(), &node.node_id, HoldWrite::KeptAlive { token }, now).await,
                )?;
                tracing::info!(group = %group.name(), node = %node.node_id, sessions = node.load.sessions(), "lifecycle action still held");
                Ok(None)
            }
            HoldStep::Resend { result } => {
                self.send_answer(group, fleet, node, hold, result, now).await?;
                Ok(None)
            }
            HoldStep::Complete { result, forced, reason } => {
                let to = match (hold.kind, result) {
                    (HookKind::Terminate, _) => Some(NodeState::Terminating),
                    (HookKind::Launch, HookResult::Abandon) => Some(NodeState::Failed),
                    (HookKind::Launch, HookResult::Continue) => None,
                };
                let claim = HoldWrite::Claim { token, result, forced, to };
                match store.write_hold(group.name(), &node.node_id, claim, now).await {
                    Ok(()) => {}
                    // Another event or tick answered it.
                    Err(StoreError::Conflict) => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
                let outcome = match self.send_answer(group, fleet, node, hold, result, now).await {
                    Ok(()) => "done".to_owned(),
                    Err(e) => format!("failed: {e} (resent next tick)"),
                };
                if forced {
                    tracing::warn!(group = %group.name(), node = %node.node_id, %reason, "lifecycle action answered with sessions left");
                }
                let action = Action::Answer { node: node.node_id.clone(), kind: hold.kind, result, forced };
                Ok(Some(record(now, node, action, reason, outcome)))
            }
        }
    }

    async fn send_answer(
        &self,
        group: &NodeGroup,
        fleet: &dyn Fleet,
        node: &Node,
        hold: &LifecycleHold,
        result: HookResult,
        now: OffsetDateTime,
    ) -> Result<(), ScalerError> {
        fleet.complete_action(&hold.action, result).await?;
        let token = hold.action.token.as_str();
        // A launch that goes on is a normal node again; other answers stay
        // on the row until the instance is gone, so that a repeated event
        // finds them.
        let write = match (hold.kind, result) {
            // Into the pool: the row stays `pooling`, answered, until the
            // instance's next life replaces it or the scaler sees it gone.
            (HookKind::Launch, HookResult::Continue) if hold.warm_pool != Some(PoolMove::Entering) => {
                HoldWrite::Release { token }
            }
            _ => HoldWrite::Completed { token },
        };
        ignore_conflict(self.stores.lifecycle.write_hold(group.name(), &node.node_id, write, now).await)?;
        tracing::info!(group = %group.name(), node = %node.node_id, result = result.as_str(), hook = %hold.action.hook, "lifecycle action answered");
        Ok(())
    }

    async fn on_interruption(
        &self,
        instance: &NodeId,
        kind: InterruptionKind,
    ) -> Result<HookOutcome, ScalerError> {
        let Some(name) = self.stores.nodes.locate(instance).await? else {
            tracing::warn!(%instance, ?kind, "interruption warning for an instance no group lists");
            return Ok(HookOutcome::Unknown);
        };
        let Some(node) = self.stores.nodes.get_node(&name, instance).await? else {
            return Ok(HookOutcome::Unknown);
        };
        let in_service = node.state == NodeState::InService;
        if node.cordoned && !in_service {
            return Ok(HookOutcome::Duplicate);
        }
        // Cordoned first: whatever state the node is in, it takes no new
        // session and is never readmitted.
        if !node.cordoned {
            match self.stores.nodes.set_cordoned(&name, instance, true).await {
                Ok(_) => {}
                Err(StoreError::Conflict) => return Ok(HookOutcome::Unknown),
                Err(e) => return Err(e.into()),
            }
        }
        // An in-service node is drained: the plan finds room for its viewers
        // at once, and it goes once empty (or at its drain deadline).
        let now = self.clock.now();
        let drained = in_service
            && match self
                .stores
                .lifecycle
                .transition(
                    &name,
                    instance,
                    &[NodeState::InService],
                    NodeState::Draining,
                    Some(DrainCause::Interruption),
                    ReportGuard::Any,
                    now,
                )
                .await
            {
                Ok(()) => true,
                Err(StoreError::Conflict) => false,
                Err(e) => return Err(e.into()),
            };
        let reason = match kind {
            InterruptionKind::SpotInterruption => {
                "EC2 Spot interruption warning: the instance goes in two minutes"
            }
            InterruptionKind::RebalanceRecommendation => {
                "EC2 rebalance recommendation: the instance is at risk"
            }
        };
        let outcome = if drained {
            "done: cordoned and draining; room for its sessions is found at once, and it goes once empty"
        } else {
            "done: cordoned"
        };
        tracing::warn!(group = %name, node = %instance, ?kind, drained, "interruption warning: node cordoned");
        let records = [record(
            now,
            &node,
            Action::Cordon { node: instance.clone(), kind },
            reason.into(),
            outcome.into(),
        )];
        self.stores.log_decisions(&name, &records, self.settings.log_ttl).await?;
        Ok(HookOutcome::Cordoned)
    }
}

/// streamfleet's hooks and ASGs are named `sf-…` (the pool's are its own).
fn owns(action: &HookAction) -> bool {
    use crate::hooks::OWNED_PREFIX;
    action.hook.starts_with(OWNED_PREFIX) || action.asg.starts_with(OWNED_PREFIX) || action.asg == "pool"
}

/// A launched row not heard from yet: the only one an instance entering
/// the warm pool may take (the scaler may have listed it first).
fn is_unheard_launch(node: &Node) -> bool {
    node.state == NodeState::Pending && node.last_heartbeat_at.is_none()
}

/// A row of an instance's life that is over: it went into the warm pool,
/// or was let go, failed or died, and holds no open action.
fn is_past_life(node: &Node) -> bool {
    let open = node.hold.as_ref().is_some_and(|h| h.result.is_none());
    !open
        && matches!(
            node.state,
            NodeState::Pooling | NodeState::Terminating | NodeState::Failed | NodeState::Dead
        )
}

fn ignore_conflict(result: Result<(), StoreError>) -> Result<(), ScalerError> {
    match result {
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn record(
    now: OffsetDateTime,
    node: &Node,
    action: Action,
    reason: String,
    outcome: String,
) -> DecisionRecord {
    DecisionRecord {
        at: now,
        decision: Decision {
            action,
            role: Some(node.role),
            region: Some(node.region.clone()),
            reason,
            numbers: None,
            by: Decider::Scaler,
        },
        outcome,
    }
}
