//! Attribute values and item (de)serialization shared by the item modules.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use streamfleet_core::ports::{StoreError, StoreResult};
use time::OffsetDateTime;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Epoch seconds, as the TTL attribute wants them.
pub fn epoch_secs(at: OffsetDateTime) -> AttributeValue {
    n(at.unix_timestamp())
}

/// Epoch milliseconds: a number, so conditions compare instants correctly.
pub fn epoch_millis(at: OffsetDateTime) -> AttributeValue {
    n(at.unix_timestamp_nanos() / 1_000_000)
}

pub fn rfc3339(at: OffsetDateTime) -> AttributeValue {
    s(at.format(&time::format_description::well_known::Rfc3339).expect("UTC timestamps format as RFC 3339"))
}

pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(crate::schema::PK.to_owned(), s(pk)), (crate::schema::SK.to_owned(), s(sk))])
}

pub fn encode<T: Serialize>(what: &str, value: &T) -> StoreResult<Item> {
    serde_dynamo::to_item(value).map_err(|e| corrupt(what, e))
}

pub fn encode_value<T: Serialize>(what: &str, value: &T) -> StoreResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value).map_err(|e| corrupt(what, e))
}

pub fn decode<T: DeserializeOwned>(what: &str, item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| corrupt(what, e))
}

fn corrupt(what: &str, error: serde_dynamo::Error) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

/// `SET #f0 = :f0, …` for those of `fields` present in `item`, with their
/// names and values.
pub fn set_expression(
    item: &Item,
    fields: &[&str],
) -> (String, HashMap<String, String>, HashMap<String, AttributeValue>) {
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    let mut parts = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        if let Some(value) = item.get(*field) {
            names.insert(format!("#f{i}"), (*field).to_owned());
            values.insert(format!(":f{i}"), value.clone());
            parts.push(format!("#f{i} = :f{i}"));
        }
    }
    (format!("SET {}", parts.join(", ")), names, values)
}
