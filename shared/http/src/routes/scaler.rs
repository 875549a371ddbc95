//! The scaler as operators see it: its decision log, and ticks on demand.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use streamfleet_core::page::PageSize;
use streamfleet_core::scaling::DecisionRecord;
use streamfleet_core::service::{GroupTickOutcome, TickReport};

use super::PageParams;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Cursor, GroupPath, QueryParams};
use crate::state::AppState;
use crate::views::DecisionPage;

const TAG: &str = "scaler";

/// The group's scaling decisions, newest first: when, what, why, and the
/// numbers behind it.
#[utoipa::path(get, path = "/v1/nodegroups/{name}/events", tag = TAG,
    params(("name" = String, Path, description = "The group's name"), PageParams),
    security(("admin" = [])),
    responses(
        (status = 200, body = DecisionPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn events(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<DecisionPage>, ApiError> {
    let size = PageSize::parse(params.limit)?;
    let after =
        params.cursor.map(|c| Cursor::decode(&c, |s| s.starts_with("EVENT#").then_some(s))).transpose()?;
    let page = state.scaler.decisions(&name, after.as_deref(), size).await?.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("node group {name} does not exist"))
    })?;
    Ok(Json(DecisionPage { items: page.items, next_cursor: page.next.map(|sk| Cursor::encode(&sk)) }))
}

/// Run the scaler on every group now, as its schedule would.
///
/// Local stack only: on AWS, invoke the scaler function (`aws lambda invoke`).
#[utoipa::path(post, path = "/v1/scaler/tick", tag = TAG,
    security(("admin" = [])),
    responses(
        (status = 200, body = TickReport),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody),
    ))]
pub async fn tick(_: Admin, State(state): State<AppState>) -> Result<Json<TickReport>, ApiError> {
    Ok(Json(state.scaler.tick().await?))
}

/// Run the scaler on one group now; answers the decisions it took.
///
/// Local stack only: on AWS, invoke the scaler function (`aws lambda invoke`).
#[utoipa::path(post, path = "/v1/nodegroups/{name}/tick", tag = TAG,
    params(("name" = String, Path, description = "The group's name")),
    security(("admin" = [])),
    responses(
        (status = 200, body = Vec<DecisionRecord>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Another tick is working on the group"),
    ))]
pub async fn tick_group(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
) -> Result<Json<Vec<DecisionRecord>>, ApiError> {
    match state.scaler.tick_one(&name).await? {
        GroupTickOutcome::Ticked(records) => Ok(Json(records)),
        GroupTickOutcome::Leased => Err(ApiError::new(
            StatusCode::CONFLICT,
            "tick_under_way",
            "another tick is working on this group",
        )),
        GroupTickOutcome::NoSuchGroup => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("node group {name} does not exist"),
        )),
    }
}
