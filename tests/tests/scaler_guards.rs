//! The scaler acts on a snapshot; its state changes must not hit a node
//! that reported since (it may have come back, or taken viewers).

use reqwest::{Method, StatusCode};
use streamfleet_core::names::{GroupName, NodeId};
use streamfleet_core::node::NodeState;
use streamfleet_core::ports::{NodeLifecycleStore, NodeStore, ReportGuard, StoreError};
use streamfleet_dynamo::DynamoStore;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::{body, group_spec, spawn_app};

#[tokio::test]
async fn a_state_change_decided_on_an_old_report_loses_to_a_newer_one() {
    let app = spawn_app().await;
    assert_eq!(app.create_group(&group_spec("live")).await.status(), StatusCode::CREATED);
    let report = Report::new("edge", "eu-west-1", "203.0.113.1");
    let token = app.enroll("live", "i-0aaa", &report).await;
    let store = DynamoStore::new(app.dynamodb().await, app.config.table.clone());
    let (group, node) = (GroupName::parse("live").unwrap(), NodeId::parse("i-0aaa").unwrap());
    let seen = store.get_node(&group, &node).await.unwrap().unwrap().last_sent_at;

    // The node reports again after the scaler took its snapshot.
    app.report("live", "i-0aaa", &token, &Report { subscribers: 5, ..report }).await;
    let now = time::OffsetDateTime::now_utc();
    let stale = store
        .transition(
            &group,
            &node,
            &[NodeState::InService],
            NodeState::Dead,
            None,
            ReportGuard::Unchanged(seen),
            now,
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");

    let current = store.get_node(&group, &node).await.unwrap().unwrap().last_sent_at;
    store
        .transition(
            &group,
            &node,
            &[NodeState::InService],
            NodeState::Draining,
            None,
            ReportGuard::Unchanged(current),
            now,
        )
        .await
        .expect("decided on the latest report");
    let shown = body(app.admin(Method::GET, "/v1/nodegroups/live/nodes/i-0aaa").send().await.unwrap()).await;
    assert_eq!(shown["state"], "draining");
}
