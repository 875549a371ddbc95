//! `/v1/pool/hosts`: the simulated cloud's provision pool.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use streamfleet_core::names::NodeId;
use streamfleet_core::pool::{HostState, NewHost, PoolHost};
use streamfleet_core::InvalidInput;

use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::state::AppState;

const TAG: &str = "pool";

/// Register a host in the provision pool (simulated cloud).
#[utoipa::path(post, path = "/v1/pool/hosts", tag = TAG, request_body = NewHost,
    security(("admin" = [])),
    responses(
        (status = 201, body = PoolHost),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A host of that id is registered"),
    ))]
pub async fn add_host(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(host): JsonBody<NewHost>,
) -> Result<(StatusCode, Json<PoolHost>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.pool.add(host).await?)))
}

/// The provision pool's hosts and what each is doing.
#[utoipa::path(get, path = "/v1/pool/hosts", tag = TAG,
    security(("admin" = [])),
    responses((status = 200, body = Vec<PoolHost>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_hosts(_: Admin, State(state): State<AppState>) -> Result<Json<Vec<PoolHost>>, ApiError> {
    Ok(Json(state.pool.list().await?))
}

/// Make a terminated host available again.
#[utoipa::path(post, path = "/v1/pool/hosts/{hostId}/reset", tag = TAG,
    params(("hostId" = String, Path)),
    security(("admin" = [])),
    responses(
        (status = 200, body = PoolHost),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The host is not terminated"),
    ))]
pub async fn reset_host(
    _: Admin,
    State(state): State<AppState>,
    HostPath(id): HostPath,
) -> Result<Json<PoolHost>, ApiError> {
    Ok(Json(state.pool.reset(&id).await?))
}

/// Terminate a host out of band, as an operator or EC2 would: a host serving
/// a group is held by the group's lifecycle hook while it has sessions
/// (202, state `terminating`); otherwise it goes at once (200, `terminated`).
#[utoipa::path(post, path = "/v1/pool/hosts/{hostId}/terminate", tag = TAG,
    params(("hostId" = String, Path)),
    security(("admin" = [])),
    responses(
        (status = 200, body = PoolHost, description = "Terminated"),
        (status = 202, body = PoolHost, description = "Held until its sessions end"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The host is terminating or terminated already"),
    ))]
pub async fn terminate_host(
    _: Admin,
    State(state): State<AppState>,
    HostPath(id): HostPath,
) -> Result<(StatusCode, Json<PoolHost>), ApiError> {
    let (mut host, event) = state.pool.terminate(&id, time::OffsetDateTime::now_utc()).await?;
    if let Some(event) = event {
        // The simulated cloud's lifecycle event goes straight to the hooks,
        // as EventBridge would carry EC2's to the lifecycle function. If
        // they fail, the host serves on: a pool has no hook timeout to end
        // a hold nobody keeps.
        if let Err(e) = state.scaler.hooks().on_event(event).await {
            state.pool.cancel_termination(&id).await?;
            return Err(e.into());
        }
        host = state.pool.get(&id).await?;
    }
    let status = if host.state == HostState::Terminating { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, Json(host)))
}

pub struct HostPath(NodeId);

impl<S: Send + Sync> FromRequestParts<S> for HostPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state).await.map_err(|_| {
            ApiError::invalid(InvalidInput::one("hostId", "required", "the path names no host"))
        })?;
        NodeId::parse(id)
            .map(Self)
            .map_err(|e| ApiError::invalid(InvalidInput::one("hostId", "format", e.to_string())))
    }
}
