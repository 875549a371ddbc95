//! The simulated cloud's provision pool, as operators manage it.

use std::sync::Arc;

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
