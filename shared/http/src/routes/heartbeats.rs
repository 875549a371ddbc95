//! What media nodes call: heartbeats, and (for edges) where a stream's origin is.

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::Json;
use streamfleet_core::heartbeat::HeartbeatReport;
use streamfleet_core::names::StreamKey;
use streamfleet_core::service::Admission;

use crate::auth::NodeCredentialHeader;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{GroupPath, NodePath, RawJson, StreamPath};
use crate::state::AppState;
use crate::views::{HeartbeatAnswer, LookupAnswer};

const TAG: &str = "nodes";

/// Report a node's load. The first heartbeat of a node the group does not
/// know enrolls it when it carries the group's enrollment key; the answer
/// then holds the node's own token, which every later heartbeat carries.
#[utoipa::path(post, path = "/v1/nodegroups/{name}/nodes/{nodeId}/heartbeat", tag = TAG,
    request_body = HeartbeatReport,
    params(("name" = String, Path, description = "The node's group"), ("nodeId" = String, Path, description = "The node (EC2 instance id on AWS)")),
    security(("node" = [])),
    responses(
        (status = 200, body = HeartbeatAnswer, description = "Recorded"),
        (status = 201, body = HeartbeatAnswer, description = "Enrolled; keep `nodeToken`"),
        (status = 400, body = ErrorBody, description = "A field breaks a rule, or `sentAt` is too far from the server's clock"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "Not this node's token or this group's current key (`forbidden`, `stale_enrollment_key`), or a token revoked since (`token_revoked`)"),
        (status = 404, body = ErrorBody, description = "Unknown group, or a node token for a node no longer registered"),
        (status = 409, body = ErrorBody, description = "A replay, an already enrolled node, a role/region other than registered, a node the group did not launch (`not_launched`) or one registered in another group (`registered_elsewhere`), or a group being deleted"),
        (status = 413, body = ErrorBody, description = "A body over 64 KiB (checked after the credential)"),
        (status = 415, body = ErrorBody, description = "A body that is not JSON (checked after the credential)"),
    ))]
pub async fn heartbeat(
    NodeCredentialHeader(credential): NodeCredentialHeader,
    State(state): State<AppState>,
    NodePath(group, node): NodePath,
    request: Request,
) -> Result<(StatusCode, Json<HeartbeatAnswer>), ApiError> {
    // The credential first, the body after: a caller that is not this node
    // learns nothing, not even what a heartbeat looks like (nor its size
    // limit or content type), and costs no body read.
    let proof = state.heartbeats.verify(&group, &node, &credential)?;
    let report: HeartbeatReport = RawJson::from_request(request, &state).await?.decode()?;
    let ack = state.heartbeats.beat(&group, &node, proof, report).await?;
    let status = if ack.node_token.is_some() { StatusCode::CREATED } else { StatusCode::OK };
    let (admission_required, admission_key) = match ack.admission {
        Admission::Open => (Some(false), None),
        Admission::Tokens(key) => (Some(true), Some(key.encoded())),
        Admission::Unknown => (None, None),
    };
    Ok((
        status,
        Json(HeartbeatAnswer {
            node_id: ack.node.node_id.to_string(),
            state: ack.node.state,
            cordoned: ack.node.cordoned,
            heartbeat_interval_secs: ack.interval.as_secs(),
            node_token: ack.node_token,
            admission_required,
            admission_key,
            capacity: ack.capacity,
        }),
    ))
}

/// For an edge that must pull a stream: the origin that holds it.
#[utoipa::path(get, path = "/v1/nodegroups/{name}/streams/{app}/{stream}/origin", tag = TAG,
    params(
        ("name" = String, Path, description = "The group"),
        ("app" = String, Path), ("stream" = String, Path),
        ("X-Streamfleet-Node" = String, Header, description = "The asking node's id"),
    ),
    security(("node" = [])),
    responses(
        (status = 200, body = LookupAnswer),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "The stream is not live"),
    ))]
pub async fn origin_for_edge(
    NodeCredentialHeader(credential): NodeCredentialHeader,
    State(state): State<AppState>,
    GroupPath(group): GroupPath,
    StreamPath(app, stream): StreamPath,
    headers: axum::http::HeaderMap,
) -> Result<Json<LookupAnswer>, ApiError> {
    let node = headers
        .get("x-streamfleet-node")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| streamfleet_core::names::NodeId::parse(v).ok())
        .ok_or_else(|| {
            ApiError::invalid(streamfleet_core::InvalidInput::one(
                "X-Streamfleet-Node",
                "required",
                "name the asking node in the X-Streamfleet-Node header",
            ))
        })?;
    let placement =
        state.lookups.origin_for_edge(&group, &node, &credential, StreamKey::new(app, stream)).await?;
    Ok(Json(placement.into()))
}
