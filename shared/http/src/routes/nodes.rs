//! `/v1/nodegroups/{name}/nodes`: the group's nodes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use streamfleet_core::names::NodeId;
use streamfleet_core::node::Node;
use streamfleet_core::page::PageSize;

use super::PageParams;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Cursor, GroupPath, NodePath, QueryParams};
use crate::state::AppState;
use crate::views::NodePage;

/// List a group's nodes, by id, a page at a time.
#[utoipa::path(get, path = "/v1/nodegroups/{name}/nodes", tag = "nodes",
    params(("name" = String, Path, description = "The group's name"), PageParams),
    security(("admin" = [])),
    responses(
        (status = 200, body = NodePage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn list_nodes(
    _: Admin,
    State(state): State<AppState>,
    GroupPath(name): GroupPath,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<NodePage>, ApiError> {
    let size = PageSize::parse(params.limit)?;
    let after = params.cursor.map(|c| Cursor::decode(&c, |s| NodeId::parse(s).ok())).transpose()?;
    let page = state.groups.list_nodes(&name, after.as_ref(), size).await?;
    Ok(Json(NodePage { next_cursor: page.next.map(|id| Cursor::encode(id.as_str())), items: page.items }))
}

/// Read one node.
#[utoipa::path(get, path = "/v1/nodegroups/{name}/nodes/{nodeId}", tag = "nodes",
    params(("name" = String, Path, description = "The group's name"), ("nodeId" = String, Path)),
    security(("admin" = [])),
    responses(
        (status = 200, body = Node),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn get_node(
    _: Admin,
    State(state): State<AppState>,
    NodePath(group, node): NodePath,
) -> Result<Json<Node>, ApiError> {
    Ok(Json(state.groups.get_node(&group, &node).await?))
}

/// Cordon a node: it keeps its sessions but receives no new ones.
#[utoipa::path(post, path = "/v1/nodegroups/{name}/nodes/{nodeId}/cordon", tag = "nodes",
    params(("name" = String, Path, description = "The group's name"), ("nodeId" = String, Path)),
    security(("admin" = [])),
    responses(
        (status = 200, body = Node),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn cordon(
    _: Admin,
    State(state): State<AppState>,
    NodePath(group, node): NodePath,
) -> Result<Json<Node>, ApiError> {
    Ok(Json(state.operator.set_cordoned(&group, &node, true).await?))
}

/// Uncordon a node: it receives new sessions again.
#[utoipa::path(post, path = "/v1/nodegroups/{name}/nodes/{nodeId}/uncordon", tag = "nodes",
    params(("name" = String, Path, description = "The group's name"), ("nodeId" = String, Path)),
    security(("admin" = [])),
    responses(
        (status = 200, body = Node),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn uncordon(
    _: Admin,
    State(state): State<AppState>,
    NodePath(group, node): NodePath,
) -> Result<Json<Node>, ApiError> {
    Ok(Json(state.operator.set_cordoned(&group, &node, false).await?))
}

/// Drain a node in service: it keeps its sessions and gets no new ones,
/// its capacity is replaced as the role's policy needs, and it is
/// terminated once empty or at the role's drain deadline (even while
/// scaling is paused). Draining a draining node changes nothing.
#[utoipa::path(post, path = "/v1/nodegroups/{name}/nodes/{nodeId}/drain", tag = "nodes",
    params(("name" = String, Path, description = "The group's name"), ("nodeId" = String, Path)),
    security(("admin" = [])),
    responses(
        (status = 200, body = Node, description = "Draining"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The node is not in service (`not_in_service`)"),
    ))]
pub async fn drain(
    _: Admin,
    State(state): State<AppState>,
    NodePath(group, node): NodePath,
) -> Result<Json<Node>, ApiError> {
    Ok(Json(state.operator.drain(&group, &node).await?))
}

/// Forget a node and revoke its token. A node its group's cloud still runs
/// is listed again by the next scaler tick and may enroll anew with the
/// group's key; the old token never reports again. Refused (409 `held`)
/// while the node holds a lifecycle action.
#[utoipa::path(delete, path = "/v1/nodegroups/{name}/nodes/{nodeId}", tag = "nodes",
    params(("name" = String, Path, description = "The group's name"), ("nodeId" = String, Path)),
    security(("admin" = [])),
    responses(
        (status = 204, description = "Forgotten; its token is revoked"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
pub async fn forget_node(
    _: Admin,
    State(state): State<AppState>,
    NodePath(group, node): NodePath,
) -> Result<StatusCode, ApiError> {
    state.groups.forget_node(&group, &node).await?;
    Ok(StatusCode::NO_CONTENT)
}
