//! `/v1/nodegroups/{name}/series`: capacity against demand over time.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use streamfleet_core::scaling::SeriesPoint;
use streamfleet_core::InvalidInput;
use utoipa::ToSchema;

use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{GroupPath, QueryParams};
use crate::state::AppState;

/// How far back a chart looks by default, and at most (the points' TTL).
const DEFAULT_MINUTES: u32 = 60;
const MAX_MINUTES: u32 = 24 * 60;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// How many minutes back, 1 to 1440 (default 60).
    pub minutes: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesPage {
    /// Oldest first: one point per role and region every 30 s or so.
    pub items: Vec<SeriesPoint>,
}

/// Each role's capacity, sessions and demand per region over the last
/// minutes, as the scaler's ticks saw them.
#[utoipa::path(get, path = "/v1/nodegroups/{name}/series", tag = "scaler",
    params(("name" = String, Path, description = "The group's name"), SeriesParams),
    security(("admin" = [])),
    responses(
        (status = 200, body = SeriesPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn series(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
    QueryParams(params): QueryParams<SeriesParams>,
) -> Result<Json<SeriesPage>, ApiError> {
    let minutes = params.minutes.unwrap_or(DEFAULT_MINUTES);
    if !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(InvalidInput::one("minutes", "range", format!("must be 1 to {MAX_MINUTES}")).into());
    }
    let items = state.operator.series(&name, minutes).await?;
    Ok(Json(SeriesPage { items }))
}
