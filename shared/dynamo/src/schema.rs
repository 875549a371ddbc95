//! The table's key schema, index and TTL attribute, and its creation (used
//! by the local stack and the tests; the infra templates declare the same).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Overloaded index: `GROUPS` → every group by name; `INSTANCE#<id>` → the
/// node of an instance, whatever its group.
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
/// Epoch seconds after which DynamoDB may delete the item. Garbage
/// collection only: readers filter stale items by their own timestamps.
pub const TTL: &str = "expiresAt";

#[derive(Debug, thiserror::Error)]
#[error("could not create table {table}")]
pub struct CreateTableError {
    table: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// Creates the table (on-demand, with its index and TTL) unless it exists.
pub async fn create_table_if_missing(client: &Client, table: &str) -> Result<(), CreateTableError> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| CreateTableError {
        table: table.to_owned(),
        source,
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key element is complete")
    };
    let string_attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition is complete")
    };
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(vec![
            string_attribute(PK),
            string_attribute(SK),
            string_attribute(GSI1_PK),
            string_attribute(GSI1_SK),
        ]))
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(GSI1)
                .key_schema(key(GSI1_PK, KeyType::Hash))
                .key_schema(key(GSI1_SK, KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("index is complete"),
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(()),
        Err(e) => return Err(fail(Box::new(e))),
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL)
                .enabled(true)
                .build()
                .expect("ttl is complete"),
        )
        .send()
        .await
        .map_err(|e| fail(Box::new(e)))?;
    Ok(())
}
