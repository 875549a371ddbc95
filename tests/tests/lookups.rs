//! Stream lookup end to end: nodes report by heartbeat, publishers and
//! players ask where to go.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use streamfleet_runtime::Tuning;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::{body, group_spec, spawn_app_with, TestApp};

const GROUP: &str = "live-eu";

/// A group serving app `live` in eu-west-1 and eu-central-1.
async fn app_with(tuning: Tuning) -> TestApp {
    let app = spawn_app_with(tuning).await;
    let mut spec = group_spec(GROUP);
    spec["apps"] = json!(["live"]);
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    app
}

/// No caching: every lookup sees the store as it is.
fn uncached() -> Tuning {
    Tuning { fleet_cache_ttl: Duration::ZERO, group_cache_ttl: Duration::ZERO, ..Tuning::default() }
}

async fn app() -> TestApp {
    app_with(uncached()).await
}

/// Enrolls a node and returns its token.
async fn node(app: &TestApp, id: &str, report: &Report) -> String {
    app.enroll(GROUP, id, report).await
}

fn origin(host: &str) -> Report {
    Report::new("origin", "eu-west-1", host)
}

fn edge(region: &'static str, host: &str, subscribers: u32) -> Report {
    Report { subscribers, ..Report::new("edge", region, host) }
}

async fn lookup_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let response = app.lookup(path).await;
    (response.status(), body(response).await)
}

#[tokio::test]
async fn publish_goes_to_the_least_loaded_origin_and_sticks() {
    let app = app().await;
    let busy = Report { publishers: 50, ..origin("198.51.100.1") };
    let busy_token = node(&app, "o-busy", &busy).await;
    let idle_token = node(&app, "o-idle", &origin("198.51.100.2")).await;

    let (status, first) = lookup_json(&app, "/v1/streams/live/cam1?action=publish").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["nodeId"], "o-idle");
    assert_eq!(first["role"], "origin");
    assert_eq!(first["serverAddress"], "198.51.100.2");
    assert_eq!(first["urls"]["rtmp"], "rtmp://198.51.100.2:1935/live/cam1");
    assert_eq!(first["region"], "eu-west-1");

    // Now the idle origin is the busier one; the stream stays where it is.
    app.report(GROUP, "o-idle", &idle_token, &Report { publishers: 90, ..origin("198.51.100.2") }).await;
    // Both report, as nodes do every few seconds: on a loaded emulator the
    // first report could otherwise pass the stale cut-off.
    app.report(GROUP, "o-busy", &busy_token, &busy).await;
    let (_, again) = lookup_json(&app, "/v1/streams/live/cam1?action=publish").await;
    assert_eq!(again["nodeId"], "o-idle");
    let (_, other_stream) = lookup_json(&app, "/v1/streams/live/cam2?action=publish").await;
    assert_eq!(other_stream["nodeId"], "o-busy", "a new stream goes to the now least-loaded origin");
}

#[tokio::test]
async fn a_route_no_origin_confirms_lapses_and_binds_the_next_publisher_no_more() {
    let app = app_with(Tuning { route_ttl: Duration::from_millis(1500), ..uncached() }).await;
    let first_token = node(&app, "o-first", &origin("198.51.100.1")).await;
    node(&app, "o-second", &Report { publishers: 10, ..origin("198.51.100.2") }).await;
    let (_, first) = lookup_json(&app, "/v1/streams/live/ghost?action=publish").await;
    assert_eq!(first["nodeId"], "o-first");
    // Nobody publishes "ghost": no origin reports it. The route goes with
    // its time to live, not a day later.
    let dynamodb = app.dynamodb().await;
    let item = dynamodb
        .get_item()
        .table_name(&app.config.table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("STREAM#{GROUP}#live/ghost")))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("ROUTE".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the route is stored");
    let expires: i64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
    assert!(expires <= time::OffsetDateTime::now_utc().unix_timestamp() + 2, "expires at {expires}");

    app.report(GROUP, "o-first", &first_token, &Report { publishers: 50, ..origin("198.51.100.1") }).await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (_, again) = lookup_json(&app, "/v1/streams/live/ghost?action=publish").await;
    assert_eq!(again["nodeId"], "o-second", "the lapsed route is replaced, not followed: {again}");
}

#[tokio::test]
async fn subscribe_answers_not_live_until_an_origin_holds_the_stream() {
    let app = app().await;
    let origin_token = node(&app, "o-1", &origin("198.51.100.1")).await;
    node(&app, "e-1", &edge("eu-west-1", "203.0.113.1", 0)).await;
    let (status, error) = lookup_json(&app, "/v1/streams/live/cam1?action=subscribe").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["code"], "not_live");

    lookup_json(&app, "/v1/streams/live/cam1?action=publish").await;
    let live = Report { publishers: 1, streams: vec!["live/cam1".into()], ..origin("198.51.100.1") };
    app.report(GROUP, "o-1", &origin_token, &live).await;
    let (status, answer) = lookup_json(&app, "/v1/streams/live/cam1?action=subscribe").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((answer["nodeId"].clone(), answer["role"].clone()), (json!("e-1"), json!("edge")));
    assert_eq!(answer["urls"]["hls"], "http://203.0.113.1:8080/hls/cam1.m3u8");
}

/// A group with one live stream on origin `o-1`; returns the origin's token.
async fn live_stream(app: &TestApp) -> String {
    let token = node(app, "o-1", &origin("198.51.100.1")).await;
    lookup_json(app, "/v1/streams/live/cam1?action=publish").await;
    let live = Report { publishers: 1, streams: vec!["live/cam1".into()], ..origin("198.51.100.1") };
    app.report(GROUP, "o-1", &token, &live).await;
    token
}

#[tokio::test]
async fn viewers_are_packed_onto_the_busiest_edge_with_headroom() {
    let app = app().await;
    live_stream(&app).await;
    node(&app, "e-quiet", &edge("eu-west-1", "203.0.113.1", 10)).await;
    node(&app, "e-busy", &edge("eu-west-1", "203.0.113.2", 600)).await;
    node(&app, "e-hot", &edge("eu-west-1", "203.0.113.3", 960)).await;
    let (_, answer) = lookup_json(&app, "/v1/streams/live/cam1?action=subscribe").await;
    assert_eq!(answer["nodeId"], "e-busy", "busiest below the 95 % ceiling of 1000");
}

#[tokio::test]
async fn the_requested_region_is_preferred_then_the_nearest() {
    let app = app().await;
    live_stream(&app).await;
    node(&app, "e-west", &edge("eu-west-1", "203.0.113.1", 0)).await;
    let central = node(&app, "e-central", &edge("eu-central-1", "203.0.113.2", 0)).await;
    let (_, answer) = lookup_json(&app, "/v1/streams/live/cam1?action=subscribe&region=eu-central-1").await;
    assert_eq!(answer["nodeId"], "e-central");
    app.report(GROUP, "e-central", &central, &edge("eu-central-1", "203.0.113.2", 1000)).await;
    let (_, answer) = lookup_json(&app, "/v1/streams/live/cam1?action=subscribe&region=eu-central-1").await;
    assert_eq!(answer["nodeId"], "e-west", "the full region spills to its neighbour");
}

#[tokio::test]
async fn without_edges_viewers_play_from_the_origin() {
    let app = app().await;
    live_stream(&app).await;
    let (status, answer) = lookup_json(&app, "/v1/streams/live/cam1?action=subscribe").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((answer["nodeId"].clone(), answer["role"].clone()), (json!("o-1"), json!("origin")));
}

#[tokio::test]
async fn when_every_edge_is_full_the_answer_is_503_and_the_scaler_is_told() {
    let app = app().await;
    live_stream(&app).await;
    node(&app, "e-1", &Report { capacity: Some(10), ..edge("eu-west-1", "203.0.113.1", 10) }).await;
    let response = app.lookup("/v1/streams/live/cam1?action=subscribe&region=eu-west-1").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(body(response).await["code"], "no_room");

    let item = app
        .dynamodb()
        .await
        .get_item()
        .table_name(&app.config.table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("GROUP#{GROUP}")))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("SCALER".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["pressure:edge:eu-west-1"].as_n().unwrap(), "1");
}

#[tokio::test]
async fn a_cordoned_edge_gets_no_new_viewers() {
    let app = app().await;
    live_stream(&app).await;
    node(&app, "e-1", &edge("eu-west-1", "203.0.113.1", 500)).await;
    node(&app, "e-2", &edge("eu-west-1", "203.0.113.2", 0)).await;
    app.admin(Method::POST, &format!("/v1/nodegroups/{GROUP}/nodes/e-1/cordon")).send().await.unwrap();
    let (_, answer) = lookup_json(&app, "/v1/streams/live/cam1?action=subscribe").await;
    assert_eq!(answer["nodeId"], "e-2");
}

#[tokio::test]
async fn a_node_that_stops_heart_beating_leaves_the_lookups_after_the_cutoff() {
    let app = app_with(Tuning { stale_after: Duration::from_secs(1), ..uncached() }).await;
    let origin_token = live_stream(&app).await;
    let live = Report { publishers: 1, streams: vec!["live/cam1".into()], ..origin("198.51.100.1") };
    let fresh_token = node(&app, "e-fresh", &edge("eu-west-1", "203.0.113.1", 0)).await;
    node(&app, "e-silent", &edge("eu-west-1", "203.0.113.2", 500)).await;
    let (_, answer) = lookup_json(&app, "/v1/streams/live/cam1?action=subscribe").await;
    assert_eq!(answer["nodeId"], "e-silent", "packed while it reports");

    tokio::time::sleep(Duration::from_millis(1200)).await;
    app.report(GROUP, "o-1", &origin_token, &live).await;
    app.report(GROUP, "e-fresh", &fresh_token, &edge("eu-west-1", "203.0.113.1", 0)).await;
    let (_, answer) = lookup_json(&app, "/v1/streams/live/cam1?action=subscribe").await;
    assert_eq!(answer["nodeId"], "e-fresh", "the silent edge is out after the cutoff");
}

#[tokio::test]
async fn a_stream_whose_origin_went_silent_moves_to_a_live_origin() {
    let app = app_with(Tuning { stale_after: Duration::from_secs(1), ..uncached() }).await;
    node(&app, "o-1", &origin("198.51.100.1")).await;
    let (_, first) = lookup_json(&app, "/v1/streams/live/cam1?action=publish").await;
    assert_eq!(first["nodeId"], "o-1");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    node(&app, "o-2", &origin("198.51.100.2")).await;
    let (status, moved) = lookup_json(&app, "/v1/streams/live/cam1?action=publish").await;
    assert_eq!((status, moved["nodeId"].clone()), (StatusCode::OK, json!("o-2")));
}

#[tokio::test]
async fn names_and_parameters_are_validated_before_anything_is_read() {
    let app = app().await;
    for (path, field) in [
        ("/v1/streams/li%20ve/cam1?action=publish", "app"),
        ("/v1/streams/live/cam%231?action=publish", "stream"),
        ("/v1/streams/live/cam1", "action"),
        ("/v1/streams/live/cam1?action=watch", "action"),
        ("/v1/streams/live/cam1?action=publish&region=mars", "region"),
        ("/v1/streams/live/cam1?action=publish&group=Bad_Group", "group"),
        ("/v1/streams/live/cam1?action=publish&x=1", "x"),
    ] {
        let (status, error) = lookup_json(&app, path).await;
        assert_eq!((status, error["field"].clone()), (StatusCode::BAD_REQUEST, json!(field)), "{path}");
    }
    let (status, _) =
        lookup_json(&app, &format!("/v1/streams/live/{}?action=publish", "x".repeat(129))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn apps_resolve_to_their_group_or_the_default_and_are_claimed_once() {
    let app = app().await;
    node(&app, "o-1", &origin("198.51.100.1")).await;
    let (status, error) = lookup_json(&app, "/v1/streams/vod/cam1?action=publish").await;
    assert_eq!((status, error["code"].clone()), (StatusCode::NOT_FOUND, json!("no_group")));

    let mut rival = group_spec("rival");
    rival["apps"] = json!(["live"]);
    let taken = app.create_group(&rival).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(body(taken).await["code"], "app_taken");

    let mut fallback = group_spec("fallback");
    fallback["default"] = json!(true);
    assert_eq!(app.create_group(&fallback).await.status(), StatusCode::CREATED);
    let (status, error) = lookup_json(&app, "/v1/streams/vod/cam1?action=publish").await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "served by the default group, which has no origin yet"
    );
    assert!(error["message"].as_str().unwrap().contains("fallback"), "{error}");
    let mut second_default = group_spec("another");
    second_default["default"] = json!(true);
    assert_eq!(app.create_group(&second_default).await.status(), StatusCode::CONFLICT);

    // Releasing a claim frees it.
    let patched = app
        .admin(Method::PATCH, &format!("/v1/nodegroups/{GROUP}"))
        .header("Content-Type", "application/merge-patch+json")
        .body(json!({"apps": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(app.create_group(&rival).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_edge_asks_which_origin_holds_a_stream() {
    let app = app().await;
    live_stream(&app).await;
    let edge_token = node(&app, "e-1", &edge("eu-west-1", "203.0.113.1", 0)).await;
    let path = format!("/v1/nodegroups/{GROUP}/streams/live/cam1/origin");
    let response = app
        .anonymous(Method::GET, &path)
        .bearer_auth(&edge_token)
        .header("X-Streamfleet-Node", "e-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await["nodeId"], "o-1");
    let impersonating = app
        .anonymous(Method::GET, &path)
        .bearer_auth(&edge_token)
        .header("X-Streamfleet-Node", "o-1")
        .send()
        .await
        .unwrap();
    assert_eq!(impersonating.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn red5_clients_get_the_stream_manager_shape() {
    let app = app().await;
    live_stream(&app).await;
    node(&app, "e-1", &edge("eu-west-1", "203.0.113.1", 0)).await;
    let (status, broadcast) =
        lookup_json(&app, "/streammanager/api/4.0/event/live/cam1?action=broadcast").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        broadcast,
        json!({"name": "cam1", "scope": "/live", "serverAddress": "198.51.100.1", "region": "eu-west-1"})
    );
    let (_, subscribe) = lookup_json(&app, "/streammanager/api/4.0/event/live/cam1?action=subscribe").await;
    assert_eq!(subscribe["serverAddress"], "203.0.113.1");
}
