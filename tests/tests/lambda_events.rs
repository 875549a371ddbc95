//! The `events/` fixtures, fed through each function's Lambda entry point
//! exactly as `lambda_http::run` does (event JSON → request → router → API
//! Gateway v2 response), against DynamoDB on the emulator.

use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;
use streamfleet_scenarios::nodes::sent_at;
use streamfleet_scenarios::{fresh_config, repo_root, state};

fn fixture(name: &str) -> Value {
    let path = repo_root().join("events/apigw").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Heartbeat fixtures carry a fixed `sentAt`, which the replay guard would
/// refuse as too old: bring it to now, as a node's clock would.
fn refreshed(mut event: Value) -> Value {
    // Only JSON bodies carry a `sentAt` (a WHIP offer is SDP).
    if let Some(Ok(mut body)) = event["body"].as_str().map(serde_json::from_str::<Value>) {
        if body.get("sentAt").is_some() {
            body["sentAt"] = Value::from(sent_at());
            event["body"] = Value::from(body.to_string());
        }
    }
    event
}

/// Invokes a function with a fixture; returns its response event.
async fn invoke(app: &axum::Router, name: &str) -> Value {
    invoke_event(app, name, fixture(name)).await
}

/// Invokes a fixture that carries a placeholder credential (`ENROLLMENT_KEY`,
/// `NODE_TOKEN`: real ones are drawn per group and per enrollment) with
/// `credential` in its place.
async fn invoke_as(app: &axum::Router, name: &str, credential: &str) -> Value {
    let mut event = fixture(name);
    event["headers"]["authorization"] = Value::from(format!("Bearer {credential}"));
    invoke_event(app, name, event).await
}

async fn invoke_event(app: &axum::Router, name: &str, event: Value) -> Value {
    let request: LambdaRequest = serde_json::from_value(refreshed(event))
        .unwrap_or_else(|e| panic!("{name} is an API Gateway v2 event: {e}"));
    let response =
        Adapter::from(app.clone()).oneshot(LambdaEvent::new(request, Context::default())).await.unwrap();
    serde_json::to_value(response).expect("the response serializes")
}

fn status(response: &Value) -> u64 {
    response["statusCode"].as_u64().expect("a status code")
}

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap_or("null")).expect("a JSON body")
}

async fn expect(app: &axum::Router, name: &str, want: u64) -> Value {
    checked(name, invoke(app, name).await, want)
}

async fn expect_as(app: &axum::Router, name: &str, credential: &str, want: u64) -> Value {
    checked(name, invoke_as(app, name, credential).await, want)
}

fn checked(name: &str, response: Value, want: u64) -> Value {
    assert_eq!(status(&response), want, "{name}: {response}");
    response
}

#[tokio::test]
async fn every_fixture_runs_through_its_function() {
    let state = state(&fresh_config().await).await;
    let nodegroups = streamfleet_http::nodegroups_app(state.clone());
    let heartbeat = streamfleet_http::heartbeat_app(state.clone());
    let lookup = streamfleet_http::lookup_app(state.clone());
    // Ticks on demand are the local stack's only.
    let local = streamfleet_http::local_app(state);

    assert_eq!(body(&expect(&nodegroups, "nodegroups-create", 201).await)["name"], "live-eu");
    assert_eq!(expect(&nodegroups, "nodegroups-get", 200).await["headers"]["etag"], "\"1\"");
    assert_eq!(body(&expect(&nodegroups, "nodegroups-list", 200).await)["items"][0]["name"], "live-eu");
    assert_eq!(
        body(&expect(&nodegroups, "nodegroups-replace", 200).await)["roles"]["edge"]["scale"]["max"],
        40
    );
    assert_eq!(body(&expect(&nodegroups, "nodegroups-patch", 200).await)["roles"]["edge"]["scale"]["min"], 4);
    let key = body(&expect(&nodegroups, "enrollment-key-get", 200).await);
    assert_eq!(key["generation"], 1);
    let key = key["enrollmentKey"].as_str().unwrap().to_owned();

    let enrolled = body(&expect_as(&heartbeat, "heartbeat-enroll-origin", &key, 201).await);
    let origin_token = enrolled["nodeToken"].as_str().unwrap().to_owned();
    let edge = body(&expect_as(&heartbeat, "heartbeat-enroll-edge", &key, 201).await);
    let edge_token = edge["nodeToken"].as_str().unwrap().to_owned();
    assert_eq!(
        body(&expect_as(&heartbeat, "heartbeat-origin", &origin_token, 200).await)["state"],
        "inService"
    );

    assert_eq!(body(&expect(&lookup, "lookup-publish", 200).await)["nodeId"], "i-0origin000000001");
    assert_eq!(body(&expect(&lookup, "lookup-subscribe", 200).await)["nodeId"], "i-0edge00000000001");
    assert_eq!(body(&expect(&lookup, "red5-broadcast", 200).await)["serverAddress"], "198.51.100.1");
    assert_eq!(body(&expect(&lookup, "red5-subscribe", 200).await)["serverAddress"], "203.0.113.1");
    // The group is the deployment's only one: `default` names it.
    let red5 = body(&expect(&lookup, "red5-v2-publish", 200).await);
    assert_eq!(
        (red5[0]["serverAddress"].as_str(), red5[0]["nodeRole"].as_str()),
        (Some("198.51.100.1"), Some("origin"))
    );
    let red5 = body(&expect(&lookup, "red5-v2-subscribe", 200).await);
    assert_eq!(red5[0]["streamGuid"], "live/cam1", "{red5}");
    let whip = expect(&lookup, "whip", 307).await;
    assert_eq!(whip["headers"]["location"], "http://198.51.100.1:8889/live/cam1/whip");
    let whep = expect(&lookup, "whep", 307).await;
    assert_eq!(whep["headers"]["location"], "http://203.0.113.1:8889/live/cam1/whep");
    let hls = expect(&lookup, "hls", 302).await;
    assert_eq!(hls["headers"]["location"], "http://203.0.113.1:8080/hls/cam1.m3u8");
    assert_eq!(
        body(&expect_as(&heartbeat, "edge-origin", &edge_token, 200).await)["nodeId"],
        "i-0origin000000001"
    );

    assert_eq!(body(&expect(&nodegroups, "node-get", 200).await)["role"], "edge");
    assert_eq!(body(&expect(&nodegroups, "node-cordon", 200).await)["cordoned"], true);
    assert_eq!(body(&expect(&nodegroups, "node-uncordon", 200).await)["cordoned"], false);
    assert_eq!(body(&expect(&nodegroups, "node-drain", 200).await)["state"], "draining");
    assert_eq!(
        body(&expect(&nodegroups, "nodegroups-nodes", 200).await)["items"].as_array().unwrap().len(),
        2
    );
    expect(&nodegroups, "node-forget", 204).await;
    assert_eq!(body(&expect(&nodegroups, "enrollment-key-rotate", 200).await)["generation"], 2);
    assert_eq!(body(&expect(&nodegroups, "pool-add", 201).await)["state"], "available");
    assert_eq!(body(&expect(&nodegroups, "pool-list", 200).await)[0]["hostId"], "host-1");
    assert_eq!(body(&expect(&nodegroups, "pool-terminate", 200).await)["state"], "terminated");
    assert_eq!(body(&expect(&nodegroups, "pool-reset", 200).await)["state"], "available");
    // The fixture's edges launch from a template that does not exist in this
    // account: that role's slot is logged as failed, the group's tick and
    // the other roles go on.
    assert_eq!(body(&expect(&nodegroups, "nodegroups-launch", 202).await)["count"], 1);
    assert_eq!(body(&expect(&local, "scaler-tick", 200).await)["failed"], 0);
    let decisions = body(&expect(&local, "nodegroups-tick", 200).await);
    assert!(decisions.is_array(), "{decisions}");
    // Said once, when it started (the first tick): the log has it.
    let events = body(&expect(&nodegroups, "nodegroups-events", 200).await);
    let failed: Vec<_> =
        events["items"].as_array().unwrap().iter().filter(|d| d["action"]["type"] == "syncFailed").collect();
    let regions: std::collections::BTreeSet<_> = failed.iter().map(|d| d["region"].as_str()).collect();
    assert!(!failed.is_empty() && failed.iter().all(|d| d["role"] == "edge"), "{events}");
    assert_eq!(regions.len(), failed.len(), "once a region: {events}");
    let by_operator: Vec<_> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["by"] == "operator")
        .map(|d| d["action"]["type"].as_str().unwrap())
        .collect();
    assert!(by_operator.contains(&"launch") && by_operator.contains(&"drain"), "{events}");
    // The group's health says which role fails where, and why.
    let health = body(&expect(&nodegroups, "nodegroups-get", 200).await)["health"].clone();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["errors"].as_array().unwrap().len(), regions.len(), "{health}");
    assert!(health["errors"].as_array().unwrap().iter().all(|e| e["role"] == "edge"), "{health}");
    assert_eq!(health["errors"][0]["operation"], "CreateAutoScalingGroup", "{health}");
    assert_eq!(
        body(&expect(&nodegroups, "nodegroups-list", 200).await)["items"][0]["health"]["status"],
        "degraded"
    );
    assert_eq!(body(&expect(&nodegroups, "nodegroups-delete", 202).await)["status"], "deleting");

    assert!(body(&expect(&nodegroups, "nodegroups-series", 200).await)["items"].is_array());
    let page = expect(&nodegroups, "console", 200).await;
    assert!(page["body"].as_str().unwrap().contains("streamfleet console"), "{page}");
    assert!(page["headers"]["content-security-policy"].as_str().unwrap().contains("script-src 'self'"));
    expect(&nodegroups, "console-asset", 200).await;
    assert_eq!(body(&expect(&nodegroups, "health", 200).await)["status"], "ok");
    assert!(body(&expect(&nodegroups, "openapi", 200).await)["paths"].is_object());
}

#[tokio::test]
async fn each_function_serves_only_its_own_routes() {
    let state = state(&fresh_config().await).await;
    let lookup = streamfleet_http::lookup_app(state.clone());
    let heartbeat = streamfleet_http::heartbeat_app(state.clone());
    let nodegroups = streamfleet_http::nodegroups_app(state.clone());
    assert_eq!(status(&invoke(&lookup, "nodegroups-list").await), 404);
    assert_eq!(status(&invoke(&heartbeat, "lookup-publish").await), 404);
    // The admin API on AWS cannot touch Auto Scaling: no tick there.
    assert_eq!(status(&invoke(&nodegroups, "scaler-tick").await), 404);
    assert_eq!(status(&invoke(&nodegroups, "nodegroups-tick").await), 404);
}

#[tokio::test]
async fn the_scheduled_event_ticks_every_group() {
    let state = state(&fresh_config().await).await;
    let event: Value = fixture_at("events/eventbridge/scheduled.json");
    let report =
        streamfleet_runtime::scheduled_tick(&state.scaler, LambdaEvent::new(event, Context::default()))
            .await
            .expect("the tick runs");
    assert_eq!((report.ticks, report.groups, report.failed), (1, 0, 0));
}

#[tokio::test]
async fn a_batch_of_calls_from_the_table_stream_ticks_each_group_once() {
    let state = state(&fresh_config().await).await;
    let nodegroups = streamfleet_http::nodegroups_app(state.clone());
    expect(&nodegroups, "nodegroups-create", 201).await;
    let calls = || LambdaEvent::new(fixture_at("events/dynamodb/tick-call.json"), Context::default());
    let report =
        streamfleet_runtime::called_ticks(&state.scaler, calls()).await.expect("the calls are taken");
    // Two calls for live-eu in the batch: one tick.
    assert_eq!((report.groups, report.ticks, report.failed), (1, 1, 0), "{report:?}");
    // Another group's items in the stream are not calls.
    let mut other: Value = fixture_at("events/dynamodb/tick-call.json");
    other["Records"][0]["dynamodb"]["Keys"]["sk"]["S"] = Value::from("SCALER");
    other["Records"][1]["dynamodb"]["Keys"]["pk"]["S"] = Value::from("GROUP#nobody");
    let report =
        streamfleet_runtime::called_ticks(&state.scaler, LambdaEvent::new(other, Context::default()))
            .await
            .expect("taken");
    assert_eq!((report.groups, report.ticks), (1, 0), "the group that does not exist is not ticked");
}

/// The tick queue's event: orders brought to now (the fixture's time is
/// long past, and a schedule's interval late an order is stale).
fn tick_orders_at(at: time::OffsetDateTime) -> LambdaEvent<Value> {
    let mut event = fixture_at("events/sqs/tick-orders.json");
    let at = at.format(&time::format_description::well_known::Rfc3339).unwrap();
    for record in event["Records"].as_array_mut().unwrap() {
        let Ok(mut order) = serde_json::from_str::<Value>(record["body"].as_str().unwrap()) else { continue };
        order["at"] = Value::from(at.clone());
        record["body"] = Value::from(order.to_string());
    }
    let mut context = Context::default();
    context.deadline = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as u64 + 60_000;
    LambdaEvent::new(event, context)
}

#[tokio::test]
async fn a_batch_of_tick_orders_ticks_each_group_named_and_answers_no_failure() {
    let state = state(&fresh_config().await).await;
    let nodegroups = streamfleet_http::nodegroups_app(state.clone());
    expect(&nodegroups, "nodegroups-create", 201).await;

    let answer =
        streamfleet_runtime::scaler_event(&state.scaler, tick_orders_at(time::OffsetDateTime::now_utc()))
            .await
            .expect("the batch is taken");
    // live-eu ticked, a group that does not exist and a message that is no
    // order dropped: nothing for the queue to deliver again.
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    let events = invoke(&nodegroups, "nodegroups-events").await;
    assert_eq!(status(&events), 200);
    let logged: Value = serde_json::from_str(events["body"].as_str().unwrap()).unwrap();
    assert!(!logged["items"].as_array().unwrap().is_empty(), "live-eu was ticked: {logged}");

    // A schedule's interval late (60 s by default): dropped, not ticked.
    let late = time::OffsetDateTime::now_utc() - std::time::Duration::from_secs(61);
    let answer = streamfleet_runtime::scaler_event(&state.scaler, tick_orders_at(late)).await.unwrap();
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
}

#[tokio::test]
async fn a_scheduled_invocation_ticks_every_tick_secs_until_the_next_one_takes_over() {
    let mut config = fresh_config().await;
    config.tuning.tick_every = std::time::Duration::from_secs(1);
    let state = state(&config).await;
    let event: Value = fixture_at("events/eventbridge/scheduled.json");
    // 23.5 s left: ticks at 0, 1, 2 and 3 s leave the last 20 s to the groups in flight.
    let mut context = Context::default();
    context.deadline = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as u64 + 23_500;
    let started = std::time::Instant::now();
    let report = streamfleet_runtime::scheduled_tick(&state.scaler, LambdaEvent::new(event, context))
        .await
        .expect("the ticks run");
    assert_eq!(report.ticks, 4, "{report:?}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(3), "a tick a second");
}

#[tokio::test]
async fn the_lifecycle_function_takes_eventbridge_events_and_refuses_others() {
    let state = state(&fresh_config().await).await;
    let invoke = |path: &str| {
        let event = fixture_at(path);
        let scaler = state.scaler.clone();
        async move {
            streamfleet_runtime::handle_lifecycle_event(
                scaler.hooks(),
                LambdaEvent::new(event, Context::default()),
            )
            .await
        }
    };
    // No group lists the instance: nothing to cordon (lifecycle_hooks.rs covers the rest).
    for path in
        ["events/eventbridge/spot-interruption.json", "events/eventbridge/rebalance-recommendation.json"]
    {
        assert_eq!(invoke(path).await.expect("handled"), "unknown");
    }
    let refused = invoke("events/eventbridge/scheduled.json").await.expect_err("not a lifecycle event");
    assert!(refused.to_string().contains("Scheduled Event"), "{refused}");
}

fn fixture_at(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join(path)).unwrap()).unwrap()
}
