//! `/v1/nodegroups/{name}/launches`: an operator asks for nodes now.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use streamfleet_core::service::LaunchAsk;

use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{GroupPath, JsonBody};
use crate::state::AppState;

/// Launch nodes of a role in a region now (Red5's "launch new node"). The
/// scaler's next tick, called at once, starts them and writes the launch
/// to the decision log as the operator's. They count as capacity like any
/// other: past the role's scale-in cooldown, an idle fleet scales in again
/// (raise `min` or add a schedule to keep them).
#[utoipa::path(post, path = "/v1/nodegroups/{name}/launches", tag = "nodes", request_body = LaunchAsk,
    params(("name" = String, Path, description = "The group's name")),
    security(("admin" = [])),
    responses(
        (status = 202, body = LaunchAsk, description = "Asked; the scaler's next tick launches them"),
        (status = 400, body = ErrorBody, description = "`role`, `region` or `count` is wrong; `field` names it"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody,
            description = "The role's max leaves no room (`no_room`, field `count`), or the group is being deleted"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
pub async fn launch(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
    JsonBody(ask): JsonBody<LaunchAsk>,
) -> Result<(StatusCode, Json<LaunchAsk>), ApiError> {
    state.operator.launch(&name, &ask).await?;
    Ok((StatusCode::ACCEPTED, Json(ask)))
}
