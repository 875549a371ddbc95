//! The DynamoDB adapter: one table holds groups, nodes and (later) stream
//! routes and decisions. `docs/dynamodb.md` lists the items and the access
//! patterns; `schema` is the single source of truth for names.

mod attr;
mod batch;
mod counter;
mod error;
mod groups;
mod holds;
mod keys;
mod lifecycle;
mod nodes;
mod pool;
mod query;
mod routes;
mod scaler;
pub mod schema;
mod seats;

pub use counter::CallCounter;
pub use keys::{group_of_pk, TICK_SK};
pub use scaler::pressure_attribute;

use aws_sdk_dynamodb::Client;

/// The store port implemented on one DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}
