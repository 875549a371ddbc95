//! Lifecycle actions from the events/ fixtures, against DynamoDB on the
//! emulator and a request-level mock of EC2 Auto Scaling (moto implements
//! neither `CompleteLifecycleAction` nor `RecordLifecycleActionHeartbeat`):
//! every call the cloud receives is matched on its hook, ASG, instance,
//! token and result, and counted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_autoscaling::operation::complete_lifecycle_action::CompleteLifecycleActionOutput;
use aws_sdk_autoscaling::operation::record_lifecycle_action_heartbeat::RecordLifecycleActionHeartbeatOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use serde_json::{json, Value};
use streamfleet_aws_fleet::{AwsFleet, Clients};
use streamfleet_core::fleet::SimulatedFleet;
use streamfleet_core::hooks::LifecycleEvent;
use streamfleet_core::names::{GroupName, NodeId};
use streamfleet_core::ports::{NodeLifecycleStore, StoreError};
use streamfleet_core::scaling::PlanSettings;
use streamfleet_core::service::{Fleets, HookOutcome, Scaler, ScalerSettings, ScalerStores};
use streamfleet_core::Clock;
use streamfleet_dynamo::DynamoStore;
use streamfleet_runtime::parse_lifecycle_event;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::scaling::aws_group;
use streamfleet_scenarios::{body, eventbridge_fixture, spawn_app, TestApp};
use time::OffsetDateTime;

const EDGE: &str = "i-0edge00000000001";
const LAUNCHED: &str = "i-0edge00000000002";
const ASG: &str = "sf-live-edge-us-east-1";
const TERMINATE_TOKEN: &str = "87654321-4321-4321-4321-210987654321";
const LAUNCH_TOKEN: &str = "12345678-1234-1234-1234-123456789012";
/// The warm pool fixtures' tokens: into the pool, and out of it.
const INTO_POOL_TOKEN: &str = "0a0a0a0a-1111-4222-8333-444444444444";
const FROM_POOL_TOKEN: &str = "0b0b0b0b-1111-4222-8333-444444444444";

struct TestClock(Mutex<OffsetDateTime>);

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

/// The calls the cloud may receive, each matched on every field.
struct Cloud {
    continue_terminate: Rule,
    heartbeat_terminate: Rule,
    continue_launch: Rule,
    abandon_launch: Rule,
    heartbeat_launch: Rule,
    /// CONTINUE of `LAUNCHED` entering the warm pool.
    continue_into_pool: Rule,
    /// CONTINUE of an instance leaving the warm pool (any instance).
    continue_from_pool: Rule,
}

fn complete(instance: &'static str, hook: &'static str, token: &'static str, result: &'static str) -> Rule {
    mock!(aws_sdk_autoscaling::Client::complete_lifecycle_action)
        .match_requests(move |r| {
            r.auto_scaling_group_name() == Some(ASG)
                && r.lifecycle_hook_name() == Some(hook)
                && r.instance_id() == Some(instance)
                && r.lifecycle_action_token() == Some(token)
                && r.lifecycle_action_result() == Some(result)
        })
        .then_output(|| CompleteLifecycleActionOutput::builder().build())
}

fn continue_from_pool() -> Rule {
    mock!(aws_sdk_autoscaling::Client::complete_lifecycle_action)
        .match_requests(|r| {
            r.lifecycle_action_token() == Some(FROM_POOL_TOKEN)
                && r.lifecycle_action_result() == Some("CONTINUE")
        })
        .then_output(|| CompleteLifecycleActionOutput::builder().build())
}

fn heartbeat(instance: &'static str, hook: &'static str, token: &'static str) -> Rule {
    mock!(aws_sdk_autoscaling::Client::record_lifecycle_action_heartbeat)
        .match_requests(move |r| {
            r.auto_scaling_group_name() == Some(ASG)
                && r.lifecycle_hook_name() == Some(hook)
                && r.instance_id() == Some(instance)
                && r.lifecycle_action_token() == Some(token)
        })
        .then_output(|| RecordLifecycleActionHeartbeatOutput::builder().build())
}

impl Cloud {
    fn new() -> Self {
        Self {
            continue_terminate: complete(EDGE, "sf-terminate", TERMINATE_TOKEN, "CONTINUE"),
            heartbeat_terminate: heartbeat(EDGE, "sf-terminate", TERMINATE_TOKEN),
            continue_launch: complete(LAUNCHED, "sf-launch", LAUNCH_TOKEN, "CONTINUE"),
            abandon_launch: complete(LAUNCHED, "sf-launch", LAUNCH_TOKEN, "ABANDON"),
            heartbeat_launch: heartbeat(LAUNCHED, "sf-launch", LAUNCH_TOKEN),
            continue_into_pool: complete(LAUNCHED, "sf-launch", INTO_POOL_TOKEN, "CONTINUE"),
            continue_from_pool: continue_from_pool(),
        }
    }

    /// (terminate CONTINUE, terminate heartbeats, launch CONTINUE, launch ABANDON)
    fn calls(&self) -> (usize, usize, usize, usize) {
        (
            self.continue_terminate.num_calls(),
            self.heartbeat_terminate.num_calls(),
            self.continue_launch.num_calls(),
            self.abandon_launch.num_calls(),
        )
    }
}

struct Rig {
    app: TestApp,
    store: Arc<DynamoStore>,
    scaler: Scaler,
    clock: Arc<TestClock>,
    cloud: Cloud,
}

fn live() -> GroupName {
    GroupName::parse("live").unwrap()
}

fn event(name: &str) -> LifecycleEvent {
    parse_lifecycle_event(&eventbridge_fixture(name)).expect("the fixture parses")
}

/// Group `live` (AWS, us-east-1, edge drain deadline `deadline_secs`) on a
/// fresh table, and the hooks on a clock the test moves.
async fn rig(deadline_secs: u32) -> Rig {
    let app = spawn_app().await;
    let mut spec = aws_group("live", "ami-12c6146b");
    // Its nodes enroll by hand, as instances the emulator never started.
    spec["selfManagedNodes"] = json!(true);
    spec["roles"]["edge"]["scale"]["drainDeadlineSecs"] = json!(deadline_secs);
    spec["roles"]["edge"]["scale"]["warmupSecs"] = json!(60);
    spec["roles"]["edge"]["warmPool"] = json!({"minSize": 1, "initSecs": 90, "reuseOnScaleIn": true});
    let created = app.create_group(&spec).await;
    assert_eq!(created.status(), 201, "{}", body(created).await);

    let cloud = Cloud::new();
    let autoscaling = mock_client!(
        aws_sdk_autoscaling,
        RuleMode::MatchAny,
        [
            &cloud.continue_terminate,
            &cloud.heartbeat_terminate,
            &cloud.continue_launch,
            &cloud.abandon_launch,
            &cloud.heartbeat_launch,
            &cloud.continue_into_pool,
            &cloud.continue_from_pool
        ]
    );
    let sdk = streamfleet_runtime::aws_config(&app.config).await;
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), app.config.table.clone()));
    let fleets = Fleets {
        aws: Some(Arc::new(AwsFleet::with_clients(Clients::fixed(
            autoscaling,
            aws_sdk_ec2::Client::new(&sdk),
        )))),
        simulated: Arc::new(SimulatedFleet::new(store.clone())),
    };
    let stores = ScalerStores::all_in(store.clone());
    let clock = Arc::new(TestClock(Mutex::new(OffsetDateTime::now_utc())));
    // Nodes report on the wall clock while this clock moves ahead: silence
    // must not count here (the pure tests cover it).
    let settings = ScalerSettings {
        plan: PlanSettings { dead_after: Duration::from_secs(86_400), ..PlanSettings::default() },
        ..ScalerSettings::default()
    };
    let scaler = Scaler::new(stores, fleets, clock.clone(), settings, "test".into());
    Rig { app, store, scaler, clock, cloud }
}

impl Rig {
    async fn on(&self, name: &str) -> HookOutcome {
        self.scaler.hooks().on_event(event(name)).await.expect("the event is handled")
    }

    async fn settle(&self) -> Vec<Value> {
        let records = self.scaler.hooks().settle_group(&GroupName::parse("live").unwrap()).await.unwrap();
        records.unwrap().iter().map(|r| serde_json::to_value(r).unwrap()).collect()
    }

    /// Enrolls the edge the terminate fixture names, with `viewers`.
    async fn edge_with(&self, viewers: u32) -> String {
        let mut report = Report::new("edge", "us-east-1", "203.0.113.10");
        report.subscribers = viewers;
        self.app.enroll("live", EDGE, &report).await
    }

    async fn report(&self, node: &str, token: &str, viewers: u32) -> Value {
        let mut report = Report::new("edge", "us-east-1", "203.0.113.10");
        report.subscribers = viewers;
        self.app.report("live", node, token, &report).await
    }

    async fn node(&self, id: &str) -> Option<Value> {
        let response = self
            .app
            .admin(reqwest::Method::GET, &format!("/v1/nodegroups/live/nodes/{id}"))
            .send()
            .await
            .unwrap();
        (response.status() == 200).then_some(body(response).await)
    }
}

#[tokio::test]
async fn a_node_with_viewers_is_held_kept_alive_and_let_go_once_drained() {
    let rig = rig(3600).await;
    let token = rig.edge_with(3).await;

    assert_eq!(rig.on("lifecycle-terminate").await, HookOutcome::Held);
    let node = rig.node(EDGE).await.unwrap();
    assert_eq!((node["state"].as_str(), node["cordoned"].as_bool()), (Some("draining"), Some(true)));
    assert_eq!(node["drainCause"], "lifecycle");
    assert_eq!(rig.cloud.calls(), (0, 0, 0, 0), "nothing answered while viewers remain");

    // The node hears it drains, and keeps serving its viewers.
    assert_eq!(rig.report(EDGE, &token, 2).await["state"], "draining");
    rig.clock.advance(Duration::from_secs(100));
    assert!(rig.settle().await.is_empty());
    assert_eq!(rig.cloud.calls(), (0, 0, 0, 0), "no heartbeat before half the hook timeout");
    rig.clock.advance(Duration::from_secs(60));
    rig.settle().await;
    assert_eq!(rig.cloud.calls(), (0, 1, 0, 0), "one heartbeat at half the 300 s timeout");
    rig.settle().await;
    assert_eq!(rig.cloud.calls(), (0, 1, 0, 0), "not again until the next half timeout");

    rig.report(EDGE, &token, 0).await;
    let records = rig.settle().await;
    assert_eq!(rig.cloud.calls(), (1, 1, 0, 0), "CONTINUE once the last viewer left");
    assert_eq!(records[0]["action"]["type"], "answer");
    assert_eq!(records[0]["action"]["forced"], false);
    assert_eq!(rig.node(EDGE).await.unwrap()["state"], "terminating");
    rig.settle().await;
    assert_eq!(rig.cloud.calls(), (1, 1, 0, 0), "answered once");
}

#[tokio::test]
async fn an_empty_node_is_let_go_at_once() {
    let rig = rig(3600).await;
    rig.edge_with(0).await;
    assert_eq!(
        rig.on("lifecycle-terminate").await,
        HookOutcome::Completed(streamfleet_core::hooks::HookResult::Continue)
    );
    assert_eq!(rig.cloud.calls(), (1, 0, 0, 0));
}

#[tokio::test]
async fn the_drain_deadline_forces_continue_and_logs_it() {
    let rig = rig(600).await;
    rig.edge_with(4).await;
    assert_eq!(rig.on("lifecycle-terminate").await, HookOutcome::Held);
    rig.clock.advance(Duration::from_secs(599));
    rig.settle().await;
    assert_eq!(rig.cloud.calls().0, 0);
    rig.clock.advance(Duration::from_secs(1));
    let records = rig.settle().await;
    assert_eq!(rig.cloud.calls().0, 1, "forced CONTINUE at the deadline");
    assert_eq!(records[0]["action"]["forced"], true);
    assert!(records[0]["reason"].as_str().unwrap().starts_with("FORCED"), "{records:?}");
    let log =
        body(rig.app.admin(reqwest::Method::GET, "/v1/nodegroups/live/events").send().await.unwrap()).await;
    assert!(log["items"].as_array().unwrap().iter().any(|e| e["action"]["forced"] == true), "{log}");
}

#[tokio::test]
async fn duplicate_events_answer_once() {
    let rig = rig(3600).await;
    rig.edge_with(0).await;
    // Twice at once, and once more later.
    let (a, b) = tokio::join!(rig.on("lifecycle-terminate"), rig.on("lifecycle-terminate"));
    let outcomes = [a, b, rig.on("lifecycle-terminate").await];
    assert_eq!(rig.cloud.calls().0, 1, "one CompleteLifecycleAction for {outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| matches!(o, HookOutcome::Completed(_))).count(), 1);
}

#[tokio::test]
async fn an_instance_no_group_lists_is_let_go() {
    let rig = rig(3600).await;
    let mut foreign = eventbridge_fixture("lifecycle-terminate");
    foreign["detail"]["NotificationMetadata"] = json!("launched by someone else");
    let outcome = rig.scaler.hooks().on_event(parse_lifecycle_event(&foreign).unwrap()).await.unwrap();
    assert_eq!(outcome, HookOutcome::Unknown);
    assert_eq!(rig.cloud.calls(), (1, 0, 0, 0));
}

#[tokio::test]
async fn a_hook_streamfleet_does_not_own_is_left_alone() {
    let rig = rig(3600).await;
    let mut foreign = eventbridge_fixture("lifecycle-terminate");
    foreign["detail"]["NotificationMetadata"] = json!("their own");
    foreign["detail"]["LifecycleHookName"] = json!("backup-before-terminate");
    foreign["detail"]["AutoScalingGroupName"] = json!("web-tier");
    let outcome = rig.scaler.hooks().on_event(parse_lifecycle_event(&foreign).unwrap()).await.unwrap();
    assert!(matches!(outcome, HookOutcome::Ignored(_)), "{outcome:?}");
    assert_eq!(rig.cloud.calls(), (0, 0, 0, 0), "theirs to answer");
}

#[tokio::test]
async fn a_cold_launch_without_heartbeat_is_abandoned() {
    let rig = rig(3600).await;
    assert_eq!(rig.on("lifecycle-launch").await, HookOutcome::Held);
    assert_eq!(rig.node(LAUNCHED).await.unwrap()["state"], "pending");
    // The edges' warm-up (60 s) is a pooled node's; a cold launch (`EC2`,
    // not from the pool) boots like one entering the pool: initSecs 90 s,
    // + grace 120 s.
    rig.clock.advance(Duration::from_secs(209));
    rig.settle().await;
    assert_eq!(rig.cloud.calls(), (0, 0, 0, 0));
    assert_eq!(rig.cloud.heartbeat_launch.num_calls(), 1, "a launch is kept alive too");
    rig.clock.advance(Duration::from_secs(1));
    rig.settle().await;
    assert_eq!(rig.cloud.calls(), (0, 0, 0, 1), "ABANDON once");
    assert_eq!(rig.node(LAUNCHED).await.unwrap()["state"], "failed");
    rig.settle().await;
    assert_eq!(rig.on("lifecycle-launch").await, HookOutcome::Duplicate);
    assert_eq!(rig.cloud.calls(), (0, 0, 0, 1));
}

#[tokio::test]
async fn a_launch_goes_on_at_its_first_heartbeat() {
    let rig = rig(3600).await;
    assert_eq!(rig.on("lifecycle-launch").await, HookOutcome::Held);
    // The launched instance's agent enrolls with the group key: it claims the pending row.
    let report = Report::new("edge", "us-east-1", "203.0.113.11");
    rig.app.enroll("live", LAUNCHED, &report).await;
    rig.settle().await;
    assert_eq!(rig.cloud.calls(), (0, 0, 1, 0), "CONTINUE once in service");
    let node = rig.node(LAUNCHED).await.unwrap();
    assert_eq!(node["state"], "inService");
    assert!(node.get("hold").is_none(), "{node}");
    rig.settle().await;
    assert_eq!(rig.cloud.calls(), (0, 0, 1, 0));
}

#[tokio::test]
async fn an_instance_entering_the_warm_pool_initialises_unadmitted_then_serves_when_a_scale_out_takes_it() {
    let rig = rig(3600).await;
    assert_eq!(rig.on("lifecycle-launch-into-warm-pool").await, HookOutcome::Held);
    let pooling = rig.node(LAUNCHED).await.unwrap();
    assert_eq!(pooling["state"], "pooling", "listed, neither pending capacity nor serving: {pooling}");
    assert_eq!(pooling["hold"]["warmPool"], "entering");
    rig.clock.advance(Duration::from_secs(89));
    rig.settle().await;
    assert_eq!(rig.cloud.continue_into_pool.num_calls(), 0, "initialising for the pool's initSecs (90 s)");
    rig.clock.advance(Duration::from_secs(1));
    let records = rig.settle().await;
    assert_eq!(rig.cloud.continue_into_pool.num_calls(), 1, "let go into the pool, unheard from");
    assert!(records[0]["reason"].as_str().unwrap().contains("warm pool"), "{records:?}");
    assert_eq!(rig.node(LAUNCHED).await.unwrap()["state"], "pooling", "answered; stopped in the pool");
    rig.settle().await;
    assert_eq!(rig.on("lifecycle-launch-into-warm-pool").await, HookOutcome::Duplicate);
    assert_eq!(rig.cloud.continue_into_pool.num_calls(), 1, "once");

    // A scale-out takes it from the pool: a launch like any other, admitted
    // on its first heartbeat.
    assert_eq!(rig.on("lifecycle-launch-from-warm-pool").await, HookOutcome::Held);
    assert_eq!(rig.node(LAUNCHED).await.unwrap()["state"], "pending", "its pooled row replaced");
    // A tick that read the pooled row before it was replaced cannot forget
    // the new one.
    let launched = NodeId::parse(LAUNCHED).unwrap();
    let stale = rig.store.forget_node_as_read(&live(), &launched, Some(INTO_POOL_TOKEN)).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    rig.app.enroll("live", LAUNCHED, &Report::new("edge", "us-east-1", "203.0.113.12")).await;
    rig.settle().await;
    assert_eq!(rig.cloud.continue_from_pool.num_calls(), 1, "CONTINUE once in service");
    assert_eq!(rig.node(LAUNCHED).await.unwrap()["state"], "inService");
    assert_eq!(rig.cloud.calls(), (0, 0, 0, 0), "nothing else answered");

    // A late entry event (another action's) changes nothing on a serving node.
    let mut late = eventbridge_fixture("lifecycle-launch-into-warm-pool");
    late["detail"]["LifecycleActionToken"] = json!("0c0c0c0c-1111-4222-8333-444444444444");
    let outcome = rig.scaler.hooks().on_event(parse_lifecycle_event(&late).unwrap()).await.unwrap();
    assert!(matches!(outcome, HookOutcome::Ignored(_)), "{outcome:?}");
    assert_eq!(rig.node(LAUNCHED).await.unwrap()["state"], "inService");
}

#[tokio::test]
async fn an_instance_taken_from_the_warm_pool_by_events_delivered_twice_at_once_is_listed_once() {
    let rig = rig(3600).await;
    assert_eq!(rig.on("lifecycle-launch-into-warm-pool").await, HookOutcome::Held);
    rig.clock.advance(Duration::from_secs(90));
    rig.settle().await;
    assert_eq!(rig.cloud.continue_into_pool.num_calls(), 1);
    // EventBridge delivers the launch from the pool twice, at once, to two
    // copies of the function: one replaces the pooled row, the other finds
    // the new row holding its own action.
    let (a, b) =
        tokio::join!(rig.on("lifecycle-launch-from-warm-pool"), rig.on("lifecycle-launch-from-warm-pool"));
    let mut outcomes = [a, b];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, [HookOutcome::Duplicate, HookOutcome::Held]);
    let node = rig.node(LAUNCHED).await.unwrap();
    assert_eq!(
        (node["state"].as_str(), node["hold"]["warmPool"].as_str()),
        (Some("pending"), Some("leaving"))
    );
    rig.app.enroll("live", LAUNCHED, &Report::new("edge", "us-east-1", "203.0.113.12")).await;
    rig.settle().await;
    assert_eq!(rig.cloud.continue_from_pool.num_calls(), 1, "answered once");
}

#[tokio::test]
async fn a_node_a_scale_in_returns_to_the_warm_pool_keeps_its_viewers_and_serves_again_when_taken() {
    let rig = rig(3600).await;
    let token = rig.edge_with(2).await;
    assert_eq!(rig.on("lifecycle-terminate-to-warm-pool").await, HookOutcome::Held);
    let node = rig.node(EDGE).await.unwrap();
    assert_eq!((node["state"].as_str(), node["cordoned"].as_bool()), (Some("draining"), Some(true)));
    rig.report(EDGE, &token, 0).await;
    rig.settle().await;
    assert_eq!(rig.cloud.calls(), (1, 0, 0, 0), "CONTINUE (into the pool) once its viewers left");

    // Taken from the pool again, the same instance: a fresh launch, not
    // the cordoned node it was.
    let mut taken = eventbridge_fixture("lifecycle-launch-from-warm-pool");
    taken["detail"]["EC2InstanceId"] = json!(EDGE);
    let outcome = rig.scaler.hooks().on_event(parse_lifecycle_event(&taken).unwrap()).await.unwrap();
    assert_eq!(outcome, HookOutcome::Held);
    let relaunched = rig.node(EDGE).await.unwrap();
    assert_eq!(
        (relaunched["state"].as_str(), relaunched["cordoned"].as_bool()),
        (Some("pending"), Some(false)),
        "{relaunched}"
    );
    // Its agent's old token names the row that went: it enrolls anew.
    let stale = rig
        .app
        .heartbeat("live", EDGE, &token, &Report::new("edge", "us-east-1", "203.0.113.10").json())
        .await;
    assert_eq!(stale.status(), 403, "the old token is revoked");
    rig.edge_with(0).await;
    rig.settle().await;
    assert_eq!(rig.cloud.continue_from_pool.num_calls(), 1);
    assert_eq!(rig.node(EDGE).await.unwrap()["state"], "inService");
}

#[tokio::test]
async fn interruption_warnings_drain_the_node_at_once_and_say_so_once() {
    for fixture_name in ["spot-interruption", "rebalance-recommendation"] {
        let rig = rig(3600).await;
        rig.edge_with(2).await;
        assert_eq!(rig.on(fixture_name).await, HookOutcome::Cordoned);
        let node = rig.node(EDGE).await.unwrap();
        assert_eq!(
            (node["cordoned"].as_bool(), node["state"].as_str(), node["drainCause"].as_str()),
            (Some(true), Some("draining"), Some("interruption")),
            "{node}"
        );
        // The warning comes again (EventBridge delivers at least once).
        assert_eq!(rig.on(fixture_name).await, HookOutcome::Duplicate);
        assert_eq!(rig.cloud.calls(), (0, 0, 0, 0));
        let events =
            body(rig.app.admin(reqwest::Method::GET, "/v1/nodegroups/live/events").send().await.unwrap())
                .await;
        let cordons: Vec<&Value> =
            events["items"].as_array().unwrap().iter().filter(|e| e["action"]["type"] == "cordon").collect();
        assert_eq!(cordons.len(), 1, "{events}");
        assert!(cordons[0]["outcome"].as_str().unwrap().contains("draining"), "{events}");
    }
}

#[test]
fn malformed_and_foreign_events_are_refused_with_a_reason() {
    let mut wrong = eventbridge_fixture("lifecycle-terminate");
    wrong["detail"]["LifecycleTransition"] = json!("autoscaling:EC2_INSTANCE_LAUNCHING");
    assert!(parse_lifecycle_event(&wrong).unwrap_err().to_string().contains("transition"));
    let mut missing = eventbridge_fixture("lifecycle-launch");
    missing["detail"].as_object_mut().unwrap().remove("LifecycleActionToken");
    assert!(parse_lifecycle_event(&missing).unwrap_err().to_string().contains("LifecycleActionToken"));
    let scheduled = eventbridge_fixture("scheduled");
    assert!(parse_lifecycle_event(&scheduled).unwrap_err().to_string().contains("Scheduled Event"));
    assert!(parse_lifecycle_event(&json!([1, 2])).is_err());
}
