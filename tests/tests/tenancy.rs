//! One group never touches another: a group's key enrolls only the nodes
//! its cloud launched (or, when the group says so, self-managed hosts no
//! other group has), a node claims no more room than its role launches
//! with, and the scaler frees only what its own cloud runs.

use reqwest::StatusCode;
use serde_json::json;
use streamfleet_core::ports::NodeStore;
use streamfleet_scenarios::nodes::{stored_edge, Report};
use streamfleet_scenarios::scaling::{host_report, simulated_group};
use streamfleet_scenarios::{body, example_group_spec, group_spec, spawn_app};

fn edge() -> Report {
    Report::new("edge", "eu-west-1", "203.0.113.10")
}

#[tokio::test]
async fn a_groups_key_enrolls_no_node_its_cloud_did_not_launch() {
    let app = spawn_app().await;
    assert_eq!(app.create_group(&example_group_spec("live-eu")).await.status(), StatusCode::CREATED);
    let key = app.enrollment_key("live-eu").await;
    let response = app.heartbeat("live-eu", "i-0aaa", &key, &edge().json()).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let answer = body(response).await;
    assert_eq!(answer["code"], "not_launched", "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("selfManagedNodes"), "{answer}");
    assert_eq!(body(app.get_group("live-eu").await).await["nodeCount"], 0, "nothing written");
}

#[tokio::test]
async fn a_groups_key_cannot_enroll_a_node_registered_in_another_group() {
    let app = spawn_app().await;
    app.create_group(&group_spec("theirs")).await;
    let token = app.enroll("theirs", "i-0bbb", &edge()).await;
    // Both kinds of group refuse it: one that takes self-managed hosts, and
    // one that takes only what it launched.
    let mut mine = group_spec("mine");
    mine["apps"] = json!(["other"]);
    app.create_group(&mine).await;
    let mut strict = example_group_spec("strict");
    strict["apps"] = json!(["third"]);
    app.create_group(&strict).await;
    for (group, code) in [("mine", "registered_elsewhere"), ("strict", "not_launched")] {
        let key = app.enrollment_key(group).await;
        let response = app.heartbeat(group, "i-0bbb", &key, &edge().json()).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{group}");
        let answer = body(response).await;
        assert_eq!(answer["code"], code, "{group}: {answer}");
        assert!(!answer["message"].as_str().unwrap().contains("theirs"), "the other group is not named");
        assert_eq!(body(app.get_group(group).await).await["nodeCount"], 0, "{group}: nothing written");
    }
    app.report("theirs", "i-0bbb", &token, &edge()).await;
}

#[tokio::test]
async fn a_node_that_says_it_has_more_room_than_its_role_is_refused_at_enrollment() {
    let app = spawn_app().await;
    app.create_group(&group_spec("live-eu")).await;
    let key = app.enrollment_key("live-eu").await;
    let huge = Report { capacity: Some(1_000_000), ..edge() };
    let response = app.heartbeat("live-eu", "i-0aaa", &key, &huge.json()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let answer = body(response).await;
    assert_eq!((answer["field"].clone(), answer["rule"].clone()), (json!("capacity"), json!("within_role")));
    assert_eq!(body(app.get_group("live-eu").await).await["nodeCount"], 0);
    // Its role's own figure (the example's edges carry 1000) is fine.
    let fair = Report { capacity: Some(1000), ..edge() };
    assert_eq!(app.heartbeat("live-eu", "i-0aaa", &key, &fair.json()).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_scaler_forgets_but_never_frees_a_node_its_own_cloud_does_not_run() {
    let app = spawn_app().await;
    app.add_pool_hosts(6, "eu-west-1").await;
    let mut theirs = simulated_group("theirs", 4);
    theirs["apps"] = json!(["theirs"]);
    app.create_group(&theirs).await;
    app.tick("theirs").await;
    let victim = app.node_ids("theirs", "edge", "pending").await.remove(0);
    app.enroll("theirs", &victim, &host_report("edge", &victim)).await;

    let mut mine = simulated_group("mine", 4);
    mine["apps"] = json!(["mine"]);
    mine["selfManagedNodes"] = json!(true);
    app.create_group(&mine).await;
    // A row naming their host in my group, silent and empty: as if an
    // enrollment had slipped past the index's lag. My scaler must judge it
    // dead, and only forget it.
    let store = streamfleet_dynamo::DynamoStore::new(app.dynamodb().await, app.config.table.clone());
    let now = time::OffsetDateTime::now_utc();
    let long_ago = now - time::Duration::minutes(30);
    let planted = stored_edge("mine", &victim, Some(long_ago));
    store.register_node(&planted, 1, "planted", now + time::Duration::hours(1)).await.unwrap();

    let mut outcomes = Vec::new();
    for _ in 0..2 {
        outcomes.extend(app.tick("mine").await);
    }
    let terminated: Vec<_> = outcomes.iter().filter(|d| d["action"]["type"] == "terminate").collect();
    assert_eq!(terminated.len(), 1, "{outcomes:?}");
    assert!(terminated[0]["outcome"].as_str().unwrap().contains("forgotten"), "{terminated:?}");
    assert!(!app.nodes("mine").await.iter().any(|n| n["nodeId"] == victim.as_str()), "forgotten");
    let host = app.pool().await.into_iter().find(|h| h["hostId"] == victim.as_str()).unwrap();
    assert_eq!((host["state"].clone(), host["group"].clone()), (json!("inUse"), json!("theirs")), "{host}");
    assert_eq!(app.node_ids("theirs", "edge", "inService").await, [victim], "their node serves on");
}
