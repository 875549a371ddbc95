//! Lookups by redirect, for clients with no streamfleet code: WHIP and WHEP
//! clients follow a `307` (RFC 9725 says they SHALL), HLS players a `302`
//! on the playlist. Each answer takes a seat exactly as the JSON lookup
//! does, on a node that reports an endpoint for the protocol. Public routes.

use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use streamfleet_core::names::{AppName, GroupName, Region, StreamName};
use streamfleet_core::node::protocols::{HLS, WHEP, WHIP};
use streamfleet_core::service::StreamRequest;
use tower_http::cors::{Any, CorsLayer};

use super::lookups::place;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{PlaylistPath, QueryParams, StreamPath};
use crate::state::AppState;

const TAG: &str = "streams";

/// Optional choices, as for the JSON lookup. Other parameters are ignored:
/// players add their own (LL-HLS's `_HLS_msn`, cache busters).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RedirectParams {
    /// The caller's preferred region, e.g. `eu-west-1`.
    #[param(value_type = Option<String>)]
    pub region: Option<Region>,
    /// The node group; by default the group declaring the app, or the default group.
    #[param(value_type = Option<String>)]
    pub group: Option<GroupName>,
}

/// Publish over WHIP: a `307` to the stream's origin's WHIP endpoint, where
/// the client sends its offer again.
#[utoipa::path(post, path = "/v1/whip/{app}/{stream}", tag = TAG,
    params(("app" = String, Path, description = "The application, e.g. `live`"), ("stream" = String, Path), RedirectParams),
    request_body(content = String, content_type = "application/sdp",
        description = "The SDP offer. Not read here: the client sends it again to the node (a 307 keeps the method and body)."),
    responses(
        (status = 307, description = "Send the offer to the origin's WHIP endpoint",
            headers(("location" = String, description = "The origin's WHIP URL for the stream (absolute)"))),
        (status = 400, body = ErrorBody, description = "A name or parameter breaks its rule"),
        (status = 404, body = ErrorBody, description = "No group serves the app (`no_group`), or no origin serves WHIP, or the stream is live on one that does not (`protocol_not_served`)"),
        (status = 503, body = ErrorBody, description = "No origin serving WHIP has room; retry after Retry-After seconds",
            headers(("retry-after" = u32))),
    ))]
pub async fn whip(
    State(state): State<AppState>,
    StreamPath(app, stream): StreamPath,
    QueryParams(params): QueryParams<RedirectParams>,
) -> Result<Response, ApiError> {
    redirect(&state, StatusCode::TEMPORARY_REDIRECT, WHIP, true, app, stream, params).await
}

/// The CORS preflight of the WHIP route (browsers send one before their
/// POST): answered by the `cors` layer in front of this route, which
/// answers every OPTIONS request. Here for the document and the routing.
#[utoipa::path(options, path = "/v1/whip/{app}/{stream}", tag = TAG,
    params(("app" = String, Path), ("stream" = String, Path)),
    responses((status = 200, description = "Access-Control-Allow-* headers: any origin, POST, content-type and authorization")))]
pub async fn whip_preflight() -> StatusCode {
    StatusCode::OK
}

/// The CORS preflight of the WHEP route, as [`whip_preflight`].
#[utoipa::path(options, path = "/v1/whep/{app}/{stream}", tag = TAG,
    params(("app" = String, Path), ("stream" = String, Path)),
    responses((status = 200, description = "Access-Control-Allow-* headers: any origin, POST, content-type and authorization")))]
pub async fn whep_preflight() -> StatusCode {
    StatusCode::OK
}

/// Play over WHEP: a `307` to the WHEP endpoint of an edge with room.
#[utoipa::path(post, path = "/v1/whep/{app}/{stream}", tag = TAG,
    params(("app" = String, Path, description = "The application, e.g. `live`"), ("stream" = String, Path), RedirectParams),
    request_body(content = String, content_type = "application/sdp",
        description = "The SDP offer. Not read here: the client sends it again to the node (a 307 keeps the method and body)."),
    responses(
        (status = 307, description = "Send the offer to the edge's WHEP endpoint",
            headers(("location" = String, description = "The edge's WHEP URL for the stream (absolute)"))),
        (status = 400, body = ErrorBody, description = "A name or parameter breaks its rule"),
        (status = 404, body = ErrorBody, description = "No group serves the app, the stream is not live, or no node serves WHEP (`protocol_not_served`)"),
        (status = 503, body = ErrorBody, description = "No node serving WHEP has room; retry after Retry-After seconds",
            headers(("retry-after" = u32))),
    ))]
pub async fn whep(
    State(state): State<AppState>,
    StreamPath(app, stream): StreamPath,
    QueryParams(params): QueryParams<RedirectParams>,
) -> Result<Response, ApiError> {
    redirect(&state, StatusCode::TEMPORARY_REDIRECT, WHEP, false, app, stream, params).await
}

/// Play over HLS: a `302` to the playlist on an edge with room. Players
/// resolve the playlist's relative URIs against where they landed.
#[utoipa::path(get, path = "/v1/hls/{app}/{playlist}", tag = TAG,
    params(("app" = String, Path, description = "The application, e.g. `live`"),
        ("playlist" = String, Path, description = "The stream's name followed by `.m3u8`, e.g. `stream1.m3u8`"),
        RedirectParams),
    responses(
        (status = 302, description = "Load the playlist from the edge",
            headers(("location" = String, description = "The edge's HLS URL for the stream (absolute)"))),
        (status = 400, body = ErrorBody, description = "A name or parameter breaks its rule"),
        (status = 404, body = ErrorBody, description = "No group serves the app, the stream is not live, or no node serves HLS (`protocol_not_served`)"),
        (status = 503, body = ErrorBody, description = "No node serving HLS has room; retry after Retry-After seconds",
            headers(("retry-after" = u32))),
    ))]
pub async fn hls(
    State(state): State<AppState>,
    PlaylistPath(app, stream): PlaylistPath,
    QueryParams(params): QueryParams<RedirectParams>,
) -> Result<Response, ApiError> {
    redirect(&state, StatusCode::FOUND, HLS, false, app, stream, params).await
}

async fn redirect(
    state: &AppState,
    status: StatusCode,
    protocol: &'static str,
    publish: bool,
    app: AppName,
    stream: StreamName,
    params: RedirectParams,
) -> Result<Response, ApiError> {
    let request =
        StreamRequest { app, stream, group: params.group, region: params.region, protocol: Some(protocol) };
    let placement = place(state, publish, &request).await?;
    // The node was chosen for serving the protocol, so it has the endpoint.
    let url = placement.url(protocol).ok_or_else(|| {
        tracing::error!(node = %placement.node.node_id, protocol, "a node chosen for a protocol has no endpoint for it");
        ApiError::internal()
    })?;
    let location = HeaderValue::try_from(url).map_err(|_| ApiError::internal())?;
    Ok((
        status,
        [
            (header::LOCATION, location),
            // Each player needs its own seat: no cache may answer for us.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

/// Browsers' WHIP and WHEP clients and hls.js call these routes from pages
/// of any origin: preflights are answered, and the answers (redirects and
/// errors alike) readable. On AWS, API Gateway's CORS settings
/// (`LookupCorsOrigins`) do the same in front of the function.
pub fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .expose_headers([header::LOCATION, header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600))
}
