//! The scaler fanned out over SQS, on the emulator: a scheduled invocation
//! orders one tick per group and tick time on the queue, and consumers
//! (several scaler processes at once, as Lambda runs the queue's event
//! source) carry them out in batches, answering the orders whose tick
//! failed so that the queue delivers them again. SQS delivers at least
//! once, and schedules overlap: the group leases and the plan keep every
//! group's work done once however many orders reach it.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use futures::future::join_all;
use reqwest::StatusCode;
use streamfleet_core::ports::TickOrder;
use streamfleet_core::service::Scaler;
use streamfleet_local::tick_queue::{consume_once, create_queue};
use streamfleet_runtime::{app_state_with, aws_config, Config, Tuning};
use streamfleet_scenarios::scaling::simulated_group;
use streamfleet_scenarios::sdk_seam::{through, Seam};
use streamfleet_scenarios::{fresh_config_with, serve_router, state, TestApp};

/// A table, its tick queue (a failed order back after a second), and an
/// API over them. Each scheduled invocation orders ticks every
/// `tick_every` for `schedule_every`.
async fn fanned_out(tick_every: Duration, schedule_every: Duration) -> (TestApp, aws_sdk_sqs::Client) {
    let mut config = fresh_config_with(Tuning { tick_every, schedule_every, ..Tuning::default() }).await;
    let sqs = aws_sdk_sqs::Client::new(&aws_config(&config).await);
    let url = create_queue(&sqs, &format!("{}-ticks", config.table), Duration::from_secs(1)).await.unwrap();
    config.tick_queue = Some(url);
    let app = serve_router(config.clone(), streamfleet_http::local_app(state(&config).await)).await;
    (app, sqs)
}

fn queue_url(config: &Config) -> &str {
    config.tick_queue.as_deref().unwrap()
}

/// `count` groups, each wanting one origin and one edge, on a pool with
/// room for all of them.
async fn groups(app: &TestApp, count: usize) -> Vec<String> {
    app.add_pool_hosts(2 * count, "eu-west-1").await;
    let names: Vec<String> = (0..count).map(|i| format!("fan-{i}")).collect();
    for name in &names {
        assert_eq!(app.create_group(&simulated_group(name, 4)).await.status(), StatusCode::CREATED);
    }
    names
}

/// Consumes the queue on `scaler` until it holds nothing (delayed and in
/// flight included) or 30 s have passed; returns the messages each batch
/// reported failed.
async fn consume(sqs: &aws_sdk_sqs::Client, url: &str, scaler: &Scaler) -> Vec<String> {
    let mut failed = Vec::new();
    let started = std::time::Instant::now();
    while !queue_is_empty(sqs, url).await && started.elapsed() < Duration::from_secs(30) {
        let outcome = consume_once(sqs, url, scaler, Duration::from_secs(1)).await.unwrap();
        failed.extend(outcome.failed);
    }
    failed
}

async fn queue_is_empty(sqs: &aws_sdk_sqs::Client, url: &str) -> bool {
    use aws_sdk_sqs::types::QueueAttributeName::{
        ApproximateNumberOfMessages, ApproximateNumberOfMessagesDelayed,
        ApproximateNumberOfMessagesNotVisible,
    };
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(ApproximateNumberOfMessages)
        .attribute_names(ApproximateNumberOfMessagesNotVisible)
        .attribute_names(ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    attributes.values().all(|count| count == "0")
}

/// Each group has exactly the one origin and one edge its minimum asks for,
/// launched once.
async fn each_launched_once(app: &TestApp, names: &[String]) {
    for name in names {
        let roles: Vec<String> =
            app.nodes(name).await.iter().map(|n| n["role"].as_str().unwrap().to_owned()).collect();
        let mut roles = roles;
        roles.sort();
        assert_eq!(roles, ["edge", "origin"], "{name}");
        let launches = streamfleet_scenarios::body(
            app.admin(reqwest::Method::GET, &format!("/v1/nodegroups/{name}/events")).send().await.unwrap(),
        )
        .await["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"]["type"] == "launch")
            .count();
        assert_eq!(launches, 2, "{name}: one launch per role");
    }
}

#[tokio::test]
async fn orders_sent_twice_and_raced_for_by_three_consumers_tick_each_group_once() {
    // One tick time per invocation, the groups' orders spread over 4 s.
    let every = Duration::from_secs(4);
    let (app, sqs) = fanned_out(every, every).await;
    let names = groups(&app, 12).await;

    // Two scheduled invocations overlapping: every order twice.
    for _ in 0..2 {
        let report =
            state(&app.config).await.scaler.dispatch().await.unwrap().expect("a queue is configured");
        assert_eq!((report.groups, report.ordered, report.unsent), (12, 12, 0));
    }
    let consumers = join_all((0..3).map(|_| async {
        let process = state(&app.config).await;
        consume(&sqs, queue_url(&app.config), &process.scaler).await
    }))
    .await;

    assert!(consumers.iter().all(Vec::is_empty), "no tick failed: {consumers:?}");
    assert!(queue_is_empty(&sqs, queue_url(&app.config)).await, "every order was deleted");
    each_launched_once(&app, &names).await;
}

/// Fails, without sending it, every request that names the group `fan-0`.
#[derive(Debug, Clone)]
struct Fan0Unreachable;

impl Seam for Fan0Unreachable {
    fn call(&self, request: HttpRequest, real: &SharedHttpConnector) -> HttpConnectorFuture {
        let names_it = request.body().bytes().is_some_and(|b| String::from_utf8_lossy(b).contains("fan-0\""));
        if names_it {
            return HttpConnectorFuture::ready(Err(ConnectorError::io(
                "injected: the table is unreachable".into(),
            )));
        }
        real.call(request)
    }
}

#[tokio::test]
async fn an_order_whose_tick_failed_is_answered_failed_and_carried_out_when_delivered_again() {
    // One order per group, spread over 4 s, stale after 4 s; a failed one is
    // back after 1 s.
    let every = Duration::from_secs(4);
    let (app, sqs) = fanned_out(every, every).await;
    let names = groups(&app, 4).await;
    state(&app.config).await.scaler.dispatch().await.unwrap();

    let sdk = through(&aws_config(&app.config).await, Fan0Unreachable);
    let faulty = app_state_with(&app.config, &sdk, aws_sdk_dynamodb::Client::new(&sdk)).unwrap();
    let (mut seen, mut failed) = (0, Vec::new());
    let started = std::time::Instant::now();
    while seen < 4 && started.elapsed() < Duration::from_secs(10) {
        let url = queue_url(&app.config);
        let outcome = consume_once(&sqs, url, &faulty.scaler, Duration::from_secs(1)).await.unwrap();
        seen += outcome.report.groups;
        failed.extend(outcome.failed);
    }
    assert_eq!((seen, failed.len()), (4, 1), "fan-0's tick failed, the others' went through");

    // Back after the queue's visibility timeout, to a healthy consumer.
    let healthy = state(&app.config).await;
    assert!(consume(&sqs, queue_url(&app.config), &healthy.scaler).await.is_empty());
    assert!(queue_is_empty(&sqs, queue_url(&app.config)).await);
    each_launched_once(&app, &names).await;
}

#[tokio::test]
async fn an_order_is_never_delivered_before_its_tick_time() {
    let (app, sqs) = fanned_out(Duration::from_secs(2), Duration::from_secs(4)).await;
    groups(&app, 3).await;
    let report = state(&app.config).await.scaler.dispatch().await.unwrap().unwrap();
    assert_eq!(report.ordered, 6, "three groups at 0 s and at 2 s");

    let mut received = Vec::new();
    let started = std::time::Instant::now();
    while received.len() < 6 && started.elapsed() < Duration::from_secs(15) {
        let answer = sqs
            .receive_message()
            .queue_url(queue_url(&app.config))
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let now = time::OffsetDateTime::now_utc();
        for message in answer.messages() {
            let order: TickOrder = serde_json::from_str(message.body().unwrap()).unwrap();
            assert!(now >= order.at, "{order:?} delivered at {now}");
            received.push(order);
            let handle = message.receipt_handle().unwrap();
            sqs.delete_message()
                .queue_url(queue_url(&app.config))
                .receipt_handle(handle)
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(received.len(), 6, "{received:?}");
}
