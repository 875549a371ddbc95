//! Held terminations end to end on the simulated cloud: an operator
//! terminates a pool host out of band (as EC2 would on an instance refresh
//! or a lowered desired capacity); the pool holds it as EC2's lifecycle
//! hook would, and it keeps serving until its last viewer leaves.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::scaling::{action_types, host_report, simulated_group};
use streamfleet_scenarios::{body, spawn_app, TestApp};

const GROUP: &str = "held";

fn load(host: &str, subscribers: u32) -> Report {
    Report { subscribers, ..host_report("edge", host) }
}

async fn terminate_host(app: &TestApp, host: &str) -> (StatusCode, Value) {
    let response = app.admin(Method::POST, &format!("/v1/pool/hosts/{host}/terminate")).send().await.unwrap();
    (response.status(), body(response).await)
}

async fn host_state(app: &TestApp, host: &str) -> String {
    let pool = app.pool().await;
    let found = pool.iter().find(|h| h["hostId"] == host).expect("the host is registered");
    found["state"].as_str().unwrap().to_owned()
}

async fn node(app: &TestApp, id: &str) -> Option<Value> {
    app.nodes(GROUP).await.into_iter().find(|n| n["nodeId"] == id)
}

/// One origin and two edges in service; returns the edges' (id, token).
async fn two_edges(app: &TestApp) -> [(String, String); 2] {
    app.add_pool_hosts(6, "eu-west-1").await;
    assert_eq!(app.create_group(&simulated_group(GROUP, 4)).await.status(), StatusCode::CREATED);
    app.tick(GROUP).await;
    let origin = app.node_ids(GROUP, "origin", "pending").await.remove(0);
    app.enroll(GROUP, &origin, &host_report("origin", &origin)).await;
    let first = app.node_ids(GROUP, "edge", "pending").await.remove(0);
    let first_token = app.enroll(GROUP, &first, &load(&first, 8)).await;
    assert_eq!(action_types(&app.tick(GROUP).await), ["launch"], "80 % load scales out");
    let second = app.node_ids(GROUP, "edge", "pending").await.remove(0);
    let second_token = app.enroll(GROUP, &second, &load(&second, 0)).await;
    [(first, first_token), (second, second_token)]
}

#[tokio::test]
async fn a_node_terminated_by_someone_else_serves_until_its_last_viewer_leaves() {
    let app = spawn_app().await;
    let [(busy, token), (other, other_token)] = two_edges(&app).await;

    // Load falls; the operator (not the scaler) terminates the busy edge.
    app.report(GROUP, &busy, &token, &load(&busy, 3)).await;
    let (status, host) = terminate_host(&app, &busy).await;
    assert_eq!((status, host["state"].as_str()), (StatusCode::ACCEPTED, Some("terminating")), "{host}");
    let held = node(&app, &busy).await.unwrap();
    assert_eq!((held["state"].as_str(), held["cordoned"].as_bool()), (Some("draining"), Some(true)));
    assert_eq!(held["hold"]["kind"], "terminate");

    // It keeps serving its viewers, tick after tick, and is never readmitted
    // even when load comes back.
    let mut cut = 0;
    for viewers in [3, 2, 9, 1] {
        let answer = app.report(GROUP, &busy, &token, &load(&busy, viewers)).await;
        assert_eq!(answer["state"], "draining", "the node learns it drains");
        app.report(GROUP, &other, &other_token, &load(&other, viewers)).await;
        let decisions = app.tick(GROUP).await;
        assert!(
            !decisions.iter().any(|d| d["action"]["node"] == busy.as_str()),
            "no decision on a held node while it has viewers: {decisions:?}"
        );
        if host_state(&app, &busy).await != "terminating" {
            cut += viewers;
        }
    }
    assert_eq!(cut, 0, "sessions cut");

    // The last viewer leaves: the hold is answered, the host goes.
    app.report(GROUP, &busy, &token, &load(&busy, 0)).await;
    let decisions = app.tick(GROUP).await;
    let answer = decisions.iter().find(|d| d["action"]["type"] == "answer").expect("answered");
    assert_eq!(
        (answer["action"]["result"].as_str(), answer["action"]["forced"].as_bool()),
        (Some("CONTINUE"), Some(false))
    );
    assert_eq!(host_state(&app, &busy).await, "terminated");
    app.tick(GROUP).await;
    assert!(node(&app, &busy).await.is_none(), "forgotten once the host is gone");
    let log =
        body(app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/events")).send().await.unwrap()).await;
    let types: Vec<_> =
        log["items"].as_array().unwrap().iter().map(|e| e["action"]["type"].clone()).collect();
    assert!(types.contains(&"hold".into()) && types.contains(&"answer".into()), "{types:?}");
}

#[tokio::test]
async fn a_node_without_viewers_goes_at_once() {
    let app = spawn_app().await;
    let [_, (idle, _)] = two_edges(&app).await;
    let (status, host) = terminate_host(&app, &idle).await;
    assert_eq!((status, host["state"].as_str()), (StatusCode::OK, Some("terminated")), "{host}");
    app.tick(GROUP).await;
    assert!(node(&app, &idle).await.is_none());
    let (again, error) = terminate_host(&app, &idle).await;
    assert_eq!((again, error["code"].as_str()), (StatusCode::CONFLICT, Some("not_serving")));
}
