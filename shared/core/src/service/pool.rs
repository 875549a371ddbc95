//! The simulated cloud's provision pool, as operators manage it.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::group::Cloud;
use crate::hooks::{HookAction, HookTarget, LifecycleEvent};
use crate::names::NodeId;
use crate::pool::{HostState, NewHost, PoolHost};
use crate::ports::{PoolStore, StoreError};
use crate::validation::InvalidInput;

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("host {0} is registered already")]
    Exists(NodeId),
    #[error("host {0} is not in the pool")]
    NotFound(NodeId),
    #[error("host {0} is {1:?}; only a terminated host can be reset")]
    NotTerminated(NodeId, HostState),
    #[error("host {0} is {1:?}; only a host in use or available can be terminated")]
    NotServing(NodeId, HostState),
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("the store failed")]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Pool {
    store: Arc<dyn PoolStore>,
}

impl Pool {
    pub fn new(store: Arc<dyn PoolStore>) -> Self {
        Self { store }
    }

    pub async fn add(&self, new: NewHost) -> Result<PoolHost, PoolError> {
        let valid = (1..=253).contains(&new.address.len())
            && new
                .address
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
        if !valid {
            return Err(
                InvalidInput::one("address", "format", "address is a DNS name or an IP address").into()
            );
        }
        let host = PoolHost {
            host_id: new.host_id,
            region: new.region,
            address: new.address,
            state: HostState::Available,
            group: None,
            role: None,
        };
        match self.store.add_host(&host).await {
            Ok(()) => Ok(host),
            Err(StoreError::Conflict) => Err(PoolError::Exists(host.host_id)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list(&self) -> Result<Vec<PoolHost>, PoolError> {
        Ok(self.store.list_hosts().await?)
    }

    /// Terminates a host out of band, as an operator or EC2 itself would:
    /// a host serving a group waits on the group's lifecycle hook (the
    /// returned event, for the lifecycle function); a free one goes at once.
    pub async fn terminate(
        &self,
        id: &NodeId,
        now: OffsetDateTime,
    ) -> Result<(PoolHost, Option<LifecycleEvent>), PoolError> {
        let host = self.store.get_host(id).await?.ok_or_else(|| PoolError::NotFound(id.clone()))?;
        let changed = match (&host.state, &host.group, host.role) {
            (HostState::InUse, Some(group), Some(role)) => {
                self.store
                    .set_host_state(id, HostState::InUse, HostState::Terminating, Some((group, role)))
                    .await
            }
            (HostState::Available, _, _) => {
                self.store.set_host_state(id, HostState::Available, HostState::Terminated, None).await
            }
            _ => return Err(PoolError::NotServing(id.clone(), host.state)),
        };
        let held = match changed {
            Ok(held) => held,
            Err(StoreError::Conflict) => return Err(PoolError::NotServing(id.clone(), host.state)),
            Err(e) => return Err(e.into()),
        };
        let event = match (&held.group, held.role) {
            (Some(group), Some(role)) if held.state == HostState::Terminating => {
                Some(LifecycleEvent::Terminate {
                    cloud: Cloud::Simulated,
                    action: HookAction {
                        hook: "pool-terminate".into(),
                        asg: "pool".into(),
                        token: format!("pool-{id}-{}", now.unix_timestamp_nanos()),
                        instance: id.clone(),
                        region: held.region.clone(),
                    },
                    target: Some(HookTarget {
                        group: group.clone(),
                        role,
                        region: held.region.clone(),
                        heartbeat_timeout_secs: None,
                    }),
                    warm_pool: None,
                })
            }
            _ => None,
        };
        Ok((held, event))
    }

    /// Puts a host whose termination could not be held back in service.
    pub async fn cancel_termination(&self, id: &NodeId) -> Result<PoolHost, PoolError> {
        let host = self.get(id).await?;
        let (Some(group), Some(role)) = (&host.group, host.role) else { return Ok(host) };
        match self
            .store
            .set_host_state(id, HostState::Terminating, HostState::InUse, Some((group, role)))
            .await
        {
            Ok(host) => Ok(host),
            Err(StoreError::Conflict) => self.get(id).await,
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get(&self, id: &NodeId) -> Result<PoolHost, PoolError> {
        self.store.get_host(id).await?.ok_or_else(|| PoolError::NotFound(id.clone()))
    }

    /// Makes a terminated host available again (an operator fixed it).
    pub async fn reset(&self, id: &NodeId) -> Result<PoolHost, PoolError> {
        match self.store.set_host_state(id, HostState::Terminated, HostState::Available, None).await {
            Ok(host) => Ok(host),
            Err(StoreError::Conflict) => match self.store.get_host(id).await? {
                Some(host) => Err(PoolError::NotTerminated(id.clone(), host.state)),
                None => Err(PoolError::NotFound(id.clone())),
            },
            Err(e) => Err(e.into()),
        }
    }
}
