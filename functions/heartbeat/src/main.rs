//! Node heartbeats (and edges asking for a stream's origin) on Lambda.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    streamfleet_runtime::run_http_function(
        streamfleet_runtime::Function::Heartbeat,
        streamfleet_http::heartbeat_app,
        None,
    )
    .await
}
