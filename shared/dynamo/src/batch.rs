//! Unconditional bulk writes, 25 items a request, unprocessed items retried.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use streamfleet_core::ports::{StoreError, StoreResult};

use crate::attr::Item;
use crate::error::store_error;
use crate::DynamoStore;

const ATTEMPTS: usize = 5;

impl DynamoStore {
    pub(crate) async fn batch_put(&self, items: Vec<Item>) -> StoreResult<()> {
        let requests: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                let put =
                    PutRequest::builder().set_item(Some(item)).build().expect("put request is complete");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        for chunk in requests.chunks(25) {
            let mut pending = HashMap::from([(self.table.clone(), chunk.to_vec())]);
            for attempt in 1..=ATTEMPTS {
                let output = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .map_err(|e| store_error("BatchWriteItem", &self.table, e))?;
                match output.unprocessed_items.filter(|left| left.values().any(|v| !v.is_empty())) {
                    None => break,
                    Some(_) if attempt == ATTEMPTS => {
                        return Err(StoreError::Unavailable("BatchWriteItem left items unprocessed".into()))
                    }
                    Some(left) => {
                        pending = left;
                        tokio::time::sleep(Duration::from_millis(50 * attempt as u64)).await;
                    }
                }
            }
        }
        Ok(())
    }
}
