//! The node-group admin API on Lambda (API Gateway HTTP API, payload v2).

use lambda_http::Error;
use streamfleet_runtime::{app_state, init_tracing, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let state = app_state(&config).await?;
    lambda_http::run(streamfleet_http::nodegroups_app(state)).await
}
