//! `/v1/nodegroups`: create, list, read, replace, patch and delete groups.

use axum::extract::State;
use axum::http::header::{ETAG, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use streamfleet_core::group::{NodeGroup, NodeGroupSpec};
use streamfleet_core::names::GroupName;
use streamfleet_core::page::PageSize;
use streamfleet_core::service::Deletion;

use super::PageParams;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{etag, Cursor, GroupPath, IfMatch, JsonBody, QueryParams};
use crate::state::AppState;
use crate::views::{NodeGroupPage, NodeGroupView};

const TAG: &str = "node groups";

/// A group with its version as ETag.
fn group_response(status: StatusCode, group: NodeGroup) -> Response {
    view_response(status, group.version, group.name().clone(), NodeGroupView::from(group))
}

fn view_response(status: StatusCode, version: u64, name: GroupName, view: NodeGroupView) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(ETAG, etag(version));
    if status == StatusCode::CREATED {
        let location = format!("/v1/nodegroups/{name}");
        headers.insert(LOCATION, HeaderValue::from_str(&location).expect("group names are header-safe"));
    }
    (status, headers, Json(view)).into_response()
}

/// Create a node group.
#[utoipa::path(post, path = "/v1/nodegroups", tag = TAG, request_body = NodeGroupSpec,
    security(("admin" = [])),
    responses(
        (status = 201, body = NodeGroupView, description = "Created; ETag holds the version"),
        (status = 400, body = ErrorBody, description = "A field breaks a rule; `field` names it"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A group of that name exists"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
pub async fn create_group(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(spec): JsonBody<NodeGroupSpec>,
) -> Result<Response, ApiError> {
    let group = state.groups.create(spec).await?;
    Ok(group_response(StatusCode::CREATED, group))
}

/// List node groups by name, a page at a time, each with its health.
#[utoipa::path(get, path = "/v1/nodegroups", tag = TAG, params(PageParams),
    security(("admin" = [])),
    responses(
        (status = 200, body = NodeGroupPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn list_groups(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<NodeGroupPage>, ApiError> {
    let size = PageSize::parse(params.limit)?;
    let after = params.cursor.map(|c| Cursor::decode(&c, |s| GroupName::parse(s).ok())).transpose()?;
    let page = state.groups.list(after.as_ref(), size).await?;
    let healths = state.operator.healths(&page.items).await?;
    Ok(Json(NodeGroupPage {
        next_cursor: page.next.map(|name| Cursor::encode(name.as_str())),
        items: page
            .items
            .into_iter()
            .zip(healths)
            .map(|(group, h)| NodeGroupView::with_health(group, h))
            .collect(),
    }))
}

/// Read one node group, with its health.
#[utoipa::path(get, path = "/v1/nodegroups/{name}", tag = TAG,
    params(("name" = String, Path, description = "The group's name")),
    security(("admin" = [])),
    responses(
        (status = 200, body = NodeGroupView, description = "ETag holds the version"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_group(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
) -> Result<Response, ApiError> {
    let group = state.groups.get(&name).await?;
    let health = state.operator.health(&group).await?;
    Ok(view_response(StatusCode::OK, group.version, name, NodeGroupView::with_health(group, health)))
}

/// Replace a node group's spec. `If-Match` is required.
#[utoipa::path(put, path = "/v1/nodegroups/{name}", tag = TAG, request_body = NodeGroupSpec,
    params(
        ("name" = String, Path, description = "The group's name"),
        ("If-Match" = String, Header, description = "The ETag of the version being replaced"),
    ),
    security(("admin" = [])),
    responses(
        (status = 200, body = NodeGroupView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The group is being deleted"),
        (status = 412, body = ErrorBody, description = "The group changed since that version"),
        (status = 428, body = ErrorBody, description = "If-Match is missing"),
    ))]
pub async fn replace_group(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
    if_match: IfMatch,
    JsonBody(spec): JsonBody<NodeGroupSpec>,
) -> Result<Response, ApiError> {
    let version = if_match.required()?;
    let group = state.groups.replace(&name, spec, version).await?;
    Ok(group_response(StatusCode::OK, group))
}

/// Change some fields of a node group's spec with a JSON merge patch
/// (RFC 7396). With `If-Match`, applies only to that version; without it,
/// applies to the current version, atomically.
#[utoipa::path(patch, path = "/v1/nodegroups/{name}", tag = TAG,
    request_body(content = Object, content_type = "application/merge-patch+json",
        description = "Fields to change; null removes an optional field"),
    params(
        ("name" = String, Path, description = "The group's name"),
        ("If-Match" = Option<String>, Header, description = "The ETag of the version being patched"),
    ),
    security(("admin" = [])),
    responses(
        (status = 200, body = NodeGroupView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 412, body = ErrorBody, description = "The group changed since that version"),
    ))]
pub async fn patch_group(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
    IfMatch(version): IfMatch,
    JsonBody(patch): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    let group = state.groups.patch(&name, &patch, version).await?;
    Ok(group_response(StatusCode::OK, group))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Drain the group's nodes first, then delete it (202).
    #[serde(default)]
    pub drain: bool,
}

/// Delete a node group. Refused while it has nodes, unless `drain=true`:
/// then the group stops taking sessions, drains, and goes once empty.
#[utoipa::path(delete, path = "/v1/nodegroups/{name}", tag = TAG,
    params(
        ("name" = String, Path, description = "The group's name"),
        ("If-Match" = Option<String>, Header, description = "Delete only this version"),
        DeleteParams,
    ),
    security(("admin" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 202, body = NodeGroupView, description = "Draining; deleted once its nodes are gone"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The group still has nodes"),
        (status = 412, body = ErrorBody),
    ))]
pub async fn delete_group(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
    IfMatch(version): IfMatch,
    QueryParams(params): QueryParams<DeleteParams>,
) -> Result<Response, ApiError> {
    match state.groups.delete(&name, version, params.drain).await? {
        Deletion::Deleted => Ok(StatusCode::NO_CONTENT.into_response()),
        Deletion::Draining(group) => Ok(group_response(StatusCode::ACCEPTED, group)),
    }
}
