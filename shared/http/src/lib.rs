//! The HTTP layer shared by every API function: routers (the same on Lambda
//! and locally), admin auth, JSON errors, and the OpenAPI document.

pub mod auth;
pub mod error;
pub mod extract;
mod openapi;
pub mod routes;
pub mod state;
pub mod views;

use axum::http::StatusCode;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::AdminToken;
pub use error::ApiError;
pub use openapi::api_doc;
pub use state::AppState;

use routes::{
    console, enrollment, health, heartbeats, launches, lookups, nodegroups, nodes, openapi as openapi_route,
    pool, red5, redirects, scaler, series,
};

/// Routes every function serves: health and the API document.
fn meta_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health::health)).routes(routes!(openapi_route::openapi))
}

/// The node-group admin API, and the console that drives it.
fn nodegroup_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(console::page))
        .routes(routes!(console::asset_file))
        .routes(routes!(nodegroups::create_group, nodegroups::list_groups))
        .routes(routes!(
            nodegroups::get_group,
            nodegroups::replace_group,
            nodegroups::patch_group,
            nodegroups::delete_group
        ))
        .routes(routes!(nodes::list_nodes))
        .routes(routes!(nodes::get_node, nodes::forget_node))
        .routes(routes!(nodes::cordon))
        .routes(routes!(nodes::uncordon))
        .routes(routes!(nodes::drain))
        .routes(routes!(launches::launch))
        .routes(routes!(enrollment::get_enrollment_key, enrollment::rotate_enrollment_key))
        .routes(routes!(scaler::events))
        .routes(routes!(series::series))
        .routes(routes!(pool::add_host, pool::list_hosts))
        .routes(routes!(pool::reset_host))
        .routes(routes!(pool::terminate_host))
}

/// Ticks on demand. Served by the local stack only: on AWS the scaler runs
/// on its schedule in its own function, and the admin API's function has
/// no right to touch Auto Scaling.
fn tick_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(scaler::tick_group)).routes(routes!(scaler::tick))
}

/// What media nodes call.
fn heartbeat_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(heartbeats::heartbeat)).routes(routes!(heartbeats::origin_for_edge))
}

/// What publishers and players call (public): the JSON lookup, Red5 Pro
/// SDKs' lookups, and the redirects protocol clients follow.
fn lookup_routes() -> OpenApiRouter<AppState> {
    let redirects = OpenApiRouter::new()
        .routes(routes!(redirects::whip, redirects::whip_preflight))
        .routes(routes!(redirects::whep, redirects::whep_preflight))
        .routes(routes!(redirects::hls))
        .layer(redirects::cors());
    OpenApiRouter::new()
        .routes(routes!(lookups::lookup))
        .routes(routes!(red5::red5_lookup))
        .routes(routes!(red5::red5_publish))
        .routes(routes!(red5::red5_subscribe))
        .merge(redirects)
}

/// Every route of every function, and the local stack's ticks: what the
/// local stack serves and what the OpenAPI document describes.
pub fn all_routes() -> OpenApiRouter<AppState> {
    meta_routes()
        .merge(nodegroup_routes())
        .merge(heartbeat_routes())
        .merge(lookup_routes())
        .merge(tick_routes())
}

/// The HTTP routes each Lambda function serves, as API Gateway route keys
/// (`GET /v1/health`), by function (binary) name: what the deployment
/// templates must route (`infra/contract.json` is generated from this).
pub fn lambda_routes() -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("nodegroups", route_keys(meta_routes().merge(nodegroup_routes()))),
        ("heartbeat", route_keys(heartbeat_routes())),
        ("lookup", route_keys(lookup_routes())),
    ]
}

/// The routes anyone may call, throttled on their own by the API.
pub fn public_routes() -> Vec<String> {
    route_keys(lookup_routes())
}

/// The routes media nodes call, throttled on their own by the API: a fleet's
/// heartbeats must not share a limit with the admin API (10,000 nodes every
/// 5 s are 2,000 requests a second), nor a crowd's lookups with them.
pub fn node_routes() -> Vec<String> {
    route_keys(heartbeat_routes())
}

fn route_keys(routes: OpenApiRouter<AppState>) -> Vec<String> {
    let (_, doc) = routes.split_for_parts();
    doc.paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ];
            methods
                .into_iter()
                .filter(|(_, op)| op.is_some())
                .map(move |(method, _)| format!("{method} {path}"))
        })
        .collect()
}

/// The node-group Lambda function's router.
pub fn nodegroups_app(state: AppState) -> Router {
    finish(meta_routes().merge(nodegroup_routes()), state)
}

/// The heartbeat Lambda function's router.
pub fn heartbeat_app(state: AppState) -> Router {
    finish(heartbeat_routes(), state)
}

/// The stream lookup Lambda function's router.
pub fn lookup_app(state: AppState) -> Router {
    finish(lookup_routes(), state)
}

/// Every function's routes on one router, for the local stack.
pub fn local_app(state: AppState) -> Router {
    finish(all_routes(), state)
}

/// Adds what every router needs: JSON errors for unknown routes and
/// methods, panics turned into 500s, request ids and traces.
fn finish(routes: OpenApiRouter<AppState>, state: AppState) -> Router {
    let (router, _) = routes.split_for_parts();
    let router = router
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .with_state(state);
    outer_layers(router)
}

/// Request ids, traces, and a panic answered 500 like any internal error.
/// The Lambda bootstraps unwind (`panic = "unwind"` in the release profile)
/// so that this layer answers, rather than the process ending (a 502 and a
/// cold start for everyone it served).
fn outer_layers(router: Router) -> Router {
    router
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            axum::response::IntoResponse::into_response(ApiError::internal())
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_handler_that_panics_is_answered_500_with_the_usual_error_and_a_request_id() {
        let router = outer_layers(Router::new().route("/boom", get(|| async { panic!("a bug") as &str })));
        let response = router.oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().contains_key("x-request-id"));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error["code"], "internal", "{error}");
        assert!(!error.to_string().contains("a bug"), "the panic's message stays in the log: {error}");
    }
}
