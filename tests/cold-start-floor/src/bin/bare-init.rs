//! The cold-start bench's floor for a function's AWS calls at init: the SDK
//! configuration loaded as the functions load it against an endpoint override
//! (the emulator), the secrets named on the command line read at once, then
//! the DynamoDB warm-up `GetItem`, with the bare SDK and nothing of
//! streamfleet's. Prints the milliseconds from the start of `main` to done.
//!
//! `STREAMFLEET_AWS_ENDPOINT=http://… STREAMFLEET_TABLE=t bare-init [SECRET_ID…]`

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let endpoint = std::env::var("STREAMFLEET_AWS_ENDPOINT").expect("STREAMFLEET_AWS_ENDPOINT is set");
    let table = std::env::var("STREAMFLEET_TABLE").expect("STREAMFLEET_TABLE is set");
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    // The emulator's timeouts, as the functions set them there.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(20))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(80))
        .build();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(timeouts)
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "emulator",
            "emulator",
            None,
            None,
            "bare-init",
        ))
        .load()
        .await;
    let secrets = std::env::args().skip(1).map(|id| {
        let client = aws_sdk_secretsmanager::Client::new(&sdk);
        async move {
            let output = client.get_secret_value().secret_id(&id).send().await;
            output.unwrap_or_else(|e| panic!("secret {id}: {e:?}")).secret_string.expect("a text secret")
        }
    });
    futures::future::join_all(secrets).await;
    let key = AttributeValue::S("#warm-up".to_owned());
    aws_sdk_dynamodb::Client::new(&sdk)
        .get_item()
        .table_name(table)
        .key("pk", key.clone())
        .key("sk", key)
        .send()
        .await
        .expect("the warm-up GetItem answers");
    println!("{:.3}", started.elapsed().as_secs_f64() * 1e3);
}
