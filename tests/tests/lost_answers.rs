//! AWS applied a write and its answer was lost (a connection reset after
//! the request went out): the SDK sends the same write again, and it must
//! not then fail on its own first copy. Found by the chaos harness: a node
//! whose enrollment answer was lost this way never got its token, every
//! later enrollment was `already_enrolled`, and it stayed silent for good.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use reqwest::StatusCode;
use streamfleet_runtime::{app_state_with, aws_config};
use streamfleet_scenarios::scaling::{host_report, simulated_group};
use streamfleet_scenarios::sdk_seam::{through, Seam};
use streamfleet_scenarios::{body, fresh_config, serve_router};

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
        let sent = real.call(request);
        HttpConnectorFuture::new(async move {
            let _applied = sent.await;
            Err(ConnectorError::io("lost: connection reset after the request was sent".into()))
        })
    }
}

#[tokio::test]
async fn a_launched_node_whose_enrollment_answer_was_lost_still_gets_its_token() {
    let config = fresh_config().await;
    let lost = Arc::new(AtomicBool::new(false));
    // The claim of a launched node's row is the write that carries the
    // node's token nonce on condition that the row is still pending.
    let seam = LoseOneAnswer { marker: ":pending", lost: lost.clone() };
    let sdk = through(&aws_config(&config).await, seam);
    let state = app_state_with(&config, &sdk, aws_sdk_dynamodb::Client::new(&sdk)).unwrap();
    let app = serve_router(config, streamfleet_http::local_app(state)).await;

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
