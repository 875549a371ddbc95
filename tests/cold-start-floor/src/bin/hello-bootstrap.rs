//! The cold-start bench's floor for a bootstrap: a hello-world
//! `lambda_runtime` function that echoes its event, built like the functions
//! (the workspace's release profile).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move { Ok::<_, Error>(event.payload) }))
        .await
}
