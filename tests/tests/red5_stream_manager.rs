//! Red5 Pro SDK clients, unchanged: Stream Manager 2.0's streams API (what
//! current SDKs call) and 4.0's event route, answering and failing in the
//! shapes each version's SDK reads.

use reqwest::StatusCode;
use serde_json::{json, Value};
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::{body, group_spec, spawn_app_serving_live, TestApp};

const GROUP: &str = "live-eu";

async fn app_with_group() -> TestApp {
    spawn_app_serving_live(GROUP).await
}

/// An origin holding `live/cam1` and three edges, the busiest first.
async fn live_fleet(app: &TestApp) {
    let origin = Report {
        publishers: 1,
        streams: vec!["live/cam1".into()],
        ..Report::new("origin", "eu-west-1", "198.51.100.1")
    };
    app.enroll(GROUP, "o-1", &origin).await;
    for (i, subscribers) in [70, 40, 10].into_iter().enumerate() {
        let edge = Report {
            subscribers,
            capacity: Some(100),
            ..Report::new("edge", "eu-west-1", &format!("203.0.113.{i}"))
        };
        app.enroll(GROUP, &format!("e-{i}"), &edge).await;
    }
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let response = app.lookup(path).await;
    (response.status(), body(response).await)
}

#[tokio::test]
async fn a_version_2_publish_answers_the_origin_field_by_field() {
    let app = app_with_group().await;
    live_fleet(&app).await;
    let (status, answer) = get(&app, "/as/v1/streams/stream/live-eu/publish/live/cam2").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!([{
            "streamGuid": "live/cam2",
            "serverAddress": "198.51.100.1",
            "nodeRole": "origin",
            "subGroup": "eu-west-1",
            "nodeState": "INSERVICE",
            "subscribers": 0
        }])
    );
    // A publish has one origin, however many endpoints are asked for.
    let (_, many) = get(&app, "/as/v1/streams/stream/live-eu/publish/live/cam2?endpoints=3").await;
    assert_eq!(many.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_version_2_subscribe_answers_the_edge_with_the_seat_first_then_fallbacks() {
    let app = app_with_group().await;
    live_fleet(&app).await;
    let (status, one) = get(&app, "/as/v1/streams/stream/live-eu/subscribe/live/cam1").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["serverAddress"], "203.0.113.0", "packed on the busiest edge with room");
    assert_eq!((one[0]["nodeRole"].as_str(), one[0]["subscribers"].as_u64()), (Some("edge"), Some(70)));

    let (_, three) = get(&app, "/as/v1/streams/stream/live-eu/subscribe/live/cam1?endpoints=3").await;
    let addresses: Vec<_> =
        three.as_array().unwrap().iter().map(|n| n["serverAddress"].as_str().unwrap()).collect();
    assert_eq!(addresses, ["203.0.113.0", "203.0.113.1", "203.0.113.2"], "in the order placement prefers");
    let (_, more) = get(&app, "/as/v1/streams/stream/live-eu/subscribe/live/cam1?endpoints=10").await;
    assert_eq!(more.as_array().unwrap().len(), 3, "as many as have room");
}

#[tokio::test]
async fn node_group_default_names_the_only_group_and_nothing_when_there_are_two() {
    let app = app_with_group().await;
    live_fleet(&app).await;
    let (status, answer) = get(&app, "/as/v1/streams/stream/default/subscribe/live/cam1").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer[0]["streamGuid"], "live/cam1");

    let mut other = group_spec("other");
    other["apps"] = json!(["vod"]);
    assert_eq!(app.create_group(&other).await.status(), StatusCode::CREATED);
    let (status, error) = get(&app, "/as/v1/streams/stream/default/subscribe/live/cam1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error["error"].as_str().unwrap().contains("default"), "{error}");
    assert_eq!(error["code"], "not_found", "ours beside Red5's: {error}");
}

#[tokio::test]
async fn version_2_errors_are_red5_shaped_with_our_status() {
    let app = app_with_group().await;
    live_fleet(&app).await;
    for (path, want) in [
        ("/as/v1/streams/stream/live-eu/subscribe/live/nobody", StatusCode::NOT_FOUND),
        ("/as/v1/streams/stream/nope/subscribe/live/cam1", StatusCode::NOT_FOUND),
        ("/as/v1/streams/stream/live-eu/subscribe/live/cam1?endpoints=0", StatusCode::BAD_REQUEST),
        ("/as/v1/streams/stream/live-eu/subscribe/live/cam1?endpoints=many", StatusCode::BAD_REQUEST),
        ("/as/v1/streams/stream/Live_EU/publish/live/cam1", StatusCode::BAD_REQUEST),
    ] {
        let (status, error) = get(&app, path).await;
        assert_eq!(status, want, "{path}: {error}");
        assert!(error["error"].is_string() && error["code"].is_string(), "{path}: {error}");
    }
    let (_, error) = get(&app, "/as/v1/streams/stream/live-eu/subscribe/live/cam1?endpoints=0").await;
    assert!(error["error"].as_str().unwrap().contains("endpoints"), "names the parameter: {error}");
}

#[tokio::test]
async fn version_4_errors_are_red5_4_shaped() {
    let app = app_with_group().await;
    live_fleet(&app).await;
    for (path, want) in [
        ("/streammanager/api/4.0/event/live/nobody?action=subscribe", StatusCode::NOT_FOUND),
        ("/streammanager/api/4.0/event/live/cam1?action=dance", StatusCode::BAD_REQUEST),
        ("/streammanager/api/4.0/event/live/cam1", StatusCode::BAD_REQUEST),
    ] {
        let (status, error) = get(&app, path).await;
        assert_eq!(status, want, "{path}: {error}");
        assert!(error["errorMessage"].is_string(), "{path}: {error}");
        assert!(error["timestamp"].as_i64().unwrap() > 1_700_000_000_000, "epoch ms: {error}");
    }
}
