//! The HTTP functions' workloads: every route each one serves.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::ok;
use crate::nodes::Report;
use crate::scaling::simulated_group;
use crate::TestApp;

/// Every admin route, on a simulated group placed on pool hosts.
pub(super) async fn node_groups(setup: &TestApp, app: &TestApp) {
    let group = "audit";
    let spec = simulated_group(group, 3);
    ok(app.anonymous(Method::GET, "/v1/health").send().await.unwrap(), "health").await;
    ok(app.anonymous(Method::GET, "/v1/openapi.json").send().await.unwrap(), "openapi").await;
    for page in ["/console", "/console/console.js"] {
        let response = app.anonymous(Method::GET, page).send().await.unwrap();
        assert!(response.status().is_success(), "{page}: {}", response.status());
    }
    ok(app.create_group(&spec).await, "create").await;
    ok(app.admin(Method::GET, "/v1/nodegroups").send().await.unwrap(), "list").await;
    ok(app.get_group(group).await, "get").await;
    let path = format!("/v1/nodegroups/{group}");
    let mut replaced = spec.clone();
    replaced["roles"]["edge"]["scale"]["max"] = json!(4);
    let version = app.etag(group).await;
    ok(
        app.admin(Method::PUT, &path).header("if-match", version).json(&replaced).send().await.unwrap(),
        "replace",
    )
    .await;
    let patch = json!({"roles": {"edge": {"scale": {"max": 3}}}});
    ok(app.patch_group(group, &patch).await, "patch").await;
    ok(app.admin(Method::GET, &format!("{path}/enrollment-key")).send().await.unwrap(), "key").await;
    ok(app.admin(Method::POST, &format!("{path}/enrollment-key")).send().await.unwrap(), "rotate").await;

    // Three pool hosts: the group's first tick (the scaler's) takes two.
    for i in 0..3 {
        let host =
            json!({"hostId": format!("h-{i}"), "region": "eu-west-1", "address": format!("10.0.0.{i}")});
        ok(app.admin(Method::POST, "/v1/pool/hosts").json(&host).send().await.unwrap(), "add host").await;
    }
    setup.tick(group).await;
    let hosts = ok(app.admin(Method::GET, "/v1/pool/hosts").send().await.unwrap(), "hosts").await;
    let (used, free): (Vec<&Value>, Vec<&Value>) =
        hosts.as_array().expect("a list").iter().partition(|h| h["state"] == "inUse");
    let host_id = |h: &Value| h["hostId"].as_str().expect("an id").to_owned();
    let (used, other, free) = (host_id(used[0]), host_id(used[1]), host_id(free[0]));

    ok(app.admin(Method::GET, &format!("{path}/nodes")).send().await.unwrap(), "nodes").await;
    ok(app.admin(Method::GET, &format!("{path}/nodes/{used}")).send().await.unwrap(), "node").await;
    ok(app.admin(Method::POST, &format!("{path}/nodes/{used}/cordon")).send().await.unwrap(), "cordon").await;
    ok(app.admin(Method::POST, &format!("{path}/nodes/{used}/uncordon")).send().await.unwrap(), "uncordon")
        .await;
    // An operator drains a node in service, and asks for one more edge.
    let node =
        ok(app.admin(Method::GET, &format!("{path}/nodes/{used}")).send().await.unwrap(), "node").await;
    let role = if node["role"] == "origin" { "origin" } else { "edge" };
    setup.enroll(group, &used, &crate::scaling::host_report(role, &used)).await;
    ok(app.admin(Method::POST, &format!("{path}/nodes/{used}/drain")).send().await.unwrap(), "drain").await;
    let ask = json!({"role": "edge", "region": "eu-west-1", "count": 1});
    ok(app.admin(Method::POST, &format!("{path}/launches")).json(&ask).send().await.unwrap(), "launch").await;
    ok(app.admin(Method::DELETE, &format!("{path}/nodes/{other}")).send().await.unwrap(), "forget").await;
    // An in-use host's termination goes through its group's lifecycle hold.
    ok(
        app.admin(Method::POST, &format!("/v1/pool/hosts/{used}/terminate")).send().await.unwrap(),
        "terminate",
    )
    .await;
    ok(app.admin(Method::POST, &format!("/v1/pool/hosts/{free}/terminate")).send().await.unwrap(), "retire")
        .await;
    ok(app.admin(Method::POST, &format!("/v1/pool/hosts/{free}/reset")).send().await.unwrap(), "reset").await;
    ok(app.admin(Method::GET, &format!("{path}/events")).send().await.unwrap(), "events").await;
    ok(app.admin(Method::GET, &format!("{path}/series")).send().await.unwrap(), "series").await;

    let drained = app.admin(Method::DELETE, &format!("{path}?drain=true")).send().await.unwrap();
    assert_eq!(drained.status(), StatusCode::ACCEPTED, "a group with nodes drains first");
    ok(app.create_group(&simulated_group("empty", 2)).await, "create").await;
    ok(app.admin(Method::DELETE, "/v1/nodegroups/empty").send().await.unwrap(), "delete").await;
}

/// Enrolment, heartbeats and an edge asking for a stream's origin.
pub(super) async fn heartbeats(setup: &TestApp, app: &TestApp) {
    let group = "live-eu";
    let mut spec = crate::group_spec(group);
    spec["apps"] = json!(["live"]);
    ok(setup.create_group(&spec).await, "create").await;
    let key = setup.enrollment_key(group).await;
    let origin = Report {
        publishers: 1,
        streams: vec!["live/cam1".into()],
        ..Report::new("origin", "eu-west-1", "198.51.100.1")
    };
    let enrolled = ok(app.heartbeat(group, "o-1", &key, &origin.json()).await, "enrol origin").await;
    let token = enrolled["nodeToken"].as_str().expect("a node token").to_owned();
    ok(app.heartbeat(group, "o-1", &token, &origin.json()).await, "heartbeat").await;
    let edge = Report::new("edge", "eu-west-1", "203.0.113.1");
    let enrolled = ok(app.heartbeat(group, "e-1", &key, &edge.json()).await, "enrol edge").await;
    let edge_token = enrolled["nodeToken"].as_str().expect("a node token").to_owned();
    ok(setup.lookup("/v1/streams/live/cam1?action=publish").await, "publish").await;
    let asked = app
        .anonymous(Method::GET, &format!("/v1/nodegroups/{group}/streams/live/cam1/origin"))
        .bearer_auth(&edge_token)
        .header("X-Streamfleet-Node", "e-1")
        .send()
        .await
        .unwrap();
    ok(asked, "origin of a stream").await;
}

/// Publish and play, by every lookup route and redirect; a viewer turned away for want
/// of room (the scaler is told); a stream moved off an origin gone out.
pub(super) async fn lookups(setup: &TestApp, app: &TestApp) {
    let group = "live-eu";
    let mut spec = crate::group_spec(group);
    spec["apps"] = json!(["live"]);
    ok(setup.create_group(&spec).await, "create").await;
    let origin = Report::new("origin", "eu-west-1", "198.51.100.1")
        .serving("whip", "http://{host}/{app}/{stream}/whip");
    let token = setup.enroll(group, "o-1", &origin).await;
    let edge = Report { capacity: Some(10), ..Report::new("edge", "eu-west-1", "203.0.113.1") }
        .serving("whep", "http://{host}/{app}/{stream}/whep");
    let edge_token = setup.enroll(group, "e-1", &edge).await;
    ok(app.lookup("/v1/streams/live/cam1?action=publish").await, "publish").await;
    let live = Report { publishers: 1, streams: vec!["live/cam1".into()], ..origin };
    setup.report(group, "o-1", &token, &live).await;
    ok(app.lookup("/v1/streams/live/cam1?action=subscribe").await, "play").await;
    ok(app.lookup("/streammanager/api/4.0/event/live/cam2?action=broadcast").await, "broadcast").await;
    ok(app.lookup("/streammanager/api/4.0/event/live/cam1?action=subscribe").await, "subscribe").await;
    ok(app.lookup("/as/v1/streams/stream/live-eu/publish/live/cam3").await, "2.0 publish").await;
    // `default`: the only group, found by listing the groups.
    ok(app.lookup("/as/v1/streams/stream/default/subscribe/live/cam1?endpoints=2").await, "2.0 subscribe")
        .await;
    let unfollowed = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (method, path) in [
        (Method::POST, "/v1/whip/live/cam4"),
        (Method::POST, "/v1/whep/live/cam1"),
        (Method::GET, "/v1/hls/live/cam1.m3u8"),
    ] {
        let redirect = unfollowed.request(method, format!("{}{path}", app.url)).send().await.unwrap();
        assert!(redirect.status().is_redirection(), "{path}: {}", redirect.status());
    }

    setup.report(group, "e-1", &edge_token, &Report { subscribers: 10, ..edge }).await;
    let full = app.lookup("/v1/streams/live/cam1?action=subscribe").await;
    assert_eq!(full.status(), StatusCode::SERVICE_UNAVAILABLE, "no edge has room");

    let cordon = setup.admin(Method::POST, &format!("/v1/nodegroups/{group}/nodes/o-1/cordon"));
    ok(cordon.send().await.unwrap(), "cordon").await;
    setup.enroll(group, "o-2", &Report::new("origin", "eu-west-1", "198.51.100.2")).await;
    let moved = ok(app.lookup("/v1/streams/live/cam1?action=publish").await, "publish again").await;
    assert_eq!(moved["nodeId"], "o-2", "the stream moved off the cordoned origin");
}
