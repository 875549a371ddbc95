//! The scaler on Lambda, invoked by an EventBridge schedule.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    streamfleet_runtime::run_scheduled_scaler().await
}
