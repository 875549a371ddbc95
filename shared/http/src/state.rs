//! What every handler can reach: the services and the admin credential.

use std::sync::Arc;

use axum::extract::FromRef;
use streamfleet_core::service::{Heartbeats, Lookups, NodeGroups, Operator, Pool, Scaler};

use crate::auth::AdminToken;

#[derive(Clone)]
pub struct AppState {
    pub groups: NodeGroups,
    /// Operators' node actions and groups' health.
    pub operator: Operator,
    pub heartbeats: Heartbeats,
    /// Shared: its caches serve every request of this instance.
    pub lookups: Arc<Lookups>,
    pub scaler: Arc<Scaler>,
    pub pool: Pool,
    pub admin_token: AdminToken,
}

impl FromRef<AppState> for AdminToken {
    fn from_ref(state: &AppState) -> Self {
        state.admin_token.clone()
    }
}
