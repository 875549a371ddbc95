//! The fleet functions' workloads: every step the scaler takes on EC2 Auto
//! Scaling, every event kind the lifecycle function handles.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use streamfleet_core::fleet::SimulatedFleet;
use streamfleet_core::service::{Fleets, Scaler, ScalerError, ScalerSettings, ScalerStores};
use streamfleet_core::Clock;
use streamfleet_dynamo::DynamoStore;
use streamfleet_http::AppState;
use streamfleet_local::tick_queue::consume_once;
use streamfleet_runtime::{aws_config, parse_lifecycle_event, TICK_QUEUE_VAR};
use time::OffsetDateTime;

use super::{ok, Process};
use crate::nodes::Report;
use crate::scaling::{aws_group, AWS_REGION};
use crate::{body, eventbridge_fixture, TestApp};

fn edge(subscribers: u32) -> Report {
    Report { subscribers, ..Report::new("edge", AWS_REGION, "198.51.100.20") }
}

/// An AWS group taken through launch, adoption, scale-out with protection,
/// a resize, a cold start (which checks the ASGs' hooks), a held
/// termination kept alive then let go, scale-in, and deletion.
pub(super) async fn scaler(setup: &TestApp, state: &AppState, process: &Process) {
    let tick = || async {
        state.scaler.tick().await.expect("the groups are listed");
    };
    let group = &format!("audit-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let asg = format!("sf-{group}-edge-{AWS_REGION}");
    ok(setup.create_group(&aws_group(group, &setup.some_image().await)).await, "create").await;
    // Each step is checked for what it did: a step that silently did
    // nothing would silently drop its actions from the contract.
    tick().await; // the launch template, the ASGs and their hooks, the first instances
    assert_eq!(setup.asg(&asg).await.0, 1, "the edge ASG launched one");
    // The instances adopted, by a tick ordered on the queue as a scheduled
    // invocation does, and carried out from it (Lambda's event source reads
    // the queue with the function's role, not its code: a plain client here).
    let report = state.scaler.dispatch().await.expect("the groups are listed").expect("a tick queue is set");
    assert_eq!(report.unsent, 0, "every order was sent");
    let queue = process.vars.optional(TICK_QUEUE_VAR).unwrap().expect("the workload has a tick queue");
    let sqs = aws_sdk_sqs::Client::new(&aws_config(&setup.config).await);
    // Its first order comes due within a tick period (orders are spread).
    let mut batch = consume_once(&sqs, &queue, &state.scaler, Duration::from_secs(2)).await.expect("read");
    for _ in 0..10 {
        if batch.report.groups > 0 {
            break;
        }
        batch = consume_once(&sqs, &queue, &state.scaler, Duration::from_secs(2)).await.expect("read");
    }
    assert_eq!((batch.report.ticks, batch.failed.len()), (1, 0), "the group's first order was carried out");
    let origin = setup.node_ids(group, "origin", "pending").await.remove(0);
    let first = setup.node_ids(group, "edge", "pending").await.remove(0);
    setup.enroll(group, &origin, &Report::new("origin", AWS_REGION, "198.51.100.10")).await;
    let first_token = setup.enroll(group, &first, &edge(8)).await;
    tick().await; // protected for its sessions, and one more edge
    let (desired, instances) = setup.asg(&asg).await;
    assert_eq!(desired, 2, "the edge ASG scaled out");
    assert!(instances.iter().any(|(id, protected)| *id == first && *protected), "{instances:?}");
    tick().await;
    let second = setup.node_ids(group, "edge", "pending").await.remove(0);
    let second_token = setup.enroll(group, &second, &edge(0)).await;

    let resize = json!({"roles": {"edge": {"scale": {"max": 5}, "warmPool": {"minSize": 1}}}});
    ok(setup.patch_group(group, &resize).await, "resize, with a warm pool").await;
    tick().await;
    assert!(setup.warm_pool(&asg).await.is_some(), "the edge ASG got its warm pool");
    ok(setup.patch_group(group, &json!({"roles": {"edge": {"warmPool": null}}})).await, "no pool").await;
    tick().await;
    assert!(setup.warm_pool(&asg).await.is_none(), "the warm pool was deleted");
    let cold = process.start().await;
    cold.scaler.tick().await.expect("the groups are listed");

    // The cloud terminates the first while it has viewers; the hold is old
    // enough that the tick keeps it alive, then lets it go once drained.
    hold_termination(setup, group, &asg, &first, Duration::from_secs(200)).await;
    tick().await;
    setup.report(group, &first, &first_token, &edge(0)).await;
    setup.report(group, &second, &second_token, &edge(0)).await;
    tick().await;
    for _ in 0..3 {
        tick().await; // an idle edge drained and terminated
    }
    let deleted =
        setup.admin(Method::DELETE, &format!("/v1/nodegroups/{group}?drain=true")).send().await.unwrap();
    assert!(deleted.status().is_success(), "the group drains");
    for _ in 0..3 {
        tick().await;
    }
}

/// A clock `ago` behind the wall clock.
struct Behind(Duration);

impl Clock for Behind {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() - self.0
    }
}

/// A terminate hold on `node`, received `ago`, stored as the lifecycle
/// function would have stored it (outside the audited function).
async fn hold_termination(setup: &TestApp, group: &str, asg: &str, node: &str, ago: Duration) {
    let sdk = aws_config(&setup.config).await;
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), setup.config.table.clone()));
    let fleets = Fleets {
        aws: Some(Arc::new(streamfleet_aws_fleet::AwsFleet::new(sdk))),
        simulated: Arc::new(SimulatedFleet::new(store.clone())),
    };
    let past = Scaler::new(
        ScalerStores::all_in(store),
        fleets,
        Arc::new(Behind(ago)),
        ScalerSettings::default(),
        "audit-setup".into(),
    );
    let mut event = eventbridge_fixture("lifecycle-terminate");
    event["detail"]["AutoScalingGroupName"] = json!(asg);
    event["detail"]["EC2InstanceId"] = json!(node);
    event["detail"]["NotificationMetadata"] =
        json!(json!({"group": group, "role": "edge", "region": AWS_REGION, "heartbeatTimeoutSecs": 300})
            .to_string());
    let parsed = parse_lifecycle_event(&event).expect("the event parses");
    past.hooks().on_event(parsed).await.expect("the hold is stored");
}

/// Every event kind the lifecycle rules deliver: a termination held for a
/// node with viewers, one let go at once, a launch, a launch into the warm
/// pool and one out of it, an instance no group lists, a Spot warning and
/// a rebalance recommendation.
pub(super) async fn lifecycle(setup: &TestApp, state: &AppState) {
    // Its nodes enroll by hand, as instances the emulator never started.
    let mut spec = aws_group("live", "ami-12c6146b");
    spec["selfManagedNodes"] = json!(true);
    ok(setup.create_group(&spec).await, "create").await;
    let edge_report =
        |viewers| Report { subscribers: viewers, ..Report::new("edge", "us-east-1", "203.0.113.10") };
    setup.enroll("live", "i-0edge00000000001", &edge_report(3)).await;
    setup.enroll("live", "i-0edge00000000003", &edge_report(0)).await;
    let on = |event: Value| async move {
        let parsed = parse_lifecycle_event(&event).expect("the event parses");
        // The emulator implements no lifecycle answer: an answer fails
        // there, after the function has asked. Nothing else may fail.
        if let Err(e) = state.scaler.hooks().on_event(parsed).await {
            assert!(matches!(e, ScalerError::Fleet(_)), "only the emulator's missing answer fails: {e}");
        }
    };
    on(eventbridge_fixture("lifecycle-terminate")).await;
    let mut empty = eventbridge_fixture("lifecycle-terminate");
    empty["detail"]["EC2InstanceId"] = json!("i-0edge00000000003");
    on(empty).await;
    on(eventbridge_fixture("lifecycle-launch")).await;
    // Warm pools: an instance entering one, and the one let go above taken
    // from it again (its earlier row replaced).
    let mut into_pool = eventbridge_fixture("lifecycle-launch-into-warm-pool");
    into_pool["detail"]["EC2InstanceId"] = json!("i-0edge00000000004");
    on(into_pool).await;
    let mut from_pool = eventbridge_fixture("lifecycle-launch-from-warm-pool");
    from_pool["detail"]["EC2InstanceId"] = json!("i-0edge00000000003");
    on(from_pool).await;
    let taken =
        body(setup.admin(Method::GET, "/v1/nodegroups/live/nodes/i-0edge00000000003").send().await.unwrap())
            .await;
    assert_eq!(taken["state"], "pending", "taken from the pool: a launch again: {taken}");
    let mut unlisted = eventbridge_fixture("lifecycle-terminate");
    unlisted["detail"]["EC2InstanceId"] = json!("i-0nobody000000001");
    unlisted["detail"]["NotificationMetadata"] = json!(null);
    on(unlisted).await;
    on(eventbridge_fixture("spot-interruption")).await;
    on(eventbridge_fixture("rebalance-recommendation")).await;
    let nodes = body(setup.admin(Method::GET, "/v1/nodegroups/live/nodes").send().await.unwrap()).await;
    assert!(
        nodes["items"].as_array().expect("a page").iter().any(|n| n["cordoned"] == true),
        "the warnings cordoned the edge: {nodes}"
    );
}
