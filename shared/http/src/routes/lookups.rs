//! What publishers and players call before they connect. Public routes.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use streamfleet_core::names::{GroupName, Region};
use streamfleet_core::service::{LookupError, Placement, StreamRequest};
use streamfleet_core::telemetry::{self, LookupOutcome};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{QueryParams, StreamPath};
use crate::state::AppState;
use crate::views::LookupAnswer;

const TAG: &str = "streams";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Where to send the stream: its origin.
    Publish,
    /// Where to play the stream: an edge with room.
    Subscribe,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    #[param(inline)]
    pub action: Action,
    /// The caller's preferred region, e.g. `eu-west-1`.
    #[param(value_type = Option<String>)]
    pub region: Option<Region>,
    /// The node group; by default the group declaring the app, or the default group.
    #[param(value_type = Option<String>)]
    pub group: Option<GroupName>,
}

/// Where to publish, or play, a stream.
#[utoipa::path(get, path = "/v1/streams/{app}/{stream}", tag = TAG,
    params(("app" = String, Path, description = "The application, e.g. `live`"), ("stream" = String, Path), LookupParams),
    responses(
        (status = 200, body = LookupAnswer),
        (status = 400, body = ErrorBody, description = "A name or parameter breaks its rule"),
        (status = 404, body = ErrorBody, description = "No group serves the app, or (subscribe) the stream is not live"),
        (status = 503, body = ErrorBody, description = "No node has room; retry after Retry-After seconds"),
    ))]
pub async fn lookup(
    State(state): State<AppState>,
    StreamPath(app, stream): StreamPath,
    QueryParams(params): QueryParams<LookupParams>,
) -> Result<Json<LookupAnswer>, ApiError> {
    let request = StreamRequest { app, stream, group: params.group, region: params.region, protocol: None };
    let placement = place(&state, params.action == Action::Publish, &request).await?;
    Ok(Json(placement.into()))
}

/// A lookup, counted by outcome (and where it placed) and timed.
pub(crate) async fn place(
    state: &AppState,
    publish: bool,
    request: &StreamRequest,
) -> Result<Placement, LookupError> {
    let started = std::time::Instant::now();
    let result =
        if publish { state.lookups.publish(request).await } else { state.lookups.subscribe(request).await };
    let outcome = match &result {
        Ok(_) => LookupOutcome::Placed,
        Err(LookupError::NoRoom { .. }) => LookupOutcome::NoRoom,
        Err(
            LookupError::NoGroupForApp(_)
            | LookupError::GroupNotFound(_)
            | LookupError::GroupDeleting(_)
            | LookupError::NotLive(_)
            | LookupError::NotServed(_),
        ) => LookupOutcome::NotFound,
        Err(_) => LookupOutcome::Failed,
    };
    let placed = result.as_ref().ok().map(|p| (&p.group, p.node.role, &p.node.region));
    telemetry::lookup(if publish { "publish" } else { "subscribe" }, outcome, placed, started.elapsed());
    result
}
