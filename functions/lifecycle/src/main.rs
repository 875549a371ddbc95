//! Lifecycle hooks on Lambda, invoked by an EventBridge rule on EC2 Auto
//! Scaling lifecycle actions and EC2 interruption warnings.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    streamfleet_runtime::run_lifecycle_function().await
}
