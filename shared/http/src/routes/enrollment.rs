//! `/v1/nodegroups/{name}/enrollment-key`: the key new nodes enroll with.

use axum::extract::State;
use axum::Json;

use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::GroupPath;
use crate::state::AppState;
use crate::views::EnrollmentKeyView;

/// The group's current enrollment key.
#[utoipa::path(get, path = "/v1/nodegroups/{name}/enrollment-key", tag = "nodes",
    params(("name" = String, Path, description = "The group's name")),
    security(("admin" = [])),
    responses(
        (status = 200, body = EnrollmentKeyView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_enrollment_key(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
) -> Result<Json<EnrollmentKeyView>, ApiError> {
    let key = state.groups.enrollment_key(&name).await?;
    Ok(Json(EnrollmentKeyView { enrollment_key: key.key, generation: key.generation }))
}

/// Issue a new enrollment key. The old one stops enrolling nodes at once;
/// nodes already enrolled keep working with their own tokens.
#[utoipa::path(post, path = "/v1/nodegroups/{name}/enrollment-key", tag = "nodes",
    params(("name" = String, Path, description = "The group's name")),
    security(("admin" = [])),
    responses(
        (status = 200, body = EnrollmentKeyView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn rotate_enrollment_key(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
) -> Result<Json<EnrollmentKeyView>, ApiError> {
    let key = state.groups.rotate_enrollment_key(&name).await?;
    Ok(Json(EnrollmentKeyView { enrollment_key: key.key, generation: key.generation }))
}
