//! The node-group admin API on Lambda (API Gateway HTTP API, payload v2).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    streamfleet_runtime::run_http_function(
        streamfleet_runtime::Function::NodeGroups,
        streamfleet_http::nodegroups_app,
        Some(streamfleet_runtime::eventbridge_events),
    )
    .await
}
