//! Start-up shared by every streamfleet process (Lambda functions, the local
//! stack, the tests): read the configuration once, build the AWS clients
//! once, and assemble the application state.

mod config;

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::Credentials;
use streamfleet_core::service::NodeGroups;
use streamfleet_core::SystemClock;
use streamfleet_dynamo::DynamoStore;
use streamfleet_http::{AdminToken, AppState};

pub use config::{Config, ConfigError};

/// Logs as JSON on Lambda (CloudWatch parses it), as text elsewhere; the
/// level comes from `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL`), default `info`.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .map(|level| EnvFilter::new(level.to_lowercase()))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let _ = if on_lambda {
        builder.json().with_current_span(false).without_time().try_init()
    } else {
        builder.with_target(false).try_init()
    };
}

/// The SDK configuration: the standard AWS chain on AWS; against the
/// emulator, its endpoint with dummy credentials and `AWS_REGION` (default
/// `us-east-1`), so that nothing probes the instance metadata service.
pub async fn aws_config(config: &Config) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = &config.aws_endpoint {
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
        loader = loader.endpoint_url(endpoint).region(aws_config::Region::new(region)).credentials_provider(
            Credentials::new("emulator", "emulator", None, None, "streamfleet-emulator"),
        );
    }
    loader.load().await
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Token(#[from] streamfleet_http::auth::WeakToken),
}

/// Builds the store and services from a configuration.
pub async fn app_state(config: &Config) -> Result<AppState, StartError> {
    let sdk = aws_config(config).await;
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone()));
    Ok(AppState {
        groups: NodeGroups::new(store.clone(), store, Arc::new(SystemClock)),
        admin_token: AdminToken::new(&config.admin_token)?,
    })
}
