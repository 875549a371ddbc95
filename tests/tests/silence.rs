//! Silence is not death, on the simulated cloud: nodes whose heartbeats
//! stop while their viewers still watch are not terminated for it, and are
//! served again when they report.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use streamfleet_runtime::Tuning;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::scaling::{action_types, host_report, simulated_group};
use streamfleet_scenarios::{spawn_app_with, TestApp};

const GROUP: &str = "sim";
/// Silence for longer than this may mean death (scaled down for the test).
const DEAD_AFTER: Duration = Duration::from_secs(1);

struct Enrolled {
    id: String,
    token: String,
    report: Report,
}

/// One origin and three edges holding 40 viewers each, all enrolled.
async fn three_busy_edges(app: &TestApp) -> (Enrolled, Vec<Enrolled>) {
    app.add_pool_hosts(8, "eu-west-1").await;
    let mut spec = simulated_group(GROUP, 6);
    spec["roles"]["edge"]["scale"]["min"] = json!(3);
    spec["roles"]["edge"]["launch"]["connectionCapacity"] = json!(100);
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    app.tick(GROUP).await;
    let enroll = |role: &'static str, id: String, subscribers: u32| async move {
        let report = Report { subscribers, ..host_report(role, &id) };
        let token = app.enroll(GROUP, &id, &report).await;
        Enrolled { id, token, report }
    };
    let origin = enroll("origin", app.node_ids(GROUP, "origin", "pending").await.remove(0), 0).await;
    let mut edges = Vec::new();
    for id in app.node_ids(GROUP, "edge", "pending").await {
        edges.push(enroll("edge", id, 40).await);
    }
    assert_eq!(edges.len(), 3);
    (origin, edges)
}

async fn report(app: &TestApp, node: &Enrolled) {
    app.report(GROUP, &node.id, &node.token, &node.report).await;
}

#[tokio::test]
async fn edges_silent_through_a_heartbeat_outage_are_not_terminated_and_report_again_as_before() {
    let app =
        spawn_app_with(Tuning { dead_after: DEAD_AFTER, stale_after: DEAD_AFTER, ..Tuning::default() }).await;
    let (origin, edges) = three_busy_edges(&app).await;

    // The edges' heartbeats are lost; their media keeps flowing.
    tokio::time::sleep(DEAD_AFTER + Duration::from_millis(300)).await;
    report(&app, &origin).await;
    let decisions = app.tick(GROUP).await;
    assert_eq!(action_types(&decisions), ["massSilence"], "{decisions:?}");
    assert_eq!(decisions[0]["action"], json!({"type": "massSilence", "silent": 3, "of": 3}));
    assert_eq!(app.node_ids(GROUP, "edge", "inService").await.len(), 3);

    // The path heals: every edge is known and serving, nothing was cut.
    // (The origin reports again too: on a loaded machine a second may pass
    // since its last report, and a silent origin is not this test's case.)
    for node in edges.iter().chain([&origin]) {
        report(&app, node).await;
    }
    let decisions = app.tick(GROUP).await;
    assert!(action_types(&decisions).is_empty(), "{decisions:?}");
    assert_eq!(app.node_ids(GROUP, "edge", "inService").await.len(), 3);
    assert!(app.pool().await.iter().all(|h| h["state"] != "terminated"));
}

#[tokio::test]
async fn one_silent_edge_with_viewers_is_replaced_and_kept_while_an_empty_one_goes() {
    let app =
        spawn_app_with(Tuning { dead_after: DEAD_AFTER, stale_after: DEAD_AFTER, ..Tuning::default() }).await;
    let (origin, mut edges) = three_busy_edges(&app).await;

    tokio::time::sleep(DEAD_AFTER + Duration::from_millis(300)).await;
    for node in [&origin, &edges[1], &edges[2]] {
        report(&app, node).await;
    }
    let decisions = app.tick(GROUP).await;
    assert_eq!(action_types(&decisions), ["launch"], "its capacity is replaced: {decisions:?}");
    assert!(app.node_ids(GROUP, "edge", "inService").await.contains(&edges[0].id));
    let back = app.heartbeat(GROUP, &edges[0].id, &edges[0].token, &edges[0].report.json()).await;
    assert_eq!(back.status(), StatusCode::OK, "still known when it reports again");

    // An edge whose last report held nobody cuts nobody: it goes at once.
    edges[0].report.subscribers = 0;
    report(&app, &edges[0]).await;
    tokio::time::sleep(DEAD_AFTER + Duration::from_millis(300)).await;
    for node in [&origin, &edges[1], &edges[2]] {
        report(&app, node).await;
    }
    let decisions = app.tick(GROUP).await;
    let types = action_types(&decisions);
    assert_eq!(&types[..2], ["markDead", "terminate"], "{decisions:?}");
    assert_eq!(decisions[0]["action"]["node"], edges[0].id.as_str());
    assert_eq!(decisions[1]["action"]["forced"], false);
}
