//! Queries of one partition's items by sort-key prefix: every page, or one.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use serde::de::DeserializeOwned;
use streamfleet_core::ports::StoreResult;

use crate::attr::{decode, s, Item};
use crate::error::store_error;
use crate::schema::{PK, SK};
use crate::DynamoStore;

impl DynamoStore {
    /// `pk = :pk AND begins_with(sk, :prefix)`, to be completed by the caller.
    pub(crate) fn query_prefix(&self, pk: String, prefix: &str) -> QueryFluentBuilder {
        self.query_partition(pk, "begins_with(#sk, :prefix)")
            .expression_attribute_values(":prefix", s(prefix))
    }

    /// `pk = :pk AND sk BETWEEN :low AND :high`, to be completed by the caller.
    pub(crate) fn query_between(&self, pk: String, low: &str, high: &str) -> QueryFluentBuilder {
        self.query_partition(pk, "#sk BETWEEN :low AND :high")
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
    }

    /// `pk = :pk AND <sort_key_condition>` (on `#sk`), its values to be bound.
    fn query_partition(&self, pk: String, sort_key_condition: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("#pk = :pk AND {sort_key_condition}"))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
    }

    /// Every item `query` finds, page after page, decoded as `T`.
    pub(crate) async fn query_all<T: DeserializeOwned>(
        &self,
        what: &str,
        query: QueryFluentBuilder,
    ) -> StoreResult<Vec<T>> {
        self.query_items(query).await?.into_iter().map(|item| decode(what, item)).collect()
    }

    /// Every item `query` finds, page after page.
    pub(crate) async fn query_items(&self, query: QueryFluentBuilder) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error("Query", &self.table, e))?;
            found.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(next) => start = Some(next),
                None => return Ok(found),
            }
        }
    }
}
