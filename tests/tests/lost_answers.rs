//! AWS applied a write and its answer was lost (a connection reset after
//! the request went out): the SDK sends the same write again, and it must
//! not then fail on its own first copy. Found by the chaos harness: a node
//! whose enrollment answer was lost this way never got its token, every
//! later enrollment was `already_enrolled`, and it stayed silent for good.
//! The same answer can be lost past AWS too, on its way to the node: the
//! node then enrolls again, and may, until its token first reports.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use reqwest::StatusCode;
use streamfleet_runtime::Config;
use streamfleet_runtime::{app_state_with, aws_config};
use streamfleet_scenarios::chaos::faults::answer_lost;
use streamfleet_scenarios::scaling::{host_report, simulated_group};
use streamfleet_scenarios::sdk_seam::{through, Seam};
use streamfleet_scenarios::{body, fresh_config, serve_router, state, TestApp};

/// Loses the answer of the first DynamoDB request whose body holds
/// `marker`, once it was applied.
#[derive(Debug, Clone)]
struct LoseOneAnswer {
    marker: &'static str,
    lost: Arc<AtomicBool>,
}

impl Seam for LoseOneAnswer {
    fn call(&self, request: HttpRequest, real: &SharedHttpConnector) -> HttpConnectorFuture {
        let matches =
            request.body().bytes().is_some_and(|b| String::from_utf8_lossy(b).contains(self.marker));
        if !matches || self.lost.swap(true, Ordering::SeqCst) {
            return real.call(request);
        }
        answer_lost(request, real)
    }
}

/// An API process over `config`'s table whose claim of a launched node's
/// row (the write carrying the node's token nonce, on condition that the
/// row is still pending) loses its first answer; `lost` says it did.
async fn lossy_process(config: &Config, lost: Arc<AtomicBool>) -> TestApp {
    let seam = LoseOneAnswer { marker: ":pending", lost };
    let sdk = through(&aws_config(config).await, seam);
    let state = app_state_with(config, &sdk, aws_sdk_dynamodb::Client::new(&sdk)).unwrap();
    serve_router(config.clone(), streamfleet_http::local_app(state)).await
}

#[tokio::test]
async fn a_launched_node_whose_enrollment_answer_was_lost_still_gets_its_token() {
    let config = fresh_config().await;
    let lost = Arc::new(AtomicBool::new(false));
    let app = lossy_process(&config, lost.clone()).await;

    app.add_pool_hosts(2, "eu-west-1").await;
    assert_eq!(app.create_group(&simulated_group("lost", 4)).await.status(), StatusCode::CREATED);
    app.tick("lost").await;
    let edge = app.node_ids("lost", "edge", "pending").await.remove(0);
    let key = app.enrollment_key("lost").await;
    let response = app.heartbeat("lost", &edge, &key, &host_report("edge", &edge).json()).await;
    assert!(lost.load(Ordering::SeqCst), "the claim's answer was lost once");
    let status = response.status();
    let answer = body(response).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let token = answer["nodeToken"].as_str().unwrap().to_owned();

    // The token it got is the one the row holds: it reports with it.
    app.report("lost", &edge, &token, &host_report("edge", &edge)).await;
}

/// Two processes enroll the same launched row at once (an enrollment sent
/// twice, through two Lambda instances), one of them losing its claim's
/// answer: exactly one gets a token, and that token is the row's.
#[tokio::test]
async fn of_two_enrollments_racing_for_one_row_through_a_lost_answer_exactly_one_gets_the_token() {
    let config = fresh_config().await;
    let lossy = lossy_process(&config, Arc::new(AtomicBool::new(false))).await;
    let plain = serve_router(config.clone(), streamfleet_http::local_app(state(&config).await)).await;
    plain.add_pool_hosts(2, "eu-west-1").await;
    assert_eq!(plain.create_group(&simulated_group("race", 4)).await.status(), StatusCode::CREATED);
    plain.tick("race").await;
    let edge = plain.node_ids("race", "edge", "pending").await.remove(0);
    let key = plain.enrollment_key("race").await;
    let report = host_report("edge", &edge).json();
    let (a, b) = tokio::join!(
        lossy.heartbeat("race", &edge, &key, &report),
        plain.heartbeat("race", &edge, &key, &report)
    );
    let mut tokens = Vec::new();
    for response in [a, b] {
        let status = response.status();
        let answer = body(response).await;
        match status {
            StatusCode::CREATED => tokens.push(answer["nodeToken"].as_str().unwrap().to_owned()),
            StatusCode::CONFLICT => assert_eq!(answer["code"], "already_enrolled", "{answer}"),
            other => panic!("{other}: {answer}"),
        }
    }
    assert_eq!(tokens.len(), 1, "one enrollment wins: {tokens:?}");
    plain.report("race", &edge, &tokens[0], &host_report("edge", &edge)).await;
}

/// The enrollment was applied and answered, but the answer never reached
/// the node (lost between API Gateway and the agent): the node enrolls
/// again with the key and a newer report, and gets a token, the only one
/// that works; once that token has reported, the row is the node's and
/// another enrollment is refused.
#[tokio::test]
async fn a_launched_node_that_never_saw_its_enrollment_answer_enrolls_again_until_its_token_reports() {
    let config = fresh_config().await;
    let app = serve_router(config.clone(), streamfleet_http::local_app(state(&config).await)).await;
    app.add_pool_hosts(2, "eu-west-1").await;
    assert_eq!(app.create_group(&simulated_group("again", 4)).await.status(), StatusCode::CREATED);
    app.tick("again").await;
    let edge = app.node_ids("again", "edge", "pending").await.remove(0);
    let key = app.enrollment_key("again").await;
    let report = host_report("edge", &edge);
    let enroll = || async {
        // Each attempt is a new report: sent later than the one before.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let response = app.heartbeat("again", &edge, &key, &report.json()).await;
        (response.status(), body(response).await)
    };

    let (status, never_seen) = enroll().await;
    assert_eq!(status, StatusCode::CREATED, "{never_seen}");
    let (status, answer) = enroll().await;
    assert_eq!(status, StatusCode::CREATED, "enrolled again: {answer}");
    let token = answer["nodeToken"].as_str().unwrap().to_owned();

    let lost_token = never_seen["nodeToken"].as_str().unwrap();
    let refused = app.heartbeat("again", &edge, lost_token, &report.json()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "the first token is void");
    app.report("again", &edge, &token, &report).await;

    let (status, answer) = enroll().await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["code"], "already_enrolled");
}
