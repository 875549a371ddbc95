//! Every decision the log keeps is also published to EventBridge, for
//! operators' rules to route to chat, SNS or a pager. The tests receive
//! them as an operator would: a rule on the bus (`source: streamfleet`,
//! `detail-type: Scaling Decision`) targets an SQS queue, on the emulator.
//! EventBridge failing costs the events, never the decision or the tick.

use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use streamfleet_runtime::{app_state_with, aws_config, Config};
use streamfleet_scenarios::scaling::{action_types, host_report, simulated_group};
use streamfleet_scenarios::sdk_seam::{through, Seam};
use streamfleet_scenarios::{body, fresh_config, serve_router, state, TestApp};

const GROUP: &str = "evented";

/// A bus of the test's own, a rule routing streamfleet's decisions on it to
/// a queue; returns the bus's name and the queue's URL.
async fn bus_with_a_queue(config: &Config) -> (String, String) {
    let sdk = aws_config(config).await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bus = format!("decisions-{}", uuid::Uuid::new_v4().simple());
    events.create_event_bus().name(&bus).send().await.expect("bus created");
    let queue_url =
        sqs.create_queue().queue_name(&bus).send().await.expect("queue created").queue_url.unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    // The rule an operator writes (README, "Decision events").
    let pattern = json!({"source": ["streamfleet"], "detail-type": ["Scaling Decision"]});
    events
        .put_rule()
        .name("to-queue")
        .event_bus_name(&bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("rule put");
    let target = aws_sdk_eventbridge::types::Target::builder().id("queue").arn(queue_arn).build().unwrap();
    events.put_targets().rule("to-queue").event_bus_name(&bus).targets(target).send().await.expect("target");
    (bus, queue_url)
}

/// The events the queue holds once `count` have come (or `within` has passed).
async fn received(config: &Config, queue_url: &str, count: usize, within: Duration) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(&aws_config(config).await);
    let mut events = Vec::new();
    let start = Instant::now();
    while events.len() < count && start.elapsed() < within {
        let answer =
            sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).send().await.unwrap();
        for message in answer.messages() {
            events.push(serde_json::from_str(message.body().unwrap()).expect("an event is JSON"));
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if answer.messages().is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    events
}

async fn log(app: &TestApp) -> Vec<Value> {
    let page =
        body(app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/events")).send().await.unwrap()).await;
    page["items"].as_array().unwrap().clone()
}

/// An event's detail as the log's record: the group named, the rest equal.
fn as_record(event: &Value) -> Value {
    assert_eq!(
        (&event["source"], &event["detail-type"]),
        (&json!("streamfleet"), &json!("Scaling Decision"))
    );
    assert_eq!(event["detail"]["group"], GROUP, "{event}");
    let mut record = event["detail"].clone();
    record.as_object_mut().unwrap().remove("group");
    record
}

fn sorted(mut records: Vec<Value>) -> Vec<Value> {
    records.sort_by_key(|r| (r["at"].to_string(), r["action"]["type"].to_string(), r["role"].to_string()));
    records
}

#[tokio::test]
async fn every_decision_of_the_scaler_and_of_an_operator_arrives_on_the_bus_as_the_log_holds_it() {
    let mut config = fresh_config().await;
    let (bus, queue_url) = bus_with_a_queue(&config).await;
    config.event_bus = Some(bus);
    let app = serve_router(config.clone(), streamfleet_http::local_app(state(&config).await)).await;

    app.add_pool_hosts(4, "eu-west-1").await;
    assert_eq!(app.create_group(&simulated_group(GROUP, 4)).await.status(), StatusCode::CREATED);
    assert_eq!(action_types(&app.tick(GROUP).await), ["launch", "launch"]);
    let edge = app.node_ids(GROUP, "edge", "pending").await.remove(0);
    app.enroll(GROUP, &edge, &host_report("edge", &edge)).await;
    let path = format!("/v1/nodegroups/{GROUP}/nodes/{edge}/cordon");
    assert_eq!(app.admin(Method::POST, &path).send().await.unwrap().status(), StatusCode::OK);

    let logged = log(&app).await;
    assert_eq!(logged.len(), 3, "two launches and a cordon: {logged:?}");
    let events = received(&config, &queue_url, logged.len(), Duration::from_secs(10)).await;
    let published: Vec<Value> = events.iter().map(as_record).collect();
    assert_eq!(sorted(published), sorted(logged.clone()));
    let cordon = events.iter().find(|e| e["detail"]["action"]["type"] == "setCordon").expect("the cordon");
    assert_eq!(cordon["detail"]["by"], "operator", "{cordon}");
    // The event's time is the decision's, to the second.
    assert_eq!(
        cordon["time"].as_str().unwrap()[..19],
        logged.iter().find(|r| r["action"]["type"] == "setCordon").unwrap()["at"].as_str().unwrap()[..19]
    );
}

/// Refuses every `PutEvents` call without sending it.
#[derive(Debug, Clone)]
struct EventBridgeDown;

impl Seam for EventBridgeDown {
    fn call(&self, request: HttpRequest, real: &SharedHttpConnector) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        if target.starts_with("AWSEvents.") {
            return HttpConnectorFuture::ready(Err(ConnectorError::io(
                "injected: EventBridge unreachable".into(),
            )));
        }
        real.call(request)
    }
}

#[tokio::test]
async fn with_eventbridge_down_the_scaler_still_decides_and_logs_and_nothing_reaches_the_bus() {
    let mut config = fresh_config().await;
    let (bus, queue_url) = bus_with_a_queue(&config).await;
    config.event_bus = Some(bus);
    let sdk = through(&aws_config(&config).await, EventBridgeDown);
    let state = app_state_with(&config, &sdk, aws_sdk_dynamodb::Client::new(&sdk)).unwrap();
    let app = serve_router(config.clone(), streamfleet_http::local_app(state)).await;

    app.add_pool_hosts(4, "eu-west-1").await;
    assert_eq!(app.create_group(&simulated_group(GROUP, 4)).await.status(), StatusCode::CREATED);
    assert_eq!(action_types(&app.tick(GROUP).await), ["launch", "launch"], "the tick went through");
    assert_eq!(app.node_ids(GROUP, "edge", "pending").await.len(), 1, "and was carried out");
    assert_eq!(log(&app).await.len(), 2, "the log holds both decisions");
    assert!(received(&config, &queue_url, 1, Duration::from_secs(2)).await.is_empty());
}
