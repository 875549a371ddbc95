//! Where a lookup's call for a tick goes. On AWS the conditional write is
//! all it takes: the table's stream, filtered on the call's item, invokes
//! the scaler function for the group (`stream_ticks`). In one process (the
//! local stack, the tests) no stream is read: a call the write let through
//! is handed to this process's own scaler.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use streamfleet_core::names::GroupName;
use streamfleet_core::ports::{StoreResult, TickRequests};
use streamfleet_core::service::{GroupTickOutcome, Scaler};
use time::OffsetDateTime;

pub struct InProcessTicks {
    store: Arc<dyn TickRequests>,
    /// Set once the state is built (the scaler is built after the lookups).
    scaler: OnceLock<Weak<Scaler>>,
}

impl InProcessTicks {
    pub fn new(store: Arc<dyn TickRequests>) -> Self {
        Self { store, scaler: OnceLock::new() }
    }

    pub fn deliver_to(&self, scaler: &Arc<Scaler>) {
        let _ = self.scaler.set(Arc::downgrade(scaler));
    }
}

#[async_trait]
impl TickRequests for InProcessTicks {
    async fn request_tick(
        &self,
        group: &GroupName,
        now: OffsetDateTime,
        window: Duration,
    ) -> StoreResult<bool> {
        let counts = self.store.request_tick(group, now, window).await?;
        if let Some(scaler) = counts.then(|| self.scaler.get().and_then(Weak::upgrade)).flatten() {
            let group = group.clone();
            // Not on the lookup's path: it answers at once, as on AWS.
            tokio::spawn(async move {
                match scaler.tick_one(&group).await {
                    Ok(GroupTickOutcome::Ticked(records)) => {
                        tracing::info!(group = %group, decisions = records.len(), "tick called by a lookup")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(group = %group, error = %e, "a tick called by a lookup failed"),
                }
            });
        }
        Ok(counts)
    }
}
