//! Opens the DynamoDB connection during the function's init: the first
//! request then finds DNS resolved, the TLS session up and the credentials
//! loaded, instead of paying for them on a player's lookup.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

/// Longest a cold start waits for it; a failure only costs the first request
/// the handshake it would have paid anyway.
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(2);

/// How the warm-up call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmUp {
    Warm,
    Failed,
    TimedOut,
}

/// One `GetItem` of a key no item has (the cheapest call every function may
/// make). Never fails the start: the outcome is logged and returned.
pub async fn warm_up(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> WarmUp {
    let key = AttributeValue::S("#warm-up".to_owned());
    let call = dynamodb
        .get_item()
        .table_name(table)
        .key(streamfleet_dynamo::schema::PK, key.clone())
        .key(streamfleet_dynamo::schema::SK, key)
        .send();
    match tokio::time::timeout(WARM_UP_TIMEOUT, call).await {
        Ok(Ok(_)) => {
            tracing::debug!(table, "DynamoDB connection warm");
            WarmUp::Warm
        }
        Ok(Err(error)) => {
            let error = aws_sdk_dynamodb::error::DisplayErrorContext(&error);
            tracing::warn!(table, %error, "warm-up call failed");
            WarmUp::Failed
        }
        Err(_) => {
            tracing::warn!(table, "warm-up call timed out");
            WarmUp::TimedOut
        }
    }
}
