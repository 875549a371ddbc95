//! What every handler can reach: the services and the admin credential.

use axum::extract::FromRef;
use streamfleet_core::service::NodeGroups;

use crate::auth::AdminToken;

#[derive(Clone)]
pub struct AppState {
    pub groups: NodeGroups,
    pub admin_token: AdminToken,
}

impl FromRef<AppState> for AdminToken {
    fn from_ref(state: &AppState) -> Self {
        state.admin_token.clone()
    }
}
