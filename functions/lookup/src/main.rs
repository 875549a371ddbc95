//! Stream lookup on Lambda: where to publish, where to play.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    streamfleet_runtime::run_http_function(
        streamfleet_runtime::Function::Lookup,
        streamfleet_http::lookup_app,
        None,
    )
    .await
}
