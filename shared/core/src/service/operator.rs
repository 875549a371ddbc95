//! What an operator does to a group's nodes by hand (cordon, drain, launch
//! more now), each written to the group's decision log as the operator's
//! decision beside the scaler's own; and the group's health they read.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::node_groups::GroupError;
use crate::clock::Clock;
use crate::group::{GroupStatus, NodeGroup, Role};
use crate::names::{GroupName, NodeId, Region};
use crate::node::{DrainCause, Node, NodeState};
use crate::ports::{
    DecisionEvents, GroupStore, NoDecisionEvents, NodeLifecycleStore, NodeStore, ReportGuard, ScalerStore,
    StoreError, TickRequests,
};
use crate::scaling::{health_of, Action, Decider, Decision, DecisionRecord, GroupHealth, SeriesPoint};
use crate::validation::InvalidInput;

/// Memory reads in flight for a page of groups' health.
const HEALTH_READS_AT_ONCE: usize = 8;

/// The most nodes one ask may launch: a typo must not start a thousand.
pub const MAX_LAUNCH_ASK: u32 = 100;

/// `POST /v1/nodegroups/{name}/launches`: this many nodes of a role in a
/// region, now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LaunchAsk {
    pub role: Role,
    pub region: Region,
    /// 1 to 100, and no more than the role's `max` leaves room for.
    pub count: u32,
}

#[derive(Clone)]
pub struct Operator {
    groups: Arc<dyn GroupStore>,
    nodes: Arc<dyn NodeStore>,
    lifecycle: Arc<dyn NodeLifecycleStore>,
    scaler: Arc<dyn ScalerStore>,
    ticks: Option<Arc<dyn TickRequests>>,
    events: Arc<dyn DecisionEvents>,
    clock: Arc<dyn Clock>,
    log_ttl: Duration,
}

impl Operator {
    pub fn new(
        groups: Arc<dyn GroupStore>,
        nodes: Arc<dyn NodeStore>,
        lifecycle: Arc<dyn NodeLifecycleStore>,
        scaler: Arc<dyn ScalerStore>,
        clock: Arc<dyn Clock>,
        log_ttl: Duration,
    ) -> Self {
        Self {
            groups,
            nodes,
            lifecycle,
            scaler,
            ticks: None,
            events: Arc::new(NoDecisionEvents),
            clock,
            log_ttl,
        }
    }

    /// Publishes the operator's decisions to `events` too.
    pub fn publishing_to(mut self, events: Arc<dyn DecisionEvents>) -> Self {
        self.events = events;
        self
    }

    /// Calls the group's tick at once after an ask (the scheduled one comes
    /// anyway).
    pub fn calling_ticks(mut self, ticks: Arc<dyn TickRequests>) -> Self {
        self.ticks = Some(ticks);
        self
    }

    /// Cordons (or uncordons) a node: it keeps its sessions but gets no new ones.
    pub async fn set_cordoned(
        &self,
        group: &GroupName,
        node: &NodeId,
        cordoned: bool,
    ) -> Result<Node, GroupError> {
        let changed = match self.nodes.set_cordoned(group, node, cordoned).await {
            Ok(changed) => changed,
            Err(StoreError::Conflict) => return Err(not_found(group, node)),
            Err(e) => return Err(e.into()),
        };
        tracing::info!(group = %group, node = %node, cordoned, "node cordon changed by an operator");
        let reason =
            if cordoned { "cordoned by an operator: no new sessions" } else { "uncordoned by an operator" };
        self.log(group, &changed, Action::SetCordon { node: node.clone(), cordoned }, reason.into()).await;
        Ok(changed)
    }

    /// Drains a node in service: no new sessions, its capacity replaced as
    /// the role's policy needs, terminated once empty or at the role's
    /// drain deadline. Draining one already draining changes nothing.
    pub async fn drain(&self, group: &GroupName, node: &NodeId) -> Result<Node, GroupError> {
        let now = self.clock.now();
        let moved = self
            .lifecycle
            .transition(
                group,
                node,
                &[NodeState::InService],
                NodeState::Draining,
                Some(DrainCause::Operator),
                ReportGuard::Any,
                now,
            )
            .await;
        let stored = self.nodes.get_node(group, node).await?.ok_or_else(|| not_found(group, node))?;
        match moved {
            Ok(()) => {
                tracing::info!(group = %group, node = %node, "node drained by an operator");
                let reason =
                    "drained by an operator: no new sessions; terminated once empty or at the role's \
                              drain deadline, its capacity replaced as the role's policy needs";
                self.log(
                    group,
                    &stored,
                    Action::Drain { node: node.clone(), cause: DrainCause::Operator },
                    reason.into(),
                )
                .await;
                Ok(stored)
            }
            Err(StoreError::Conflict) if stored.state == NodeState::Draining => Ok(stored),
            Err(StoreError::Conflict) => {
                Err(GroupError::NotDrainable { node: node.clone(), state: stored.state.as_str() })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Asks the scaler for `count` more nodes of a role in a region: its
    /// next tick (called at once) launches them. Refused when the role's
    /// max leaves no room for them.
    pub async fn launch(&self, name: &GroupName, ask: &LaunchAsk) -> Result<(), GroupError> {
        let group = self.groups.get_group(name).await?.ok_or_else(|| GroupError::NotFound(name.clone()))?;
        if group.status == GroupStatus::Deleting {
            return Err(GroupError::Deleting(name.clone()));
        }
        let max = check_ask(&group, ask)?;
        let here = self.nodes.all_nodes(name).await?;
        let running = here
            .iter()
            .filter(|n| n.role == ask.role && n.region == ask.region)
            .filter(|n| matches!(n.state, NodeState::Pending | NodeState::InService))
            .count() as u32;
        if running + ask.count > max {
            return Err(GroupError::NoRoom { role: ask.role, region: ask.region.clone(), running, max });
        }
        self.scaler.ask_launch(name, ask.role, &ask.region, ask.count).await?;
        tracing::info!(group = %name, role = %ask.role, region = %ask.region, count = ask.count, "launch asked by an operator");
        if let Some(ticks) = &self.ticks {
            let now = self.clock.now();
            // The window only keeps a storm of calls to one: an operator's
            // ask always calls (its scheduled tick would come anyway).
            if let Err(e) = ticks.request_tick(name, now, Duration::ZERO).await {
                tracing::warn!(group = %name, error = %e, "the tick call failed; the scheduled tick launches them");
            }
        }
        Ok(())
    }

    /// The group's health, from what its scaler remembers.
    pub async fn health(&self, group: &NodeGroup) -> Result<GroupHealth, GroupError> {
        let memory = self.scaler.memory(group.name()).await?;
        Ok(health_of(group, memory.as_ref(), self.clock.now()))
    }

    /// The health of each group, in order (a page of the list).
    pub async fn healths(&self, groups: &[NodeGroup]) -> Result<Vec<GroupHealth>, GroupError> {
        // The futures are made before the stream, not by a closure in it:
        // a closure's borrowed futures would not be `Send` for every lifetime.
        let reads: Vec<_> = groups.iter().map(|group| self.health(group)).collect();
        futures::stream::iter(reads)
            .buffered(HEALTH_READS_AT_ONCE)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// The group's capacity series over the last `minutes`.
    pub async fn series(&self, name: &GroupName, minutes: u32) -> Result<Vec<SeriesPoint>, GroupError> {
        if self.groups.get_group(name).await?.is_none() {
            return Err(GroupError::NotFound(name.clone()));
        }
        let since = self.clock.now() - Duration::from_secs(u64::from(minutes) * 60);
        Ok(self.scaler.list_series(name, since).await?)
    }

    /// Writes the operator's decision to the log. The action happened: a
    /// log that cannot be written loses the record, not the action.
    async fn log(&self, group: &GroupName, node: &Node, action: Action, reason: String) {
        let record = DecisionRecord {
            at: self.clock.now(),
            decision: Decision {
                action,
                role: Some(node.role),
                region: Some(node.region.clone()),
                reason,
                numbers: None,
                by: Decider::Operator,
            },
            outcome: "done".into(),
        };
        if let Err(e) = super::backends::log_decisions(
            self.scaler.as_ref(),
            self.events.as_ref(),
            group,
            &[record],
            self.log_ttl,
        )
        .await
        {
            tracing::error!(group = %group, error = %e, "the operator's decision could not be logged; it stands");
        }
    }
}

fn not_found(group: &GroupName, node: &NodeId) -> GroupError {
    GroupError::NodeNotFound { group: group.clone(), node: node.clone() }
}

/// The role's max, when the ask names a role and region of the group and
/// a count within bounds.
fn check_ask(group: &NodeGroup, ask: &LaunchAsk) -> Result<u32, InvalidInput> {
    let Some(role) = group.spec.roles.get(&ask.role) else {
        return Err(InvalidInput::one("role", "known_role", format!("the group has no {} role", ask.role)));
    };
    if !group.spec.regions.iter().any(|r| r.region == ask.region) {
        return Err(InvalidInput::one(
            "region",
            "known_region",
            format!("the group does not run in {}", ask.region),
        ));
    }
    if !(1..=MAX_LAUNCH_ASK).contains(&ask.count) {
        return Err(InvalidInput::one("count", "range", format!("must be 1 to {MAX_LAUNCH_ASK}")));
    }
    Ok(role.scale.max)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::group::example_spec;

    #[test]
    fn an_ask_names_a_role_and_region_of_the_group_and_a_sane_count() {
        let group = NodeGroup::new(example_spec("live"), datetime!(2026-12-03 18:00 UTC));
        let region = group.spec.regions[0].region.clone();
        let ask = |role: Role, region: &Region, count: u32| LaunchAsk { role, region: region.clone(), count };
        let max = group.spec.roles[&Role::Edge].scale.max;
        assert_eq!(check_ask(&group, &ask(Role::Edge, &region, 2)), Ok(max));
        let field = |r: Result<u32, InvalidInput>| r.unwrap_err().errors()[0].field.clone();
        assert_eq!(field(check_ask(&group, &ask(Role::Edge, &region, 0))), "count");
        assert_eq!(field(check_ask(&group, &ask(Role::Edge, &region, MAX_LAUNCH_ASK + 1))), "count");
        let elsewhere = Region::parse("ap-south-2").unwrap();
        assert_eq!(field(check_ask(&group, &ask(Role::Edge, &elsewhere, 1))), "region");
    }
}
