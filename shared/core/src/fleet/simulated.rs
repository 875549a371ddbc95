//! The simulated cloud: nodes are hosts an operator registered in the
//! provision pool. Launching takes available hosts of the region, removing
//! a node gives its host back (or, for a dead node of a group that does not
//! recycle dead nodes, marks it terminated for an operator to look at).

use std::sync::Arc;

use async_trait::async_trait;

use crate::group::{NodeGroup, Role};
use crate::hooks::{HookAction, HookResult};
use crate::names::Region;
use crate::node::Node;
use crate::pool::{HostState, PoolHost};
use crate::ports::{Fleet, FleetError, Instance, PoolStore, StoreError, Synced};

pub struct SimulatedFleet {
    pool: Arc<dyn PoolStore>,
}

impl SimulatedFleet {
    pub fn new(pool: Arc<dyn PoolStore>) -> Self {
        Self { pool }
    }

    async fn hosts(&self) -> Result<Vec<PoolHost>, FleetError> {
        self.pool.list_hosts().await.map_err(unavailable)
    }
}

fn unavailable(error: StoreError) -> FleetError {
    FleetError::Unavailable(Box::new(error))
}

fn instance(host: PoolHost, role: Role) -> Instance {
    Instance {
        node_id: host.host_id,
        role,
        region: host.region,
        zone: None,
        leaving: host.state == HostState::Terminating,
        host: Some(host.address),
        protected: false,
        // A pool host has no health check: it is there or it is gone.
        unhealthy: false,
    }
}

#[async_trait]
impl Fleet for SimulatedFleet {
    /// A pool needs no setting up: its hosts serving the group.
    async fn sync(&self, group: &NodeGroup) -> Result<Synced, FleetError> {
        let instances = self
            .pool
            .hosts_of(group.name())
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|h| {
                matches!(h.state, HostState::InUse | HostState::Terminating)
                    && h.group.as_ref() == Some(group.name())
            })
            .filter_map(|h| h.role.map(|role| instance(h, role)))
            .collect();
        Ok(Synced { instances, ..Synced::default() })
    }

    async fn launch(
        &self,
        group: &NodeGroup,
        role: Role,
        region: &Region,
        count: u32,
    ) -> Result<Vec<Instance>, FleetError> {
        let mut taken = Vec::new();
        for host in
            self.hosts().await?.into_iter().filter(|h| h.state == HostState::Available && &h.region == region)
        {
            if taken.len() as u32 == count {
                break;
            }
            match self
                .pool
                .set_host_state(
                    &host.host_id,
                    HostState::Available,
                    HostState::InUse,
                    Some((group.name(), role)),
                )
                .await
            {
                Ok(host) => taken.push(instance(host, role)),
                // Another tick (of another group) took it first.
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        if (taken.len() as u32) < count {
            tracing::warn!(group = %group.name(), %region, wanted = count, got = taken.len(), "provision pool exhausted");
        }
        Ok(taken)
    }

    async fn set_protection(&self, _: &NodeGroup, _: &Node, _: bool) -> Result<(), FleetError> {
        // A pool never removes a host on its own: nothing to protect from.
        Ok(())
    }

    /// A pool has no hook timeout: nothing to renew.
    async fn keep_action(&self, _: &HookAction) -> Result<(), FleetError> {
        Ok(())
    }

    /// The held host goes, whatever the answer (as on EC2, where both end
    /// in termination).
    async fn complete_action(&self, action: &HookAction, _: HookResult) -> Result<(), FleetError> {
        match self
            .pool
            .set_host_state(&action.instance, HostState::Terminating, HostState::Terminated, None)
            .await
        {
            // Answered already, or never held.
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn terminate(&self, group: &NodeGroup, node: &Node, dead: bool) -> Result<(), FleetError> {
        let to =
            if dead && !group.spec.recycle_dead_nodes { HostState::Terminated } else { HostState::Available };
        match self.pool.set_host_state(&node.node_id, HostState::InUse, to, None).await {
            // Already given back (a retried tick), or not a pool host at all.
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}
