//! The `events/` fixtures, fed through the Lambda entry point exactly as
//! `lambda_http::run` does (event JSON → request → router → API Gateway v2
//! response), against DynamoDB on the emulator.

use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;
use streamfleet_scenarios::{fresh_config, repo_root, state};

fn fixture(name: &str) -> LambdaRequest {
    let path = repo_root().join("events/apigw").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is an API Gateway v2 event: {e}"))
}

/// Invokes the node-group function with a fixture; returns its response event.
async fn invoke(app: &axum::Router, name: &str) -> Value {
    let event = LambdaEvent::new(fixture(name), Context::default());
    let response = Adapter::from(app.clone()).oneshot(event).await.expect("the function answers");
    serde_json::to_value(response).expect("the response serializes")
}

fn status(response: &Value) -> u64 {
    response["statusCode"].as_u64().expect("a status code")
}

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap_or("null")).expect("a JSON body")
}

#[tokio::test]
async fn every_fixture_runs_through_the_nodegroups_function_in_order() {
    let app = streamfleet_http::nodegroups_app(state(&fresh_config().await).await);

    let created = invoke(&app, "nodegroups-create").await;
    assert_eq!(status(&created), 201, "{created}");
    assert_eq!(body(&created)["name"], "live-eu");

    let fetched = invoke(&app, "nodegroups-get").await;
    assert_eq!(status(&fetched), 200);
    assert_eq!(fetched["headers"]["etag"], "\"1\"");

    let listed = invoke(&app, "nodegroups-list").await;
    assert_eq!(body(&listed)["items"][0]["name"], "live-eu");

    let replaced = invoke(&app, "nodegroups-replace").await;
    assert_eq!(status(&replaced), 200, "{replaced}");
    assert_eq!(body(&replaced)["roles"]["edge"]["scale"]["max"], 40);

    let patched = invoke(&app, "nodegroups-patch").await;
    assert_eq!(status(&patched), 200, "{patched}");
    assert_eq!(body(&patched)["roles"]["edge"]["scale"]["min"], 4);

    let nodes = invoke(&app, "nodegroups-nodes").await;
    assert_eq!(body(&nodes)["items"], Value::Array(vec![]));

    let deleted = invoke(&app, "nodegroups-delete").await;
    assert_eq!(status(&deleted), 204, "{deleted}");
    assert_eq!(status(&invoke(&app, "nodegroups-get").await), 404);

    assert_eq!(body(&invoke(&app, "health").await)["status"], "ok");
    assert!(body(&invoke(&app, "openapi").await)["paths"].is_object());
}
