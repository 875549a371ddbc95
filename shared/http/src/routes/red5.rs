//! Red5 Pro Stream Manager's lookup routes, so that Red5 Pro SDK clients
//! work unchanged: 2.0's streams API (what current SDKs call) and 4.0's
//! event route, each answering and failing in its own shape. Public routes.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use streamfleet_core::group::Role;
use streamfleet_core::names::{AppName, Region, StreamName};
use streamfleet_core::service::{Placement, StreamRequest};
use streamfleet_core::InvalidInput;
use utoipa::ToSchema;

use super::lookups::place;
use crate::error::ApiError;
use crate::extract::{GroupStreamPath, QueryParams, StreamPath};
use crate::state::AppState;

const TAG: &str = "streams";

/// The most candidates one 2.0 lookup returns (`endpoints`).
pub const MAX_ENDPOINTS: u32 = 10;

/// A failure in the shape the Red5 SDK of that version reads; the status
/// and `Retry-After` are ours.
#[derive(Debug)]
pub enum Red5Error {
    V2(ApiError),
    V4(ApiError),
}

/// Stream Manager 2.0's error body, with our stable `code` beside it (Red5
/// SDKs read `error` and ignore the rest).
#[derive(Debug, Serialize, ToSchema)]
pub struct Red5V2ErrorBody {
    pub error: String,
    /// Our machine-readable code, as on every other error (`not_live`…).
    pub code: &'static str,
}

/// Stream Manager 4.0's error body, with our stable `code` beside it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Red5V4ErrorBody {
    pub error_message: String,
    /// When it failed, in epoch milliseconds.
    pub timestamp: i64,
    /// Our machine-readable code, as on every other error (`not_live`…).
    pub code: &'static str,
}

impl IntoResponse for Red5Error {
    fn into_response(self) -> Response {
        let (error, mut response) = match self {
            Self::V2(error) => {
                let body = Red5V2ErrorBody { error: error.message().to_owned(), code: error.code() };
                let response = (error.status(), Json(body)).into_response();
                (error, response)
            }
            Self::V4(error) => {
                let now = time::OffsetDateTime::now_utc();
                let timestamp = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
                let body = Red5V4ErrorBody {
                    error_message: error.message().to_owned(),
                    timestamp,
                    code: error.code(),
                };
                let response = (error.status(), Json(body)).into_response();
                (error, response)
            }
        };
        if let Some(secs) = error.retry_after_secs() {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Stream Manager 2.0's answer: one entry per candidate node, the first
/// the one to use.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Red5StreamNode {
    /// `<app>/<stream>`.
    pub stream_guid: String,
    /// The node's host (DNS name or IP).
    pub server_address: String,
    /// `origin` or `edge`.
    pub node_role: Role,
    /// The node's region.
    pub sub_group: String,
    /// Always `INSERVICE`: no other node is offered.
    pub node_state: &'static str,
    /// The viewers the node last reported.
    pub subscribers: u32,
    /// The admission token to present to this node, when the group
    /// requires them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Red5StreamNode {
    fn of(app: &AppName, stream: &StreamName, node: &streamfleet_core::node::Node) -> Self {
        Self {
            token: None,
            stream_guid: format!("{app}/{stream}"),
            server_address: node.host.clone().unwrap_or_default(),
            node_role: node.role,
            sub_group: node.region.to_string(),
            node_state: "INSERVICE",
            subscribers: node.load.subscribers,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Red5V2Params {
    /// How many candidate nodes to return, 1 to 10 (default 1). The first
    /// holds the caller's seat; the others are where to fall back to, in
    /// order, without one. A publish has one origin.
    pub endpoints: Option<u32>,
    /// The caller's preferred region.
    #[param(value_type = Option<String>)]
    pub region: Option<Region>,
}

/// Where to publish a stream (Red5 Pro Stream Manager 2.0): its origin.
/// Node group `default` names the deployment's group when it has one.
#[utoipa::path(get, path = "/as/v1/streams/stream/{nodeGroup}/publish/{app}/{stream}", tag = TAG,
    params(("nodeGroup" = String, Path), ("app" = String, Path), ("stream" = String, Path), Red5V2Params),
    responses(
        (status = 200, body = Vec<Red5StreamNode>),
        (status = 400, body = Red5V2ErrorBody), (status = 404, body = Red5V2ErrorBody),
        (status = 503, body = Red5V2ErrorBody, description = "No origin has room; retry after Retry-After seconds"),
    ))]
pub async fn red5_publish(
    State(state): State<AppState>,
    path: Result<GroupStreamPath, ApiError>,
    params: Result<QueryParams<Red5V2Params>, ApiError>,
) -> Result<Json<Vec<Red5StreamNode>>, Red5Error> {
    red5_v2(&state, true, path, params).await.map_err(Red5Error::V2)
}

/// Where to play a stream (Red5 Pro Stream Manager 2.0): edges with room.
#[utoipa::path(get, path = "/as/v1/streams/stream/{nodeGroup}/subscribe/{app}/{stream}", tag = TAG,
    params(("nodeGroup" = String, Path), ("app" = String, Path), ("stream" = String, Path), Red5V2Params),
    responses(
        (status = 200, body = Vec<Red5StreamNode>),
        (status = 400, body = Red5V2ErrorBody), (status = 404, body = Red5V2ErrorBody),
        (status = 503, body = Red5V2ErrorBody, description = "No node has room; retry after Retry-After seconds"),
    ))]
pub async fn red5_subscribe(
    State(state): State<AppState>,
    path: Result<GroupStreamPath, ApiError>,
    params: Result<QueryParams<Red5V2Params>, ApiError>,
) -> Result<Json<Vec<Red5StreamNode>>, Red5Error> {
    red5_v2(&state, false, path, params).await.map_err(Red5Error::V2)
}

async fn red5_v2(
    state: &AppState,
    publish: bool,
    path: Result<GroupStreamPath, ApiError>,
    params: Result<QueryParams<Red5V2Params>, ApiError>,
) -> Result<Json<Vec<Red5StreamNode>>, ApiError> {
    let GroupStreamPath(group, app, stream) = path?;
    let QueryParams(params) = params?;
    let wanted = params.endpoints.unwrap_or(1);
    if !(1..=MAX_ENDPOINTS).contains(&wanted) {
        return Err(ApiError::invalid(InvalidInput::one(
            "endpoints",
            "range",
            format!("endpoints must be between 1 and {MAX_ENDPOINTS}, got {wanted}"),
        )));
    }
    let group = if group.as_str() == "default" { state.lookups.default_alias().await? } else { group };
    let request = StreamRequest { app, stream, group: Some(group), region: params.region, protocol: None };
    let placement = place(state, publish, &request).await?;
    let chosen = Red5StreamNode {
        token: placement.token.clone(),
        ..Red5StreamNode::of(&request.app, &request.stream, &placement.node)
    };
    let mut nodes = vec![chosen];
    if !publish && wanted > 1 {
        let fallbacks = state.lookups.fallbacks(&request, &placement, wanted as usize - 1).await;
        nodes.extend(fallbacks.into_iter().map(|fallback| Red5StreamNode {
            token: fallback.token.clone(),
            ..Red5StreamNode::of(&request.app, &request.stream, &fallback.node)
        }));
    }
    Ok(Json(nodes))
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Red5Action {
    Broadcast,
    Subscribe,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Red5Params {
    #[param(inline)]
    pub action: Red5Action,
    /// Optional, as in `?action=subscribe&region=…`.
    #[param(value_type = Option<String>)]
    pub region: Option<Region>,
}

/// Red5 Pro Stream Manager 4.0's lookup answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Red5Answer {
    pub name: String,
    /// `/<app>`.
    pub scope: String,
    pub server_address: String,
    pub region: String,
    /// The admission token, when the group requires them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<Placement> for Red5Answer {
    fn from(placement: Placement) -> Self {
        Self {
            token: placement.token.clone(),
            name: placement.stream.stream.to_string(),
            scope: format!("/{}", placement.stream.app),
            server_address: placement.node.host.clone().unwrap_or_default(),
            region: placement.node.region.to_string(),
        }
    }
}

/// Red5 Pro Stream Manager 4.0 compatible lookup, for older Red5 SDK
/// clients (`scope` is the app).
#[utoipa::path(get, path = "/streammanager/api/4.0/event/{scope}/{stream}", tag = TAG,
    params(("scope" = String, Path), ("stream" = String, Path), Red5Params),
    responses(
        (status = 200, body = Red5Answer),
        (status = 400, body = Red5V4ErrorBody), (status = 404, body = Red5V4ErrorBody),
        (status = 503, body = Red5V4ErrorBody, description = "No node has room; retry after Retry-After seconds"),
    ))]
pub async fn red5_lookup(
    State(state): State<AppState>,
    path: Result<StreamPath, ApiError>,
    params: Result<QueryParams<Red5Params>, ApiError>,
) -> Result<Json<Red5Answer>, Red5Error> {
    let v4 = async {
        let StreamPath(app, stream) = path?;
        let QueryParams(params) = params?;
        let request = StreamRequest { app, stream, group: None, region: params.region, protocol: None };
        let placement = place(&state, matches!(params.action, Red5Action::Broadcast), &request).await?;
        Ok::<_, ApiError>(Json(placement.into()))
    };
    v4.await.map_err(Red5Error::V4)
}
