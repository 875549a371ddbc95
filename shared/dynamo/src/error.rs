//! Turning SDK failures into the store port's variants.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use streamfleet_core::ports::StoreError;

/// Maps a failed call: a failed condition (or a transaction cancelled by
/// one) is a `Conflict` the service explains; anything else is logged with
/// its context and reported as unavailable (its text never reaches a response).
pub fn store_error<E, R>(operation: &'static str, table: &str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(service) = error.as_service_error() {
        if matches!(service.code(), Some("ConditionalCheckFailedException" | "TransactionCanceledException"))
        {
            return StoreError::Conflict;
        }
    }
    tracing::error!(operation, table, error = %DisplayErrorContext(&error), "DynamoDB call failed");
    StoreError::Unavailable(Box::new(error))
}
