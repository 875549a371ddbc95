//! What an operator does by hand, on the simulated cloud: launch nodes now,
//! drain one, cordon one, pause scaling. Each lands in the decision log as
//! the operator's, beside the scaler's own.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::scaling::{action_types, host_report, simulated_group};
use streamfleet_scenarios::{body, spawn_app, TestApp};

const GROUP: &str = "ops";

/// A group at its minimum (one origin, one edge, both enrolled), edges up
/// to `edge_max`. Returns the edge's (id, token).
async fn at_minimum(app: &TestApp, edge_max: u32) -> (String, String) {
    app.add_pool_hosts(8, "eu-west-1").await;
    assert_eq!(app.create_group(&simulated_group(GROUP, edge_max)).await.status(), StatusCode::CREATED);
    assert_eq!(action_types(&app.tick(GROUP).await), ["launch", "launch"]);
    let origin = app.node_ids(GROUP, "origin", "pending").await.remove(0);
    let edge = app.node_ids(GROUP, "edge", "pending").await.remove(0);
    app.enroll(GROUP, &origin, &host_report("origin", &origin)).await;
    let token = app.enroll(GROUP, &edge, &host_report("edge", &edge)).await;
    (edge, token)
}

async fn ask_launch(app: &TestApp, ask: &Value) -> (StatusCode, Value) {
    let response =
        app.admin(Method::POST, &format!("/v1/nodegroups/{GROUP}/launches")).json(ask).send().await.unwrap();
    (response.status(), body(response).await)
}

async fn node_action(app: &TestApp, node: &str, verb: &str) -> (StatusCode, Value) {
    let path = format!("/v1/nodegroups/{GROUP}/nodes/{node}/{verb}");
    let response = app.admin(Method::POST, &path).send().await.unwrap();
    (response.status(), body(response).await)
}

async fn events(app: &TestApp) -> Vec<Value> {
    let page =
        body(app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/events")).send().await.unwrap()).await;
    page["items"].as_array().unwrap().clone()
}

fn load(host: &str, subscribers: u32) -> Report {
    Report { subscribers, ..host_report("edge", host) }
}

#[tokio::test]
async fn an_operator_launches_nodes_now_within_the_role_s_max_and_the_log_says_it_was_them() {
    let app = spawn_app().await;
    at_minimum(&app, 4).await;
    let (status, answer) =
        ask_launch(&app, &json!({"role": "edge", "region": "eu-west-1", "count": 2})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");

    let decisions = app.tick(GROUP).await;
    assert_eq!(action_types(&decisions), ["launch"], "{decisions:?}");
    assert_eq!(
        (decisions[0]["action"]["count"].clone(), decisions[0]["by"].clone()),
        (json!(2), json!("operator"))
    );
    assert_eq!(app.node_ids(GROUP, "edge", "pending").await.len(), 2);
    assert!(app.tick(GROUP).await.is_empty(), "an ask is carried out once");

    // 1 in service and 2 starting of a max of 4: room for one more.
    let (status, error) = ask_launch(&app, &json!({"role": "edge", "region": "eu-west-1", "count": 2})).await;
    assert_eq!(
        (status, error["code"].clone(), error["field"].clone()),
        (StatusCode::CONFLICT, json!("no_room"), json!("count"))
    );
    for (ask, field) in [
        (json!({"role": "relay", "region": "eu-west-1", "count": 1}), "role"),
        (json!({"role": "edge", "region": "us-east-1", "count": 1}), "region"),
        (json!({"role": "edge", "region": "eu-west-1", "count": 0}), "count"),
        (json!({"role": "edge", "region": "eu-west-1"}), "count"),
    ] {
        let (status, error) = ask_launch(&app, &ask).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ask}: {error}");
        assert!(
            error["field"] == field || error["message"].as_str().unwrap().contains(field),
            "{ask}: {error}"
        );
    }
}

#[tokio::test]
async fn asks_that_race_past_the_api_s_check_never_take_a_role_past_its_max() {
    let app = spawn_app().await;
    at_minimum(&app, 3).await;
    // Room for two; four asks of one each land at once, and each passes the
    // API's check before any is carried out.
    let one = json!({"role": "edge", "region": "eu-west-1", "count": 1});
    let asks = (0..4).map(|_| ask_launch(&app, &one));
    let accepted = join_all(asks).await.into_iter().filter(|(s, _)| *s == StatusCode::ACCEPTED).count();
    assert!(accepted >= 2, "{accepted}");
    let decisions = app.tick(GROUP).await;
    let edges = app.nodes(GROUP).await.into_iter().filter(|n| n["role"] == "edge").count();
    assert_eq!(edges, 3, "the role's max holds: {decisions:?}");
    if accepted > 2 {
        assert!(decisions[0]["reason"].as_str().unwrap().contains("within the role's max"), "{decisions:?}");
    }
}

#[tokio::test]
async fn an_operator_s_drain_takes_no_new_sessions_is_replaced_and_ends_once_empty() {
    let app = spawn_app().await;
    let (edge, token) = at_minimum(&app, 4).await;
    app.report(GROUP, &edge, &token, &load(&edge, 2)).await;

    let (status, node) = node_action(&app, &edge, "drain").await;
    assert_eq!(
        (status, node["state"].clone(), node["drainCause"].clone()),
        (StatusCode::OK, json!("draining"), json!("operator"))
    );
    assert_eq!(node_action(&app, &edge, "drain").await.0, StatusCode::OK, "draining twice changes nothing");

    // Its capacity is replaced (the role's min is 1), and it stays while
    // its viewers watch.
    let decisions = app.tick(GROUP).await;
    assert_eq!(action_types(&decisions), ["launch"], "{decisions:?}");
    assert_eq!(app.node_ids(GROUP, "edge", "draining").await, std::slice::from_ref(&edge));

    app.report(GROUP, &edge, &token, &load(&edge, 0)).await;
    let decisions = app.tick(GROUP).await;
    let ended: Vec<_> = decisions.iter().filter(|d| d["action"]["type"] == "terminate").collect();
    assert_eq!(ended.len(), 1, "{decisions:?}");
    assert_eq!(
        (ended[0]["action"]["node"].clone(), ended[0]["by"].clone()),
        (json!(edge), json!("operator"))
    );

    let pending = app.node_ids(GROUP, "edge", "pending").await.remove(0);
    let (status, error) = node_action(&app, &pending, "drain").await;
    assert_eq!((status, error["code"].clone()), (StatusCode::CONFLICT, json!("not_in_service")));
    assert_eq!(node_action(&app, "i-0nothere", "drain").await.0, StatusCode::NOT_FOUND);
    let logged: Vec<_> = events(&app).await.into_iter().filter(|d| d["by"] == "operator").collect();
    assert!(
        logged.iter().any(|d| d["action"]["type"] == "drain" && d["action"]["cause"] == "operator"),
        "{logged:?}"
    );
}

#[tokio::test]
async fn a_cordon_and_an_uncordon_are_logged_as_the_operator_s() {
    let app = spawn_app().await;
    let (edge, _) = at_minimum(&app, 4).await;
    assert_eq!(node_action(&app, &edge, "cordon").await.1["cordoned"], true);
    assert_eq!(node_action(&app, &edge, "uncordon").await.1["cordoned"], false);
    let said: Vec<_> = events(&app)
        .await
        .into_iter()
        .filter(|d| d["action"]["type"] == "setCordon" && d["by"] == "operator")
        .map(|d| d["action"]["cordoned"].clone())
        .collect();
    assert_eq!(said, [json!(false), json!(true)], "newest first");
}

#[tokio::test]
async fn a_paused_group_scales_nothing_of_its_own_but_carries_out_an_operator_s_launch() {
    let app = spawn_app().await;
    let (edge, token) = at_minimum(&app, 4).await;
    let paused = body(app.patch_group(GROUP, &json!({"scalingPaused": true})).await).await;
    assert_eq!(paused["scalingPaused"], true);

    // 9 of 10 seats: the scaler would launch, but scaling is paused.
    app.report(GROUP, &edge, &token, &load(&edge, 9)).await;
    assert_eq!(action_types(&app.tick(GROUP).await), ["scalingPaused"]);
    assert!(app.tick(GROUP).await.is_empty(), "said once");
    assert!(app.node_ids(GROUP, "edge", "pending").await.is_empty());

    let (status, _) = ask_launch(&app, &json!({"role": "edge", "region": "eu-west-1", "count": 1})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let decisions = app.tick(GROUP).await;
    assert_eq!(action_types(&decisions), ["launch"]);
    assert_eq!(decisions[0]["by"], "operator");

    app.patch_group(GROUP, &json!({"scalingPaused": false})).await;
    let decisions = app.tick(GROUP).await;
    assert_eq!(action_types(&decisions)[0], "scalingResumed", "{decisions:?}");
    assert_eq!(body(app.get_group(GROUP).await).await["health"]["status"], "ok");
}

#[tokio::test]
async fn the_capacity_series_has_a_point_per_role_and_region_from_the_first_tick() {
    let app = spawn_app().await;
    let (edge, token) = at_minimum(&app, 4).await;
    app.report(GROUP, &edge, &token, &load(&edge, 4)).await;
    let series =
        |query: &'static str| app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/series{query}")).send();
    let page = body(series("").await.unwrap()).await;
    let points = page["items"].as_array().unwrap();
    let mut slots: Vec<_> = points.iter().map(|p| p["role"].as_str().unwrap()).collect();
    slots.sort();
    assert_eq!(slots, ["edge", "origin"], "the first tick's points: {page}");
    assert!(points.iter().all(|p| p["region"] == "eu-west-1" && p["at"].is_string()), "{page}");
    let (status, error) = {
        let response = series("?minutes=0").await.unwrap();
        (response.status(), body(response).await)
    };
    assert_eq!((status, error["field"].clone()), (StatusCode::BAD_REQUEST, json!("minutes")));
    let missing = app.admin(Method::GET, "/v1/nodegroups/nope/series").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_paused_group_deleted_with_drain_still_drains_and_goes() {
    let app = spawn_app().await;
    at_minimum(&app, 4).await;
    app.patch_group(GROUP, &json!({"scalingPaused": true})).await;
    app.tick(GROUP).await;
    let deleted =
        app.admin(Method::DELETE, &format!("/v1/nodegroups/{GROUP}?drain=true")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    // Drained, then (empty) terminated, then the group goes: a pause the
    // deleting group can no longer lift holds none of it.
    for _ in 0..8 {
        if app.get_group(GROUP).await.status() == StatusCode::NOT_FOUND {
            return;
        }
        app.tick(GROUP).await;
    }
    panic!("the paused group was never deleted: {:?}", app.nodes(GROUP).await);
}
